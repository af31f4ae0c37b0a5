"""
test_sip_dialout.py: dial-out (POST /v1.0/calls with a conference_join
action) to real SIP phones (baresip).

- to an auto-answering baresip: chorusd INVITEs it, on answer the call
  joins the conference as a participant (reference_id = the call), the
  call is outgoing/progressing with a codec, the phone hears the tone of a
  dial-in participant (and the dial-in one hears the phone's) with its own
  tone 30 dB below; DELETE /calls/{id} sends a BYE, the call ends hangup/
  normal and the participant leaved; call.created/call.updated and
  member.joined/left arrive in order.
- to a port where nobody listens: the call ends (hangup_reason noanswer,
  failed or timeout) within 45 s and no participant is left behind.
- to a ringing phone that rejects (486): hangup_reason busy or rejected,
  status ringing was seen before, no participant.
- DELETE /calls/{id} while it rings: the phone sees the call go (CANCEL),
  hangup_reason cancel, no participant.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, wait_until  # noqa: E402

TALK_SECONDS = 6


class SipDialoutTest(SipTestCase):

    def conference(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="dialout")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def dial_out(self, cid, target):
        """POST /calls; returns the call."""
        r = self.api.post("/calls", {
            "source": {"type": "sip", "target": "sip:chorus@127.0.0.1"},
            "destinations": [{"type": "sip", "target": target}],
            "actions": [{"type": "conference_join", "option": {
                "conference_id": cid, "end_conference_on_exit": False}}]})
        self.assertEqual(r.status, 200, r)
        calls = r.json.get("calls")
        self.assertIsInstance(calls, list, r)
        self.assertEqual(len(calls), 1, r)
        c = calls[0]
        self.assertEqual(c["direction"], "outgoing", c)
        self.assertEqual(c["transport"], "sip", c)
        self.assertEqual(c["destination"]["target"], target, c)
        self.assertIn(c["status"], ("dialing", "ringing", "progressing"), c)
        return c

    def get_call(self, call_id):
        r = self.api.get("/calls/" + call_id)
        self.assertEqual(r.status, 200, r)
        return r.json

    def wait_call(self, call_id, status, timeout):
        last = {}

        def ok():
            last["c"] = self.get_call(call_id)
            return last["c"] if last["c"]["status"] == status else None
        c = wait_until(ok, timeout, 0.2)
        if not c:
            self.fail("call %s not %s within %.0f s: %r" %
                      (call_id, status, timeout, last.get("c")))
        return c

    def assertNoParticipantLeft(self, cid, call):
        """No participant of call is still in the conference."""
        for p in self.participants(cid):
            if p.get("reference_id") == call["id"]:
                self.assertEqual(p["status"], "leaved", p)
        ids = self.api.conference(cid)["conferencecall_ids"]
        cc = call.get("conferencecall_id")
        self.assertNotIn(cc, ids, "participant of a failed call is in the "
                         "conference")
        self.assertEqual(ids, [], self.api.conference(cid))

    def test_dialout_auto_answer_joins(self):
        cid = self.conference()
        alice = self.phone("alice", 440)
        (pa,) = self.join(cid, alice)
        bob = self.phone("bob", 660, answermode="auto")
        call = self.dial_out(cid, bob.aor)
        e = bob.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_ESTABLISHED",
                        "the dial-out did not reach bob: %r" % e)
        pb = self.wait_participant(cid, "joined", 10,
                                   reference_id=call["id"])
        t_join = time.monotonic()
        c = self.wait_call(call["id"], "progressing", 5)
        self.assertEqual(c["conference_id"], cid, c)
        self.assertEqual(c["conferencecall_id"], pb["id"], c)
        self.assertTrue(str(c["codec"]).lower().startswith("pcmu"), c)
        self.assertEqual(sorted(self.api.conference(cid)
                                ["conferencecall_ids"]),
                         sorted([pa["id"], pb["id"]]))
        r = self.api.get("/calls", query={"page_size": "100"})
        self.assertEqual(r.status, 200, r)
        self.assertIn(call["id"], [x["id"] for x in r.json["result"]])
        time.sleep(TALK_SECONDS)
        st = self.api.get("/conferencecalls/" + pb["id"]).json.get("stats")
        self.assertGreater((st or {}).get("packets_in") or 0, 0, st)
        self.assertGreater((st or {}).get("packets_out") or 0, 0, st)
        t_end = time.monotonic()

        r = self.api.delete("/calls/" + call["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(bob.wait_event("CALL_CLOSED", 5),
                             "bob got no BYE after DELETE /calls")
        c = self.wait_call(call["id"], "hangup", 5)
        self.assertEqual(c["hangup_reason"], "normal", c)
        self.wait_participant(cid, "leaved", 10, reference_id=call["id"])
        alice.hangup()
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 5))
        alice.quit()
        bob.quit()

        self.assertHeard(bob, t_join + 1.5, t_end - 0.5, [440], [660],
                         "(dialed out)")
        self.assertHeard(alice, t_join + 1.5, t_end - 0.5, [660], [440],
                         "(dial-in)")
        self.wait_events("call.id", call["id"], [
            "call.created", ("call.updated", {"status": "progressing"}),
            ("call.updated", {"status": "hangup"})])
        self.wait_events("session_uuid", pb["id"], [
            "conference.member.joined", "conference.member.left"])

    def test_dialout_nobody_listens(self):
        cid = self.conference()
        port = self.block().take(1)  # bindable, and nobody binds it
        target = "sip:nobody@127.0.0.1:%d" % port
        call = self.dial_out(cid, target)
        t0 = time.monotonic()
        c = self.wait_call(call["id"], "hangup", 45)
        sys.stderr.write("  dial-out to nobody: hangup after %.1f s (%s)\n"
                         % (time.monotonic() - t0, c["hangup_reason"]))
        self.assertIn(c["hangup_reason"], ("noanswer", "failed", "timeout"),
                      c)
        self.assertNoParticipantLeft(cid, c)
        self.wait_events("call.id", call["id"], [
            "call.created", ("call.updated", {"status": "hangup"})])

    def test_dialout_rejected(self):
        cid = self.conference()
        bob = self.phone("bob", 660)  # answermode manual: it rings
        call = self.dial_out(cid, bob.aor)
        self.assertIsNotNone(bob.wait_event("CALL_INCOMING", 10),
                             "the dial-out did not reach bob")
        self.wait_call(call["id"], "ringing", 5)
        bob.hangup()  # baresip answers 486
        c = self.wait_call(call["id"], "hangup", 10)
        self.assertIn(c["hangup_reason"], ("busy", "rejected"), c)
        self.assertNoParticipantLeft(cid, c)

    def test_dialout_cancel_while_ringing(self):
        cid = self.conference()
        bob = self.phone("bob", 660)
        call = self.dial_out(cid, bob.aor)
        self.assertIsNotNone(bob.wait_event("CALL_INCOMING", 10),
                             "the dial-out did not reach bob")
        self.wait_call(call["id"], "ringing", 5)
        r = self.api.delete("/calls/" + call["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(bob.wait_event("CALL_CLOSED", 5),
                             "bob's ringing call was not cancelled")
        self.assertIsNone(bob.wait_event("CALL_ESTABLISHED", 0))
        c = self.wait_call(call["id"], "hangup", 10)
        self.assertEqual(c["hangup_reason"], "cancel", c)
        self.assertNoParticipantLeft(cid, c)


if __name__ == "__main__":
    main()
