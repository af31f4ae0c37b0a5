"""
test_sip_sdp_interop.py: what chorusd's SDP answers say, seen by a raw SIP
caller over UDP (sip_dialog.py):

- an offer with a=rtcp-mux is answered with a=rtcp-mux (RFC 5761), one
  without it is not; a re-INVITE that drops it gets an answer without it;
- chorusd started with --sip 0.0.0.0:0 (no --public-ip) answers an INVITE
  from 127.0.0.1 with c=IN IP4 127.0.0.1 (and o=, Contact), never
  0.0.0.0, and the call gets established through that Contact.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import BLOCK, SipTestCase, customer_add, main  # noqa: E402
from sip_harness import wait_until  # noqa: E402
from sip_dialog import DialogSip  # noqa: E402


class SdpInteropTest(SipTestCase):

    def conference(self):
        cid = self.api.create_conference(name="sdp")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def caller(self):
        s = DialogSip(self.d.sip_port)
        self.addCleanup(s.close)
        return s

    def test_rtcp_mux_answered(self):
        self.start_sip_daemon()
        cid = self.conference()
        sip = self.caller()
        ruri = self.conf_uri(cid)
        call = sip.invite(ruri, sip.sdp(extra="a=rtcp-mux\r\n"))
        self.assertEqual(call.code, 200, call.raw)
        self.assertIn("\r\na=rtcp-mux\r\n", call.body, call.body)
        self.wait_participant(cid, "joined", 5, caller_id="tester")
        # dropped in a re-offer: dropped in the answer
        code, body = sip.reinvite(call, sip.sdp(ver=2))
        self.assertEqual(code, 200, call.raw)
        self.assertNotIn("rtcp-mux", body, body)
        code, body = sip.reinvite(call, sip.sdp(ver=3,
                                                extra="a=rtcp-mux\r\n"))
        self.assertEqual(code, 200, call.raw)
        self.assertIn("a=rtcp-mux", body, body)
        # not offered: not answered
        other = self.caller()
        c2 = other.invite(ruri, other.sdp())
        self.assertEqual(c2.code, 200, c2.raw)
        self.assertNotIn("rtcp-mux", c2.body, c2.body)

    def test_wildcard_bind_answers_local_address(self):
        b = self.block()
        d = self.start_daemon(args=["--sip", "0.0.0.0:0", "--rtp-ports",
                                    "%d-%d" % (b.base, b.base + BLOCK - 1)])

        def sip_line():
            with open(d.stdout_path, "r", errors="replace") as f:
                return re.search(r"^  SIP:\s+0\.0\.0\.0:(\d+)\b", f.read(),
                                 re.M)
        m = wait_until(sip_line, 5)
        self.assertTrue(m, "no '  SIP:   0.0.0.0:PORT' line")
        d.sip_port = int(m.group(1))
        self.d = d
        self.cust = customer_add(d.data_dir, "sip-e2e", self.rcv.url)
        self.api = d.client(token=self.cust["token"])
        cid = self.conference()
        sip = self.caller()
        call = sip.invite("sip:%s@127.0.0.1:%d" % (cid, d.sip_port),
                          sip.sdp())
        self.assertEqual(call.code, 200, call.raw)
        self.assertNotIn("0.0.0.0", call.body, call.body)
        self.assertRegex(call.body, r"\r\nc=IN IP4 127\.0\.0\.1\r\n")
        self.assertRegex(call.body, r"\r\no=\S+ \d+ \d+ IN IP4 127\.0\.0\.1"
                         r"\r\n")
        contact = call.hdrs.get("contact", "")
        self.assertIn("127.0.0.1:%d" % d.sip_port, contact, call.raw)
        # the ACK chorusd waits for came through: joined, not dropped
        self.wait_participant(cid, "joined", 5, caller_id="tester")
        self.assertEqual(sip.bye(call), 200)
        self.wait_participant(cid, "leaved", 5, caller_id="tester")


if __name__ == "__main__":
    main()
