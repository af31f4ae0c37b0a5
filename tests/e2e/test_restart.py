"""
test_restart.py: the daemon's process life end to end: state survives a
kill -9 and a restart on the same data dir field for field; a conference
whose timeout expired while the daemon was down is terminated at start;
SIGTERM exits 0 within 5 s (SIGINT too); start-up errors exit 2 with a
message (port in use, data dir that cannot be created, bad flags, bad
config key); --help output; a config file with `http = 127.0.0.1:0`.
"""
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (CHORUSD, NEVER, ChorusTestCase,  # noqa: E402
                            Daemon, customer_add, main, run_cli, time,
                            wait_until)

def read_text(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


SERVE_OPTIONS = ("--config", "--data-dir", "--http", "--sip", "--rtp-ports",
                 "--public-ip", "--log-level", "--node-name",
                 "--webhook-timeout-ms")


class RestartTest(ChorusTestCase):

    def test_kill9_and_restart_keeps_state(self):
        d = self.start_daemon()
        c = d.client()
        plain = c.create_conference(name="plain", detail="stays",
                                    data={"a": 1}, max_participants=3,
                                    pre_actions=[{"type": "beep"}])
        short = c.create_conference(name="short", timeout=3)
        gone = c.create_conference(name="gone")
        self.assertIsNotNone(c.wait_status(plain["id"], "progressing", 1))
        self.assertIsNotNone(c.wait_status(short["id"], "progressing", 1))
        self.assertIsNotNone(c.wait_status(gone["id"], "progressing", 1))
        self.assertEqual(c.delete("/conferences/" + gone["id"]).status, 200)
        self.assertIsNotNone(c.wait_status(gone["id"], "terminated", 2))
        bob = customer_add(d.data_dir, "bob")
        bc = d.client(token=bob["token"]).create_conference(name="bob's")
        time.sleep(0.1)
        before = {x["id"]: x for x in c.list_all()}
        before_bob = d.client(token=bob["token"]).conference(bc["id"])
        self.assertEqual(before[short["id"]]["status"], "progressing")
        token, cust = d.token, d.customer_id
        c.close()

        d.kill()  # kill -9: no clean shutdown
        self.assertEqual(d.proc.returncode, -signal.SIGKILL)
        # let the 3 s timeout pass while the daemon is down
        created = time.monotonic()
        time.sleep(3.5)

        d.start()
        self.assertEqual(d.token, token, "token changed across restart")
        self.assertEqual(d.customer_id, cust)
        self.assertNotIn("created now", read_text(d.stdout_path))
        c = d.client()
        after = {x["id"]: x for x in c.list_all()}
        self.assertEqual(set(after), set(before))
        self.assertEqual(after[plain["id"]], before[plain["id"]])
        self.assertEqual(after[gone["id"]], before[gone["id"]])
        self.assertEqual(after[gone["id"]]["status"], "terminated")
        # expired while down: terminated at start (already in the first
        # answer after the banner)
        s = after[short["id"]]
        self.assertEqual(s["status"], "terminated",
                         "expired timeout not applied at start")
        self.assertNotEqual(s["tm_delete"], NEVER)
        for k in ("name", "timeout", "tm_create", "customer_id"):
            self.assertEqual(s[k], before[short["id"]][k])
        self.assertLess(time.monotonic() - created, 10)
        # the other customer's data survived too, and its token works
        self.assertEqual(d.client(token=bob["token"]).conference(bc["id"]),
                         before_bob)
        # the restarted daemon works: create and delete
        n = c.create_conference(name="new")
        self.assertIsNotNone(c.wait_status(n["id"], "progressing", 1))
        # plain still runs without a timeout and can be deleted
        self.assertEqual(c.delete("/conferences/" + plain["id"]).status,
                         200)
        self.assertIsNotNone(c.wait_status(plain["id"], "terminated", 2))

        # SIGTERM: exits 0 within 5 s
        c.close()
        t0 = time.monotonic()
        code = d.stop(timeout=5)
        self.assertEqual(code, 0, "SIGTERM exit code")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertSanitizerClean(d)

    def test_timeout_survives_restart(self):
        d = self.start_daemon()
        c = d.client()
        t = c.create_conference(name="t", timeout=4)
        c.close()
        self.assertEqual(d.stop(), 0)
        d.start()  # restarted before the deadline: the timer is re-armed
        c = d.client()
        self.assertEqual(c.conference(t["id"])["status"], "progressing")
        self.assertIsNotNone(c.wait_status(t["id"], "terminated", 5),
                             "timeout not re-armed after restart")

    def test_sigint_exits_zero(self):
        d = self.start_daemon()
        # with an open keep-alive connection and a WebSocket client
        c = d.client()
        c.create_conference(name="x")
        from chorus_harness import ws_connect
        ws = ws_connect(d)
        d.proc.send_signal(signal.SIGINT)
        try:
            code = d.proc.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        ws.close()
        self.assertEqual(code, 0)

    def test_port_in_use(self):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        try:
            r = run_cli(["serve", "--http", "127.0.0.1:%d" % port,
                         "--data-dir", os.path.join(self.workdir, "d")],
                        timeout=10)
        finally:
            s.close()
        self.assertEqual(r.returncode, 2, r.stderr)
        # chorusd's own message: one line naming the address (libre may
        # add its own diagnostic line, which is not chorusd's message)
        plain = re.sub(r"\x1b\[[0-9;]*m", "", r.stderr)  # libre colours
        lines = [ln for ln in plain.splitlines()
                 if ln.startswith("chorusd") and "127.0.0.1:%d" % port in ln]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertIn("in use", lines[0])
        self.assertNotIn("Token:", r.stdout)

    def test_data_dir_not_writable(self):
        xfile = os.path.join(self.workdir, "xfile")
        with open(xfile, "w") as f:
            f.write("not a dir\n")
        r = run_cli(["serve", "--http", "127.0.0.1:0", "--data-dir",
                     os.path.join(xfile, "data")], timeout=10)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(os.path.join(xfile, "data"), r.stderr)
        self.assertNotIn("API:", r.stdout)
        # customer add on it fails too
        r = run_cli(["customer", "add", "x", "--data-dir",
                     os.path.join(xfile, "data")])
        self.assertNotEqual(r.returncode, 0)

    def test_bad_flags(self):
        dd = os.path.join(self.workdir, "d")
        for args in (["--nope"], ["--http"], ["--http", "nohost"],
                     ["--http", "127.0.0.1:99999"],
                     ["--log-level", "loud"], ["--rtp-ports", "5-1"],
                     ["--public-ip", "not-an-ip"],
                     ["--webhook-timeout-ms", "5"], ["stray"],
                     ["--config", os.path.join(self.workdir, "missing")]):
            r = run_cli(["serve", "--data-dir", dd] + args, timeout=10)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
            self.assertNotIn("API:", r.stdout)
        for args in (["bogus"], [], ["customer"], ["customer", "frob"],
                     ["customer", "add"],
                     ["customer", "add", "x", "--webhook-uri", "ftp://x"]):
            r = run_cli(args + ["--data-dir", dd] if args[:1] ==
                        ["customer"] and len(args) > 1 else args)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stderr))

    def test_help(self):
        r = run_cli(["serve", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in SERVE_OPTIONS:
            self.assertIn(opt, r.stdout, "serve --help lacks " + opt)
        r = run_cli(["--help"])
        self.assertEqual(r.returncode, 0)
        self.assertIn("serve", r.stdout)
        self.assertIn("customer", r.stdout)
        r = run_cli(["customer", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        for opt in ("add", "list", "--data-dir", "--webhook-uri"):
            self.assertIn(opt, r.stdout)
        r = run_cli(["customer", "add", "--help"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_cli(["--version"])
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"chorusd \d+\.\d+")

    def test_customer_cli(self):
        dd = os.path.join(self.workdir, "cust")
        a = customer_add(dd, "alice", "http://127.0.0.1:9/a")
        b = customer_add(dd, "bob")
        self.assertNotEqual(a["token"], b["token"])
        self.assertNotEqual(a["webhook_secret"], b["webhook_secret"])
        for o in (a, b):
            self.assertRegex(o["token"], r"^[0-9a-f]{32,64}$")
            self.assertRegex(o["webhook_secret"], r"^[0-9a-f]{32,64}$")
        r = run_cli(["customer", "list", "--data-dir", dd])
        self.assertEqual(r.returncode, 0, r.stderr)
        import json
        rows = [json.loads(ln) for ln in r.stdout.splitlines() if ln]
        self.assertEqual([x["name"] for x in rows], ["alice", "bob"])
        self.assertEqual(rows[0]["customer_id"], a["customer_id"])
        self.assertEqual(rows[0]["webhook_uri"], "http://127.0.0.1:9/a")
        self.assertEqual(rows[1]["webhook_uri"], "")
        # the daemon on that dir uses the first customer, creates none
        d = self.start_daemon(data_dir=dd)
        self.assertEqual(d.customer_id, a["customer_id"])
        # it did not make that token, so it cannot print it (hashed)
        self.assertIsNone(d.token)
        self.assertNotIn(a["token"], read_text(d.stdout_path))
        self.assertEqual(d.client(token=a["token"]).get(
            "/conferences").status, 200)
        self.assertEqual(d.client(token=b["token"]).get(
            "/conferences").status, 200)

    def test_config_file(self):
        dd = os.path.join(self.workdir, "cfgdata")
        cfg = os.path.join(self.workdir, "chorus.conf")
        with open(cfg, "w") as f:
            f.write("# chorus settings\n\nhttp = 127.0.0.1:0\n"
                    "data-dir = %s\nnode-name = e2e-node\n"
                    "log-level = debug\n" % dd)
        d = Daemon(self.workdir, name="cfg")
        self.daemons.append(d)
        # start with --config only (the harness adds --http/--data-dir;
        # run it by hand)
        out = os.path.join(self.workdir, "cfg.out")
        with open(out, "wb") as fo, open(os.path.join(
                self.workdir, "cfg.err"), "wb") as fe:
            p = subprocess.Popen([CHORUSD, "serve", "--config", cfg],
                                 stdout=fo, stderr=fe)
        try:
            ok = wait_until(lambda: "API:" in read_text(out) or
                            p.poll() is not None, 10)
            text = read_text(out)
            self.assertIn("API:   http://127.0.0.1:", text, text)
            self.assertNotIn(":8080/", text)
            self.assertTrue(ok and p.poll() is None)
            self.assertTrue(os.path.isdir(dd), "data-dir from config unused")
            port = int(re.search(r"127\.0\.0\.1:(\d+)/v1\.0", text).group(1))
            tok = re.search(r"Token: (\S+)", text).group(1)
            from chorus_harness import Client
            c = Client("127.0.0.1", port, tok)
            r = c.get("/health")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.json["node"], "e2e-node")
            c.close()
        finally:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            try:
                self.assertEqual(p.wait(5), 0)
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        # flags override the file
        d.args = ["--config", cfg, "--node-name", "flag-node"]
        d.start()
        r = d.client().get("/health")
        self.assertEqual(r.json["node"], "flag-node")
        self.assertEqual(d.stop(), 0)
        # a bad key: exit 2, naming it
        for bad in ("bogus = 1\n", "http = nowhere\n", "http\n"):
            with open(cfg, "w") as f:
                f.write("http = 127.0.0.1:0\n" + bad)
            r = run_cli(["serve", "--config", cfg, "--data-dir", dd],
                        timeout=10)
            self.assertEqual(r.returncode, 2, "%r: %s" % (bad, r.stderr))
            self.assertTrue(r.stderr.strip())
            if bad.startswith("bogus"):
                self.assertIn("bogus", r.stderr)


if __name__ == "__main__":
    main()
