"""
test_sip_mix.py: the mix heard by real SIP participants. Three baresip
softphones dial into one conference
(INVITE sip:{conference_id}@chorusd), each playing its own sine tone (440,
660, 880 Hz, sox-made WAVs longer than the call) for about 8 s. Each one's
recording of what it heard (sndfile dump-*-dec.wav) must hold the two other
tones and its own at least 30 dB below them (Goertzel on the steady part,
the first 1.5 s after the last join skipped). Case 1: all PCMU. Case 2: one
PCMU, one PCMA and one Opus (48 kHz) participant: chorusd transcodes. The
API must report each participant joined with the codec it negotiated,
media flowing both ways (stats.packets_in/out > 0), talking with a level,
the call with the same codec; a conference.member.talking (true) event
follows each member.joined; a hang-up leaves each participant
leaved/hangup.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import (SipTestCase, check_heard, fmt_levels,  # noqa: E402
                         main, tone_levels, wait_until)

CODEC_NAMES = {"pcmu": "pcmu", "pcma": "pcma", "g722": "g722",
               "opus": "opus"}
MIX_SECONDS = 8


class SipMixTest(SipTestCase):

    def wait_stats(self, part, codec, timeout=5):
        """The participant's stats show codec and packets both ways."""
        last = {}

        def ok():
            r = self.api.get("/conferencecalls/" + part["id"])
            self.assertEqual(r.status, 200, r)
            last["p"] = r.json
            st = r.json.get("stats") or {}
            return (str(st.get("codec", "")).lower().startswith(codec) and
                    (st.get("packets_in") or 0) > 0 and
                    (st.get("packets_out") or 0) > 0 and
                    st.get("talking") is True and (st.get("level") or 0) > 0)
        if not wait_until(ok, timeout, 0.2):
            self.fail("participant %s (%s): stats should show codec %s, "
                      "packets in and out, talking and a level (it plays a "
                      "tone); got %r" %
                      (part["id"], part.get("caller_id"), codec,
                       last["p"].get("stats")))
        return last["p"]

    def run_mix(self, specs):
        """specs: [(name, tone Hz, codec)]; all dial in, talk for
        MIX_SECONDS, hang up; every recording is checked."""
        self.start_sip_daemon()
        conf = self.api.create_conference(name="mix")
        cid = conf["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        phones = [self.phone(n, f, codec=c) for n, f, c in specs]
        parts = self.join(cid, *phones)
        t_all = time.monotonic()

        # the API, while they talk
        conf = self.api.conference(cid)
        self.assertEqual(sorted(conf["conferencecall_ids"]),
                         sorted(p["id"] for p in parts), conf)
        for ph, part, (name, _f, codec) in zip(phones, parts, specs):
            self.assertEqual(part["conference_id"], cid)
            self.assertEqual(part["caller_id"], name)
            self.assertEqual(part["muted"], False)
            p = self.wait_stats(part, CODEC_NAMES[codec])
            call = self.api.get("/calls/" + p["reference_id"])
            self.assertEqual(call.status, 200, call)
            c = call.json
            self.assertEqual(c["direction"], "incoming", c)
            self.assertEqual(c["transport"], "sip", c)
            self.assertEqual(c["status"], "progressing", c)
            self.assertEqual(c["conference_id"], cid, c)
            self.assertEqual(c["conferencecall_id"], part["id"], c)
            self.assertTrue(str(c["codec"]).lower().startswith(
                CODEC_NAMES[codec]), c)
        for part in parts:  # a steady tone is talking
            self.wait_events("session_uuid", part["id"], [
                "conference.member.joined",
                ("conference.member.talking", {"talking": True})])
        time.sleep(max(0.0, t_all + MIX_SECONDS - time.monotonic()))
        t_end = time.monotonic()

        for ph in phones:
            ph.hangup()
        for ph in phones:
            self.assertIsNotNone(ph.wait_event("CALL_CLOSED", 5),
                                 "%s: hangup did not close" % ph.name)
            ph.quit()

        # what each one heard
        problems = []
        freqs = [f for _n, f, _c in specs]
        for ph, (name, own, codec) in zip(phones, specs):
            rate, x = ph.heard()
            base = ph.established_at()
            others = [f for f in freqs if f != own]
            lv = tone_levels(rate, x, t_all + 1.5 - base, t_end - 0.5 - base,
                             sorted(freqs))
            msg = "%s (%s, own %d Hz) heard %s" % (name, codec, own,
                                                   fmt_levels(lv))
            sys.stderr.write("  " + msg + "\n")
            problems += [msg + ": " + b for b in
                         check_heard(lv, others, [own])]
        if problems:
            self.fail("\n".join(problems))

        # and they left with reason hangup
        for part in parts:
            p = self.wait_participant(cid, "leaved", 10,
                                      reference_id=part["reference_id"])
            self.assertEqual(p["leave_reason"], "hangup", p)
            self.wait_events("session_uuid", part["id"],
                             ["conference.member.joined",
                              "conference.member.left"])
        self.assertEqual(self.api.conference(cid)["conferencecall_ids"], [])

    def test_three_pcmu(self):
        self.run_mix([("alice", 440, "pcmu"), ("bob", 660, "pcmu"),
                      ("carol", 880, "pcmu")])

    def test_pcmu_pcma_opus(self):
        self.run_mix([("alice", 440, "pcmu"), ("bob", 660, "pcma"),
                      ("carol", 880, "opus")])

    def test_g722_with_pcmu_and_opus(self):
        self.run_mix([("alice", 440, "g722"), ("bob", 660, "pcmu"),
                      ("carol", 880, "opus")])


if __name__ == "__main__":
    main()
