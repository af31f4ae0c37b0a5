"""
test_recording.py: recording a conference, checked by analysing the file.

Three baresip participants (alice 400 Hz, bob 700 Hz, carol 1100 Hz, PCMU)
talk in one room. A WAV recording with tracks (the default) runs about
10 s: the file (GET /recordings/{id}/file, Content-Type audio/wav,
Content-Length its size) has 1 + 3 channels; channel 1 (the mix) holds
the three tones and each participant channel, found through the channel
map's conferencecall_id, holds its speaker's tone with the two others at
least 30 dB below. Its duration (sox --i) matches the time between the
recording_start answer and the recording_stop answer within 2 %, and the
recording's duration_ms matches the file. A second recording_start while
one runs is 409, a recording_stop without one is 409, `Range: bytes=0-99`
gives 206 with the file's first 100 bytes. Then FLAC and Ogg recordings
of the same room (sox --i reads them, or libsndfile where this sox has no
Ogg/Opus handler; the tones are in the mix and in
their tracks) and one with {"tracks": false} (1 channel, channel map of
the mix alone). Events: conference.recording.started {recording_id,
format, tracks} and conference.recording.stopped {recording_id,
duration_ms}; GET /recordings lists them; DELETE removes one.

test_not_progressing: 400 for a bad format or an unknown field; a
conference deleted while recording stops its recording (stopped event,
status stopped, file valid); recording_start on the deleted
(not progressing) conference is 409.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_check import audio_info, channel_levels, read_audio  # noqa: E402
from chorus_harness import NEVER, NIL_UUID, UUID_RE  # noqa: E402
from sip_harness import (SipTestCase, check_heard, fmt_levels,  # noqa: E402
                         main)

TONES = [("alice", 400), ("bob", 700), ("carol", 1100)]
WAV_SECONDS = 10
SHORT_SECONDS = 4
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg"}


class RecordingTest(SipTestCase):

    # ---- helpers
    def start_recording(self, cid, body=None):
        """POSTs recording_start; returns (recording id, monotonic time of
        the answer)."""
        r = self.api.post("/conferences/%s/recording_start" % cid, body)
        t = time.monotonic()
        self.assertEqual(r.status, 200, "recording_start %r: %r" % (body, r))
        rid = r.json.get("recording_id")
        self.assertRegex(rid or "", UUID_RE, r.json)
        self.assertNotEqual(rid, NIL_UUID, r.json)
        self.assertIn(rid, r.json.get("recording_ids") or [], r.json)
        self.assertEqual(r.json["id"], cid)
        return rid, t

    def stop_recording(self, cid, rid):
        """POSTs recording_stop; returns the monotonic time of the answer."""
        r = self.api.post("/conferences/%s/recording_stop" % cid)
        t = time.monotonic()
        self.assertEqual(r.status, 200, "recording_stop: %r" % r)
        self.assertEqual(r.json.get("recording_id"), NIL_UUID, r.json)
        self.assertIn(rid, r.json.get("recording_ids") or [], r.json)
        return t

    def wait_stopped(self, rid, timeout=20):
        """Waits for conference.recording.stopped of rid; returns the
        recording resource (status stopped)."""
        evs = self.wait_events("recording_id", rid, [
            "conference.recording.started",
            "conference.recording.stopped"], timeout)
        stopped = [e for e in evs
                   if e["event"] == "conference.recording.stopped"][0]
        r = self.api.get("/recordings/" + rid)
        self.assertEqual(r.status, 200, r)
        rec = r.json
        self.assertEqual(rec["status"], "stopped", rec)
        self.assertEqual(stopped.get("duration_ms"), rec["duration_ms"],
                         (stopped, rec))
        return rec, evs

    def download(self, rec, fmt):
        """GET the file; checks headers; returns its local path and bytes."""
        r = self.api.get("/recordings/%s/file" % rec["id"],
                         headers={"Accept": "*/*"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers.get("content-type", "").split(";")[0],
                         CONTENT_TYPES[fmt], r.headers)
        self.assertEqual(int(r.headers.get("content-length", -1)),
                         len(r.body), r.headers)
        self.assertEqual(rec["size"], len(r.body), rec)
        path = os.path.join(self.workdir, "%s.%s" % (rec["id"], fmt))
        with open(path, "wb") as f:
            f.write(r.body)
        return path, r.body

    def check_channel_map(self, rec, parts, tracks=True):
        """The channel map: index 1 the mix, then one per participant
        (conferencecall_id, caller_id). Returns {channel index: Hz}."""
        ch = rec.get("channels")
        self.assertIsInstance(ch, list, rec)
        self.assertEqual(ch[0].get("index"), 1, ch)
        self.assertEqual(ch[0].get("kind"), "mix", ch)
        if not tracks:
            self.assertEqual(len(ch), 1, ch)
            return {}
        self.assertEqual([c.get("index") for c in ch],
                         list(range(1, len(parts) + 2)), ch)
        by_id = {p["id"]: p for p in parts}
        freq = dict(TONES)
        out = {}
        for c in ch[1:]:
            self.assertEqual(c.get("kind"), "participant", c)
            p = by_id.get(c.get("conferencecall_id"))
            self.assertIsNotNone(p, "channel %r names no participant of "
                                 "the room %s" % (c, sorted(by_id)))
            self.assertEqual(c.get("caller_id"), p["caller_id"], c)
            out[c["index"]] = freq[p["caller_id"]]
        self.assertEqual(sorted(c["conferencecall_id"] for c in ch[1:]),
                         sorted(by_id), ch)
        return out

    def check_audio(self, path, rec, chan_freq, margin=30.0):
        """Channel 1 holds every tone; channel i holds chan_freq[i] alone
        (others margin dB below)."""
        rate, chans = read_audio(path)
        self.assertEqual(rate, rec["rate"], rec)
        dur = len(chans[0]) / float(rate)
        freqs = [f for _n, f in TONES]
        lv = channel_levels(rate, chans, 1.0, dur - 0.5, freqs)
        problems = []
        msg = "%s ch1 (mix): %s" % (os.path.basename(path), fmt_levels(lv[0]))
        sys.stderr.write("  " + msg + "\n")
        problems += [msg + ": " + b for b in check_heard(lv[0], freqs, [])]
        for idx, f in sorted(chan_freq.items()):
            msg = "%s ch%d (%d Hz speaker): %s" % (
                os.path.basename(path), idx, f, fmt_levels(lv[idx - 1]))
            sys.stderr.write("  " + msg + "\n")
            problems += [msg + ": " + b for b in check_heard(
                lv[idx - 1], [f], [g for g in freqs if g != f],
                margin=margin)]
        if problems:
            self.fail("\n".join(problems))
        return rate, chans

    def check_resource(self, rec, cid, fmt, tracks, nchannels):
        self.assertEqual(rec["reference_type"], "conference", rec)
        self.assertEqual(rec["reference_id"], cid, rec)
        self.assertEqual(rec["customer_id"], self.cust["customer_id"], rec)
        self.assertEqual(rec["format"], fmt, rec)
        self.assertEqual(rec["tracks"], tracks, rec)
        self.assertEqual(len(rec["channels"]), nchannels, rec)
        for k in ("tm_start", "tm_end", "tm_create", "tm_update",
                  "tm_delete"):
            self.assertIn(k, rec)

    def record_short(self, cid, parts, fmt, tracks, margin):
        """A SHORT_SECONDS recording in fmt; checks file and audio."""
        body = {"format": fmt}
        if not tracks:
            body["tracks"] = False
        rid, t0 = self.start_recording(cid, body)
        time.sleep(SHORT_SECONDS)  # audio accumulates: nothing to await
        t1 = self.stop_recording(cid, rid)
        rec, evs = self.wait_stopped(rid)
        started = evs[0]
        self.assertEqual(started.get("format"), fmt, started)
        self.assertEqual(started.get("tracks"), tracks, started)
        n = 1 + (len(parts) if tracks else 0)
        self.check_resource(rec, cid, fmt, tracks, n)
        path, _ = self.download(rec, fmt)
        info = audio_info(path)
        sys.stderr.write("  %s: %r\n" % (fmt, info))
        if fmt != "ogg":  # this sox reads WAV and FLAC itself
            self.assertEqual(info["reader"], "sox", info)
        self.assertEqual(info["channels"], n, info)
        self.assertEqual(info["rate"], rec["rate"], info)
        self.assertLess(abs(info["duration"] - (t1 - t0)), 0.25 + 0.02 *
                        (t1 - t0), (info, t1 - t0))
        self.check_audio(path, rec,
                         self.check_channel_map(rec, parts, tracks), margin)
        return rec

    # ---- tests
    def test_tracks_and_formats(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="rec")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        phones = [self.phone(n, f) for n, f in TONES]
        parts = self.join(cid, *phones)
        for p in parts:  # every tone flows before the recording starts
            self.wait_events("session_uuid", p["id"], [
                "conference.member.joined",
                ("conference.member.talking", {"talking": True})])
        r = self.api.post("/conferences/%s/recording_stop" % cid)
        self.assertError(r, 409)

        # wav with tracks, ~10 s
        rid, t0 = self.start_recording(cid)
        conf = self.api.conference(cid)
        self.assertEqual(conf["recording_id"], rid, conf)
        r = self.api.post("/conferences/%s/recording_start" % cid,
                          {"format": "flac"})
        self.assertError(r, 409)
        r = self.api.get("/recordings/" + rid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "recording", r.json)
        time.sleep(WAV_SECONDS)  # audio accumulates: nothing to await
        t1 = self.stop_recording(cid, rid)
        wall = t1 - t0
        self.assertEqual(self.api.conference(cid)["recording_id"], NIL_UUID)
        r = self.api.post("/conferences/%s/recording_stop" % cid)
        self.assertError(r, 409)
        rec, evs = self.wait_stopped(rid)
        started = evs[0]
        self.assertEqual(started.get("room_id"), cid, started)
        self.assertEqual(started.get("format"), "wav", started)
        self.assertEqual(started.get("tracks"), True, started)
        self.assertEqual(evs[-1].get("room_id"), cid, evs[-1])
        self.check_resource(rec, cid, "wav", True, 4)
        self.assertNotEqual(rec["tm_end"], NEVER, rec)
        chan_freq = self.check_channel_map(rec, parts)
        path, data = self.download(rec, "wav")
        info = audio_info(path)
        sys.stderr.write("  wav: %r; wall %.3f s; duration_ms %r\n" %
                         (info, wall, rec["duration_ms"]))
        self.assertEqual(info["reader"], "sox", info)
        self.assertEqual(info["channels"], 4, info)
        self.assertEqual(info["rate"], rec["rate"], info)
        self.assertIn("16-bit", info.get("precision", ""), info)
        self.assertLessEqual(abs(info["duration"] - wall), 0.02 * wall,
                             "file %.3f s, wall time between the answers "
                             "%.3f s" % (info["duration"], wall))
        self.assertLessEqual(abs(rec["duration_ms"] / 1000.0 -
                                 info["duration"]), 0.05, (rec, info))
        self.check_audio(path, rec, chan_freq)

        # Range
        r = self.api.get("/recordings/%s/file" % rid,
                         headers={"Range": "bytes=0-99", "Accept": "*/*"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(len(r.body), 100, r.headers)
        self.assertEqual(r.body, data[:100])
        self.assertEqual(r.headers.get("content-range"),
                         "bytes 0-99/%d" % len(data), r.headers)
        r = self.api.get("/recordings/%s/file" % rid,
                         headers={"Range": "bytes=%d-" % (len(data) - 10),
                                  "Accept": "*/*"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, data[-10:])

        # flac and ogg (tracks), then the mix alone
        flac = self.record_short(cid, parts, "flac", True, 30.0)
        ogg = self.record_short(cid, parts, "ogg", True, 20.0)
        mono = self.record_short(cid, parts, "wav", False, 30.0)
        conf = self.api.conference(cid)
        for x in (rid, flac["id"], ogg["id"], mono["id"]):
            self.assertIn(x, conf["recording_ids"], conf)
        r = self.api.get("/recordings", query={"page_size": "100"})
        self.assertEqual(r.status, 200, r)
        listed = {x["id"]: x for x in r.json["result"]}
        for x in (rid, flac["id"], ogg["id"], mono["id"]):
            self.assertIn(x, listed)
            self.assertEqual(listed[x]["status"], "stopped", listed[x])

        # DELETE
        r = self.api.delete("/recordings/" + mono["id"])
        self.assertIn(r.status, (200, 204), r)
        r = self.api.get("/recordings/%s/file" % mono["id"],
                         headers={"Accept": "*/*"})
        self.assertEqual(r.status, 404, r)

        # another customer sees none of it
        other = self.d.client(token=self.d.token)
        r = other.get("/recordings/" + rid)
        self.assertEqual(r.status, 404, r)
        r = other.get("/recordings/%s/file" % rid, headers={"Accept": "*/*"})
        self.assertEqual(r.status, 404, r)

    def test_not_progressing(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="rec-del")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        path = "/conferences/%s/recording_start" % cid
        self.assertError(self.api.post(path, {"format": "mp3"}), 400)
        self.assertError(self.api.post(path, {"format": "wav",
                                              "bogus": 1}), 400)
        self.assertError(self.api.post(path, {"tracks": "yes"}), 400)
        self.assertEqual(self.api.conference(cid)["recording_id"], NIL_UUID)

        phone = self.phone("alice", 400)
        part, = self.join(cid, phone)
        rid, t0 = self.start_recording(cid, {"format": "wav"})
        time.sleep(2)  # audio accumulates: nothing to await
        r = self.api.delete("/conferences/" + cid)
        self.assertEqual(r.status, 200, r)
        rec, _evs = self.wait_stopped(rid)
        self.assertTrue(self.api.wait_status(cid, "terminated", 10))
        conf = self.api.conference(cid)
        self.assertEqual(conf["recording_id"], NIL_UUID, conf)
        self.assertIn(rid, conf["recording_ids"], conf)
        p, _ = self.download(rec, "wav")
        info = audio_info(p)
        self.assertEqual(info["channels"], 2, info)
        self.assertGreater(info["duration"], 1.5, info)
        self.assertEqual(self.check_channel_map(rec, [part]),
                         {2: 400}, rec)
        self.assertError(self.api.post(path), 409)
        self.assertError(self.api.post(
            "/conferences/%s/recording_stop" % cid), 409)
        # a conference that does not exist
        self.assertError(self.api.post(
            "/conferences/%s/recording_start" % NIL_UUID), 404)


if __name__ == "__main__":
    main()
