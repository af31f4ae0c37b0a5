"""
chorus_harness.py: shared helpers for the chorusd end-to-end tests
(tests/e2e/test_*.py). Python 3 standard library plus python3-websocket.

- Daemon: starts `chorusd serve --http 127.0.0.1:0` on a fresh data dir,
  reads the bound URL, the customer and (first start only: the store
  keeps just its hash) the default token from its stdout banner, keeps
  its stderr in a file, stops it (SIGTERM, or SIGKILL) and checks that
  stderr for sanitizer reports. The token printed by the first start of a
  data dir is remembered for every later start of that data dir.
- customer_add(): `chorusd customer add` through the CLI.
- Client: a keep-alive HTTP/1.1 client on http.client; curl(): the same
  through the curl binary (a client this project did not write).
- WebhookReceiver: an http.server on 127.0.0.1:0 in a thread that records
  every POST; it can go "down" (listening socket closed) and come back up on
  the same port, and can answer errors for the next N requests.
- verify_signature(): the X-Chorus-Signature HMAC-SHA256 check.
- ws_connect() / ws_recv_json(): the WebSocket event stream.
- ChorusTestCase: a unittest.TestCase that kills every chorusd it started
  (even on failure), fails the test on sanitizer output, and prints the
  daemon's stderr when the test failed.

Environment: CHORUSD (path of the chorusd binary; default
$CHORUS_SRC/build/chorusd or ../../build/chorusd next to this file).
"""
import hashlib
import hmac
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import uuid

try:
    import websocket  # python3-websocket (Debian package)
except ImportError:  # a non-Debian python3 first in PATH (e.g. pyenv)
    sys.path.append("/usr/lib/python3/dist-packages")
    import websocket  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CHORUS_SRC") or os.path.dirname(os.path.dirname(HERE))
CHORUSD = os.environ.get("CHORUSD") or os.path.join(SRC, "build", "chorusd")

NIL_UUID = "00000000-0000-0000-0000-000000000000"
NEVER = "9999-01-01 00:00:00.000000"
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{6}$")
UUID_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:",
                     "ERROR: LeakSanitizer")

# Every process started by this module, killed at exit whatever happens.
_ALL_PROCS = []

# The default token of each data dir (realpath), from the banner of its
# first start: later starts do not print it.
_TOKENS = {}


def _kill_all():
    for p in _ALL_PROCS:
        if p.poll() is None:
            try:
                p.kill()
                p.wait(5)
            except Exception:
                pass


import atexit  # noqa: E402
atexit.register(_kill_all)


def wait_until(pred, timeout, step=0.05):
    """Polls pred() until it returns a true value or timeout seconds pass;
    returns the last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)


def run_cli(args, timeout=30, env=None):
    """Runs chorusd with args; returns CompletedProcess (text)."""
    r = subprocess.run([CHORUSD] + list(args), capture_output=True,
                       text=True, timeout=timeout, env=env)
    for m in SANITIZER_MARKERS:
        if m in r.stderr:
            raise AssertionError("chorusd %s: sanitizer report:\n%s" %
                                 (" ".join(args), r.stderr))
    return r


def customer_add(data_dir, name, webhook_uri=None, store=None):
    """`chorusd customer add` in data_dir's store, or with store (a
    postgres:// URI) in that one; returns the printed JSON object."""
    args = ["customer", "add", name] + (
        ["--store", store] if store else ["--data-dir", data_dir])
    if webhook_uri:
        args += ["--webhook-uri", webhook_uri]
    r = run_cli(args)
    if r.returncode != 0:
        raise AssertionError("customer add failed (%d): %s" %
                             (r.returncode, r.stderr))
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    if len(lines) != 1:
        raise AssertionError("customer add printed %r" % r.stdout)
    o = json.loads(lines[0])
    for k in ("customer_id", "token", "webhook_secret"):
        if not isinstance(o.get(k), str) or not o[k]:
            raise AssertionError("customer add: no %s in %r" % (k, o))
    return o


