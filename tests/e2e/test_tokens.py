"""
test_tokens.py: API tokens end to end: the serve banner shows the default
token only on the start that created it, later starts name the customer
and how to get a new token; `chorusd customer token default` prints a new
token, after which a running chorusd refuses the old one (401) at once
and takes the new one (200), also after a restart, and closes a WebSocket
opened with the old one within a few seconds; `customer list` shows
no token; no token string is in chorus.db (`grep -c`), only its SHA-256.
"""
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (ChorusTestCase, customer_add, json,  # noqa: E402
                            main, run_cli, time, websocket, ws_connect)


def read_text(path):
    with open(path, "r", errors="replace") as f:
        return f.read()


def grep_count(needle, path):
    """`grep -c needle path`: the number of lines of the file holding it."""
    r = subprocess.run(["grep", "-c", "-a", "-F", needle, path],
                       capture_output=True, text=True)
    if r.returncode not in (0, 1):
        raise AssertionError("grep failed: %s" % r.stderr)
    return int(r.stdout.strip() or "0")


class TokensTest(ChorusTestCase):

    def new_token(self, d, who="default"):
        r = run_cli(["customer", "token", who, "--data-dir", d.data_dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        o = json.loads(r.stdout)
        self.assertEqual(o["customer_id"], d.customer_id)
        self.assertRegex(o["token"], r"^[0-9a-f]{64}$")
        return o["token"]

    def test_second_start_prints_no_token(self):
        d = self.start_daemon()
        first = read_text(d.stdout_path)
        token = d.token
        self.assertIn("Token: " + token, first)
        self.assertIn("created now", first)
        self.assertEqual(d.stop(), 0)

        d.start()
        second = read_text(d.stdout_path)
        self.assertNotIn(token, second)
        self.assertNotIn("Token:", second)
        self.assertIn('Customer: "default" ' + d.customer_id, second)
        self.assertIn("chorusd customer token default --data-dir " +
                      d.data_dir, second)
        # the token of the first start still works
        self.assertEqual(d.client(token=token).get("/conferences").status,
                         200)

    def test_customer_token_replaces_the_old_one(self):
        d = self.start_daemon()
        old = d.token
        c = d.client(token=old)
        self.assertEqual(c.get("/conferences").status, 200)  # now cached
        new = self.new_token(d)
        self.assertNotEqual(new, old)
        # the running daemon: the old token is refused on the next request
        r = c.get("/conferences")
        self.assertError(r, 401, code="unauthorized")
        self.assertEqual(d.client(token=new).get("/conferences").status, 200)
        # the WebSocket takes the new token only
        st_old = d.client(token=old).get("/ws").status
        self.assertEqual(st_old, 401)

        d.remember_token(new)
        d.kill()
        d.start()
        self.assertNotIn(new, read_text(d.stdout_path))
        self.assertEqual(d.client(token=old).get("/conferences").status, 401)
        self.assertEqual(d.client(token=new).get("/conferences").status, 200)

    def test_websocket_of_old_token_closed(self):
        d = self.start_daemon()
        old_ws = ws_connect(d)
        c = d.client()
        c.create_conference(name="before")
        self.assertIsNotNone(self.recv_event(old_ws, 5))
        new = self.new_token(d)
        # no HTTP request needed: the daemon polls the store
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 6 and not closed:
            try:
                old_ws.settimeout(1)
                op, _ = old_ws.recv_data(control_frame=True)
                closed = op == websocket.ABNF.OPCODE_CLOSE
            except websocket.WebSocketTimeoutException:
                pass
            except (websocket.WebSocketConnectionClosedException,
                    ConnectionError):
                closed = True
        self.assertTrue(closed, "the old token's WebSocket is still open")
        # a WebSocket with the new token gets the events
        d.remember_token(new)
        ws = ws_connect(d)
        d.client().create_conference(name="after")
        self.assertIsNotNone(self.recv_event(ws, 5))
        ws.close()

    def recv_event(self, ws, timeout):
        ws.settimeout(timeout)
        try:
            return json.loads(ws.recv())
        except websocket.WebSocketTimeoutException:
            return None

    def test_customer_token_errors(self):
        d = self.start_daemon()
        bob = customer_add(d.data_dir, "bob")
        r = run_cli(["customer", "token", "nobody", "--data-dir",
                     d.data_dir])
        self.assertEqual(r.returncode, 2)
        self.assertIn('no customer "nobody"', r.stderr)
        r = run_cli(["customer", "token", "--data-dir", d.data_dir])
        self.assertEqual(r.returncode, 2)
        # two customers of one name: the id picks one
        customer_add(d.data_dir, "bob")
        r = run_cli(["customer", "token", "bob", "--data-dir", d.data_dir])
        self.assertEqual(r.returncode, 2)
        self.assertIn("give the customer_id", r.stderr)
        r = run_cli(["customer", "token", bob["customer_id"], "--data-dir",
                     d.data_dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        new = json.loads(r.stdout)["token"]
        self.assertEqual(d.client(token=bob["token"]).get(
            "/conferences").status, 401)
        self.assertEqual(d.client(token=new).get("/conferences").status, 200)
        # the default customer is untouched
        self.assertEqual(d.client().get("/conferences").status, 200)

    def test_token_not_in_database(self):
        d = self.start_daemon()
        bob = customer_add(d.data_dir, "bob")
        rotated = self.new_token(d)
        d.remember_token(rotated)
        self.assertEqual(d.client().get("/conferences").status, 200)
        r = run_cli(["customer", "list", "--data-dir", d.data_dir])
        self.assertEqual(r.returncode, 0, r.stderr)
        for line in r.stdout.splitlines():
            self.assertNotIn("token", json.loads(line))
        self.assertEqual(d.stop(), 0)
        db = os.path.join(d.data_dir, "chorus.db")
        for tok in (rotated, bob["token"]):
            self.assertEqual(grep_count(tok, db), 0, tok)
            # what is stored instead (shows grep reads the file)
            h = hashlib.sha256(tok.encode()).hexdigest()
            self.assertGreaterEqual(grep_count(h, db), 1, h)


if __name__ == "__main__":
    main()
