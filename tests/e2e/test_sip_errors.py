"""
test_sip_errors.py: chorusd's SIP answers to calls it must refuse, and its
robustness against garbage. The client is a
small raw SIP-over-UDP one written here (RFC 3261 requests with a fresh
branch, From tag and Call-ID; retransmits until a provisional answer; ACKs
a non-2xx final answer; ACK + BYE should a call be wrongly accepted):

- INVITE sip:{unknown uuid}@  -> 404; sip:nobody@ (not a uuid) -> 404
- INVITE to a terminated conference -> 480
- max_participants 1, a baresip inside, a second caller -> 486; when the
  first hangs up, a new caller gets in
- an offer with only G729 -> 488; an INVITE whose SDP has no audio -> 4xx
- OPTIONS -> 200
- garbage datagrams (random bytes, broken SIP, a 60 KB datagram, an
  unsolicited response) and garbage over SIP/TCP: chorusd stays up, health
  answers, OPTIONS still 200, a real phone still gets in.
"""
import os
import random
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main  # noqa: E402

SDP_PCMU = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\nm=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=sendrecv\r\n")
SDP_G729 = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
            "t=0 0\r\nm=audio %d RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
            "a=sendrecv\r\n")
SDP_NO_AUDIO = ("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                "c=IN IP4 127.0.0.1\r\nt=0 0\r\n")


class RawSip:
    """A UDP SIP client on 127.0.0.1 talking to chorusd's port."""

    def __init__(self, port):
        self.dst = ("127.0.0.1", port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.lport = self.sock.getsockname()[1]
        self.rtp_port = self.lport + 2  # only written in SDP

    def close(self):
        self.sock.close()

    def _build(self, method, ruri, call_id, cseq, branch, from_tag,
               to_tag=None, body="", ctype="application/sdp"):
        to = "<%s>" % ruri + (";tag=%s" % to_tag if to_tag else "")
        lines = [
            "%s %s SIP/2.0" % (method, ruri),
            "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport" % (self.lport,
                                                               branch),
            "Max-Forwards: 70",
            "From: <sip:tester@127.0.0.1:%d>;tag=%s" % (self.lport, from_tag),
            "To: " + to, "Call-ID: " + call_id,
            "CSeq: %d %s" % (cseq, method),
            "Contact: <sip:tester@127.0.0.1:%d>" % self.lport,
            "User-Agent: chorus-e2e-raw"]
        if body:
            lines.append("Content-Type: " + ctype)
        lines.append("Content-Length: %d" % len(body.encode()))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def _recv(self, timeout):
        self.sock.settimeout(timeout)
        try:
            data, _ = self.sock.recvfrom(65536)
        except socket.timeout:
            return None
        head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        lines = head.split("\r\n")
        hdrs = {}
        for ln in lines[1:]:
            k, _, v = ln.partition(":")
            hdrs.setdefault(k.strip().lower(), v.strip())
        return lines[0], hdrs, data

    def request(self, method, ruri, body="", timeout=8):
        """Sends method (retransmitting until an answer) and returns the
        final response as (status code, headers dict, raw bytes); ACKs a
        final INVITE answer (and hangs up a 2xx one)."""
        call_id = uuid.uuid4().hex + "@127.0.0.1"
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        from_tag = uuid.uuid4().hex[:8]
        msg = self._build(method, ruri, call_id, 1, branch, from_tag,
                          body=body)
        code, hdrs, raw = self.final_answer(msg, method, branch, timeout)
        if method == "INVITE":
            to_tag = hdrs.get("to", "").partition(";tag=")[2]
            to_tag = to_tag.split(";")[0]
            self.sock.sendto(self._build("ACK", ruri, call_id, 1,
                                         branch if code >= 300 else
                                         "z9hG4bK" + uuid.uuid4().hex[:16],
                                         from_tag, to_tag), self.dst)
            if code < 300:  # a call we did not want: hang it up
                self.sock.sendto(self._build(
                    "BYE", ruri, call_id, 2,
                    "z9hG4bK" + uuid.uuid4().hex[:16], from_tag,
                    to_tag), self.dst)
        return code, hdrs, raw

    def final_answer(self, msg, method, branch, timeout):
        """Sends msg (retransmitting until a provisional answer) and
        returns its final answer (code, headers, raw bytes) that carries
        the Via branch."""
        end = time.monotonic() + timeout
        provisional, next_tx, interval = False, 0.0, 0.5
        while time.monotonic() < end:
            if not provisional and time.monotonic() >= next_tx:
                self.sock.sendto(msg, self.dst)
                next_tx = time.monotonic() + interval
                interval = min(interval * 2, 4)
            r = self._recv(0.1)
            if r is None:
                continue
            first, hdrs, raw = r
            if not first.startswith("SIP/2.0 ") or \
                    branch not in hdrs.get("via", "") or \
                    not hdrs.get("cseq", "").endswith(method):
                continue  # a retransmission of an older answer
            code = int(first.split()[1])
            if code < 200:
                provisional = True
                continue
            return code, hdrs, raw
        raise AssertionError("no final answer to %s within %d s" %
                             (msg.split(b"\r\n", 1)[0], timeout))


class SipErrorsTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.start_sip_daemon()
        self.sip = RawSip(self.d.sip_port)
        self.addCleanup(self.sip.close)

    def uri(self, user):
        return "sip:%s@127.0.0.1:%d" % (user, self.d.sip_port)

    def invite(self, user, sdp=SDP_PCMU):
        code, hdrs, raw = self.sip.request(
            "INVITE", self.uri(user),
            sdp % self.sip.rtp_port if "%d" in sdp else sdp)
        self.assertIn("tag=", hdrs.get("to", ""), raw)
        return code, raw

    def assertInviteAnswer(self, user, want, sdp=SDP_PCMU):
        code, raw = self.invite(user, sdp)
        self.assertEqual(code, want, raw.decode("utf-8", "replace"))

    def new_conference(self, **kw):
        cid = self.api.create_conference(**kw)["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def test_options_200(self):
        code, hdrs, raw = self.sip.request("OPTIONS", self.uri("chorus"))
        self.assertEqual(code, 200, raw)
        cid = self.new_conference()
        code, hdrs, raw = self.sip.request("OPTIONS", self.uri(cid))
        self.assertEqual(code, 200, raw)

    def test_unknown_conference_404(self):
        self.assertInviteAnswer(str(uuid.uuid4()), 404)
        self.assertInviteAnswer("nobody", 404)
        self.assertTrue(self.d.alive())

    def test_terminated_conference_480(self):
        cid = self.new_conference()
        self.assertEqual(self.api.delete("/conferences/" + cid).status, 200)
        self.assertIsNotNone(self.api.wait_status(cid, "terminated", 10))
        self.assertInviteAnswer(cid, 480)
        self.assertEqual(self.participants(cid), [])

    def test_max_participants_486(self):
        cid = self.new_conference(max_participants=1)
        alice = self.phone("alice", 440)
        (pa,) = self.join(cid, alice)
        self.assertInviteAnswer(cid, 486)
        bob = self.phone("bob", 660)
        bob.dial(self.conf_uri(cid))
        e = bob.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_CLOSED", e)
        self.assertIn("486", e.get("param", ""), e)
        self.assertEqual(self.api.conference(cid)["conferencecall_ids"],
                         [pa["id"]])
        # a freed place can be taken again
        alice.hangup()
        self.wait_participant(cid, "leaved", 10, caller_id="alice")
        carol = self.phone("carol", 880)
        self.join(cid, carol)

    def test_g729_only_488(self):
        cid = self.new_conference()
        self.assertInviteAnswer(cid, 488, SDP_G729)
        code, raw = self.invite(cid, SDP_NO_AUDIO)
        self.assertTrue(400 <= code < 500, raw)
        self.assertEqual(self.api.conference(cid)["conferencecall_ids"], [])
        joined = [p for p in self.participants(cid)
                  if p["status"] != "leaved"]
        self.assertEqual(joined, [])

    def test_garbage_does_not_crash(self):
        cid = self.new_conference()
        rnd = random.Random(1234)
        dgrams = [bytes(rnd.getrandbits(8) for _ in range(rnd.randint(
            1, 1400))) for _ in range(200)]
        dgrams += [b"", b"\r\n\r\n", b"INVITE\r\n\r\n",
                   b"INVITE sip:x SIP/2.0\r\n\r\n",
                   b"INVITE sip:%s@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP "
                   b"127.0.0.1:1;branch=z9hG4bKx\r\nContent-Length: 99999"
                   b"\r\n\r\nv=0" % cid.encode(),
                   b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch="
                   b"z9hG4bKnone\r\nCSeq: 1 INVITE\r\nCall-ID: x\r\n"
                   b"Content-Length: 0\r\n\r\n",
                   b"OPTIONS sip:a@b SIP/2.0\r\n" + b"X-Long: " +
                   b"a" * 60000 + b"\r\n\r\n",
                   b"\x00" * 1000]
        # a well-formed head with broken pieces
        for bad in (b"CSeq: x INVITE", b"Via: ;;;", b"From: <<<>",
                    b"Content-Length: -5", b"Max-Forwards: 99999999999"):
            dgrams.append(b"INVITE sip:%s@127.0.0.1 SIP/2.0\r\n%s\r\n"
                          b"Call-ID: g\r\n\r\n" % (cid.encode(), bad))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for dg in dgrams:
            try:
                s.sendto(dg, ("127.0.0.1", self.d.sip_port))
            except OSError:
                pass
        s.close()
        for chunk in (bytes(rnd.getrandbits(8) for _ in range(5000)),
                      b"INVITE sip:x SIP/2.0\r\nContent-Length: 100000\r\n"
                      b"\r\nabc", b"\r\n" * 1000):
            try:
                t = socket.create_connection(("127.0.0.1", self.d.sip_port),
                                             timeout=2)
                t.sendall(chunk)
                time.sleep(0.1)
                t.close()
            except OSError:
                pass
        time.sleep(1)
        self.assertTrue(self.d.alive(), "chorusd died on garbage")
        h = self.api.get("/health")
        self.assertEqual(h.status, 200, h)
        code, _, raw = self.sip.request("OPTIONS", self.uri("chorus"))
        self.assertEqual(code, 200, raw)
        alice = self.phone("alice", 440)
        self.join(cid, alice)


if __name__ == "__main__":
    main()
