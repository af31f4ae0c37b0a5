"""
test_sip_control.py: controlling real SIP participants (baresip) through the
API, and how they leave.

- mute/unmute: while alice (440 Hz) is muted, bob and carol no longer hear
  her tone (30 dB below the tone still present) but alice still hears
  theirs; after unmute her tone is back. Windows of the recordings are cut
  from the times of the API calls (1 s margins).
- kick (DELETE /conferencecalls/{id}): the phone gets a BYE (ctrl_tcp
  CALL_CLOSED), the participant is leaved/removed, a second kick is 409,
  the other participant stays joined.
- hang-up by the phone: leaved/hangup, its call hangup.
- SIGKILL of the phone (no BYE, no more RTP): leaved/orphan within 30 s.
- `connect` conference: when one hangs up, the other gets a BYE and the
  conference ends terminated.
- DELETE of a conference with two participants: both get a BYE, both
  leaved/removed, conference terminated.
Each step's webhook events must arrive, in order (joined before muted
before unmuted before left, terminating before terminated ...).
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, wait_until  # noqa: E402

JOINED = "conference.member.joined"
LEFT = "conference.member.left"
UPDATED = "conference.updated"


class SipControlTest(SipTestCase):

    def room(self, ctype="conference", names=("alice", "bob"),
             freqs=(440, 660)):
        """chorusd, a conference of ctype and the phones joined; returns
        (conference id, phones, participants)."""
        self.start_sip_daemon()
        cid = self.api.create_conference(type=ctype, name=ctype)["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        phones = [self.phone(n, f) for n, f in zip(names, freqs)]
        return cid, phones, self.join(cid, *phones)

    def assertClosed(self, phone, timeout=5, since=0):
        e = phone.wait_event("CALL_CLOSED", timeout, since)
        self.assertIsNotNone(e, "%s got no BYE (CALL_CLOSED) within %d s; "
                             "events %s" % (phone.name, timeout,
                                            phone.event_types()))
        return e

    def assertStillIn(self, cid, phone, part):
        self.assertIsNone(phone.wait_event("CALL_CLOSED", 0),
                          "%s's call was closed" % phone.name)
        p = self.api.get("/conferencecalls/" + part["id"]).json
        self.assertEqual(p["status"], "joined", p)
        self.assertIn(part["id"], self.api.conference(cid)
                      ["conferencecall_ids"])

    def assertLeft(self, cid, part, reason, timeout=10):
        p = self.wait_participant(cid, "leaved", timeout,
                                  reference_id=part["reference_id"])
        self.assertEqual(p["leave_reason"], reason, p)
        self.assertNotIn(part["id"],
                         self.api.conference(cid)["conferencecall_ids"])
        self.wait_events("session_uuid", part["id"], [
            JOINED, (LEFT, {"reason": reason})])
        return p

    def call_of(self, part):
        r = self.api.get("/calls/" + part["reference_id"])
        self.assertEqual(r.status, 200, r)
        return r.json

    def wait_call_hungup(self, part, timeout=5):
        c = wait_until(lambda: (lambda c: c if c["status"] == "hangup"
                                else None)(self.call_of(part)), timeout, 0.2)
        self.assertTrue(c, "call not hung up: %r" % self.call_of(part))
        return c

    def test_mute_unmute(self):
        cid, (alice, bob, carol), (pa, pb, pc) = self.room(
            names=("alice", "bob", "carol"), freqs=(440, 660, 880))
        t_join = time.monotonic()
        time.sleep(3)
        t_mute = time.monotonic()
        r = self.api.post("/conferencecalls/%s/mute" % pa["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.api.get("/conferencecalls/" + pa["id"])
                         .json["muted"], True)
        self.wait_events("session_uuid", pa["id"],
                         [JOINED, "conference.member.muted"])
        time.sleep(4)
        t_unmute = time.monotonic()
        r = self.api.post("/conferencecalls/%s/unmute" % pa["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(self.api.get("/conferencecalls/" + pa["id"])
                         .json["muted"], False)
        self.assertEqual(self.api.get("/conferencecalls/" + pb["id"])
                         .json["muted"], False)
        time.sleep(4)
        t_end = time.monotonic()
        for ph in (alice, bob, carol):
            ph.hangup()
        for ph in (alice, bob, carol):
            self.assertClosed(ph)
            ph.quit()

        before = (t_join + 1.5, t_mute - 0.3)
        muted = (t_mute + 1.0, t_unmute - 0.3)
        after = (t_unmute + 1.0, t_end - 0.5)
        for ph, own, other in ((bob, 660, 880), (carol, 880, 660)):
            self.assertHeard(ph, *before, [440, other], [own], "before mute")
            self.assertHeard(ph, *muted, [other], [own, 440], "while muted")
            self.assertHeard(ph, *after, [440, other], [own], "after unmute")
        self.assertHeard(alice, *muted, [660, 880], [440], "while muted")
        self.assertHeard(alice, *after, [660, 880], [440], "after unmute")
        self.wait_events("session_uuid", pa["id"], [
            JOINED, "conference.member.muted", "conference.member.unmuted",
            (LEFT, {"reason": "hangup"})])

    def test_kick(self):
        cid, (alice, bob), (pa, pb) = self.room()
        time.sleep(1)
        r = self.api.delete("/conferencecalls/" + pa["id"])
        self.assertEqual(r.status, 200, r)
        self.assertClosed(alice)
        p = self.assertLeft(cid, pa, "removed")
        self.assertError(self.api.delete("/conferencecalls/" + pa["id"]),
                         409, code="conferencecall_not_kickable")
        self.wait_call_hungup(p)
        time.sleep(1)
        self.assertStillIn(cid, bob, pb)
        self.assertEqual(self.api.conference(cid)["status"], "progressing")

    def test_hangup(self):
        cid, (alice, bob), (pa, pb) = self.room()
        time.sleep(1)
        alice.hangup()
        self.assertClosed(alice)
        self.assertLeft(cid, pa, "hangup")
        c = self.wait_call_hungup(pa)
        self.assertEqual(c["hangup_reason"], "normal", c)
        time.sleep(1)
        self.assertStillIn(cid, bob, pb)

    def test_sigkill_is_orphan(self):
        cid, (alice, bob), (pa, pb) = self.room()
        time.sleep(1)
        t_kill = time.monotonic()
        alice.kill()
        p = self.wait_participant(cid, "leaved", 30,
                                  reference_id=pa["reference_id"])
        took = time.monotonic() - t_kill
        sys.stderr.write("  killed participant leaved after %.1f s\n" % took)
        self.assertEqual(p["leave_reason"], "orphan", p)
        self.wait_events("session_uuid", pa["id"], [
            JOINED, (LEFT, {"reason": "orphan"})])
        self.assertStillIn(cid, bob, pb)
        c = self.call_of(pa)
        self.assertIn(c["status"], ("terminating", "hangup"), c)

    def test_connect_type(self):
        cid, (alice, bob), (pa, pb) = self.room(ctype="connect")
        time.sleep(1)
        alice.hangup()
        self.assertClosed(alice)
        self.assertClosed(bob)
        self.assertIsNotNone(self.api.wait_status(cid, "terminated", 10),
                             self.api.conference(cid))
        self.assertLeft(cid, pa, "hangup")
        self.assertLeft(cid, pb, "removed")
        # the two phones dial at the same moment: their joins may come in
        # either order, so each join is checked against what follows it
        for part in (pa, pb):
            self.wait_events("room_id", cid, [
                (JOINED, {"session_uuid": part["id"]}),
                (UPDATED, {"status": "terminating"}),
                (LEFT, {"session_uuid": pb["id"], "reason": "removed"}),
                (UPDATED, {"status": "terminated"}),
                "conference.destroyed"])
        self.wait_events("room_id", cid, [
            (LEFT, {"session_uuid": pa["id"], "reason": "hangup"}),
            (UPDATED, {"status": "terminated"})])

    def test_delete_conference(self):
        cid, (alice, bob), (pa, pb) = self.room()
        time.sleep(1)
        r = self.api.delete("/conferences/" + cid)
        self.assertEqual(r.status, 200, r)
        self.assertClosed(alice)
        self.assertClosed(bob)
        self.assertIsNotNone(self.api.wait_status(cid, "terminated", 10),
                             self.api.conference(cid))
        self.assertLeft(cid, pa, "removed")
        self.assertLeft(cid, pb, "removed")
        for part in (pa, pb):
            self.wait_events("room_id", cid, [
                (JOINED, {"session_uuid": part["id"]}),
                (UPDATED, {"status": "terminating"}),
                (LEFT, {"session_uuid": part["id"], "reason": "removed"}),
                (UPDATED, {"status": "terminated"}),
                "conference.destroyed"])
        # a terminated conference takes no more callers
        carol = self.phone("carol", 880)
        carol.dial(self.conf_uri(cid))
        e = carol.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_CLOSED",
                        "call into a terminated conference: %r" % e)


if __name__ == "__main__":
    main()
