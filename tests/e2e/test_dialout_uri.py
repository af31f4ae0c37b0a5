"""
test_dialout_uri.py: POST /v1.0/calls refuses a target or source that is
not a plain SIP URI, so that nothing a client sends can add a header to
the INVITE chorusd writes (libre prints both into the request line, To:
and From:):

- CR/LF, a bare LF, a tab, a space, <, >, ", a non-ASCII byte, URI
  headers (?X=), a tel: or http: URI, no host, a port out of range ->
  400 invalid_field naming destinations[0].target (or source.target);
- nothing is created: GET /calls is unchanged, and the UDP port the
  targets point at receives no SIP;
- the same targets written properly (sip:/sips:, escaped) are taken.
"""
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import ChorusTestCase  # noqa: E402

BAD = [
    "sip:a@127.0.0.1:%d\r\nX-Evil: 1",
    "sip:a@127.0.0.1:%d\nX-Evil: 1",
    "sip:a@127.0.0.1:%d\rX-Evil: 1",
    "sip:a@127.0.0.1:%d>\r\nX-Evil: 1\r\nX: <sip:b@h",
    "sip:a@127.0.0.1:%d\tX",
    "sip:a b@127.0.0.1:%d",
    "sip:a@127.0.0.1:%d>;tag=1",
    "sip:\"a\"@127.0.0.1:%d",
    "sip:\u00e9@127.0.0.1:%d",
    "sip:a@127.0.0.1:%d?X-Evil=1",
    "tel:+1555%d",
    "sip:@:%d",
    "sip:@127.0.0.1:%d",
    "sip:a@127.0.0.1:%d9999",
]


class DialoutUriTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon()
        self.api = self.d.client()
        self.cid = self.api.create_conference(name="uri")["id"]
        self.assertIsNotNone(self.api.wait_status(self.cid, "progressing",
                                                  5))
        # where the targets point: must hear nothing
        self.trap = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.trap.bind(("127.0.0.1", 0))
        self.addCleanup(self.trap.close)
        self.port = self.trap.getsockname()[1]

    def dial(self, target, source="sip:chorus@127.0.0.1"):
        return self.api.post("/calls", {
            "source": {"type": "sip", "target": source},
            "destinations": [{"type": "sip", "target": target}],
            "actions": [{"type": "conference_join",
                         "option": {"conference_id": self.cid}}]})

    def calls(self):
        r = self.api.get("/calls", query={"page_size": "100"})
        self.assertEqual(r.status, 200, r)
        return r.json["result"]

    def assertRefused(self, r, field):
        self.assertEqual(r.status, 400, r)
        err = r.json["error"]
        self.assertEqual(err["code"], "invalid_field", r)
        self.assertEqual(err["field"], field, r)

    def assertNoSip(self):
        self.trap.settimeout(0.5)
        try:
            data, _ = self.trap.recvfrom(65536)
        except socket.timeout:
            return
        self.fail("a refused dial-out sent SIP: %r" % data[:300])

    def test_bad_target_400(self):
        before = self.calls()
        for t in BAD:
            t = t % self.port
            with self.subTest(target=t):
                self.assertRefused(self.dial(t), "destinations[0].target")
        self.assertEqual(self.calls(), before)
        self.assertNoSip()
        self.assertTrue(self.d.alive())

    def test_bad_source_400(self):
        before = self.calls()
        good = "sip:a@127.0.0.1:%d" % self.port
        for s in BAD:
            s = s % self.port
            with self.subTest(source=s):
                self.assertRefused(self.dial(good, source=s),
                                   "source.target")
        self.assertEqual(self.calls(), before)
        self.assertNoSip()

    def test_second_destination_named(self):
        r = self.api.post("/calls", {
            "destinations": [
                {"type": "sip", "target": "sip:a@127.0.0.1:%d" % self.port},
                {"type": "sip",
                 "target": "sip:b@127.0.0.1:%d\r\nX-Evil: 1" % self.port}],
            "actions": [{"type": "conference_join",
                         "option": {"conference_id": self.cid}}]})
        self.assertRefused(r, "destinations[1].target")
        self.assertEqual(self.calls(), [])
        self.assertNoSip()

    def test_good_uris_taken(self):
        for t in ("sip:a@127.0.0.1:%d", "sip:%%61b@127.0.0.1:%d;user=phone",
                  "SIP:c@127.0.0.1:%d;transport=udp"):
            t = t % self.port
            with self.subTest(target=t):
                r = self.dial(t)
                self.assertEqual(r.status, 200, r)
                self.assertEqual(
                    r.json["calls"][0]["destination"]["target"], t)
        # the INVITE went out, with no header but its own
        self.trap.settimeout(5)
        data, _ = self.trap.recvfrom(65536)
        self.assertTrue(data.startswith(b"INVITE sip:"), data[:200])
        self.assertNotIn(b"X-Evil", data)


if __name__ == "__main__":
    unittest.main(verbosity=2)
