"""
test_recording_crash.py: a recording in progress when chorusd is killed
(SIGKILL, no clean shutdown) is recovered at the next start.

Two baresip participants (alice 400 Hz, bob 700 Hz, PCMU) talk; a WAV
recording with tracks runs about 6 s; chorusd is killed with kill -9 and
started again on the same data folder. Then GET /recordings/{id} says
status "stopped" (and GET /recordings lists it so), its file opens with
sox --i (1 + 2 channels, the recording's rate), its duration is within 1 s
of the time between the recording_start answer and the kill, duration_ms
and size match the file, and the audio is there up to the end: the mix
holds both tones and each track its speaker's tone alone, over the whole
file and over its last second and a half. A FLAC recording killed the same
way is recovered as a valid FLAC file too.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_check import audio_info, channel_levels, read_audio  # noqa: E402
from chorus_harness import wait_until  # noqa: E402
from sip_harness import (SipTestCase, check_heard, fmt_levels,  # noqa: E402
                         main)

TONES = {"alice": 400, "bob": 700}
RUN = 6.0


class RecordingCrashTest(SipTestCase):

    def crash_and_recover(self, fmt):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="crash")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        phones = [self.phone(n, f) for n, f in sorted(TONES.items())]
        parts = self.join(cid, *phones)
        for p in parts:
            self.wait_events("session_uuid", p["id"], [
                ("conference.member.talking", {"talking": True})])
        r = self.api.post("/conferences/%s/recording_start" % cid,
                          {"format": fmt})
        t0 = time.monotonic()
        self.assertEqual(r.status, 200, r)
        rid = r.json["recording_id"]
        self.wait_events("recording_id", rid,
                         ["conference.recording.started"])
        time.sleep(RUN)  # audio accumulates: nothing to await
        t_kill = time.monotonic()
        self.d.kill()
        ran = t_kill - t0
        for ph in phones:
            ph.kill()

        self.d.start()
        api = self.d.client(token=self.cust["token"])
        last = {}

        def stopped():
            r = api.get("/recordings/" + rid)
            last["r"] = r
            return r.status == 200 and r.json.get("status") == "stopped"
        self.assertTrue(wait_until(stopped, 10, 0.2),
                        "after the restart the recording is not stopped: "
                        "%r" % last.get("r"))
        rec = last["r"].json
        r = api.get("/recordings", query={"page_size": "100"})
        self.assertEqual(r.status, 200, r)
        listed = [x for x in r.json["result"] if x["id"] == rid]
        self.assertEqual(len(listed), 1, r.json)
        self.assertEqual(listed[0]["status"], "stopped", listed)
        self.assertEqual(rec["format"], fmt, rec)
        self.assertEqual(rec["reference_id"], cid, rec)

        path = self.recording_file(rid, "crash." + fmt, api)
        self.assertEqual(os.path.getsize(path), rec["size"], rec)
        info = audio_info(path)
        sys.stderr.write("  %s after kill -9: %r; ran %.2f s; %r\n" %
                         (fmt, info, ran, {k: rec.get(k) for k in (
                             "duration_ms", "rate", "size", "channels")}))
        self.assertEqual(info["channels"], 3, info)
        self.assertEqual(info["rate"], rec["rate"], info)
        self.assertLessEqual(abs(info["duration"] - ran), 1.0,
                             "file %.2f s, recorded %.2f s before the kill"
                             % (info["duration"], ran))
        self.assertLessEqual(abs(rec["duration_ms"] / 1000.0 -
                                 info["duration"]), 0.05, (rec, info))

        rate, chans = read_audio(path)
        self.assertEqual(len(chans[0]), info["samples"])
        dur = len(chans[0]) / float(rate)
        by_id = {p["id"]: p["caller_id"] for p in parts}
        chan_freq = {}
        for c in rec["channels"][1:]:
            chan_freq[c["index"]] = TONES[by_id[c["conferencecall_id"]]]
        self.assertEqual(sorted(chan_freq), [2, 3], rec["channels"])
        freqs = sorted(TONES.values())
        bad = []
        for t0_, t1_ in ((1.0, dur - 0.3), (dur - 1.8, dur - 0.3)):
            lv = channel_levels(rate, chans, t0_, t1_, freqs)
            msg = "%.1f..%.1f s: mix %s" % (t0_, t1_, fmt_levels(lv[0]))
            sys.stderr.write("  " + msg + "\n")
            bad += [msg + ": " + b for b in check_heard(lv[0], freqs, [])]
            for idx, f in sorted(chan_freq.items()):
                msg = "%.1f..%.1f s: ch%d (%d Hz) %s" % (
                    t0_, t1_, idx, f, fmt_levels(lv[idx - 1]))
                bad += [msg + ": " + b for b in check_heard(
                    lv[idx - 1], [f], [g for g in freqs if g != f])]
        if bad:
            self.fail("\n".join(bad))

    def test_wav_kill9(self):
        self.crash_and_recover("wav")

    def test_flac_kill9(self):
        self.crash_and_recover("flac")


if __name__ == "__main__":
    main()
