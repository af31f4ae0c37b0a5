"""
test_cli.py: the `chorus` command-line client (tools/) against a real
chorusd, with real baresip phones for participants and calls.

Every command runs as a child process (binary: $CHORUS_CLI, default
build/chorus beside chorusd); its --json output is parsed and compared
with a GET of the same resource through the harness's own client.
- conferences list|create|show|update|delete; participants list|mute|
  unmute|play|talk|kick on a phone that dialled in; calls list|dial|hangup
  with a phone that auto-answers; lists past one API page (--limit); record start|stop, recordings list|
  download (the file's size is the API's `size`)|delete; play|pause|stop|
  volume with a local media host; transcribe start|stop, transcripts
  (a JSON array), summary.
- exit codes: 2 for bad usage (unknown command, unknown option, missing
  argument, no token), 3 for an unknown id, 1 for a 409 (stop of a
  recording that is not running) with the API's message on stderr.
- `chorus events --json` in the background prints conference.member.joined
  when a phone joins; the table form prints one line per event.
- the token from CHORUS_TOKEN and from ~/.config/chorus/config (HOME a
  temporary folder); it never shows in the output.
"""
import json
import os
import pty
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from audio_check import tone_file  # noqa: E402
from chorus_harness import CHORUSD, NIL_UUID  # noqa: E402
from media_server import MediaServer  # noqa: E402
from sip_harness import SipTestCase, main, wait_until  # noqa: E402

CLI = os.environ.get("CHORUS_CLI") or os.path.join(
    os.path.dirname(os.path.abspath(CHORUSD)), "chorus")
UNKNOWN = "6f1c0d3e-1111-4222-8333-944455556666"


class CliTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.assertTrue(os.access(CLI, os.X_OK), "no chorus binary at " + CLI)
        self.start_sip_daemon()
        self.home = os.path.join(self.workdir, "home")
        os.makedirs(self.home)

    def env(self, token=True, url=True):
        """The child's environment: HOME our temp folder, CHORUS_URL and
        CHORUS_TOKEN (the customer's) unless told not to."""
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("CHORUS_")}
        e["HOME"] = self.home
        if url:
            e["CHORUS_URL"] = self.d.url
        if token:
            e["CHORUS_TOKEN"] = self.cust["token"]
        return e

    def cli(self, *args, code=0, env=None, timeout=30):
        """Runs chorus ARGS; checks the exit code; returns the result."""
        r = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, timeout=timeout,
                           env=env if env is not None else self.env())
        self.assertEqual(r.returncode, code, "chorus %s: exit %d, want %d\n"
                         "stdout: %s\nstderr: %s" % (
                             " ".join(args), r.returncode, code, r.stdout,
                             r.stderr))
        self.assertNotIn(self.cust["token"], r.stdout + r.stderr)
        return r

    def cli_json(self, *args, **kw):
        r = self.cli(*(list(args) + ["--json"]), **kw)
        try:
            return json.loads(r.stdout)
        except ValueError:
            self.fail("chorus %s --json printed no JSON: %r" % (
                " ".join(args), r.stdout))

    def get(self, path):
        r = self.api.get(path)
        self.assertEqual(r.status, 200, r)
        return r.json

    def same(self, a, b, volatile=("tm_update", "quality", "stats",
                                   "duration_seconds",
                                   "connect_duration_seconds")):
        """a and b agree on every field but those that move on their own."""
        strip = (lambda o: {k: v for k, v in o.items() if k not in volatile})
        self.assertEqual(strip(a), strip(b))

    def conference(self, name="cli"):
        c = self.cli_json("conferences", "create", "--name", name)
        self.assertIsNotNone(self.api.wait_status(c["id"], "progressing", 5))
        return c["id"]

    # ---- tests
    def test_conferences(self):
        c = self.cli_json("conferences", "create", "--name", "standup",
                          "--timeout", "600", "--max-participants", "5")
        got = self.get("/conferences/" + c["id"])
        self.assertEqual((c["name"], c["timeout"], c["max_participants"],
                          c["type"]), ("standup", 600, 5, "conference"))
        self.assertEqual(got["id"], c["id"])
        self.api.wait_status(c["id"], "progressing", 5)
        shown = self.cli_json("conferences", "show", c["id"])
        self.same(shown, self.get("/conferences/" + c["id"]))
        up = self.cli_json("conferences", "update", c["id"], "--name",
                           "retro", "--timeout", "0")
        self.assertEqual((up["name"], up["timeout"]), ("retro", 0))
        self.same(up, self.get("/conferences/" + c["id"]))
        # a second one; the list is newest first and pages (--limit)
        c2 = self.cli_json("conferences", "create", "--name", "two",
                           "--type", "connect")
        lst = self.cli_json("conferences", "list")
        self.assertIsInstance(lst, list)
        self.assertEqual([x["id"] for x in lst], [c2["id"], c["id"]])
        self.assertEqual([x["id"] for x in self.api.list_all()],
                         [x["id"] for x in lst])
        self.assertEqual(len(self.cli_json("conferences", "list",
                                           "--limit", "1")), 1)
        # the table: a header, one line per conference, ids in full,
        # relative times
        t = self.cli("conferences", "list").stdout.splitlines()
        self.assertEqual(len(t), 3, t)
        self.assertTrue(t[0].startswith("ID "), t)
        self.assertIn(c2["id"], t[1])
        self.assertRegex(t[2], r"(now|\d+s ago)$")
        # columns aligned: NAME starts at the same place on every line
        col = t[0].index("NAME")
        self.assertEqual({ln[col - 2:col] for ln in t}, {"  "}, t)
        gone = self.cli_json("conferences", "delete", c["id"])
        self.assertIn(gone["status"], ("terminating", "terminated"))
        self.api.wait_status(c["id"], "terminated", 5)
        self.assertIn("terminated",
                      self.cli("conferences", "show", c["id"]).stdout)

    def test_paging(self):
        # 105 conferences: lists follow next_page_token past the API's 100
        # a page, up to --limit (default 50)
        for i in range(105):
            self.api.create_conference(name="c%d" % i)
        want = [c["id"] for c in self.api.list_all()]
        self.assertEqual(len(want), 105)
        self.assertEqual([c["id"] for c in self.cli_json(
            "conferences", "list", "--limit", "103")], want[:103])
        self.assertEqual([c["id"] for c in self.cli_json(
            "conferences", "list", "--limit", "500")], want)
        self.assertEqual([c["id"] for c in self.cli_json(
            "conferences", "list")], want[:50])
        self.assertEqual(len(self.cli("conferences", "list").stdout
                             .splitlines()), 51)
        self.cli("conferences", "list", "--limit", "0", code=2)

    def test_exit_codes(self):
        r = self.cli("conferences", "show", UNKNOWN, code=3)
        self.assertIn("not found", r.stderr)
        self.cli("recordings", "download", UNKNOWN, code=3)
        self.cli("participants", "kick", UNKNOWN, code=3)
        self.cli("bogus", code=2)
        self.cli("conferences", "frobnicate", code=2)
        self.cli("conferences", "create", "--nmae", "x", code=2)
        self.cli("conferences", "show", code=2)
        self.cli("volume", UNKNOWN, "loud", code=2)
        self.cli("conferences", "create", "--type", "party", code=2)
        r = self.cli("conferences", "list", code=2, env=self.env(token=False))
        for way in ("--token", "CHORUS_TOKEN", ".config/chorus/config"):
            self.assertIn(way, r.stderr)
        # no server there: an error (1) naming the URL; the flag wins over
        # CHORUS_URL
        r = self.cli("--url", "http://127.0.0.1:1/v1.0", "conferences",
                     "list", code=1)
        self.assertIn("127.0.0.1:1", r.stderr)
        self.cli("events", "--url", "http://127.0.0.1:1/v1.0", code=1)
        cid = self.conference()
        r = self.cli("record", "stop", cid, code=1)
        api = self.api.post("/conferences/%s/recording_stop" % cid)
        self.assertEqual(api.status, 409, api)
        self.assertIn(api.json["error"]["message"], r.stderr)
        # --help on every command answers 0 with its synopsis
        for cmd in (["conferences", "list"], ["conferences", "create"],
                    ["participants", "talk"], ["calls", "dial"],
                    ["recordings", "download"], ["record", "start"],
                    ["play"], ["pause"], ["stop"], ["volume"],
                    ["transcribe", "start"], ["transcripts"], ["summary"],
                    ["events"]):
            r = self.cli(*(cmd + ["--help"]), env=self.env(token=False))
            self.assertIn("usage: chorus " + " ".join(cmd), r.stdout)
        self.assertIn("chorus events", self.cli("--help").stdout)

    def test_token_sources(self):
        # the environment
        self.cli("conferences", "list")
        # the config file, with HOME pointing at our folder
        cfg = os.path.join(self.home, ".config", "chorus")
        os.makedirs(cfg)
        with open(os.path.join(cfg, "config"), "w") as f:
            f.write("# chorus\nurl = %s\ntoken = %s\n" % (
                self.d.url, self.cust["token"]))
        self.cli("conferences", "list", env=self.env(token=False, url=False))
        # a wrong token in the file: the API's 401 is an error (1)
        with open(os.path.join(cfg, "config"), "w") as f:
            f.write("url = %s\ntoken = nope\n" % self.d.url)
        self.cli("conferences", "list", code=1,
                 env=self.env(token=False, url=False))
        # flags win over the file
        self.cli("--token", self.cust["token"], "conferences", "list",
                 env=self.env(token=False, url=False))
        # a malformed file is a usage error naming the line
        with open(os.path.join(cfg, "config"), "w") as f:
            f.write("url = %s\nthis is not a setting\n" % self.d.url)
        r = self.cli("conferences", "list", code=2,
                     env=self.env(token=False, url=False))
        self.assertIn("config:2", r.stderr)

    def start_events(self, *args):
        """chorus events ARGS in the background; lines collected."""
        p = subprocess.Popen([CLI, "events"] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=self.env())
        lines = []

        def reader():
            for ln in p.stdout:
                lines.append(ln)
        t = threading.Thread(target=reader, daemon=True)
        t.start()

        def stop():
            p.terminate()
            p.wait(5)
            t.join(5)
            p.stdout.close()
            p.stderr.close()
        self.addCleanup(stop)
        time.sleep(0.5)  # connected and subscribed
        if p.poll() is not None:
            self.fail("chorus events ended: " + p.stderr.read())
        return p, lines

    def test_participants_and_events(self):
        cid = self.conference()
        other = self.conference("other")
        _, ev = self.start_events("--json")
        _, table = self.start_events("--conference", cid)
        _, quiet = self.start_events("--conference", other, "--json")
        alice, = self.join(cid, self.phone("alice", 440))
        pid = alice["id"]

        def joined():
            for ln in ev:
                e = json.loads(ln)
                if e.get("event") == "conference.member.joined" and \
                        e.get("session_uuid") == pid:
                    return e
        e = wait_until(joined, 5)
        self.assertTrue(e, "chorus events --json did not print the join: "
                        "%r" % ev)
        self.assertEqual(e["room_id"], cid)
        self.assertTrue(wait_until(lambda: any(
            "conference.member.joined" in ln and pid in ln and cid in ln
            for ln in table), 5), table)
        # nothing happened in the other conference: not a line (nor the
        # stream's own "subscribed" answer)
        self.assertEqual(quiet, [])

        lst = self.cli_json("participants", "list", "--conference", cid)
        self.assertEqual([p["id"] for p in lst], [pid])
        self.assertEqual(lst[0]["caller_id"], "alice")
        self.assertIn("alice", self.cli("participants", "list").stdout)
        self.assertTrue(self.cli_json("participants", "mute", pid)["muted"])
        self.assertTrue(self.get("/conferencecalls/" + pid)["muted"])
        self.assertFalse(self.cli_json("participants", "unmute",
                                       pid)["muted"])
        self.assertFalse(self.get("/conferencecalls/" + pid)["muted"])
        media = MediaServer()
        self.addCleanup(media.close)
        url = media.add("/t.wav", tone_file(self.workdir, 1000, 2))
        op = self.cli_json("participants", "play", pid, "--url", url)
        self.assertIn("operation_id", op)
        self.assertTrue(media.wait_request("/t.wav", 5))
        op = self.cli_json("participants", "talk", pid, "--text", "hello",
                           "--language", "en-US")
        self.assertIn("operation_id", op)
        k = self.cli_json("participants", "kick", pid)
        self.assertEqual(k["leave_reason"], "removed")
        self.wait_participant(cid, "leaved", 10, caller_id="alice")

    def test_calls(self):
        cid = self.conference()
        bob = self.phone("bob", 660, answermode="auto")
        calls = self.cli_json("calls", "dial", "--conference", cid,
                              "--to", bob.aor)
        self.assertEqual(len(calls), 1, calls)
        call = calls[0]
        self.assertEqual(call["destination"]["target"], bob.aor)
        self.assertTrue(bob.wait_event("CALL_ESTABLISHED", 10))
        self.wait_participant(cid, "joined", 10, caller_id="bob")
        lst = self.cli_json("calls", "list")
        self.assertIn(call["id"], [c["id"] for c in lst])
        self.same([c for c in lst if c["id"] == call["id"]][0],
                  self.get("/calls/" + call["id"]))
        self.assertIn(call["id"], self.cli("calls", "list").stdout)
        self.cli_json("calls", "hangup", call["id"])
        self.assertTrue(wait_until(lambda: self.get(
            "/calls/" + call["id"])["status"] == "hangup", 10))
        r = self.cli("calls", "hangup", call["id"], code=1)
        self.assertIn("HTTP 409", r.stderr)

    def test_recordings(self):
        cid = self.conference()
        self.join(cid, self.phone("alice", 440))
        c = self.cli_json("record", "start", cid, "--format", "wav")
        rid = c["recording_id"]
        self.assertNotEqual(rid, NIL_UUID)
        time.sleep(2)
        self.assertEqual(self.cli_json("record", "stop", cid)
                         ["recording_id"], NIL_UUID)
        rec = wait_until(lambda: (lambda r: r if r["status"] == "stopped"
                                  else None)(self.get("/recordings/" + rid)),
                         10, 0.2)
        self.assertTrue(rec, "recording not stopped")
        lst = self.cli_json("recordings", "list")
        self.assertEqual([r["id"] for r in lst], [rid])
        self.same(lst[0], rec)
        out = os.path.join(self.workdir, "rec.wav")
        self.cli("recordings", "download", rid, "-o", out)
        self.assertGreater(rec["size"], 44)
        self.assertEqual(os.path.getsize(out), rec["size"])
        with open(out, "rb") as f:
            self.assertEqual(f.read(4), b"RIFF")
        # on a terminal, a progress bar on stderr that reaches 100 %
        master, slave = pty.openpty()
        r = subprocess.run([CLI, "recordings", "download", rid, "-o", out],
                           stderr=slave, stdout=subprocess.PIPE,
                           env=self.env(), timeout=30)
        os.close(slave)
        bar = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            bar += chunk
        os.close(master)
        self.assertEqual(r.returncode, 0, bar)
        self.assertIn(b"100%% %d/%d bytes" % (rec["size"], rec["size"]), bar)
        self.assertEqual(os.path.getsize(out), rec["size"])
        # default name: ID.FORMAT in the working folder
        r = subprocess.run([CLI, "recordings", "download", rid],
                           cwd=self.workdir, env=self.env(),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(os.path.getsize(os.path.join(
            self.workdir, rid + ".wav")), rec["size"])
        self.assertEqual(self.cli_json("recordings", "delete", rid)["id"],
                         rid)
        self.assertEqual(self.api.get("/recordings/" + rid).status, 404)
        self.cli("recordings", "delete", rid, code=3)

    def test_playback(self):
        cid = self.conference()
        self.join(cid, self.phone("alice", 440))
        media = MediaServer()
        self.addCleanup(media.close)
        url = media.add("/long.wav", tone_file(self.workdir, 1500, 30))
        op = self.cli_json("play", cid, "--url", url)
        self.assertEqual(op["playback_status"], "playing")
        self.assertTrue(wait_until(lambda: self.get(
            "/conferences/" + cid)["playback_status"] == "playing", 5))
        time.sleep(1)
        self.cli_json("pause", cid)
        self.assertEqual(self.get("/conferences/" + cid)["playback_status"],
                         "paused")
        self.cli_json("pause", cid)
        v = self.cli_json("volume", cid, "-6")
        self.assertEqual(v["volume"], -6)
        self.assertEqual(self.get("/conferences/" + cid)["playback_volume"],
                         -6)
        self.cli_json("stop", cid)
        self.assertEqual(self.get("/conferences/" + cid)["playback_status"],
                         "stopped")
        self.cli("stop", cid, code=1)

    def test_transcription_and_summary(self):
        cid = self.conference()
        self.join(cid, self.phone("alice", 440))
        c = self.cli_json("transcribe", "start", cid, "--language", "en-US",
                          "--engine", "sphinx")
        tid = c["transcribe_id"]
        self.assertNotEqual(tid, NIL_UUID)
        time.sleep(1)
        self.cli_json("transcribe", "stop", cid)
        self.assertTrue(wait_until(lambda: self.get(
            "/transcribes/" + tid)["status"] == "done", 15))
        segs = self.cli_json("transcripts", tid)
        self.assertIsInstance(segs, list)
        api = self.get("/transcripts?transcribe_id=%s&page_size=100" % tid)
        self.assertEqual(segs, api["result"])
        self.cli("transcripts", tid)
        self.cli("transcripts", UNKNOWN, code=3)
        s = self.cli_json("summary", cid)
        self.same(s, self.get("/conferences/%s/summary" % cid))
        self.assertIn("max_concurrent_participants",
                      self.cli("summary", cid).stdout)


if __name__ == "__main__":
    main()
