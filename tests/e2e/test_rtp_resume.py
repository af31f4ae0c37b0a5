"""
test_rtp_resume.py: a phone whose RTP pauses past the RTP timeout and then
comes back stays in the conference; one that never comes back is removed.

Three real SIP phones (baresip) join a conference. bob and carol are frozen
with SIGSTOP (no RTP, no SIP: as a phone behind a dead link); alice keeps
sending. After 12 s, past chorusd's 10 s RTP timeout, bob is thawed
(SIGCONT) and sends again; carol stays frozen. Then:
- carol is leaved with reason orphan (the health check: every 5 s, 2
  retries) and the webhook says so;
- bob and alice are still joined 20 s after bob came back, well after the
  health check would have removed bob had his media stayed "down"; bob's
  packets_in grows again.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main  # noqa: E402

JOINED = "conference.member.joined"
LEFT = "conference.member.left"
RTP_TIMEOUT_S = 10  # chorusd's (serve_cmd.c)
PAUSE_S = RTP_TIMEOUT_S + 2
AFTER_S = 20


class RtpResumeTest(SipTestCase):

    def packets_in(self, pid):
        p = self.api.get("/conferencecalls/" + pid).json
        return (p.get("stats") or {}).get("packets_in", 0)

    def test_pause_then_resume(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(type="conference",
                                         name="resume")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice, bob, carol = (self.phone("alice", 440), self.phone("bob", 660),
                             self.phone("carol", 880))
        pa, pb, pc = self.join(cid, alice, bob, carol)
        time.sleep(2)
        self.assertGreater(self.packets_in(pb["id"]), 0)

        t_stop = time.monotonic()
        for ph in (bob, carol):
            os.kill(ph.proc.pid, signal.SIGSTOP)
        # carol must be thawed (and then quit) whatever happens
        self.addCleanup(os.kill, carol.proc.pid, signal.SIGCONT)
        time.sleep(PAUSE_S)
        stopped = self.packets_in(pb["id"])
        os.kill(bob.proc.pid, signal.SIGCONT)
        t_resume = time.monotonic()
        sys.stderr.write("  bob paused %.1f s\n" % (t_resume - t_stop))

        p = self.wait_participant(cid, "leaved", 30,
                                  reference_id=pc["reference_id"])
        sys.stderr.write("  carol leaved %.1f s after she stopped\n" %
                         (time.monotonic() - t_stop))
        self.assertEqual(p["leave_reason"], "orphan", p)
        self.wait_events("session_uuid", pc["id"], [
            JOINED, (LEFT, {"reason": "orphan"})])

        left = t_resume + AFTER_S - time.monotonic()
        if left > 0:
            time.sleep(left)
        for ph, part in ((bob, pb), (alice, pa)):
            p = self.api.get("/conferencecalls/" + part["id"]).json
            self.assertEqual(p["status"], "joined",
                             "%s after bob's pause: %r" % (ph.name, p))
        self.assertGreater(self.packets_in(pb["id"]), stopped + 100,
                           "bob's RTP is counted again")
        self.assertEqual(
            [e for e in self.events_for("session_uuid", pb["id"])
             if e.get("event") == LEFT], [], "no left event for bob")


if __name__ == "__main__":
    main()
