"""
test_webrtc_browser.py: a Chromium participant through the /join page
(src/web/join/, chorus.js) with two baresip participants (660 and 880 Hz)
in one conference; Chromium's fake microphone plays 440 Hz (48 kHz WAV made
with sox). Driven by tests/e2e/webrtc_driver.mjs (playwright-core).

Asserts: Chromium hears 660 and 880 and not 440 (Goertzel in the page on
the remote stream); each baresip hears 440 and the other's tone; the status
sequence DEFAULT JOINING JOINED LEAVING LEFT on join/leave; a second join
kicked through DELETE /conferencecalls/{id} ends at LEFT; a third join then
DELETE of the conference ends at ENDED. A screenshot of the page with two
participants, one talking (the second browser and a silent phone) goes to
the temp dir, and to docs/images/join-page.png when CHORUS_SCREENSHOT=1. Missing node,
playwright-core or chromium fails the test.
"""
import os
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_driver import NodeDriver  # noqa: E402
from sip_harness import SOX, SipTestCase, main  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NPM_DIR = os.environ.get("CHORUS_NPM_TOOLS",
                         os.path.expanduser("~/.cache/chorus-test-npm"))
CHROMIUM = "/usr/bin/chromium"


class WebrtcBrowserTest(SipTestCase):
    def setUp(self):
        self.node = shutil.which("node")
        self.assertTrue(self.node, "node is missing")
        self.assertTrue(os.path.exists(CHROMIUM), "%s is missing" % CHROMIUM)
        self.assertTrue(os.path.exists(os.path.join(
            NPM_DIR, "node_modules", "playwright-core", "package.json")),
            "playwright-core is missing from %s" % NPM_DIR)
        super().setUp()

    def join_token(self, cid):
        r = self.api.post("/conferences/%s/join_tokens" % cid, {})
        self.assertIn(r.status, (200, 201), r)
        self.assertTrue(r.json["token"].startswith("cjt_"), r.json)
        return r.json["token"]

    def test_browser(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="WebRTC browser")["id"]
        self.api.wait_status(cid, "progressing", 5)
        wav = os.path.join(self.workdir, "tone440_48k.wav")
        subprocess.run([SOX, "-n", "-r", "48000", "-c", "1", "-b", "16", wav,
                        "synth", "120", "sine", "440", "vol", "0.35"],
                       check=True, capture_output=True, timeout=30)
        shots = os.path.join(self.workdir, "shots")
        os.makedirs(shots, exist_ok=True)
        copy = None
        if os.environ.get("CHORUS_SCREENSHOT") == "1":
            copy = os.path.join(ROOT, "docs", "images", "join-page.png")
        cfg = {"npm_dir": NPM_DIR, "base": "http://127.0.0.1:%d" % self.d.port,
               "conference_id": cid,
               "tokens": [self.join_token(cid) for _ in range(3)],
               "wav": wav, "shots": shots, "shot_copy": copy}
        drv = NodeDriver(self, self.node,
                         os.path.join(HERE, "webrtc_driver.mjs"), cfg)
        step, ok = drv.step, drv.send

        for path, ctype in (("/join", "text/html"), ("/join/join.js",
                            "text/javascript"), ("/join/join.css", "text/css"),
                            ("/client/chorus.js", "text/javascript")):
            with urllib.request.urlopen(cfg["base"] + path, timeout=5) as r:
                self.assertEqual(r.status, 200, path)
                self.assertTrue(r.headers["Content-Type"].startswith(ctype))
                self.assertIn("connect-src 'self' ws:",
                              r.headers["Content-Security-Policy"])
        me = step("joined")["id"]
        self.assertEqual(self.api.get("/conferencecalls/" + me).json["status"],
                         "joined")
        a = self.phone("b660", 660)
        b = self.phone("b880", 880)
        self.join(cid, a, b)
        t0 = time.monotonic()
        ok()
        lv = step("levels")["levels"]
        sys.stderr.write("  chromium heard (dBFS): %r\n" % lv)
        self.assertGreater(lv["660"], -45, lv)
        self.assertGreater(lv["880"], -45, lv)
        self.assertLess(lv["440"], min(lv["660"], lv["880"]) - 25, lv)
        shot = step("shot")
        self.assertGreaterEqual(shot["talking"], 1)
        self.assertGreater(os.path.getsize(shot["path"]), 10000)
        t1 = time.monotonic()
        left = step("left")
        self.assertEqual(left["statuses"],
                         ["DEFAULT", "JOINING", "JOINED", "LEAVING", "LEFT"], left)
        # their recordings are complete once baresip has ended
        for ph in (a, b):
            ph.hangup()
        for ph in (a, b):
            ph.quit()
        self.assertHeard(a, t0 + 1, t1, [440, 880], [660], "with chromium")
        self.assertHeard(b, t0 + 1, t1, [440, 660], [880], "with chromium")
        kid = step("joined2")["id"]
        # a phone that says nothing: two participants, one talking
        quiet_wav = os.path.join(self.workdir, "silence8k.wav")
        subprocess.run([SOX, "-n", "-r", "8000", "-c", "1", "-b", "16",
                        quiet_wav, "trim", "0", "120"], check=True)
        quiet = self.phone_file("quiet", quiet_wav)
        self.join(cid, quiet)
        ok()
        s2 = step("shot2")
        self.assertEqual((s2["participants"], s2["talking"]), (2, 1), s2)
        self.assertGreater(os.path.getsize(s2["path"]), 10000)
        r = self.api.delete("/conferencecalls/" + kid)
        self.assertIn(r.status, (200, 202, 204), r)
        ok()
        k = step("kicked")["statuses"]
        self.assertEqual(k[-1], "LEFT", k)
        self.assertNotIn("LEAVING", k)
        step("joined3")
        r = self.api.delete("/conferences/" + cid)
        self.assertIn(r.status, (200, 202, 204), r)
        ok()
        e = step("ended")["statuses"]
        self.assertEqual(e[-1], "ENDED", e)
        for s in left["statuses"] + k + e:
            self.assertNotIn(s, ("FIRST_PARTICIPANT", "NO_MORE_PARTICIPANT"))
        self.assertEqual(step("done")["errors"], [])
        self.assertEqual(drv.wait(15), 0)
        self.assertSanitizerClean(self.d)


if __name__ == "__main__":
    main()
