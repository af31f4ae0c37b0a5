"""
test_console.py: the web console at /console (src/web/console/), driven in
Debian's Chromium by playwright-core (tests/e2e/console_driver.mjs),
against a real chorusd with two baresip participants: alice plays a tone
in bursts (3 s on, 3 s off), bob silence.

The static files: GET /console, /console/ and its script and style are
served with a strict Content-Security-Policy, nosniff and no-cache; HEAD is
405; an unknown /console/x, an escape and a dot-dot path are 404 JSON.

In the browser: a wrong token is refused; the right one logs in and the
WebSocket goes live; selecting the conference shows both participants
joined; alice's talking dot lights while her tone plays, goes dark in the
pause and lights again, bob's stays dark; clicking Mute on alice makes
GET /conferencecalls/{id} say muted; clicking Kick on bob makes it
leaving/leaved, and the page shows him leaved.

Screenshots go to $CHORUS_CONSOLE_SHOTS (default: console-shots in the
current folder, the build's tests folder under ctest); docs/images/ keeps
one. Needs node, playwright-core (scripts/deps.sh test installs it into
$CHORUS_NPM_TOOLS, default ~/.cache/chorus-test-npm) and /usr/bin/chromium;
a missing one fails the test.
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SOX, SipTestCase, main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NPM_DIR = os.environ.get("CHORUS_NPM_TOOLS",
                         os.path.expanduser("~/.cache/chorus-test-npm"))
CHROMIUM = "/usr/bin/chromium"


def bursts_wav(directory, freq=440, rate=8000, on=3, off=3, n=10):
    """A mono WAV: n times (on s of tone, off s of silence), then 30 s
    of silence (baresip hangs up at the end of its file)."""
    path = os.path.join(directory, "bursts.wav")
    parts = []
    for i in range(n):
        t = os.path.join(directory, "burst%d.wav" % i)
        subprocess.run([SOX, "-n", "-r", str(rate), "-c", "1", "-b", "16",
                        "-e", "signed-integer", t, "synth", str(on), "sine",
                        str(freq), "vol", "0.35", "pad", "0", str(off)],
                       check=True, capture_output=True, timeout=30)
        parts.append(t)
    subprocess.run([SOX] + parts + [path, "pad", "0", "30"], check=True,
                   capture_output=True, timeout=30)
    return path


def silence_wav(directory, rate=8000, seconds=60):
    path = os.path.join(directory, "silence.wav")
    subprocess.run([SOX, "-n", "-r", str(rate), "-c", "1", "-b", "16", "-e",
                    "signed-integer", path, "trim", "0", str(seconds)],
                   check=True, capture_output=True, timeout=30)
    return path


class ConsoleTest(SipTestCase):
    def setUp(self):
        node = shutil.which("node")
        self.assertTrue(node, "node is missing (apt-get install nodejs)")
        self.node = node
        self.assertTrue(os.path.exists(CHROMIUM),
                        "%s is missing (apt-get install chromium)" % CHROMIUM)
        self.assertTrue(os.path.exists(os.path.join(
            NPM_DIR, "node_modules", "playwright-core", "package.json")),
            "playwright-core is missing from %s (scripts/deps.sh test)"
            % NPM_DIR)
        super().setUp()

    def raw_get(self, path, method="GET"):
        req = urllib.request.Request(
            "http://127.0.0.1:%d%s" % (self.d.port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, dict(r.headers), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers), e.read()

    def check_static(self):
        for path, ctype in (("/console", "text/html"),
                            ("/console/", "text/html"),
                            ("/console/console.js", "text/javascript"),
                            ("/console/console.css", "text/css")):
            st, h, body = self.raw_get(path)
            self.assertEqual(st, 200, path)
            self.assertTrue(h["Content-Type"].startswith(ctype), (path, h))
            self.assertIn("script-src 'self'",
                          h.get("Content-Security-Policy", ""), path)
            self.assertEqual(h.get("X-Content-Type-Options"), "nosniff")
            self.assertEqual(h.get("Cache-Control"), "no-cache")
            self.assertTrue(body, path)
        st, h, _ = self.raw_get("/console", method="HEAD")
        self.assertEqual(st, 405)
        self.assertEqual(h.get("Allow"), "GET")
        for bad in ("/console/nope.js", "/console/%2e%2e/console.js",
                    "/console/../console", "/consolex"):
            st, h, body = self.raw_get(bad)
            self.assertEqual(st, 404, bad)
            self.assertEqual(json.loads(body)["error"]["code"], "not_found")

    def test_console(self):
        self.start_sip_daemon()
        self.check_static()
        cid = self.api.create_conference(name="Console demo")["id"]
        self.api.wait_status(cid, "progressing", 5)
        alice = self.phone_file("alice", bursts_wav(self.workdir))
        bob = self.phone_file("bob", silence_wav(self.workdir))
        self.join(cid, alice, bob)
        shots = os.environ.get("CHORUS_CONSOLE_SHOTS",
                               os.path.join(os.getcwd(), "console-shots"))
        os.makedirs(shots, exist_ok=True)
        cfg = {"npm_dir": NPM_DIR, "url": "http://127.0.0.1:%d/console"
               % self.d.port, "token": self.cust["token"],
               "conference_id": cid, "talker": "alice", "other": "bob",
               "shots": shots}
        drv = subprocess.Popen(
            [self.node, os.path.join(HERE, "console_driver.mjs"),
             json.dumps(cfg)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.addCleanup(lambda: drv.poll() is None and drv.kill())
        out = queue.Queue()
        threading.Thread(target=lambda: [out.put(l) for l in drv.stdout]
                         or out.put(None), daemon=True).start()

        def step(name, timeout=45):
            line = out.get(timeout=timeout)
            if line is None:
                self.fail("the console driver ended before %s: %s" %
                          (name, drv.stderr.read()))
            msg = json.loads(line)
            self.assertNotIn("error", msg, msg)
            self.assertEqual(msg["step"], name, msg)
            return msg

        self.assertTrue(step("logged_in")["stored"],
                        "token not kept in sessionStorage")
        self.assertEqual(step("participants")["n"], 2)
        t = step("talking")
        self.assertEqual(t["other_on"], 0, "bob's talking dot lit: %r" % t)
        # on for about the 3 s burst (the detector ends a talk after 600 ms
        # of quiet), then dark for about the 3 s pause
        self.assertTrue(1500 < t["on_ms"] < 5500, t)
        self.assertTrue(500 < t["again_ms"] < 6000, t)
        m = step("muted")
        r = self.api.get("/conferencecalls/" + m["id"])
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["muted"], "the API does not say muted: %r"
                        % r.json)
        drv.stdin.write("ok\n")
        drv.stdin.flush()
        k = step("kicked")
        r = self.api.get("/conferencecalls/" + k["id"])
        self.assertIn(r.json["status"], ("leaving", "leaved"), r.json)
        drv.stdin.write("ok\n")
        drv.stdin.flush()
        done = step("done")
        self.assertEqual(done["errors"], [], "errors in the page")
        self.assertEqual(drv.wait(15), 0)
        self.assertEqual(self.participant(cid, "bob")["leave_reason"],
                         "removed")
        for f in ("console-talking.png", "console-after-kick.png"):
            self.assertTrue(os.path.getsize(os.path.join(shots, f)) > 10000)
        self.assertSanitizerClean(self.d)


if __name__ == "__main__":
    main()
