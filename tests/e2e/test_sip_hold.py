"""
test_sip_hold.py: re-INVITE and TCP with real SIP phones (baresip).

- hold: alice (440 Hz) puts the call on hold (baresip's "hold" sends a
  re-INVITE with a=sendonly): bob and carol stop hearing her tone (30 dB
  below the tone still present) while she is held; after "resume" (a
  re-INVITE back to sendrecv) her tone is heard again. Her participant
  stays joined throughout.
- TCP: a phone dialling the conference over SIP/TCP joins, hears the UDP
  phone and is heard by it.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main  # noqa: E402


class SipHoldTest(SipTestCase):

    def start_room(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(type="conference",
                                         name="hold")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        return cid

    def test_hold_and_resume(self):
        cid = self.start_room()
        alice, bob, carol = (self.phone("alice", 440), self.phone("bob", 660),
                             self.phone("carol", 880))
        pa, pb, pc = self.join(cid, alice, bob, carol)
        t_join = time.monotonic()
        time.sleep(3)
        t_hold = time.monotonic()
        r = alice.command("hold")
        self.assertTrue(r.get("ok"), r)
        time.sleep(4)
        p = self.api.get("/conferencecalls/" + pa["id"]).json
        self.assertEqual(p["status"], "joined", p)
        t_resume = time.monotonic()
        r = alice.command("resume")
        self.assertTrue(r.get("ok"), r)
        time.sleep(4)
        t_end = time.monotonic()
        for ph in (alice, bob, carol):
            ph.hangup()
        for ph in (alice, bob, carol):
            self.assertIsNotNone(ph.wait_event("CALL_CLOSED", 5))
            ph.quit()
        before = (t_join + 1.5, t_hold - 0.3)
        held = (t_hold + 1.0, t_resume - 0.3)
        after = (t_resume + 1.5, t_end - 0.5)
        for ph, own, other in ((bob, 660, 880), (carol, 880, 660)):
            self.assertHeard(ph, *before, [440, other], [own], "before hold")
            self.assertHeard(ph, *held, [other], [own, 440], "while held")
            self.assertHeard(ph, *after, [440, other], [own], "after resume")

    def test_tcp_participant(self):
        cid = self.start_room()
        alice, bob = self.phone("alice", 440), self.phone("bob", 660)
        alice.dial(self.conf_uri(cid) + ";transport=tcp")
        bob.dial(self.conf_uri(cid))
        for ph in (alice, bob):
            e = ph.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
            self.assertTrue(e and e["type"] == "CALL_ESTABLISHED",
                            "%s: not established: %r" % (ph.name, e))
            self.wait_participant(cid, "joined", 10, caller_id=ph.name)
        t0 = time.monotonic()
        time.sleep(5)
        t1 = time.monotonic()
        for ph in (alice, bob):
            ph.hangup()
        for ph in (alice, bob):
            self.assertIsNotNone(ph.wait_event("CALL_CLOSED", 5))
            ph.quit()
        self.assertHeard(alice, t0 + 1.5, t1 - 0.5, [660], [440], "over TCP")
        self.assertHeard(bob, t0 + 1.5, t1 - 0.5, [440], [660], "from TCP")
        self.wait_participant(cid, "leaved", 10, caller_id="alice")


if __name__ == "__main__":
    main()
