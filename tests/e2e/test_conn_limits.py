"""
test_conn_limits.py: HTTP connection limits and descriptors end to end.
With 2,000 idle connections and 1,000 slow ones (a header byte per second)
open from 127.0.0.1, GET /v1.0/health and a new WebSocket are still
answered; the slow ones get 408 and are closed by the server after the
head timeout (3 s here, --http-head-timeout), not before; past the total
cap (--http-max-conns) a new connection gets 503 with a JSON error body and
is closed, and once connections go a new one is served again.
"""
import os
import resource
import select
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (ChorusTestCase, json, main, time,  # noqa: E402
                            ws_connect, ws_recv_json)

IDLE = 2000
SLOW = 1000
CAP = 3050
HEAD_TIMEOUT = 3
SLOW_HEAD = b"GET /v1.0/health HTTP/1.1\r\nHost: chorus\r\nX-Slow: " + \
    b"a" * 64


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def readable(socks, timeout):
    """The sockets of socks with something to read (or closed): poll(2),
    as select(2) stops at descriptor 1023."""
    p = select.poll()
    by_fd = {}
    for s in socks:
        p.register(s, select.POLLIN)
        by_fd[s.fileno()] = s
    return [by_fd[fd] for fd, _ in p.poll(timeout * 1000)]


def read_answer(s, timeout):
    """Bytes the server sent until it closed, or until timeout seconds.
    Returns (data, closed)."""
    data, end = b"", time.monotonic() + timeout
    s.settimeout(0.2)
    while time.monotonic() < end:
        try:
            chunk = s.recv(4096)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


class ConnLimitsTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        n = raise_nofile()
        if n < IDLE + SLOW + 500:
            self.fail("RLIMIT_NOFILE %d: too few descriptors for the test"
                      % n)
        self.d = self.start_daemon(args=[
            "--http-head-timeout", str(HEAD_TIMEOUT),
            "--http-max-conns", str(CAP)])
        self.socks = []
        self.addCleanup(self.close_all)

    def close_all(self):
        for s in self.socks:
            s.close()

    def connect(self):
        s = socket.create_connection((self.d.host, self.d.port), timeout=10)
        self.socks.append(s)
        return s

    def health(self):
        c = self.d.client()
        try:
            return c.get("/health")
        finally:
            c.close()

    def trickle(self, slow, sent):
        """One more header byte to every slow connection still open."""
        for i, s in enumerate(slow):
            if s is None or sent[i] >= len(SLOW_HEAD):
                continue
            try:
                s.send(SLOW_HEAD[sent[i]:sent[i] + 1])
                sent[i] += 1
            except OSError:
                pass  # closed by the server: counted below

    def poll_slow(self, slow, got, closed, t0):
        """Reads what the server sent to the slow connections; notes when
        each was closed."""
        live = [s for i, s in enumerate(slow) if i not in closed]
        for s in readable(live, 0):
            i = slow.index(s)
            try:
                chunk = s.recv(4096, socket.MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                chunk = b""
            if chunk:
                got[i] += chunk
            else:
                closed[i] = time.monotonic() - t0

    def test_idle_and_slow_clients_do_not_starve_the_api(self):
        idle = [self.connect() for _ in range(IDLE)]
        slow = [self.connect() for _ in range(SLOW)]
        sent = [0] * SLOW
        t0 = time.monotonic()
        self.trickle(slow, sent)

        # 3,000 connections are open: the API still answers, and so does
        # a new WebSocket (its upgrade and its events)
        r = self.health()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ok")
        ws = ws_connect(self.d)
        self.addCleanup(ws.close)
        c = self.d.client()
        conf = c.create_conference(name="under load")
        c.close()
        m = ws_recv_json(ws, 5)
        self.assertIsNotNone(m, "no event on the WebSocket")
        self.assertEqual(m["room_id"], conf["id"])
        self.assertLess(time.monotonic() - t0, HEAD_TIMEOUT - 0.5,
                        "too slow to check before the head timeout")

        # the slow ones: a byte a second, closed once the head timeout
        # passed (plus the 2 s the server lingers after its 408)
        got, closed = [b""] * SLOW, {}
        while len(closed) < SLOW and time.monotonic() - t0 < 20:
            time.sleep(1)
            self.trickle(slow, sent)
            for _ in range(3):
                self.poll_slow(slow, got, closed, t0)
        self.assertEqual(len(closed), SLOW, "%d slow connections still "
                         "open after 20 s" % (SLOW - len(closed)))
        self.assertGreaterEqual(min(closed.values()), HEAD_TIMEOUT)
        self.assertLess(max(sent), len(SLOW_HEAD), "a head was completed")
        for data in got:
            self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:80])
            body = json.loads(data.split(b"\r\n\r\n", 1)[1])
            self.assertEqual(body["error"]["status"], 408)

        # the idle ones are still open and still served
        self.assertEqual(readable(idle, 0), [],
                         "idle connections closed early")
        idle[0].sendall(b"GET /v1.0/health HTTP/1.1\r\nHost: x\r\n\r\n")
        data, _ = read_answer(idle[0], 1)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:80])

        # fill up to the cap (the 2,000 idle ones count), then past it
        more = [self.connect() for _ in range(CAP - IDLE)]
        extra = [self.connect() for _ in range(20)]
        for s in extra:
            data, closed = read_answer(s, 5)
            self.assertTrue(closed, "a connection past the cap stays open")
            self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data[:80])
            head, body = data.split(b"\r\n\r\n", 1)
            self.assertIn(b"Content-Type: application/json", head)
            self.assertIn(b"Retry-After: ", head)
            self.assertEqual(json.loads(body)["error"]["status"], 503)
        self.assertEqual(readable(more, 0.2), [],
                         "connections within the cap were answered")

        # connections go: a new one is served again
        for s in more[:10]:
            s.close()
        time.sleep(0.3)
        r = self.health()
        self.assertEqual(r.status, 200, r)
        self.assertTrue(self.d.alive())


if __name__ == "__main__":
    main()
