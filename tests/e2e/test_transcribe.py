"""
test_transcribe.py: transcription per speaker, checked against what real
recordings say.

test_per_speaker (pocketsphinx): three baresip participants over G.722
join one conference with transcription on: alice plays the
pocketsphinx-testdata recording "go forward ten meters", carol at the same
time "go somewhere and do something", bob plays silence. The
conference.transcript events and GET /transcripts hold alice's words
attributed to alice (conferencecall_id, caller_id) and carol's to carol,
neither garbled by the other, bob has no segment; times are relative to
the transcribe start and in order. transcribe_stop ends it:
conference.transcribe.stopped, the transcribe "done" with as many segments
as stored. A PCMU participant (narrowband) is recognised too and
attributed (its words are not checked: the en-US model is wideband, see
bench/README.md). The failure paths: 409 for a second start and for a stop
without one, 400 for a missing or unsupported language (the message lists
the supported ones), for the http engine when it is not configured, for
an unknown field; 404 for another tenant's conference; 409 on a
conference that is not progressing.

test_http_engine: the same with {"engine": "http"} against a local
OpenAI-compatible stand-in (tests/tools/stt_standin.py, which recognises
the WAV it is sent with pocketsphinx): alice's words come back; the
stand-in saw language "en" and 16 kHz audio.

test_restart_ends_it: a transcription running when chorusd is killed is
"done" after the restart and the conference names no active one; DELETE
of a conference ends its transcription.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import NIL_UUID, UUID_RE, wait_until  # noqa: E402
from sip_harness import SipTestCase, main, speech_wav  # noqa: E402

DATA = "/usr/share/pocketsphinx/test/data"
GOFORWARD = os.path.join(DATA, "goforward.raw")
SOMETHING = os.path.join(DATA, "something.raw")
STANDIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                       "tools", "stt_standin.py")


def words(text):
    return re.findall(r"[a-z']+", (text or "").lower())


class TranscribeTest(SipTestCase):

    def setUp(self):
        super().setUp()
        for f in (GOFORWARD, SOMETHING):
            self.assertTrue(os.path.exists(f), "%s missing: apt-get install "
                            "pocketsphinx-testdata" % f)

    def new_conference(self):
        r = self.api.post("/conferences", {"type": "conference",
                                           "name": "stt"})
        self.assertEqual(r.status, 200, r)
        cid = r.json["id"]
        wait_until(lambda: self.api.get("/conferences/" + cid).json.get(
            "status") == "progressing", 5)
        return cid

    def start(self, cid, body):
        r = self.api.post("/conferences/%s/transcribe_start" % cid, body)
        self.assertEqual(r.status, 200, "transcribe_start %r: %r" % (body, r))
        tid = r.json.get("transcribe_id")
        self.assertRegex(tid or "", UUID_RE, r.json)
        self.assertNotEqual(tid, NIL_UUID)
        self.assertIn(tid, r.json.get("transcribe_ids") or [], r.json)
        return tid, time.monotonic()

    def transcripts(self, tid):
        """Every stored transcript of tid, following next_page_token."""
        out, token = [], None
        for _ in range(50):
            q = {"transcribe_id": tid, "page_size": "3"}
            if token:
                q["page_token"] = token
            r = self.api.get("/transcripts", query=q)
            self.assertEqual(r.status, 200, r)
            out += r.json["result"]
            token = r.json.get("next_page_token")
            if not token:
                return out
        self.fail("paging did not end")

    def wait_texts(self, tid, who, want, timeout=40):
        """Waits until the conference.transcript events of tid for the
        participant who (conferencecall id) hold every word of want;
        returns those events."""
        want = words(want)

        def have():
            evs = [e for e in self.events_for("transcribe_id", tid)
                   if e.get("event") == "conference.transcript" and
                   e.get("conferencecall_id") == who]
            got = [w for e in evs for w in words(e.get("text"))]
            return evs if all(w in got for w in want) else None
        evs = wait_until(have, timeout, 0.2)
        if not evs:
            allev = [(e.get("caller_id"), e.get("text"))
                     for e in self.events_for("transcribe_id", tid)
                     if e.get("event") == "conference.transcript"]
            self.fail("no transcript of %r for %s within %d s; got %r"
                      % (" ".join(want), who, timeout, allev))
        return evs

    def check_failures(self, cid, tid):
        # a second start while one runs; bad bodies; another tenant
        r = self.api.post("/conferences/%s/transcribe_start" % cid,
                          {"language": "en-US"})
        self.assertError(r, 409)
        for body, field in (({}, "language"),
                            ({"language": ""}, "language"),
                            ({"language": 7}, "language"),
                            ({"language": "en-US", "engine": 3}, "engine"),
                            ({"language": "en-US", "engine": "x'; --"},
                             "engine"),
                            ({"language": "en-US", "colour": "red"}, None)):
            self.assertError(self.api.post(
                "/conferences/%s/transcribe_start" % cid, body), 400, field)
        other = self.new_conference()
        r = self.api.post("/conferences/%s/transcribe_start" % other,
                          {"language": "xx-YY"})
        self.assertError(r, 400, "language")
        self.assertIn("en-US", r.json["error"]["message"])
        r = self.api.post("/conferences/%s/transcribe_start" % other,
                          {"language": "en-US", "engine": "http"})
        self.assertError(r, 400, "engine")
        self.assertIn("not configured", r.json["error"]["message"])
        self.assertError(self.api.post(
            "/conferences/%s/transcribe_stop" % other), 409)
        stranger = self.d.client(token=self.other_tenant()["token"])
        self.assertError(stranger.post("/conferences/%s/transcribe_start"
                                       % cid, {"language": "en-US"}), 404)
        self.assertError(stranger.post("/conferences/%s/transcribe_stop"
                                       % cid), 404)
        # nothing of that changed the conference
        c = self.api.get("/conferences/" + cid).json
        self.assertEqual(c["transcribe_id"], tid)
        self.assertEqual(c["transcribe_ids"], [tid])
        self.assertEqual(self.api.get("/conferences/" + other).json[
            "transcribe_ids"], [])
        # not progressing: deleted
        self.assertEqual(self.api.delete("/conferences/" + other).status,
                         200)
        wait_until(lambda: self.api.get("/conferences/" + other).json.get(
            "status") == "terminated", 10)
        self.assertError(self.api.post(
            "/conferences/%s/transcribe_start" % other,
            {"language": "en-US"}), 409)

    def silence_wav(self, rate):
        path = os.path.join(self.workdir, "silence_%d.wav" % rate)
        if not os.path.exists(path):
            subprocess.run(["sox", "-n", "-r", str(rate), "-c", "1", "-b",
                            "16", "-e", "signed-integer", path, "trim", "0",
                            "60"], check=True, timeout=30)
        return path

    def other_tenant(self):
        from chorus_harness import customer_add
        return customer_add(self.d.data_dir, "stt-stranger", None)

    def test_per_speaker(self):
        self.start_sip_daemon()
        cid = self.new_conference()
        tid, t0 = self.start(cid, {"language": "en-US"})
        self.check_failures(cid, tid)
        ev = self.wait_events("transcribe_id", tid, [
            ("conference.transcribe.started",
             {"language": "en-US", "engine": "sphinx"})])

        alice = self.phone_file("alice", speech_wav(
            self.workdir, GOFORWARD, 16000), codec="g722")
        carol = self.phone_file("carol", speech_wav(
            self.workdir, SOMETHING, 16000), codec="g722")
        bob = self.phone_file("bob", self.silence_wav(16000), codec="g722")
        pa, pc, pb = self.join(cid, alice, carol, bob)

        ea = self.wait_texts(tid, pa["id"], "go forward ten meters")
        ec = self.wait_texts(tid, pc["id"], "go somewhere and do something")
        for e in ea + ec:
            self.assertEqual(e["room_id"], cid)
            self.assertEqual(e["session_uuid"], e["conferencecall_id"])
            self.assertRegex(e["transcript_id"], UUID_RE)
        self.assertEqual({e["caller_id"] for e in ea}, {"alice"})
        self.assertEqual({e["caller_id"] for e in ec}, {"carol"})
        # each speaker's own words only: no garbling by the other talker
        self.assertEqual(" ".join(w for e in ea for w in words(e["text"])),
                         "go forward ten meters", ea)
        self.assertEqual(" ".join(w for e in ec for w in words(e["text"])),
                         "go somewhere and do something", ec)
        # times: relative to the start, speech 2 s into each call, which
        # began after transcribe_start; about the length of the speech
        for e, secs in ((ea[0], 2.8), (ec[0], 2.0)):
            self.assertGreater(e["tm_start_ms"], 1000, e)
            self.assertLess(e["tm_start_ms"], 30000, e)
            dur = e["tm_end_ms"] - e["tm_start_ms"]
            self.assertGreater(dur, secs * 1000 * 0.6, e)
            self.assertLess(dur, secs * 1000 * 2.0, e)

        # a PCMU (narrowband) participant is recognised and named
        dave = self.phone_file("dave", speech_wav(
            self.workdir, GOFORWARD, 8000), codec="pcmu")
        (pd,) = self.join(cid, dave)
        ed = wait_until(lambda: [e for e in self.events_for(
            "transcribe_id", tid) if e.get("event") == "conference.transcript"
            and e.get("conferencecall_id") == pd["id"]], 40, 0.2)
        self.assertTrue(ed, "no transcript for the PCMU participant")
        # the en-US model is wideband: narrowband audio is recognised,
        # poorly (bench/stt_accuracy.py measures it); what counts here is
        # that the leg is transcribed on its own, named, at the right time
        got = [w for e in ed for w in words(e["text"])]
        sys.stderr.write("PCMU leg heard as: %r\n" % " ".join(got))
        self.assertTrue(got, ed)
        self.assertEqual({e["caller_id"] for e in ed}, {"dave"})
        time.sleep(1.5)

        # stop: the transcribe is done with every segment stored
        r = self.api.post("/conferences/%s/transcribe_stop" % cid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["transcribe_id"], NIL_UUID)
        self.assertEqual(r.json["transcribe_ids"], [tid])
        ev = self.wait_events("transcribe_id", tid, [
            "conference.transcribe.started", "conference.transcribe.stopped"],
            timeout=30)
        stopped = [e for e in ev
                   if e["event"] == "conference.transcribe.stopped"][0]
        tr = self.api.get("/transcribes/" + tid)
        self.assertEqual(tr.status, 200, tr)
        self.assertEqual(tr.json["status"], "done", tr.json)
        stored = self.transcripts(tid)
        events = [e for e in self.events_for("transcribe_id", tid)
                  if e.get("event") == "conference.transcript"]
        self.assertEqual(len(stored), tr.json["segments"], tr.json)
        self.assertEqual(stopped["segments"], len(stored))
        self.assertEqual(sorted(s["id"] for s in stored),
                         sorted(e["transcript_id"] for e in events))
        # in time order, each as its event said
        self.assertEqual([s["tm_start_ms"] for s in stored],
                         sorted(s["tm_start_ms"] for s in stored))
        byid = {e["transcript_id"]: e for e in events}
        for s in stored:
            e = byid[s["id"]]
            for k in ("text", "conferencecall_id", "caller_id",
                      "tm_start_ms", "tm_end_ms"):
                self.assertEqual(s[k], e[k], (s, e))
        # bob was silent all along: no segment of his
        self.assertFalse([s for s in stored
                          if s["conferencecall_id"] == pb["id"]], stored)
        self.assertError(self.api.post(
            "/conferences/%s/transcribe_stop" % cid), 409)

    def start_standin(self):
        log = os.path.join(self.workdir, "standin.log")
        p = subprocess.Popen([sys.executable, STANDIN, "--port", "0",
                              "--log", log], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.wait, 5)
        self.addCleanup(p.terminate)
        line = p.stdout.readline()
        m = re.match(r"PORT (\d+)", line)
        self.assertTrue(m, "stand-in did not start: %r" % line)
        return int(m.group(1)), log

    def test_http_engine(self):
        port, log = self.start_standin()
        self.start_sip_daemon(args=["--stt-http-url",
                                    "http://127.0.0.1:%d" % port,
                                    "--stt-http-timeout-ms", "20000"])
        cid = self.new_conference()
        tid, _ = self.start(cid, {"language": "en-US", "engine": "http"})
        self.wait_events("transcribe_id", tid, [
            ("conference.transcribe.started", {"engine": "http"})])
        alice = self.phone_file("alice", speech_wav(
            self.workdir, GOFORWARD, 16000), codec="g722")
        (pa,) = self.join(cid, alice)
        ea = self.wait_texts(tid, pa["id"], "go forward ten meters")
        self.assertEqual({e["caller_id"] for e in ea}, {"alice"})
        r = self.api.post("/conferences/%s/transcribe_stop" % cid)
        self.assertEqual(r.status, 200, r)
        self.wait_events("transcribe_id", tid, [
            "conference.transcribe.stopped"], timeout=30)
        with open(log) as f:
            reqs = [json.loads(x) for x in f if x.strip()]
        self.assertTrue(reqs, "the stand-in saw no request")
        for q in reqs:
            self.assertEqual(q.get("language"), "en", q)
        self.assertEqual(self.api.get("/transcribes/" + tid).json["engine"],
                         "http")

    def test_restart_ends_it(self):
        d = self.start_sip_daemon()
        cid = self.new_conference()
        tid, _ = self.start(cid, {"language": "en"})
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d2 = self.start_daemon(data_dir=d.data_dir,
                               args=["--sip", "127.0.0.1:0"])
        api = d2.client(token=self.cust["token"])
        tr = wait_until(lambda: api.get("/transcribes/" + tid).json, 10)
        self.assertEqual(tr["status"], "done", tr)
        c = api.get("/conferences/" + cid).json
        self.assertEqual(c["transcribe_id"], NIL_UUID, c)
        # the conference lives on: a new transcription, then DELETE ends it
        wait_until(lambda: api.get("/conferences/" + cid).json.get(
            "status") == "progressing", 10)
        r = api.post("/conferences/%s/transcribe_start" % cid,
                     {"language": "en-US"})
        self.assertEqual(r.status, 200, r)
        t2 = r.json["transcribe_id"]
        self.assertEqual(api.delete("/conferences/" + cid).status, 200)
        tr = wait_until(lambda: api.get("/transcribes/" + t2).json
                        if api.get("/transcribes/" + t2).json.get(
                            "status") == "done" else None, 15)
        self.assertTrue(tr, "DELETE did not end the transcription")


if __name__ == "__main__":
    main()
