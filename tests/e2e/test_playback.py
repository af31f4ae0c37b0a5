"""
test_playback.py: playing media into a room (POST /conferences/{id}/play,
pause, stop, volume), checked in what real participants heard and in the
room's recording.

A local media host (media_server.py) serves a 3 s 1500 Hz WAV, a 3 s
2000 Hz MP3 and a 30 s 1500 Hz WAV. Two baresip participants (alice
400 Hz, bob 700 Hz, PCMU) are in the room, which records with tracks.

test_play_pause_volume:
- play [wav, mp3]: 200 {operation_id X, playback_status playing};
  conference.play.started {operation_id X, urls}, then
  conference.play.finished {operation_id X} at the end of the two files;
  both participants hear 1500 Hz for about 3 s and then 2000 Hz for about
  3 s; playback_status goes back to stopped; stop and pause are then 409.
- play [long wav] as Y; pause: 200 paused, the tone stops in both captures
  (30 dB below the other participant's tone) until a second pause: 200
  playing, the tone is back; events started, paused, resumed for Y in
  that order.
- volume -20: 200 {operation_id Y, volume -20}, volume_changed; the tone
  falls by 20 dB +- 2 dB in both captures and in the recording's mix;
  playback_volume -20; volumes 8 and -51 are 400.
- stop: stopped for Y; a play while one plays replaces it (stopped of the
  old one before started of the new one), and the new one plays at the
  stored -20 dB.
- the recording's mix channel holds 1500 Hz and 2000 Hz; the speaker
  channels do not (playback is no participant's audio).

test_failures: volume while nothing plays is stored and announced under a
new operation id; a 404 URL, a refused connection and a file that is not
audio give conference.play.failed {error: playback_error}; a URL whose
server accepts the connection and never answers gives playback_timeout
9-13 s after the POST; file:// (no media folder configured) and ftp://
are 400; play on a deleted conference is 409.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_check import (longest_segment, mean_tone_db,  # noqa: E402
                         read_audio, tone_file, tone_segments)
from chorus_harness import UUID_RE, free_port  # noqa: E402
from media_server import MediaServer  # noqa: E402
from sip_harness import (SipTestCase, event_monotonic, main,  # noqa: E402
                         tone_levels, fmt_levels)

PLAY_A, PLAY_B = 1500, 2000  # the WAV and the MP3
ALICE, BOB = 400, 700
SHORT = 3.0     # seconds of each short file
STEP = 2.5      # seconds of audio between two operations


class PlaybackTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.media = MediaServer()
        self.addCleanup(self.media.close)
        d = self.workdir
        self.wav = self.media.add("/a.wav", tone_file(d, PLAY_A, SHORT,
                                                      rate=16000))
        self.mp3 = self.media.add("/b.mp3", tone_file(
            d, PLAY_B, SHORT, fmt="mp3", rate=22050))
        self.long = self.media.add("/long.wav", tone_file(d, PLAY_A, 30))
        junk = os.path.join(d, "junk.wav")
        with open(junk, "wb") as f:
            f.write(b"this is not audio\n" * 200)
        self.junk = self.media.add("/junk.wav", junk, "audio/wav")

    # ---- helpers
    def play(self, cid, urls):
        """POST play; returns (operation_id, monotonic answer time)."""
        r = self.api.post("/conferences/%s/play" % cid, {"urls": urls})
        t = time.monotonic()
        self.assertEqual(r.status, 200, "play %r: %r" % (urls, r))
        op = r.json.get("operation_id")
        self.assertRegex(op or "", UUID_RE, r.json)
        self.assertEqual(r.json.get("playback_status"), "playing", r.json)
        return op, t

    def post_op(self, cid, what, body=None, status=200):
        r = self.api.post("/conferences/%s/%s" % (cid, what), body)
        t = time.monotonic()
        if status != 200:
            self.assertError(r, status)
            return None, t
        self.assertEqual(r.status, 200, "%s: %r" % (what, r))
        return r.json, t

    def op_events(self, op):
        return [e["event"] for e in self.events_for("operation_id", op)]

    def wait_op(self, op, want, timeout=15):
        return self.wait_events("operation_id", op, want, timeout)

    def playback_status(self, cid):
        return self.api.conference(cid)["playback_status"]

    def level(self, phone, freq, t0, t1):
        """Mean dBFS of freq in phone's capture between monotonic t0..t1."""
        rate, x = self.captures[phone.name]
        base = phone.established_at()
        return mean_tone_db(x, rate, t0 - base, t1 - base, freq)

    # ---- tests
    def test_play_pause_volume(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="play")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        self.assertEqual(self.playback_status(cid), "stopped")
        alice, bob = self.phone("alice", ALICE), self.phone("bob", BOB)
        parts = self.join(cid, alice, bob)
        for p in parts:
            self.wait_events("session_uuid", p["id"], [
                ("conference.member.talking", {"talking": True})])
        r = self.api.post("/conferences/%s/recording_start" % cid)
        self.assertEqual(r.status, 200, r)
        rid = r.json["recording_id"]
        t_rec = time.monotonic()

        # two files one after the other
        x, t_x = self.play(cid, [self.wav, self.mp3])
        evs = self.wait_op(x, ["conference.play.started",
                               "conference.play.finished"], 20)
        st, fin = evs[0], [e for e in evs
                           if e["event"] == "conference.play.finished"][0]
        self.assertEqual(st.get("urls"), [self.wav, self.mp3], st)
        self.assertEqual(st.get("room_id"), cid, st)
        self.assertEqual(fin.get("room_id"), cid, fin)
        played = event_monotonic(fin) - event_monotonic(st)
        self.assertTrue(2 * SHORT - 0.5 <= played <= 2 * SHORT + 3,
                        "finished %.2f s after started for two %.0f s "
                        "files" % (played, SHORT))
        self.assertNotIn("conference.play.failed", self.op_events(x))
        self.assertEqual(self.playback_status(cid), "stopped")
        t_x_end = event_monotonic(fin)
        self.post_op(cid, "stop", status=409)
        self.post_op(cid, "pause", status=409)
        self.assertTrue(self.media.requests_for("/a.wav"))
        self.assertTrue(self.media.requests_for("/b.mp3"))

        # pause toggles
        y, t_y = self.play(cid, [self.long])
        self.wait_op(y, ["conference.play.started"])
        time.sleep(STEP)  # audio accumulates: nothing to await
        o, t_p = self.post_op(cid, "pause")
        self.assertEqual(o, {"operation_id": y, "playback_status": "paused"})
        self.assertEqual(self.playback_status(cid), "paused")
        self.wait_op(y, ["conference.play.paused"])
        time.sleep(STEP)
        o, t_r = self.post_op(cid, "pause")
        self.assertEqual(o, {"operation_id": y,
                             "playback_status": "playing"})
        self.wait_op(y, ["conference.play.resumed"])
        self.assertEqual(self.playback_status(cid), "playing")
        time.sleep(STEP)

        # volume
        for bad in (8, -51, "loud"):
            self.post_op(cid, "volume", {"volume": bad}, status=400)
        o, t_v = self.post_op(cid, "volume", {"volume": -20})
        self.assertEqual(o, {"operation_id": y, "volume": -20})
        self.wait_op(y, [("conference.play.volume_changed",
                          {"volume": -20})])
        self.assertEqual(self.api.conference(cid)["playback_volume"], -20)
        time.sleep(STEP)
        o, t_s = self.post_op(cid, "stop")
        self.assertEqual(o.get("operation_id"), y, o)
        self.wait_op(y, ["conference.play.stopped"])
        self.assertEqual(self.playback_status(cid), "stopped")
        self.assertEqual(self.op_events(y), [
            "conference.play.started", "conference.play.paused",
            "conference.play.resumed", "conference.play.volume_changed",
            "conference.play.stopped"])

        # a play while one plays replaces it; the stored volume applies
        z, _ = self.play(cid, [self.long])
        self.wait_op(z, ["conference.play.started"])
        w, t_w = self.play(cid, [self.wav])
        self.wait_op(w, ["conference.play.started",
                         "conference.play.finished"], 15)
        self.wait_op(z, ["conference.play.started",
                         "conference.play.stopped"])
        order = [(e["event"], e["operation_id"]) for e in self.rcv.events()
                 if e.get("operation_id") in (z, w)]
        self.assertLess(order.index(("conference.play.stopped", z)),
                        order.index(("conference.play.started", w)), order)
        self.assertNotIn("conference.play.finished", self.op_events(z))
        t_w_end = event_monotonic(self.events_for("operation_id", w)[-1])

        r = self.api.post("/conferences/%s/recording_stop" % cid)
        self.assertEqual(r.status, 200, r)
        self.wait_events("recording_id", rid, [
            "conference.recording.stopped"], 20)
        for ph in (alice, bob):
            ph.hangup()
            ph.wait_event("CALL_CLOSED", 5)
            ph.quit()
        self.captures = {ph.name: ph.heard() for ph in (alice, bob)}

        problems = []
        for ph, other in ((alice, BOB), (bob, ALICE)):
            rate, xs = self.captures[ph.name]
            base = ph.established_at()
            # the two files, one after the other
            a = longest_segment(tone_segments(xs, rate, PLAY_A,
                                              t_x - base, t_x_end - base))
            b = longest_segment(tone_segments(xs, rate, PLAY_B,
                                              t_x - base, t_x_end - base))
            sys.stderr.write("  %s: wav tone %r, mp3 tone %r (s)\n" %
                             (ph.name, a, b))
            if not a or not (SHORT - 0.4 <= a[1] - a[0] <= SHORT + 0.4):
                problems.append("%s: the WAV's %d Hz for %.0f s not heard "
                                "(segment %r)" % (ph.name, PLAY_A, SHORT, a))
            if not b or not (SHORT - 0.4 <= b[1] - b[0] <= SHORT + 0.4):
                problems.append("%s: the MP3's %d Hz for %.0f s not heard "
                                "(segment %r)" % (ph.name, PLAY_B, SHORT, b))
            if a and b and not (0 <= b[0] - a[1] <= 0.5):
                problems.append("%s: the MP3 did not follow the WAV: %r "
                                "then %r" % (ph.name, a, b))
            # pause: present, absent, present
            lv = [tone_levels(rate, xs, t0 - base, t1 - base, [PLAY_A, other])
                  for t0, t1 in ((t_p - 1.8, t_p - 0.3),
                                 (t_p + 0.4, t_r - 0.3),
                                 (t_r + 0.4, t_v - 0.2))]
            sys.stderr.write("  %s pause: before %s | paused %s | resumed "
                             "%s\n" % (ph.name, fmt_levels(lv[0]),
                                       fmt_levels(lv[1]), fmt_levels(lv[2])))
            for k, name in ((0, "before the pause"), (2, "after resume")):
                if lv[k][PLAY_A][0] < -30:
                    problems.append("%s: %d Hz missing %s: %s" % (
                        ph.name, PLAY_A, name, fmt_levels(lv[k])))
            if lv[1][PLAY_A][0] > lv[1][other][0] - 30:
                problems.append("%s: %d Hz heard while paused: %s" % (
                    ph.name, PLAY_A, fmt_levels(lv[1])))
            # volume -20
            l1 = self.level(ph, PLAY_A, t_r + 0.4, t_v - 0.2)
            l2 = self.level(ph, PLAY_A, t_v + 0.4, t_s - 0.2)
            sys.stderr.write("  %s volume: %.1f dB -> %.1f dB (%.1f)\n" %
                             (ph.name, l1, l2, l2 - l1))
            if abs((l1 - l2) - 20) > 2:
                problems.append("%s: volume -20 changed %d Hz by %.1f dB "
                                "(%.1f -> %.1f)" % (ph.name, PLAY_A,
                                                    l2 - l1, l1, l2))
            # the replacing play at the stored volume
            segs = tone_segments(xs, rate, PLAY_A, t_w - base,
                                 t_w_end - base, floor=l2 - 6)
            seg = longest_segment(segs)
            if not seg:
                problems.append("%s: the replacing play not heard" % ph.name)
            else:
                l3 = mean_tone_db(xs, rate, seg[0] + 0.3, seg[1] - 0.3,
                                  PLAY_A) if seg[1] - seg[0] > 1.6 else None
                if l3 is None or abs(l3 - l2) > 2:
                    problems.append("%s: the play after volume -20 at %r dB,"
                                    " want %.1f (segment %r)" % (
                                        ph.name, l3, l2, seg))

        # the recording
        r = self.api.get("/recordings/" + rid)
        self.assertEqual(r.status, 200, r)
        rec = r.json
        rate, chans = read_audio(self.recording_file(rid, "play.wav"))
        mix = chans[0]
        rel = lambda t: t - t_rec  # noqa: E731 (start of the file ~ t_rec)
        a = longest_segment(tone_segments(mix, rate, PLAY_A, rel(t_x),
                                          rel(t_x_end) + 0.5))
        b = longest_segment(tone_segments(mix, rate, PLAY_B, rel(t_x),
                                          rel(t_x_end) + 0.5))
        sys.stderr.write("  recording mix: wav tone %r, mp3 tone %r\n" %
                         (a, b))
        for seg, f in ((a, PLAY_A), (b, PLAY_B)):
            if not seg or seg[1] - seg[0] < SHORT - 0.4:
                problems.append("recording mix: %d Hz for %.0f s missing "
                                "(segment %r)" % (f, SHORT, seg))
        m1 = mean_tone_db(mix, rate, rel(t_r) + 0.4, rel(t_v) - 0.2, PLAY_A)
        m2 = mean_tone_db(mix, rate, rel(t_v) + 0.4, rel(t_s) - 0.2, PLAY_A)
        sys.stderr.write("  recording mix volume: %.1f -> %.1f dB\n" %
                         (m1, m2))
        if abs((m1 - m2) - 20) > 2:
            problems.append("recording mix: volume -20 changed %d Hz by "
                            "%.1f dB" % (PLAY_A, m2 - m1))
        freq_of = {"alice": ALICE, "bob": BOB}
        for c in rec["channels"][1:]:
            own = freq_of[c["caller_id"]]
            ch = chans[c["index"] - 1]
            lv = tone_levels(rate, ch, rel(t_x) + 0.5, rel(t_x_end) - 0.5,
                             [own, PLAY_A, PLAY_B])
            sys.stderr.write("  recording ch%d (%s): %s\n" % (
                c["index"], c["caller_id"], fmt_levels(lv)))
            for f in (PLAY_A, PLAY_B):
                if lv[f][0] > lv[own][0] - 30:
                    problems.append("recording ch%d (%s): playback %d Hz in "
                                    "a speaker channel: %s" % (
                                        c["index"], c["caller_id"], f,
                                        fmt_levels(lv)))
        if problems:
            self.fail("\n".join(problems))

    def test_failures(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="play-fail")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        path = "/conferences/%s/play" % cid
        for url in ("file:///etc/passwd",
                    "file://" + os.path.join(self.workdir, "a.wav"),
                    "ftp://127.0.0.1/a.wav", "a.wav"):
            self.assertError(self.api.post(path, {"urls": [url]}), 400)
            self.assertError(self.api.post(path, {"urls": [self.wav, url]}),
                             400)
        self.assertEqual(self.playback_status(cid), "stopped")

        # volume while nothing plays: stored, under a new operation id
        o, _ = self.post_op(cid, "volume", {"volume": -6})
        self.assertEqual(o.get("volume"), -6, o)
        self.assertRegex(o.get("operation_id") or "", UUID_RE, o)
        self.wait_op(o["operation_id"], [("conference.play.volume_changed",
                                          {"volume": -6, "room_id": cid})])
        self.assertEqual(self.api.conference(cid)["playback_volume"], -6)

        # fetch or decoding failures: playback_error
        refused = "http://127.0.0.1:%d/a.wav" % free_port()
        for url in (self.media.missing_url(), refused, self.junk):
            op, _ = self.play(cid, [url])
            evs = self.wait_op(op, ["conference.play.started",
                                    "conference.play.failed"], 12)
            failed = [e for e in evs if e["event"] ==
                      "conference.play.failed"][0]
            self.assertEqual(failed.get("error"), "playback_error",
                             (url, failed))
            self.assertEqual(failed.get("urls"), [url], failed)
            self.assertEqual(failed.get("room_id"), cid, failed)
            self.assertEqual(self.playback_status(cid), "stopped")

        # accepted, never answered: playback_timeout about 10 s after
        t0 = time.monotonic()
        op, _ = self.play(cid, [self.media.hang_url()])
        self.assertIsNotNone(self.media.wait_request("/hang.wav", 5),
                             "chorusd never asked the media host")
        evs = self.wait_op(op, ["conference.play.started",
                                "conference.play.failed"], 16)
        failed = evs[-1]
        self.assertEqual(failed.get("error"), "playback_timeout", failed)
        after = event_monotonic(failed) - t0
        sys.stderr.write("  playback_timeout %.2f s after the POST\n" % after)
        self.assertTrue(9 <= after <= 13, "playback_timeout %.2f s after "
                        "the POST, want 9-13" % after)
        self.assertEqual(self.playback_status(cid), "stopped")

        # not progressing
        r = self.api.delete("/conferences/" + cid)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(self.api.wait_status(cid, "terminated", 10))
        self.assertError(self.api.post(path, {"urls": [self.wav]}), 409)


if __name__ == "__main__":
    main()
