"""
test_sip_restart.py: a real SIP call (baresip) survives no crash of
chorusd, and the store says so: after kill -9 with the call up, the
restarted chorusd ends the call (status hangup, hangup_reason failed, with
a call.updated webhook event) and its participant leaves as orphan; the
conference stays progressing and takes a new call.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main  # noqa: E402


class SipRestartTest(SipTestCase):

    def test_kill9_with_a_call_up(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="crash")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice = self.phone("alice", 440)
        (part,) = self.join(cid, alice)
        call_id = part["reference_id"]
        r = self.api.get("/calls/" + call_id)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "progressing", r.json)

        self.d.kill()  # kill -9 with the call up
        self.d.start()
        self.api = self.d.client(token=self.cust["token"])  # new port
        r = self.api.get("/calls/" + call_id)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "hangup", r.json)
        self.assertEqual(r.json["hangup_reason"], "failed", r.json)
        self.assertNotEqual(r.json["tm_delete"][:4], "9999", r.json)
        p = self.api.get("/conferencecalls/" + part["id"]).json
        self.assertEqual((p["status"], p["leave_reason"]),
                         ("leaved", "orphan"), p)
        self.wait_events("call.id", call_id,
                         [("call.updated", {"status": "progressing"}),
                          ("call.updated", {"status": "hangup"})],
                         timeout=15)
        self.assertEqual(self.api.conference(cid)["status"], "progressing")

        # the conference still works after the restart
        bob = self.phone("bob", 660)
        self.join(cid, bob)


if __name__ == "__main__":
    main()
