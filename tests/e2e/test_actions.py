"""
test_actions.py: conference pre_actions / post_actions and prompts to one
participant, checked in what real participants heard.

Speech is found as energy left once the known steady tones are projected
out of a capture (audio_check.speech_seconds); tones by Goertzel.
Times come from baresip's ctrl_tcp events (CALL_ESTABLISHED,
CALL_CLOSED), the API answers and the events' timestamps, all placed on
each capture's timeline (its call was established at time 0).

test_talk_pre_and_post: pre_actions [talk] and post_actions [talk].
alice (400 Hz) joins; bob (700 Hz) dials in: bob is "joining" and hears
speech before his conference.member.joined event, and not alice's tone;
alice hears nothing at all meanwhile (no speech, not bob's tone). Once
joined they hear each other. DELETE /conferencecalls/{bob}: bob is
"leaving", hears speech after the kick and before his call ends (BYE),
not alice; alice hears neither the speech nor bob; then bob is "leaved".

test_beep_sleep_hangup: pre_actions [sleep 1500, beep, sleep 700]: the
1000 Hz beep (250 ms) starts about 1.5 s after the answer and joined
follows it by about 0.7 s; post_actions [beep, sleep 1000]: the beep
follows the kick and the BYE comes about 1.25 s after it; pre_actions
[hangup]: the call is hung up and never joined. A conference DELETE runs
post_actions [beep, sleep 500] for the participant still in it: the beep,
then the BYE; the conference terminates.

test_bad_actions: unknown type, talk without text, unknown language,
sleep out of range, play without urls: 400 naming pre_actions[i] /
post_actions[i] and the field, at POST and at PUT; the unknown language's
message lists the supported ones.

test_participant_prompts: POST /conferencecalls/{alice}/talk and /play are
heard by alice alone (bob hears neither), on top of the room (alice still
hears bob), and are not in the room's recording (no speech in any
channel during the talk, the played tone not in the mix); events
conference.member.play.started|finished, failed for a 404 URL; 409 once
the participant has left.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_check import (longest_segment, mean_tone_db,  # noqa: E402
                         read_audio, rms_db, speech_report, speech_seconds,
                         tone_file, tone_segments)
from chorus_harness import UUID_RE  # noqa: E402
from media_server import MediaServer  # noqa: E402
from sip_harness import (SipTestCase, event_monotonic, fmt_levels,  # noqa
                         main, tone_levels)

ALICE, BOB = 400, 700
BEEP = 1000
WELCOME = ("Welcome to the conference. Please hold the line while we "
           "connect you to the others.")
GOODBYE = "You have been removed from the conference. Goodbye."
MIN_SPEECH = 1.0  # seconds of speech energy a prompt must leave


def talk(text, language=None):
    o = {"text": text}
    if language:
        o["language"] = language
    return {"type": "talk", "option": o}


class ActionsTest(SipTestCase):

    def capture(self, phone):
        """(rate, samples, base): base is the monotonic time of time 0."""
        rate, x = phone.heard()
        return rate, x, phone.established_at()

    def joined_at(self, pid, timeout=20):
        evs = self.wait_events("session_uuid", pid,
                               ["conference.member.joined"], timeout)
        return event_monotonic([e for e in evs if e["event"] ==
                                "conference.member.joined"][0])

    def dial_joining(self, cid, phone):
        """phone dials in; returns (its participant while still joining,
        CALL_ESTABLISHED time)."""
        phone.dial(self.conf_uri(cid))
        e = phone.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_ESTABLISHED", e)
        p = self.wait_participant(cid, "joining", 3, caller_id=phone.name)
        return p, e["_t"]

    def hang_all(self, *phones):
        for ph in phones:
            ph.hangup()
            ph.wait_event("CALL_CLOSED", 5)
            ph.quit()

    @staticmethod
    def heard_speech(what, x, rate, w, remove=()):
        """A problem (str) unless x[w] holds MIN_SPEECH s of speech."""
        rep = speech_report(x, rate, w[0], w[1], remove)
        sys.stderr.write("  %s: %s\n" % (what, rep))
        if speech_seconds(x, rate, w[0], w[1], remove) < MIN_SPEECH:
            return "%s: want >= %.1f s of speech: %s" % (what, MIN_SPEECH,
                                                         rep)
        return None

    @staticmethod
    def heard_nothing(what, x, rate, w):
        """A problem (str) unless x[w] is silent (no speech, RMS below
        -50 dBFS)."""
        rep = speech_report(x, rate, w[0], w[1])
        level = rms_db(x, rate, w[0], w[1])
        sys.stderr.write("  %s: %s, rms %.1f dBFS\n" % (what, rep, level))
        if speech_seconds(x, rate, w[0], w[1]) > 0.1 or level > -50:
            return "%s: want silence: %s, rms %.1f dBFS" % (what, rep, level)
        return None

    # ---- tests
    def test_talk_pre_and_post(self):
        self.start_sip_daemon()
        conf = self.api.create_conference(
            name="actions", pre_actions=[talk(WELCOME, "en-US")],
            post_actions=[talk(GOODBYE)])
        cid = conf["id"]
        self.assertEqual(conf["pre_actions"][0]["type"], "talk", conf)
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice, bob = self.phone("alice", ALICE), self.phone("bob", BOB)
        pa, _ = self.dial_joining(cid, alice)
        self.joined_at(pa["id"])
        pb, t_b = self.dial_joining(cid, bob)  # bob is "joining"
        t_bj = self.joined_at(pb["id"])
        self.assertGreater(t_bj - t_b, 1.5, "bob joined %.2f s after the "
                           "answer: the welcome prompt takes longer" %
                           (t_bj - t_b))
        time.sleep(3)  # both talk in the room: audio accumulates
        r = self.api.delete("/conferencecalls/" + pb["id"])
        t_k = time.monotonic()
        self.assertEqual(r.status, 200, r)
        p = self.api.get("/conferencecalls/" + pb["id"]).json
        self.assertEqual(p["status"], "leaving", p)
        e = bob.wait_event("CALL_CLOSED", 20)
        self.assertIsNotNone(e, "bob's call did not end after the kick")
        t_bye = e["_t"]
        self.assertGreater(t_bye - t_k, 1.5, "BYE %.2f s after the kick: "
                           "the goodbye prompt takes longer" % (t_bye - t_k))
        self.wait_events("session_uuid", pb["id"], [
            "conference.member.joined", "conference.member.leaving",
            "conference.member.left"])
        self.wait_participant(cid, "leaved", 5, caller_id="bob")
        t_end = time.monotonic()
        self.hang_all(alice, bob)

        bad = []
        ra, xa, ba = self.capture(alice)
        rb, xb, bb = self.capture(bob)
        # bob while joining: speech, not alice
        w = (t_b + 0.1 - bb, t_bj - 0.1 - bb)
        bad.append(self.heard_speech("bob while joining", xb, rb, w,
                                     (ALICE,)))
        in_room = tone_levels(rb, xb, t_bj + 0.5 - bb, t_k - 0.3 - bb,
                              [ALICE])[ALICE][0]
        joining = mean_tone_db(xb, rb, w[0], w[1], ALICE)
        sys.stderr.write("  bob hears alice at %.1f dB joined, %.1f dB "
                         "joining\n" % (in_room, joining))
        if in_room < -30:
            bad.append("bob did not hear alice once joined (%.1f dB)" %
                       in_room)
        if joining > in_room - 20:
            bad.append("bob heard the room while joining: alice's tone at "
                       "%.1f dB (%.1f dB once joined)" % (joining, in_room))
        # alice meanwhile: nothing
        bad.append(self.heard_nothing("alice while bob joins", xa, ra, (
            t_b - ba, t_bj - 0.1 - ba)))
        lv = tone_levels(ra, xa, t_bj + 0.5 - ba, t_k - 0.3 - ba, [BOB])
        if lv[BOB][0] < -30:
            bad.append("alice did not hear bob once joined: %s" %
                       fmt_levels(lv))
        # bob after the kick: speech until the BYE, not alice
        bad.append(self.heard_speech("bob after the kick", xb, rb, (
            t_k + 0.2 - bb, t_bye - 0.1 - bb), (ALICE,)))
        leaving = mean_tone_db(xb, rb, t_k + 0.4 - bb, t_bye - 0.1 - bb,
                               ALICE)
        if leaving > in_room - 20:
            bad.append("bob heard the room while leaving: alice at %.1f dB"
                       % leaving)
        # alice after the kick: neither the goodbye nor bob
        bad.append(self.heard_nothing("alice after the kick", xa, ra, (
            t_k + 0.3 - ba, t_end - ba)))
        bad = [b for b in bad if b]
        if bad:
            self.fail("\n".join(bad))

    def test_beep_sleep_hangup(self):
        self.start_sip_daemon()
        conf = self.api.create_conference(
            name="beep", pre_actions=[
                {"type": "sleep", "option": {"duration": 1500}},
                {"type": "beep"},
                {"type": "sleep", "option": {"duration": 700}}],
            post_actions=[{"type": "beep"},
                          {"type": "sleep", "option": {"duration": 1000}}])
        cid = conf["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice = self.phone("alice", ALICE)
        pa, t_a = self.dial_joining(cid, alice)
        t_j = self.joined_at(pa["id"])
        time.sleep(1)  # in the room: audio accumulates
        t_k0 = time.monotonic()
        r = self.api.delete("/conferencecalls/" + pa["id"])
        t_k = time.monotonic()
        self.assertEqual(r.status, 200, r)
        e = alice.wait_event("CALL_CLOSED", 10)
        self.assertIsNotNone(e, "no BYE after the kick")
        t_bye = e["_t"]
        alice.quit()
        rate, x, base = self.capture(alice)
        segs = tone_segments(x, rate, BEEP, floor=-35)
        sys.stderr.write("  beeps at %r s; answer 0, joined %.2f, kick "
                         "%.2f, BYE %.2f\n" % (segs, t_j - base, t_k - base,
                                               t_bye - base))
        self.assertEqual(len(segs), 2, "want two beeps: %r" % segs)
        (b0, b1), (c0, c1) = segs
        self.assertTrue(1.2 <= b0 <= 2.0, "pre beep at %.2f s, want ~1.5 "
                        "s after the answer" % b0)
        self.assertTrue(0.1 <= b1 - b0 <= 0.4, "beep %.2f s" % (b1 - b0))
        self.assertTrue(0.4 <= (t_j - base) - b1 <= 1.2,
                        "joined %.2f s after the beep, want ~0.7" %
                        ((t_j - base) - b1))
        # (segment edges are frame centres: +-25 ms)
        self.assertTrue(-0.05 <= c0 - (t_k0 - base) and
                        c0 - (t_k - base) <= 0.6, "post beep %.2f s after "
                        "the kick (answered in %.3f s)" % (
                            c0 - (t_k0 - base), t_k - t_k0))
        self.assertTrue(0.1 <= c1 - c0 <= 0.4, "beep %.2f s" % (c1 - c0))
        self.assertTrue(1.0 <= t_bye - t_k <= 2.5, "BYE %.2f s after the "
                        "kick, want ~1.25" % (t_bye - t_k))

        # pre_actions [hangup]: never joined
        r = self.api.put("/conferences/" + cid, {
            "pre_actions": [{"type": "hangup"}], "post_actions": []})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["pre_actions"], [{"type": "hangup"}], r.json)
        bob = self.phone("bob", BOB)
        bob.dial(self.conf_uri(cid))
        e = bob.wait_event("CALL_CLOSED", 10)
        self.assertIsNotNone(e, "pre_actions [hangup]: the call stays up")
        pb = self.wait_participant(cid, "leaved", 5, caller_id="bob")
        names = [x["event"] for x in self.events_for("session_uuid",
                                                     pb["id"])]
        self.assertNotIn("conference.member.joined", names)

        # conference DELETE runs post_actions for everyone still in it
        r = self.api.put("/conferences/" + cid, {
            "pre_actions": [], "post_actions": [
                {"type": "beep"},
                {"type": "sleep", "option": {"duration": 500}}]})
        self.assertEqual(r.status, 200, r)
        carol = self.phone("carol", 1100)
        pc, = self.join(cid, carol)
        time.sleep(1)  # in the room: audio accumulates
        t_d0 = time.monotonic()
        r = self.api.delete("/conferences/" + cid)
        self.assertEqual(r.status, 200, r)
        e = carol.wait_event("CALL_CLOSED", 10)
        self.assertIsNotNone(e, "no BYE after the conference DELETE")
        carol.quit()
        self.assertTrue(self.api.wait_status(cid, "terminated", 10))
        rate, x, base = self.capture(carol)
        segs = tone_segments(x, rate, BEEP, floor=-35)
        sys.stderr.write("  conference DELETE: beeps at %r s, DELETE %.2f, "
                         "BYE %.2f\n" % (segs, t_d0 - base, e["_t"] - base))
        self.assertEqual(len(segs), 1, "want one beep after the DELETE: %r"
                         % segs)
        self.assertTrue(-0.05 <= segs[0][0] - (t_d0 - base) <= 0.6 and
                        segs[0][1] < e["_t"] - base, (segs, t_d0 - base))
        self.assertGreater(e["_t"] - t_d0, 0.6, "BYE before the post "
                           "actions ended")
        self.wait_events("session_uuid", pc["id"], [
            "conference.member.joined", "conference.member.leaving",
            "conference.member.left"])

    def test_bad_actions(self):
        self.start_sip_daemon()
        good = talk("hello")
        cases = [
            ({"type": "dance"}, "type"),
            ({"type": "talk", "option": {}}, "text"),
            ({"type": "talk"}, "text"),
            (talk("hello", "xx-YY"), "language"),
            ({"type": "sleep", "option": {"duration": 600001}}, "duration"),
            ({"type": "sleep", "option": {"duration": -1}}, "duration"),
            ({"type": "play", "option": {}}, "urls"),
            ({"type": "play", "option": {"urls": ["ftp://x/a.wav"]}},
             "urls"),
        ]
        conf = self.api.create_conference(name="ok")
        cid = conf["id"]
        for key in ("pre_actions", "post_actions"):
            for action, field in cases:
                for method in ("POST", "PUT"):
                    body = {key: [good, action]}
                    if method == "POST":
                        body["type"] = "conference"
                        r = self.api.post("/conferences", body)
                    else:
                        r = self.api.put("/conferences/" + cid, body)
                    e = self.assertError(r, 400)
                    what = "%s %s %r" % (method, key, action)
                    self.assertIn("%s[1]" % key, e["message"] +
                                  str(e.get("field", "")), what + ": " +
                                  str(e))
                    self.assertIn(field, e["message"] +
                                  str(e.get("field", "")), what + ": " +
                                  str(e))
                    if field == "language":
                        self.assertIn("%s[1].option.language" % key,
                                      e["message"] + str(e.get("field", "")),
                                      e)
                        self.assertIn("en-US", e["message"], e)
        # nothing was stored
        now = self.api.conference(cid)
        self.assertEqual(now["pre_actions"], conf["pre_actions"], now)
        self.assertEqual(now["post_actions"], conf["post_actions"], now)
        # every documented type is accepted
        r = self.api.put("/conferences/" + cid, {"pre_actions": [
            talk("hi", "en-US"), {"type": "beep"},
            {"type": "sleep", "option": {"duration": 0}},
            {"type": "play", "option": {"urls": ["http://127.0.0.1/a.wav"]}},
            {"type": "hangup"}]})
        self.assertEqual(r.status, 200, r)

    def test_participant_prompts(self):
        media = MediaServer()
        self.addCleanup(media.close)
        url = media.add("/p.wav", tone_file(self.workdir, 1500, 2))
        self.start_sip_daemon()
        cid = self.api.create_conference(name="prompts")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice, bob = self.phone("alice", ALICE), self.phone("bob", BOB)
        pa, pb = self.join(cid, alice, bob)
        for p in (pa, pb):
            self.wait_events("session_uuid", p["id"], [
                ("conference.member.talking", {"talking": True})])
        path = "/conferencecalls/%s/" % pa["id"]
        self.assertError(self.api.post(path + "talk", {
            "text": "hi", "language": "xx-YY"}), 400)
        self.assertError(self.api.post(path + "talk", {}), 400)
        self.assertError(self.api.post(path + "play", {
            "urls": ["file:///etc/passwd"]}), 400)

        def prompt(what, body):
            r = self.api.post(path + what, body)
            self.assertEqual(r.status, 200, r)
            op = r.json.get("operation_id")
            self.assertRegex(op or "", UUID_RE, r.json)
            evs = self.wait_events("operation_id", op, [
                "conference.member.play.started",
                "conference.member.play.finished"], 20)
            for e in evs:
                self.assertEqual(e.get("session_uuid"), pa["id"], e)
            return event_monotonic(evs[0]), event_monotonic(evs[-1])

        r = self.api.post("/conferences/%s/recording_start" % cid)
        self.assertEqual(r.status, 200, r)
        rid, t_rec = r.json["recording_id"], time.monotonic()
        t_talk = prompt("talk", {"text": WELCOME, "language": "en-US"})
        t_play = prompt("play", {"urls": [url]})
        r = self.api.post(path + "play", {"urls": [media.missing_url()]})
        self.assertEqual(r.status, 200, r)
        self.wait_events("operation_id", r.json["operation_id"], [
            "conference.member.play.started",
            ("conference.member.play.failed", {"session_uuid": pa["id"]})])
        r = self.api.post("/conferences/%s/recording_stop" % cid)
        self.assertEqual(r.status, 200, r)
        time.sleep(0.5)
        r = self.api.delete("/conferencecalls/" + pa["id"])
        self.assertEqual(r.status, 200, r)
        self.wait_participant(cid, "leaved", 10, caller_id="alice")
        self.assertError(self.api.post(path + "talk", {"text": "hi"}), 409)
        self.assertError(self.api.post(path + "play", {"urls": [url]}), 409)
        self.hang_all(alice, bob)

        bad = []
        ra, xa, ba = self.capture(alice)
        rb, xb, bb = self.capture(bob)
        t0, t1 = t_talk
        sa = speech_seconds(xa, ra, t0 - ba, t1 - ba, remove=(BOB,))
        sb = speech_seconds(xb, rb, t0 - bb, t1 - bb, remove=(ALICE,))
        sys.stderr.write("  talk to alice: alice %s | bob %s\n" % (
            speech_report(xa, ra, t0 - ba, t1 - ba, (BOB,)),
            speech_report(xb, rb, t0 - bb, t1 - bb, (ALICE,))))
        if sa < MIN_SPEECH:
            bad.append("alice heard %.1f s of her talk prompt" % sa)
        if sb > 0.1:
            bad.append("bob heard %.1f s of alice's talk prompt" % sb)
        lv = tone_levels(ra, xa, t0 + 0.2 - ba, t1 - 0.2 - ba, [BOB])
        if lv[BOB][0] < -30:
            bad.append("alice lost the room during her prompt: %s" %
                       fmt_levels(lv))
        t0, t1 = t_play
        sa = longest_segment(tone_segments(xa, ra, 1500, t0 - ba - 0.5,
                                           t1 - ba + 0.5, floor=-35))
        lb = mean_tone_db(xb, rb, t0 - bb, t1 - bb, 1500)
        sys.stderr.write("  play to alice: alice 1500 Hz %r, bob 1500 Hz "
                         "%.1f dB\n" % (sa, lb))
        if not sa or sa[1] - sa[0] < 1.6:
            bad.append("alice did not hear her 2 s play (%r)" % (sa,))
        if lb > -50:
            bad.append("bob heard alice's play at %.1f dB" % lb)
        # prompts to one participant are not in the recording
        self.wait_events("recording_id", rid,
                         ["conference.recording.stopped"], 20)
        rr, chans = read_audio(self.recording_file(rid, "prompts.wav"))
        t0, t1 = t_talk
        for i, ch in enumerate(chans):
            rep = speech_report(ch, rr, t0 - t_rec, t1 - t_rec, (ALICE, BOB))
            sys.stderr.write("  recording ch%d during the talk: %s\n" %
                             (i + 1, rep))
            if speech_seconds(ch, rr, t0 - t_rec, t1 - t_rec,
                              (ALICE, BOB)) > 0.1:
                bad.append("recording ch%d holds alice's talk prompt: %s" %
                           (i + 1, rep))
        t0, t1 = t_play
        lv = tone_levels(rr, chans[0], t0 - t_rec, t1 - t_rec,
                         [ALICE, BOB, 1500])
        sys.stderr.write("  recording mix during the play: %s\n" %
                         fmt_levels(lv))
        if lv[1500][0] > lv[ALICE][0] - 30:
            bad.append("recording mix holds alice's play: %s" %
                       fmt_levels(lv))
        if bad:
            self.fail("\n".join(bad))


if __name__ == "__main__":
    main()
