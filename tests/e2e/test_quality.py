"""
test_quality.py: a participant's call quality (issue 8 part 3), live and
after it has left, against a real chorusd. alice is a baresip phone on a
clean path; "tester" is a raw SIP caller (sip_dialog.py) that sends a
PCMU tone whose RTP passes, both ways, through a lossy UDP forwarder in
this test dropping every 10th packet: its SDP names the forwarder, so
chorusd sends to and latches on it.

While both are in the call, GET /conferencecalls/{id} shows about 10 %
loss_pct_in for tester (7..13), about none for alice, a MOS below alice's,
high_packet_loss and low_mos tags, talk time for the tone, and the list
view carries quality too; a conference.member.quality event reports it.
After tester hangs up, its stored quality is still on it and the
conference summary's tags (and tag_info) have high_packet_loss from it.
"""
import math
import os
import random
import re
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import wait_until  # noqa: E402
from sip_dialog import DialogSip  # noqa: E402
from sip_harness import SipTestCase, main  # noqa: E402

DROP_EVERY = 10


def ulaw(sample):
    """One 16-bit linear sample to G.711 mu-law (the standard bias/segment
    method)."""
    sign = 0x80 if sample < 0 else 0
    s = min(abs(sample), 32635) + 0x84
    exp = 7
    while exp > 0 and not s & (0x4000 >> (7 - exp)):
        exp -= 1
    mant = (s >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


class LossyForwarder:
    """Relays UDP between a client socket address and chorusd's RTP
    address through two sockets of its own, dropping every DROP_EVERY-th
    datagram in each direction. `outer` is the address the client's SDP
    names (chorusd sends there); the client sends to `inner`."""

    def __init__(self, host="127.0.0.1"):
        self.outer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.outer.bind((host, 0))
        self.inner = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.inner.bind((host, 0))
        self.server = None   # chorusd's RTP address (from the answer)
        self.client = None   # learned from the first packet in
        self.passed = [0, 0]
        self.dropped = [0, 0]
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self, server):
        self.server = server
        self.thread.start()

    def _relay(self, i, data, dst, sock):
        n = self.passed[i] + self.dropped[i] + 1
        if n % DROP_EVERY == 0:
            self.dropped[i] += 1
            return
        self.passed[i] += 1
        if dst:
            sock.sendto(data, dst)

    def _run(self):
        import select
        while not self.stop:
            r, _, _ = select.select([self.outer, self.inner], [], [], 0.2)
            for s in r:
                data, src = s.recvfrom(2048)
                if s is self.inner:
                    self.client = src
                    self._relay(0, data, self.server, self.outer)
                else:
                    self._relay(1, data, self.client, self.inner)

    def close(self):
        self.stop = True
        if self.thread.is_alive():
            self.thread.join(2)
        self.outer.close()
        self.inner.close()


class ToneSender:
    """20 ms PCMU packets of a 440 Hz tone at -12 dBFS from sock to dst,
    on time (a thread)."""

    def __init__(self, sock, dst):
        self.sock, self.dst = sock, dst
        self.stop = False
        frame = []
        for i in range(160 * 20):  # 400 ms of tone, looped
            v = int(0.25 * 32767 * math.sin(2 * math.pi * 440 * i / 8000))
            frame.append(ulaw(v))
        self.tone = bytes(frame)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        seq, ts = random.randrange(65536), random.randrange(1 << 32)
        ssrc = random.randrange(1 << 32)
        t0 = time.monotonic()
        n = 0
        while not self.stop:
            off = (n % 20) * 160
            hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF,
                              ts & 0xFFFFFFFF, ssrc)
            try:
                self.sock.sendto(hdr + self.tone[off:off + 160], self.dst)
            except OSError:
                return
            seq, ts, n = seq + 1, ts + 160, n + 1
            delay = t0 + n * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self):
        self.stop = True
        self.thread.join(2)


