"""
test_room_size.py: a conference's media room follows max_participants
beyond the old fixed 256 legs.

A conference with max_participants 300 takes 300 callers (raw SIP over UDP:
INVITE with a PCMU offer, 200 OK, ACK; the calls stay up), the 257th among
them; the 301st gets 486 Busy Here. chorusd runs with an RTP range of
1,000 port pairs (in its default range, which the other e2e tests leave
alone; a port in use is skipped).
"""
import os
import random
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main  # noqa: E402
from test_sip_errors import SDP_PCMU, RawSip  # noqa: E402

MAX = 300


class RoomSizeTest(SipTestCase):

    def call(self, sip, ruri, timeout=8):
        """INVITE (retransmitted until answered), ACK; the call stays up.
        Returns the final status code."""
        call_id = uuid.uuid4().hex + "@127.0.0.1"
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        from_tag = uuid.uuid4().hex[:8]
        msg = sip._build("INVITE", ruri, call_id, 1, branch, from_tag,
                         body=SDP_PCMU % sip.rtp_port)
        end, next_tx, answered = time.monotonic() + timeout, 0.0, False
        while time.monotonic() < end:
            if not answered and time.monotonic() >= next_tx:
                sip.sock.sendto(msg, sip.dst)
                next_tx = time.monotonic() + 0.5
            r = sip._recv(0.1)
            if r is None:
                continue
            first, hdrs, _ = r
            if not first.startswith("SIP/2.0 ") or \
                    branch not in hdrs.get("via", ""):
                continue
            code = int(first.split()[1])
            if code < 200:
                answered = True
                continue
            to_tag = hdrs.get("to", "").partition(";tag=")[2].split(";")[0]
            sip.sock.sendto(sip._build(
                "ACK", ruri, call_id, 1,
                branch if code >= 300 else "z9hG4bK" + uuid.uuid4().hex[:16],
                from_tag, to_tag), sip.dst)
            return code
        raise AssertionError("no final answer to INVITE %s" % ruri)

    def test_max_participants_300(self):
        lo = 20000 + 2 * random.randrange(0, 2500)
        self.start_sip_daemon(rtp_ports="%d-%d" % (lo, lo + 1999))
        cid = self.api.create_conference(max_participants=MAX)["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        ruri = "sip:%s@127.0.0.1:%d" % (cid, self.d.sip_port)
        sips = [RawSip(self.d.sip_port) for _ in range(4)]
        for s in sips:
            self.addCleanup(s.close)
        for i in range(MAX):
            code = self.call(sips[i % len(sips)], ruri)
            self.assertEqual(code, 200, "caller %d of %d" % (i + 1, MAX))
        # 486 from the max_participants check: all 300 are present
        self.assertEqual(self.call(sips[0], ruri), 486, "caller %d" %
                         (MAX + 1))
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    main()