class Daemon:
    """One chorusd serve process on its own data dir."""

    def __init__(self, workdir, data_dir=None, args=(), name="chorusd"):
        self.workdir = workdir
        self.data_dir = data_dir or os.path.join(workdir, "data")
        self.args = list(args)
        self.name = name
        self.proc = None
        self.runs = 0
        self.url = self.host = self.port = None
        self.token = self.customer_id = None
        self.stderr_paths = []
        self.clients = []

    def start(self, timeout=20):
        self.runs += 1
        out = os.path.join(self.workdir, "%s.%d.stdout" % (self.name,
                                                           self.runs))
        err = os.path.join(self.workdir, "%s.%d.stderr" % (self.name,
                                                           self.runs))
        self.stdout_path, self.stderr_path = out, err
        self.stderr_paths.append(err)
        cmd = [CHORUSD, "serve", "--http", "127.0.0.1:0", "--sip", "127.0.0.1:0", "--data-dir",
               self.data_dir] + self.args
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(cmd, stdout=fo, stderr=fe,
                                         stdin=subprocess.DEVNULL)
        _ALL_PROCS.append(self.proc)
        end = time.monotonic() + timeout
        while True:
            with open(out, "r", errors="replace") as f:
                text = f.read()
            m_url = re.search(r"^  API:\s+(http://(\S+):(\d+)/v1\.0)\s*$",
                              text, re.M)
            m_tok = re.search(r"^  Token: (\S+)\s.*customer \"[^\"]*\" "
                              r"([0-9a-f-]{36})", text, re.M)
            m_cust = re.search(r"^  Customer: \"[^\"]*\" ([0-9a-f-]{36})",
                               text, re.M)
            if m_url and (m_tok or m_cust):
                break
            if self.proc.poll() is not None or time.monotonic() > end:
                code = self.proc.poll()
                self.kill()
                raise AssertionError(
                    "chorusd did not start (exit %r)\nstdout:\n%s\n"
                    "stderr:\n%s" % (code, text, self.stderr()))
            time.sleep(0.02)
        self.url = m_url.group(1)
        self.host, self.port = m_url.group(2), int(m_url.group(3))
        key = os.path.realpath(self.data_dir)
        if m_tok:
            self.token, self.customer_id = m_tok.group(1), m_tok.group(2)
            _TOKENS[key] = self.token
        else:
            self.customer_id = m_cust.group(1)
            self.token = _TOKENS.get(key)
        return self

    def remember_token(self, token):
        """A new token of the default customer (`customer token`): used by
        this and every later start of the data dir."""
        self.token = token
        _TOKENS[os.path.realpath(self.data_dir)] = token

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stderr(self, path=None):
        try:
            with open(path or self.stderr_path, "r", errors="replace") as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def stop(self, timeout=5):
        """SIGTERM; returns the exit code (kills and returns None if it
        does not exit within timeout)."""
        if not self.proc or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def kill(self):
        """SIGKILL (kill -9), no clean shutdown."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def sanitizer_reports(self):
        """Sanitizer lines found in any stderr of this daemon."""
        found = []
        for p in self.stderr_paths:
            text = self.stderr(p)
            for m in SANITIZER_MARKERS:
                if m in text:
                    i = text.index(m)
                    found.append("%s: %s" % (os.path.basename(p),
                                             text[max(0, i - 200):i + 3000]))
        return found

    def client(self, token=None):
        c = Client(self.host, self.port,
                   self.token if token is None else token)
        self.clients.append(c)
        return c


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # dict, lower-case names
        self.body = body
        self._json = None

    @property
    def json(self):
        if self._json is None:
            self._json = json.loads(self.body.decode("utf-8"))
        return self._json

    def __repr__(self):
        return "<%d %s>" % (self.status, self.body[:300])


class Client:
    """Keep-alive HTTP/1.1 client for /v1.0 (http.client)."""

    def __init__(self, host, port, token=None, timeout=10):
        self.host, self.port, self.token = host, port, token
        self.timeout = timeout
        self.conn = None
        self.connects = 0

    def close(self):
        if self.conn:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None, raw=None, token="default",
                headers=None, auth="bearer", query=None):
        """path below /v1.0 ("/conferences"). body: JSON-encoded; raw:
        bytes sent as is. token="default" uses the client's token, None
        sends none. auth: "bearer" (header) or "query" (?token=)."""
        tok = self.token if token == "default" else token
        hdrs = {"Accept": "application/json"}
        if headers:
            hdrs.update(headers)
        full = "/v1.0" + path
        params = list(query.items()) if query else []
        if tok is not None and auth == "query":
            params.append(("token", tok))
        elif tok is not None:
            hdrs["Authorization"] = "Bearer " + tok
        if params:
            from urllib.parse import urlencode
            full += ("&" if "?" in full else "?") + urlencode(params)
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port,
                                                       timeout=self.timeout)
                self.connects += 1
            try:
                self.conn.request(method, full, body=data, headers=hdrs)
                r = self.conn.getresponse()
                payload = r.read()
                resp = Response(r.status, {k.lower(): v for k, v in
                                           r.getheaders()}, payload)
                if r.will_close:
                    self.close()
                return resp
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError):
                # the server closed an idle keep-alive connection
                self.close()
                if attempt:
                    raise

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    # conference helpers that assert success
    def create_conference(self, **fields):
        fields.setdefault("type", "conference")
        r = self.post("/conferences", fields)
        if r.status != 200:
            raise AssertionError("create conference: %r" % r)
        return r.json

    def conference(self, cid):
        r = self.get("/conferences/" + cid)
        if r.status != 200:
            raise AssertionError("get conference %s: %r" % (cid, r))
        return r.json

    def list_all(self, page_size=100):
        """Every conference of this customer, following next_page_token."""
        items, token = [], ""
        for _ in range(1000):
            q = {"page_size": str(page_size)}
            if token:
                q["page_token"] = token
            r = self.get("/conferences", query=q)
            if r.status != 200:
                raise AssertionError("list: %r" % r)
            items += r.json["result"]
            token = r.json["next_page_token"]
            if not token:
                return items
        raise AssertionError("list does not end")

    def wait_status(self, cid, status, timeout):
        """Polls until the conference has status; returns it or None."""
        last = {}

        def check():
            last["c"] = self.conference(cid)
            return last["c"] if last["c"]["status"] == status else None
        return wait_until(check, timeout) or None


def curl(args, timeout=15):
    """Runs curl -s with args, appending the status code; returns
    (status, body_text)."""
    r = subprocess.run(["curl", "-s", "-S", "--max-time", str(timeout),
                        "-w", "\n%{http_code}"] + list(args),
                       capture_output=True, text=True, timeout=timeout + 5)
    if r.returncode != 0:
        raise AssertionError("curl failed (%d): %s" % (r.returncode,
                                                       r.stderr))
    body, _, code = r.stdout.rpartition("\n")
    return int(code), body


def verify_signature(secret, body, header):
    """True if header is "sha256=<hex HMAC-SHA256(secret, body)>"."""
    if not header or not header.startswith("sha256="):
        return False
    want = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header[len("sha256="):], want)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        rcv = self.server.receiver
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        status = rcv._next_status()
        with rcv.lock:
            rcv.requests.append({
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body, "status": status, "time": time.monotonic()})
            rcv.cond.notify_all()
        out = b'{"ok":true}' if status < 300 else b'{"error":"test"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, fmt, *args):
        pass


class _Server(http.server.HTTPServer):
    allow_reuse_address = True


class WebhookReceiver:
    """Records every POST; .requests is a list of dicts with path, headers
    (lower-case), body (bytes), status (what we answered), time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.requests = []
        self.fail_statuses = []  # answered in order before 200s resume
        self.server = None
        self.thread = None
        self.port = 0
        self.up()

    @property
    def url(self):
        return "http://127.0.0.1:%d/hook" % self.port

    def _next_status(self):
        with self.lock:
            return self.fail_statuses.pop(0) if self.fail_statuses else 200

    def fail_next(self, n, status=500):
        with self.lock:
            self.fail_statuses = [status] * n

    def up(self):
        """Listens (again) on the same port as before (any port the first
        time)."""
        if self.server:
            return
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.receiver = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def down(self):
        """Stops answering: the listening socket is closed, so connections
        are refused."""
        if not self.server:
            return
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)
        self.server = None

    def close(self):
        self.down()

    def events(self, ok_only=True):
        """Parsed bodies of the received POSTs (only those answered 2xx
        when ok_only)."""
        with self.lock:
            reqs = list(self.requests)
        return [json.loads(r["body"]) for r in reqs
                if not ok_only or r["status"] < 300]

    def wait_for(self, pred, timeout):
        """Waits until pred(list of requests) is true; returns it."""
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                v = pred(list(self.requests))
                if v or time.monotonic() >= end:
                    return v
                self.cond.wait(min(0.2, max(0.0, end - time.monotonic())))


