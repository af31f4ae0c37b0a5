"""
test_cli_top.py: `chorus top` (tools/cmd_top.c) against a real chorusd
with two baresip participants: alice sends a steady 440 Hz tone, bob
silence.

- In tmux (a real terminal, 200 x 50): the screen shows the conference
  and both participants; alice's row says TALKING yes and bob's no; `q`
  quits with exit 0 and leaves the alternate screen.
- `--once` through a pipe prints one frame with no escape sequence;
  `--once --json` is the conference with its participants and their live
  stats (alice's level above bob's).
- An unknown --conference exits 3; --interval 0 exits 2.

tmux is installed by scripts/deps.sh test; a missing tmux fails the test.
"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import CHORUSD  # noqa: E402
from sip_harness import SOX, SipTestCase, main, wait_until  # noqa: E402

CLI = os.environ.get("CHORUS_CLI") or os.path.join(
    os.path.dirname(os.path.abspath(CHORUSD)), "chorus")
UNKNOWN = "6f1c0d3e-1111-4222-8333-944455556666"


def silence_wav(directory, rate=8000, seconds=60):
    path = os.path.join(directory, "silence.wav")
    subprocess.run([SOX, "-n", "-r", str(rate), "-c", "1", "-b", "16", "-e",
                    "signed-integer", path, "trim", "0", str(seconds)],
                   check=True, capture_output=True, timeout=30)
    return path


def row_of(screen, ccid):
    """The columns of the participant row that starts with ccid."""
    for line in screen.splitlines():
        cols = line.split()
        if cols and cols[0] == ccid:
            return cols
    return None


class TopTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.tmux = shutil.which("tmux")
        self.assertTrue(self.tmux, "tmux is missing (scripts/deps.sh test)")
        self.assertTrue(os.access(CLI, os.X_OK), "no chorus binary at " + CLI)
        self.start_sip_daemon()

    def env(self):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("CHORUS_")}
        e.update(CHORUS_URL=self.d.url, CHORUS_TOKEN=self.cust["token"],
                 HOME=self.workdir, TERM="xterm-256color")
        return e

    def cli(self, *args, code=0):
        r = subprocess.run([CLI] + list(args), capture_output=True,
                           text=True, timeout=30, env=self.env())
        self.assertEqual(r.returncode, code, "chorus %s: exit %d\n%s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr))
        return r

    def tmux_cmd(self, *args):
        return subprocess.run([self.tmux, "-S", self.sock] + list(args),
                              capture_output=True, text=True, timeout=10)

    def test_top(self):
        cid = self.api.create_conference(name="topdemo")["id"]
        self.api.wait_status(cid, "progressing", 5)
        alice = self.phone("alice", 440)
        bob = self.phone_file("bob", silence_wav(self.workdir))
        self.join(cid, alice, bob)
        a_id = self.participant(cid, "alice")["id"]
        b_id = self.participant(cid, "bob")["id"]

        # a real terminal: tmux, the exit code written by a wrapper
        self.sock = os.path.join(self.workdir, "tmux.sock")
        rc_file = os.path.join(self.workdir, "top.rc")
        wrapper = os.path.join(self.workdir, "top.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n%s top --interval 0.5\necho $? > %s\n"
                    "sleep 30\n" % (CLI, rc_file))
        os.chmod(wrapper, 0o755)
        env = self.env()
        r = subprocess.run([self.tmux, "-S", self.sock, "new-session", "-d",
                            "-x", "200", "-y", "50", wrapper],
                           env=env, capture_output=True, text=True,
                           timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.addCleanup(lambda: self.tmux_cmd("kill-server"))

        screen = ""

        def talking_shown():
            nonlocal screen
            screen = self.tmux_cmd("capture-pane", "-p").stdout
            a, b = row_of(screen, a_id), row_of(screen, b_id)
            return a and b and "yes" in a[3:6] and "no" == b[4]
        self.assertTrue(wait_until(talking_shown, 20),
                        "top never showed alice talking and bob not:\n"
                        + screen)
        header = [l for l in screen.splitlines() if "TALKING" in l]
        self.assertTrue(header, screen)
        col = header[0].split().index("TALKING")
        self.assertEqual(row_of(screen, a_id)[col], "yes", screen)
        self.assertEqual(row_of(screen, b_id)[col], "no", screen)
        self.assertIn("topdemo", screen)
        self.assertIn(cid, screen)
        alt = self.tmux_cmd("display", "-p", "#{alternate_on}").stdout
        self.assertEqual(alt.strip(), "1", "top is not on the alternate "
                         "screen")
        self.tmux_cmd("send-keys", "q")
        def rc():
            if not os.path.exists(rc_file):
                return ""
            with open(rc_file) as f:
                return f.read().strip()
        self.assertTrue(wait_until(rc, 10), "top did not quit on q")
        self.assertEqual(rc(), "0")
        alt = self.tmux_cmd("display", "-p", "#{alternate_on}").stdout
        self.assertEqual(alt.strip(), "0", "the terminal was not restored")

        # not a terminal: one plain frame
        once = self.cli("top", "--once").stdout
        self.assertNotIn("\x1b", once)
        self.assertIn(a_id, once)
        self.assertIn(b_id, once)
        js = json.loads(self.cli("top", "--once", "--json").stdout)
        confs = [c for c in js if c["id"] == cid]
        self.assertEqual(len(confs), 1, js)
        parts = {p["id"]: p for p in confs[0]["participants"]}
        self.assertEqual(set(parts), {a_id, b_id})
        self.assertGreater(parts[a_id]["stats"]["level"],
                           parts[b_id]["stats"]["level"], parts)

        # failure paths
        r = self.cli("top", "--once", "--conference", UNKNOWN, code=3)
        self.assertTrue(r.stderr.strip())
        r = self.cli("top", "--interval", "0", code=2)
        self.assertIn("interval", r.stderr)
        self.assertSanitizerClean(self.d)


if __name__ == "__main__":
    main()