class QualityTest(SipTestCase):

    def cc(self, ccid):
        r = self.api.get("/conferencecalls/" + ccid)
        self.assertEqual(r.status, 200, r)
        return r.json

    def test_lossy_participant(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="quality")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice = self.phone("alice", 660)
        a, = self.join(cid, alice)

        fwd = LossyForwarder()
        self.addCleanup(fwd.close)
        sip = DialogSip(self.d.sip_port)
        self.addCleanup(sip.close)
        call = sip.invite(self.conf_uri(cid),
                          sip.sdp(port=fwd.outer.getsockname()[1]))
        self.assertEqual(call.code, 200, call.raw)
        port = int(re.search(r"m=audio (\d+) ", call.body).group(1))
        ip = re.search(r"c=IN IP4 (\S+)", call.body).group(1)
        fwd.start((ip, port))
        tone = ToneSender(sip.rtp, fwd.inner.getsockname())
        self.addCleanup(tone.close)
        t = self.wait_participant(cid, "joined", 5, caller_id="tester")

        # ~15 s of media: 750 packets, 75 dropped each way
        def enough():
            q = self.cc(t["id"]).get("quality")
            return q if q and q["packets_in"] >= 700 else None
        q = wait_until(enough, 25, 0.5)
        self.assertIsNotNone(q, self.cc(t["id"]))
        qa = self.cc(a["id"])["quality"]
        sys.stderr.write("quality lossy %s\nquality clean %s\n" % (q, qa))
        self.assertTrue(7 <= q["loss_pct_in"] <= 13, q)
        self.assertLess(qa["loss_pct_in"], 1, qa)
        self.assertEqual(q["codec"], "PCMU", q)
        self.assertGreater(q["packets_out"], 600, q)
        self.assertGreater(q["talk_ms"], 5000, q)
        self.assertLess(q["mos"], qa["mos"] - 0.5, (q, qa))
        self.assertLess(q["mos"], 3.6, q)
        self.assertGreater(qa["mos"], 4.0, qa)
        self.assertIn("high_packet_loss", q["tags"], q)
        self.assertIn("low_mos", q["tags"], q)
        self.assertNotIn("high_packet_loss", qa["tags"], qa)
        # baresip sends receiver reports: its side is known
        self.assertIsNotNone(qa["rtt_ms"], qa)
        self.assertIsNotNone(qa["loss_pct_out"], qa)
        self.assertLess(qa["loss_pct_out"], 1, qa)
        # the list view carries it too
        listed = {p["id"]: p for p in self.participants(cid)}
        self.assertTrue(7 <= listed[t["id"]]["quality"]["loss_pct_in"] <= 13,
                        listed[t["id"]])
        # the event (every 5 s at most while it changes)
        evs = self.wait_events("session_uuid", t["id"],
                               ["conference.member.quality"], timeout=12)
        qev = [e for e in evs if e["event"] == "conference.member.quality"]
        self.assertIn("high_packet_loss", qev[-1]["quality"]["tags"], qev)
        # the forwarder did drop (both ways)
        self.assertGreater(fwd.dropped[0], 50)
        self.assertGreater(fwd.dropped[1], 50)

        # tester hangs up: the quality stays on it
        self.assertEqual(sip.bye(call), 200)
        tone.close()
        left = self.wait_participant(cid, "leaved", 5, caller_id="tester")
        stored = left["quality"]
        self.assertIsNotNone(stored, left)
        self.assertTrue(7 <= stored["loss_pct_in"] <= 13, stored)
        self.assertIn("high_packet_loss", stored["tags"], stored)
        self.assertGreaterEqual(stored["packets_in"], q["packets_in"])
        got = self.cc(t["id"])["quality"]
        self.assertEqual(got, stored)
        time.sleep(1)
        self.assertEqual(self.cc(t["id"])["quality"], stored,
                         "a left participant's quality does not move")
        s = self.api.get("/conferences/%s/summary" % cid).json
        self.assertIn("high_packet_loss", s["tags"], s)
        self.assertIn("low_mos", s["tags"], s)
        self.assertEqual(s["tag_info"]["high_packet_loss"].get(
            "conferencecall_id"), t["id"], s)
        self.assertNotIn("high_jitter", s["tags"], s)

        # alice hangs up: hers is stored too, clean
        alice.hangup()
        la = self.wait_participant(cid, "leaved", 5, caller_id="alice")
        self.assertIsNotNone(la["quality"], la)
        self.assertNotIn("high_packet_loss", la["quality"]["tags"], la)
        # the quality survives a restart of chorusd
        self.d.stop()
        self.d.start()
        self.api = self.d.client(token=self.cust["token"])  # new port
        self.assertEqual(self.cc(t["id"])["quality"], stored)


if __name__ == "__main__":
    main()
