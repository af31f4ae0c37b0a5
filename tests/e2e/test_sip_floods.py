"""
test_sip_floods.py: chorusd against SIP floods and bad offers, with a raw
SIP caller over UDP (sip_dialog.py):

- an answered INVITE that is never ACKed gives its RTP ports back and ends
  (call hangup/failed, participant leaved) after --sip-ack-timeout
  (default 10 s), not at libre's timer H (32 s): with RTP room for two
  legs, two un-ACKed calls, a third refused 503, a fourth taken once the
  two are gone; --sip-ack-timeout 2 shortens it;
- at most --sip-unconfirmed-per-ip (default 20) un-ACKed calls per source
  address: the 21st gets 503 with Retry-After, another address still
  gets in, and an ACK makes room;
- an offer whose c= is multicast, broadcast or unparsable, whose audio
  port is 0 or above 65535, or that is not SDP -> 488, nothing created;
- a re-INVITE with garbage or a multicast c= -> 488, and the call keeps
  its media (RTP still comes to the first address) and its dialog (a good
  re-INVITE after it -> 200);
- a request whose Content-Length is more than its body -> 400 (libre takes
  such UDP messages as they are).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, wait_until  # noqa: E402
from sip_dialog import DialogSip  # noqa: E402


class SipFloodsTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.callers = []

    def tearDown(self):
        for c in self.callers:
            c.close()

    def conference(self):
        cid = self.api.create_conference(name="flood")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def caller(self, host="127.0.0.1"):
        s = DialogSip(self.d.sip_port, host=host)
        self.callers.append(s)
        return s

    def present(self, cid):
        return [p for p in self.participants(cid) if p["status"] != "leaved"]

    def small_daemon(self, *extra):
        """chorusd with RTP ports for two legs only."""
        b = self.block()
        self.start_daemon(args=["--sip", "127.0.0.1:%d" % b.base,
                                "--rtp-ports", "%d-%d" % (b.base + 10,
                                                          b.base + 13)]
                          + list(extra))
        # as start_sip_daemon does, with our own flags
        from sip_harness import customer_add
        self.d = self.daemons[-1]
        self.d.sip_port = b.base
        self.cust = customer_add(self.d.data_dir, "sip-e2e", self.rcv.url)
        self.api = self.d.client(token=self.cust["token"])

    def unacked_released(self, wait_max):
        cid = self.conference()
        ruri = self.conf_uri(cid)
        t0 = time.monotonic()
        a, b = self.caller(), self.caller()
        ca = a.invite(ruri, a.sdp(), ack=False)
        cb = b.invite(ruri, b.sdp(), ack=False)
        self.assertEqual((ca.code, cb.code), (200, 200), ca.raw + cb.raw)
        c = self.caller()
        full = c.invite(ruri, c.sdp())
        self.assertEqual(full.code, 503, full.raw)  # no RTP ports left
        self.assertEqual(len(self.present(cid)), 2)
        gone = wait_until(lambda: not self.present(cid), wait_max, 0.2)
        took = time.monotonic() - t0
        self.assertTrue(gone, "un-ACKed participants still present after "
                        "%.0f s: %r" % (took, self.present(cid)))
        for p in self.participants(cid):
            self.assertEqual(p["status"], "leaved", p)
            call = self.api.get("/calls/" + p["reference_id"]).json
            self.assertEqual(call["status"], "hangup", call)
            self.assertEqual(call["hangup_reason"], "failed", call)
        d = self.caller()
        ok = d.invite(ruri, d.sdp())
        self.assertEqual(ok.code, 200, ok.raw)  # the ports came back
        self.wait_participant(cid, "joined", 5, caller_id="tester")
        return took

    def test_unacked_call_released_default(self):
        self.small_daemon()
        took = self.unacked_released(16)
        self.assertGreater(took, 8)  # 10 s, not at once

    def test_unacked_call_released_configured(self):
        self.small_daemon("--sip-ack-timeout", "2")
        took = self.unacked_released(6)
        self.assertLess(took, 6)

    def test_unconfirmed_per_ip_503(self):
        self.start_sip_daemon()
        cid = self.conference()
        ruri = self.conf_uri(cid)
        sip = self.caller()
        calls = []
        for i in range(20):
            c = sip.invite(ruri, sip.sdp(), ack=False)
            self.assertEqual(c.code, 200, "INVITE %d: %r" % (i, c.raw))
            calls.append(c)
        over = sip.invite(ruri, sip.sdp(), ack=False)
        self.assertEqual(over.code, 503, over.raw)
        self.assertIn("retry-after", over.hdrs, over.raw)
        self.assertTrue(int(over.hdrs["retry-after"]) > 0, over.raw)
        # someone else is not held back
        other = self.caller("127.0.0.2")
        c = other.invite(ruri, other.sdp())
        self.assertEqual(c.code, 200, c.raw)
        # an ACK confirms one: room for one more
        sip.sock.sendto(sip._build("ACK", ruri, calls[0].call_id, 1,
                                   "z9hG4bKack0", calls[0].from_tag,
                                   calls[0].to_tag), sip.dst)
        time.sleep(0.3)
        again = sip.invite(ruri, sip.sdp(), ack=False)
        self.assertEqual(again.code, 200, again.raw)
        again2 = sip.invite(ruri, sip.sdp(), ack=False)
        self.assertEqual(again2.code, 503, again2.raw)

    def test_bad_offer_488(self):
        self.start_sip_daemon()
        cid = self.conference()
        ruri = self.conf_uri(cid)
        sip = self.caller()
        for what, body in [
                ("multicast c=", sip.sdp(c="239.1.2.3")),
                ("multicast c= with TTL", sip.sdp(c="224.0.0.1/127")),
                ("broadcast c=", sip.sdp(c="255.255.255.255")),
                ("unparsable c=", sip.sdp(c="999.1.2.3")),
                ("host name c=", sip.sdp(c="example.invalid")),
                ("port 0", sip.sdp(port=0)),
                ("port 70000", sip.sdp(port=70000)),
                ("port 65536", sip.sdp(port=65536)),
                ("not SDP", "hello, this is not SDP\r\n"),
                ("no media", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n"
                             "c=IN IP4 127.0.0.1\r\nt=0 0\r\n")]:
            with self.subTest(what):
                c = sip.invite(ruri, body)
                self.assertEqual(c.code, 488, c.raw)
        self.assertEqual(self.participants(cid), [])
        r = self.api.get("/calls", query={"page_size": "100"})
        self.assertEqual(r.json["result"], [], r)

    def test_reinvite_garbage_488_keeps_media(self):
        self.start_sip_daemon()
        cid = self.conference()
        ruri = self.conf_uri(cid)
        sip = self.caller()
        call = sip.invite(ruri, sip.sdp())
        self.assertEqual(call.code, 200, call.raw)
        p = self.wait_participant(cid, "joined", 5, caller_id="tester")
        self.assertTrue(sip.rtp_received(3), "no RTP from the room")
        for what, body in [
                ("garbage", "\x01\x02 garbage, not SDP\r\n"),
                ("multicast c=", sip.sdp(c="239.9.9.9", ver=2)),
                ("port 99999", sip.sdp(port=99999, ver=2))]:
            with self.subTest(what):
                code, _ = sip.reinvite(call, body)
                self.assertEqual(code, 488, call.raw)
                self.assertTrue(sip.rtp_received(3),
                                "RTP stopped after a refused re-INVITE")
        self.assertEqual(self.participant(cid, caller_id="tester")["status"],
                         "joined")
        call_rec = self.api.get("/calls/" + p["reference_id"]).json
        self.assertEqual(call_rec["status"], "progressing", call_rec)
        code, body = sip.reinvite(call, sip.sdp(ver=3))
        self.assertEqual(code, 200, call.raw)
        self.assertEqual(sip.bye(call), 200)

    def test_content_length_beyond_body_400(self):
        self.start_sip_daemon()
        cid = self.conference()
        ruri = self.conf_uri(cid)
        sip = self.caller()
        body = sip.sdp()

        def build(method):
            def b(call):
                m = sip._build(method, ruri, call.call_id, 1,
                               "z9hG4bK" + call.from_tag + "cl",
                               call.from_tag, body=body)
                return m.replace(b"Content-Length: %d" % len(body),
                                 b"Content-Length: %d" % (len(body) + 500))
            return b
        for method in ("INVITE", "OPTIONS"):
            with self.subTest(method):
                c = sip.raw_request(method, ruri, build(method))
                self.assertEqual(c.code, 400, c.raw)
        self.assertEqual(self.participants(cid), [])
        # the same INVITE with the right length is taken
        ok = sip.invite(ruri, body)
        self.assertEqual(ok.code, 200, ok.raw)


if __name__ == "__main__":
    main()