def ws_connect(daemon, token=None, timeout=5):
    url = "ws://%s:%d/v1.0/ws?token=%s" % (
        daemon.host, daemon.port, daemon.token if token is None else token)
    return websocket.create_connection(url, timeout=timeout)


def ws_recv_json(ws, timeout):
    """The next text message as JSON, or None after timeout seconds."""
    ws.settimeout(timeout)
    try:
        msg = ws.recv()
    except websocket.WebSocketTimeoutException:
        return None
    return json.loads(msg)


def ws_drain(ws, quiet=0.5):
    """Every message that arrives until none came for `quiet` seconds."""
    out = []
    while True:
        m = ws_recv_json(ws, quiet)
        if m is None:
            return out
        out.append(m)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class ChorusTestCase(unittest.TestCase):
    """Base class: self.workdir is a fresh temp dir per test;
    self.start_daemon() starts a chorusd that is stopped after the test,
    which then fails if the daemon reported a sanitizer error."""

    def setUp(self):
        self.workdir = tempfile.mkdtemp(prefix="chorus-e2e-")
        self.daemons = []
        self.addCleanup(self._cleanup_daemons)

    def start_daemon(self, data_dir=None, args=(), name=None):
        d = Daemon(self.workdir, data_dir=data_dir, args=args,
                   name=name or "chorusd%d" % len(self.daemons))
        self.daemons.append(d)
        return d.start()

    def _cleanup_daemons(self):
        for d in self.daemons:
            for c in d.clients:
                c.close()
            if d.alive():
                if d.stop(10) is None:
                    d.kill()
        reports = []
        for d in self.daemons:
            reports += d.sanitizer_reports()
        if reports:
            self.fail("chorusd sanitizer report:\n" + "\n".join(reports))

    def assertSanitizerClean(self, d):
        reports = d.sanitizer_reports()
        self.assertFalse(reports, "sanitizer report:\n" + "\n".join(reports))

    def assertError(self, r, status, field=None, code=None):
        """r is an error response with this status and the API.md body."""
        self.assertEqual(r.status, status, r)
        self.assertTrue(r.headers.get("content-type", "").startswith(
            "application/json"), r.headers)
        e = r.json.get("error")
        self.assertIsInstance(e, dict, r)
        self.assertEqual(e.get("status"), status, r)
        self.assertIsInstance(e.get("code"), str, r)
        self.assertTrue(e["code"], r)
        self.assertIsInstance(e.get("message"), str, r)
        self.assertTrue(e["message"], r)
        if field is not None:
            self.assertEqual(e.get("field"), field, r)
        if code is not None:
            self.assertEqual(e["code"], code, r)
        return e

    def run(self, result=None):
        if result is None:
            result = self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > before:
                self.report_failure()

    def report_failure(self):
        """Writes what helps to understand a failed test to stderr;
        subclasses add their own material."""
        for d in getattr(self, "daemons", []):
            for p in d.stderr_paths:
                text = d.stderr(p)
                sys.stderr.write("\n---- %s (last 4000 chars) ----\n%s\n" %
                                 (os.path.basename(p), text[-4000:]))
            wd = getattr(self, "workdir", None)
            if wd and not os.environ.get("CHORUS_E2E_KEEP"):
                shutil.rmtree(wd, ignore_errors=True)


def main():
    # a test runner's SIGTERM (e.g. a ctest timeout) still runs the atexit
    # hook that kills the daemons
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not os.access(CHORUSD, os.X_OK):
        sys.stderr.write("CHORUSD=%s is not an executable\n" % CHORUSD)
        sys.exit(2)
    unittest.main(verbosity=2)


__all__ = ["CHORUSD", "NIL_UUID", "NEVER", "TS_RE", "UUID_RE", "Daemon",
           "Client", "Response", "WebhookReceiver", "ChorusTestCase",
           "customer_add", "run_cli", "curl", "verify_signature",
           "ws_connect", "ws_recv_json", "ws_drain", "wait_until",
           "free_port", "main", "uuid", "json", "time", "socket",
           "websocket"]
