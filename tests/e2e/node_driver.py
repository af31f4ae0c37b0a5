"""
node_driver.py: a node program (a playwright-core driver of headless
Chromium) run by an end-to-end test: it prints one JSON line per step
({"step": ...} or {"error": ...}) and reads commands, one per line, on
stdin. Shared by test_webrtc_browser.py and test_webrtc_control.py.
"""
import json
import queue
import subprocess
import threading


class NodeDriver:
    def __init__(self, test, node, script, cfg):
        """Starts `node script '<cfg as JSON>'`; test (a TestCase) fails
        on a step that does not come or says error, and kills the driver
        at cleanup."""
        self.test = test
        self.proc = subprocess.Popen(
            [node, script, json.dumps(cfg)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        test.addCleanup(lambda: self.proc.poll() is None and
                        self.proc.kill())
        self.lines = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(x) for x in
                                         self.proc.stdout]
                         or self.lines.put(None), daemon=True).start()

    def step(self, name, timeout=60):
        """The next line, which must be step name; its JSON object."""
        line = self.lines.get(timeout=timeout)
        if line is None:
            self.test.fail("the driver ended before %s: %s" %
                           (name, self.proc.stderr.read()))
        msg = json.loads(line)
        self.test.assertNotIn("error", msg, msg)
        self.test.assertEqual(msg["step"], name, msg)
        return msg

    def send(self, line="ok"):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait(self, timeout):
        return self.proc.wait(timeout)
