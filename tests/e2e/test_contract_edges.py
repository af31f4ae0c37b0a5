"""
test_contract_edges.py: contract details of seeds 001/002 with real SIP
phones (baresip).

- A `connect` conference takes exactly two participants: a third caller is
  refused with 486 (the phone sees the call closed), the two stay joined.
- DELETE /conferencecalls/{id} answers the participant as `leaving`
  (seed 002), and the step is announced (conference.member.leaving, with its
  reason) before conference.member.left.
- caller_id has one form for dial-in and dial-out: the SIP user part.
- call.created of a dial-in already names its conference.
- end_reason and ended_by are fields of the conference: empty while it
  lives, set once it ends.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, wait_until  # noqa: E402


class ContractEdgesTest(SipTestCase):

    def live(self, ctype="conference"):
        cid = self.api.create_conference(type=ctype, name=ctype)["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def test_connect_takes_two(self):
        self.start_sip_daemon()
        cid = self.live("connect")
        a, b = self.phone("alice", 440), self.phone("bob", 660)
        pa, pb = self.join(cid, a, b)
        carol = self.phone("carol", 880)
        carol.dial(self.conf_uri(cid))
        e = carol.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_CLOSED",
                        "a third caller got into a connect conference: %r"
                        % e)
        self.assertIn("486", e.get("param", ""),
                      "refused without 486: %r" % e)
        conf = self.api.conference(cid)
        self.assertEqual(sorted(conf["conferencecall_ids"]),
                         sorted([pa["id"], pb["id"]]), conf)
        self.assertEqual(conf["status"], "progressing", conf)
        for p in (pa, pb):
            self.assertEqual(self.api.get("/conferencecalls/" + p["id"])
                             .json["status"], "joined")

    def test_kick_answers_leaving_and_announces_it(self):
        self.start_sip_daemon()
        cid = self.live()
        conf = self.api.conference(cid)
        self.assertEqual((conf["end_reason"], conf["ended_by"]), ("", ""),
                         conf)
        a, b = self.phone("alice", 440), self.phone("bob", 660)
        pa, pb = self.join(cid, a, b)
        r = self.api.delete("/conferencecalls/" + pa["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "leaving", r.json)
        self.assertEqual(r.json["leave_reason"], "removed", r.json)
        self.wait_events("session_uuid", pa["id"], [
            "conference.member.joined",
            ("conference.member.leaving", {"reason": "removed"}),
            ("conference.member.left", {"reason": "removed"})])
        # the conference ends via the API: end_reason and ended_by set
        self.assertEqual(self.api.delete("/conferences/" + cid).status, 200)
        c = self.api.wait_status(cid, "terminated", 10)
        self.assertIsNotNone(c)
        self.assertEqual(c["end_reason"], "conference_ended_via_api", c)
        self.assertEqual(c["ended_by"],
                         "00000000-0000-0000-0000-000000000000", c)

    def test_caller_id_and_call_created(self):
        self.start_sip_daemon()
        cid = self.live()
        alice = self.phone("alice", 440)
        (pa,) = self.join(cid, alice)
        self.assertEqual(pa["caller_id"], "alice", pa)
        created = next(e for e in self.wait_events(
            "call.id", pa["reference_id"], ["call.created"])
            if e["event"] == "call.created")
        self.assertEqual(created["call"]["conference_id"], cid, created)
        # dial-out: the same form, the user part of the target
        bob = self.phone("bob", 660, answermode="auto")
        r = self.api.post("/calls", {
            "source": {"type": "sip", "target": "sip:chorus@127.0.0.1"},
            "destinations": [{"type": "sip", "target": bob.aor}],
            "actions": [{"type": "conference_join",
                         "option": {"conference_id": cid}}]})
        self.assertEqual(r.status, 200, r)
        call = r.json["calls"][0]
        self.assertEqual(call["conference_id"], cid, call)
        pb = self.wait_participant(cid, "joined", 10,
                                   reference_id=call["id"])
        self.assertEqual(pb["caller_id"], "bob", pb)


if __name__ == "__main__":
    main()
