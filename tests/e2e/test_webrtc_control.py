"""
test_webrtc_control.py: a WebRTC participant (headless Chromium, 440 Hz)
is controlled like any other, against a real chorusd with two baresip
phones (660 and 880 Hz):

- its call says transport webrtc and codec opus, its live stats count
  packets both ways;
- muted through the API, the phones stop hearing 440 (and keep hearing
  each other); unmuted, they hear it again;
- the browser vanishes (SIGKILL: no DTLS close, no DELETE): its media
  stops, and the health check removes the participant (leave_reason
  orphan, call hung up) while the phones stay.
"""
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from node_driver import NodeDriver  # noqa: E402
from sip_harness import SOX, SipTestCase, main, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
NPM_DIR = os.environ.get("CHORUS_NPM_TOOLS",
                         os.path.expanduser("~/.cache/chorus-test-npm"))


class WebrtcControlTest(SipTestCase):
    def test_mute_stats_vanish(self):
        node = shutil.which("node")
        self.assertTrue(node, "node is missing")
        self.assertTrue(os.path.exists("/usr/bin/chromium"),
                        "chromium is missing")
        self.start_sip_daemon()
        cid = self.api.create_conference(name="webrtc control")["id"]
        self.api.wait_status(cid, "progressing", 5)
        a = self.phone("b660", 660)
        b = self.phone("b880", 880)
        self.join(cid, a, b)
        wav = os.path.join(self.workdir, "tone440_48k.wav")
        subprocess.run([SOX, "-n", "-r", "48000", "-c", "1", "-b", "16", wav,
                        "synth", "120", "sine", "440", "vol", "0.35"],
                       check=True)
        cfg = {"npm_dir": NPM_DIR, "conference_id": cid, "wav": wav,
               "base": "http://127.0.0.1:%d" % self.d.port,
               "token": self.api.token, "name": "browser"}
        drv = NodeDriver(self, node, os.path.join(HERE, "webrtc_peer.mjs"),
                         cfg)
        step = drv.step
        j = step("joined")
        cc = j["conferencecall_id"]
        p = self.wait_participant(cid, "joined", 10, reference_id=j["call_id"])
        self.assertEqual(p["id"], cc)
        call = self.api.get("/calls/" + j["call_id"]).json
        self.assertEqual((call["transport"], call["codec"],
                          call["direction"]), ("webrtc", "opus", "incoming"),
                         call)
        self.assertEqual(call["source"], {"type": "webrtc",
                                          "target": "browser"}, call)
        t_join = time.monotonic()
        time.sleep(3)
        st = self.api.get("/conferencecalls/" + cc).json.get("stats") or {}
        self.assertEqual(st.get("codec"), "opus", st)
        self.assertGreater(st.get("packets_in", 0), 50, st)
        self.assertGreater(st.get("packets_out", 0), 50, st)
        t_mute = time.monotonic()
        r = self.api.post("/conferencecalls/%s/mute" % cc)
        self.assertEqual(r.status, 200, r)
        time.sleep(4)
        t_unmute = time.monotonic()
        r = self.api.post("/conferencecalls/%s/unmute" % cc)
        self.assertEqual(r.status, 200, r)
        time.sleep(3)
        t_kill = time.monotonic()
        drv.send("kill")
        step("killed")
        # RTP timeout (10 s) then three failed health checks (5 s apart)
        p = self.wait_participant(cid, "leaved", 40,
                                  reference_id=j["call_id"])
        self.assertEqual(p["leave_reason"], "orphan", p)
        gone = time.monotonic() - t_kill
        c = wait_until(lambda: (lambda c: c if c["status"] == "hangup"
                                else None)(
            self.api.get("/calls/" + j["call_id"]).json), 5, 0.2)
        self.assertTrue(c, "the vanished browser's call is not hung up")
        sys.stderr.write("  the vanished browser left after %.1f s\n" % gone)
        # the phones are still in
        for ph in (a, b):
            self.assertIsNone(ph.wait_event("CALL_CLOSED", 0), ph.name)
            ph.hangup()
        for ph in (a, b):
            ph.quit()
        for ph, own, other in ((a, 660, 880), (b, 880, 660)):
            self.assertHeard(ph, t_join + 1, t_mute - 0.3, [440, other],
                             [own], "before mute")
            self.assertHeard(ph, t_mute + 1, t_unmute - 0.3, [other],
                             [own, 440], "while muted")
            self.assertHeard(ph, t_unmute + 1, t_kill - 0.3, [440, other],
                             [own], "after unmute")


if __name__ == "__main__":
    main()
