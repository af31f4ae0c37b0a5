"""
test_errors.py: every client error of the control plane, end to end, with
its exact status and the API.md error body
{"error": {"status", "code", "message"[, "field"]}} naming the field:
unknown route 404, wrong method 405 with Allow, body over 1 MiB 413,
chunked 411, bad JSON / non-object body 400, each invalid conference field
(type, name, detail, timeout, data, pre/post_actions, max_participants) on
POST and PUT, an invalid uuid in a path 404. After each bad request nothing
changed. Then garbage on raw sockets (random bytes, a head over 16 KiB ->
431, half a request then close, pipelining): the daemon survives and still
answers /v1.0/health.
"""
import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import ChorusTestCase, Response, main, uuid  # noqa


def parse_response(data):
    """First HTTP response in data -> (Response, rest bytes)."""
    head, sep, rest = data.partition(b"\r\n\r\n")
    if not sep:
        raise AssertionError("no complete response: %r" % data[:300])
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for ln in lines[1:]:
        k, _, v = ln.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    return Response(status, headers, rest[:n]), rest[n:]


def raw(d, data, timeout=5.0, want=1, sender=None):
    """Sends data on a new connection and reads until `want` responses
    arrived, the peer closed, or timeout. sender: a callable(sock) run in a
    thread after data was sent (e.g. to keep sending a body)."""
    s = socket.create_connection((d.host, d.port), timeout=timeout)
    buf = b""
    try:
        if data:
            s.sendall(data)
        if sender:
            threading.Thread(target=sender, args=(s,), daemon=True).start()
        while True:
            try:
                got = 0
                rest = buf
                while True:
                    _, rest = parse_response(rest)
                    got += 1
                    if got >= want:
                        return buf
            except (AssertionError, ValueError, IndexError):
                pass
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                return buf
            except ConnectionResetError:
                return buf
            if not chunk:
                return buf
            buf += chunk
    finally:
        s.close()


class ErrorsTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon()
        self.c = self.d.client()
        self.conf = self.c.create_conference(name="keep", detail="same")
        self.c.wait_status(self.conf["id"], "progressing", 1)
        self.conf = self.c.conference(self.conf["id"])

    def assertNothingChanged(self):
        items = self.c.list_all()
        self.assertEqual(len(items), 1, "a bad request created something")
        self.assertEqual(items[0], self.conf, "a bad request changed it")

    def hdrs(self):
        return ("Host: %s:%d\r\nAuthorization: Bearer %s\r\n" %
                (self.d.host, self.d.port, self.d.token))

    def test_unknown_route_404(self):
        for path in ("/v1.0/nope", "/v1.0/conferences/%s/bogus" %
                     self.conf["id"], "/v1.0/", "/v2.0/conferences",
                     "/conferences", "/", "/v1.0/conferences/"):
            r, _ = self._get_abs(path)
            self.assertError(r, 404)
        self.assertNothingChanged()

    def _get_abs(self, path):
        import http.client
        conn = http.client.HTTPConnection(self.d.host, self.d.port,
                                          timeout=5)
        try:
            conn.request("GET", path,
                         headers={"Authorization": "Bearer " + self.d.token})
            r = conn.getresponse()
            resp = Response(r.status, {k.lower(): v for k, v in
                                       r.getheaders()}, r.read())
            return resp, resp.body
        finally:
            conn.close()

    def test_wrong_method_405(self):
        cases = [("PATCH", "/conferences", {"GET", "POST"}),
                 ("DELETE", "/conferences", {"GET", "POST"}),
                 ("POST", "/health", {"GET"}),
                 ("POST", "/conferences/" + self.conf["id"],
                  {"GET", "PUT", "DELETE"}),
                 ("GET", "/conferencecalls/%s/mute" % uuid.uuid4(),
                  {"POST"})]
        for method, path, allowed in cases:
            r = self.c.request(method, path, raw=b"{}")
            self.assertError(r, 405, code="method_not_allowed")
            self.assertIn("allow", r.headers, "405 without Allow")
            got = {m.strip() for m in r.headers["allow"].split(",")}
            self.assertEqual(got, allowed, "%s %s" % (method, path))
        self.assertNothingChanged()

    def test_body_too_large_413(self):
        head = ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
                "Content-Type: application/json\r\n"
                "Content-Length: %d\r\n\r\n" % (2 * 1024 * 1024)).encode()
        # the server answers at the header, before the body
        data = raw(self.d, head)
        r, _ = parse_response(data)
        self.assertError(r, 413, code="body_too_large")
        # the same while the client keeps sending the body

        def send_body(s):
            try:
                chunk = b"a" * 65536
                for _ in range(32):
                    s.sendall(chunk)
            except OSError:
                pass
        data = raw(self.d, head, sender=send_body)
        r, _ = parse_response(data)
        self.assertError(r, 413)
        # exactly 1 MiB is not too large: it reaches validation
        pad = 1024 * 1024 - len(b'{"type":"conference","data":{"p":""}}')
        body = b'{"type":"conference","data":{"p":"' + b"x" * pad + b'"}}'
        self.assertEqual(len(body), 1024 * 1024)
        r = self.c.post("/conferences", raw=body,
                        headers={"Content-Type": "application/json"})
        self.assertError(r, 400, field="data")
        self.assertNothingChanged()

    def smuggle_attempt(self, cl_values):
        """A POST whose Content-Length header(s) are cl_values, followed by
        the bytes of a complete second request that would create a
        conference named "smuggled". Returns the responses received."""
        body = b'{"type":"conference","name":"smuggled"}'
        inner = ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
                 "Content-Type: application/json\r\n"
                 "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
        head = ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
                "".join("Content-Length: %s\r\n" % v for v in cl_values) +
                "\r\n").encode()
        data = raw(self.d, head + inner, timeout=1.5, want=2)
        out, rest = [], data
        while rest:
            r, rest = parse_response(rest)
            out.append(r)
        return out

    def test_invalid_content_length_400(self):
        # Content-Length must be 1*DIGIT, and duplicates must agree (RFC
        # 9112 6.3): anything else is a malformed request, answered 400,
        # and the bytes after the head must not run as a second request.
        for cl in (["abc"], ["-1"], ["+77"], ["0x10"], ["1e3"],
                   ["77", "0"], ["0", "77"]):
            got = self.smuggle_attempt(cl)
            self.assertTrue(got, cl)
            self.assertError(got[0], 400)
            self.assertEqual([r.status for r in got[1:]], [],
                             "Content-Length %r: the body ran as another "
                             "request" % cl)
            self.assertNothingChanged()

    def test_content_length_over_4gib_413(self):
        # 2^32 + 21 must not wrap around to 21
        big = 2 ** 32 + 21
        body = b'{"type":"conference"}'
        self.assertEqual(len(body), 21)
        req = ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
               "Content-Type: application/json\r\n"
               "Content-Length: %d\r\n\r\n" % big).encode() + body
        r, _ = parse_response(raw(self.d, req))
        self.assertError(r, 413)
        self.assertNothingChanged()
        got = self.smuggle_attempt(["%d" % 2 ** 32])
        self.assertTrue(got)
        self.assertIn(got[0].status, (400, 413), got)
        self.assertEqual(len(got), 1, "the body ran as another request")
        self.assertNothingChanged()

    def test_chunked_411(self):
        body = b'{"type":"conference"}'
        req = ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
               "Content-Type: application/json\r\n"
               "Transfer-Encoding: chunked\r\n\r\n").encode() + \
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        r, _ = parse_response(raw(self.d, req))
        self.assertError(r, 411, code="length_required")
        self.assertNothingChanged()

    def test_bad_json_400(self):
        for body in (b'{"type":', b"nope", b"{'type': 'conference'}",
                     b'{"type":"conference",}',
                     b'{"type":"conference","type":"connect"}', b"\xff\xfe",
                     b""):
            r = self.c.post("/conferences", raw=body,
                            headers={"Content-Type": "application/json"})
            self.assertError(r, 400, code="invalid_json")
        for body in (b"[]", b'"conference"', b"42", b"null", b"true",
                     b'[{"type":"conference"}]'):
            r = self.c.post("/conferences", raw=body,
                            headers={"Content-Type": "application/json"})
            self.assertError(r, 400)
            r = self.c.put("/conferences/" + self.conf["id"], raw=body,
                           headers={"Content-Type": "application/json"})
            self.assertError(r, 400)
        self.assertNothingChanged()

    def test_type_400(self):
        for body in ({}, {"name": "x"}, {"type": "party"}, {"type": 5},
                     {"type": None}, {"type": ""}, {"type": "Conference"},
                     {"type": ["conference"]}):
            r = self.c.post("/conferences", body)
            self.assertError(r, 400, field="type")
        self.assertNothingChanged()

    def field_cases(self):
        """(body fields, expected error field), for POST and PUT."""
        return [
            ({"name": "n" * 1025}, "name"),
            ({"name": "\u00e9" * 513}, "name"),  # 1026 bytes, 513 chars
            ({"name": 5}, "name"),
            ({"name": None}, "name"),
            ({"detail": "d" * 1025}, "detail"),
            ({"detail": ["x"]}, "detail"),
            ({"timeout": -1}, "timeout"),
            ({"timeout": "10"}, "timeout"),
            ({"timeout": 1.5}, "timeout"),
            ({"timeout": True}, "timeout"),
            ({"timeout": 10 ** 12}, "timeout"),
            ({"data": []}, "data"),
            ({"data": "x"}, "data"),
            ({"data": 5}, "data"),
            ({"data": {"big": "x" * (65 * 1024)}}, "data"),
            ({"pre_actions": [{"type": "dance"}]}, "pre_actions[0]"),
            ({"pre_actions": [{"type": "beep"}, {"type": "nope"}]},
             "pre_actions[1]"),
            ({"pre_actions": [{"type": "talk"}]}, "pre_actions[0]"),
            ({"pre_actions": [{"type": "play", "option": {"urls": []}}]},
             "pre_actions[0]"),
            ({"pre_actions": [{"type": "sleep",
                               "option": {"duration": -5}}]},
             "pre_actions[0]"),
            ({"pre_actions": ["beep"]}, "pre_actions[0]"),
            ({"pre_actions": {"type": "beep"}}, "pre_actions"),
            ({"pre_actions": [{"type": "beep"}] * 65}, "pre_actions"),
            ({"post_actions": [{"type": "conference_join"}]},
             "post_actions[0]"),
            ({"post_actions": "hangup"}, "post_actions"),
            ({"max_participants": -1}, "max_participants"),
            ({"max_participants": "5"}, "max_participants"),
            ({"max_participants": 2.5}, "max_participants"),
            ({"max_participants": 10 ** 9}, "max_participants"),
        ]

    def test_invalid_fields_on_post(self):
        for fields, field in self.field_cases():
            body = dict(fields, type="conference")
            r = self.c.post("/conferences", body)
            self.assertError(r, 400, field=field, code="invalid_field")
            self.assertIn(field.split("[")[0], r.json["error"]["message"])
            self.assertNothingChanged()

    def test_invalid_fields_on_put(self):
        for fields, field in self.field_cases():
            r = self.c.put("/conferences/" + self.conf["id"], fields)
            self.assertError(r, 400, field=field, code="invalid_field")
            self.assertNothingChanged()
        # a bad field spoils the whole PUT: the good ones are not applied
        r = self.c.put("/conferences/" + self.conf["id"],
                       {"name": "changed", "timeout": -1})
        self.assertError(r, 400, field="timeout")
        self.assertNothingChanged()

    def test_limits_are_inclusive(self):
        # the exact limits are accepted (the field cases above are +1)
        r = self.c.post("/conferences", {"type": "conference",
                                         "name": "n" * 1024,
                                         "detail": "\u00e9" * 512})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(len(r.json["name"]), 1024)
        self.assertEqual(r.json["detail"], "\u00e9" * 512)

    def test_invalid_uuid_in_path_404(self):
        for bad in ("not-a-uuid", "12345", "x" * 36,
                    "00000000-0000-0000-0000-00000000000g",
                    self.conf["id"][:-1], self.conf["id"] + "0"):
            for method in ("GET", "PUT", "DELETE"):
                r = self.c.request(method, "/conferences/" + bad,
                                   body={"name": "x"} if method == "PUT"
                                   else None)
                self.assertError(r, 404)
            self.assertError(self.c.get("/conferencecalls/" + bad), 404)
        # a valid but unknown id
        self.assertError(self.c.get("/conferences/%s" % uuid.uuid4()), 404,
                         code="not_found")
        self.assertNothingChanged()

    def assertHealthy(self):
        c = self.d.client()
        r = c.get("/health", token=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ok")
        self.assertTrue(self.d.alive())

    def test_garbage_on_socket(self):
        # random bytes
        rnd = bytes((i * 7919 + 13) % 256 for i in range(4096))
        for payload in (rnd, os.urandom(8192), b"\x00" * 100,
                        b"GET\r\n\r\n", b"HELLO WORLD\r\n\r\n",
                        b"\r\n\r\n\r\n"):
            data = raw(self.d, payload, timeout=3)
            if data:
                r, _ = parse_response(data)
                self.assertGreaterEqual(r.status, 400, data[:200])
            self.assertHealthy()
        # half a request, then close
        for half in (b"POST /v1.0/conferences HTTP/1.1\r\nContent-Len",
                     ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
                      "Content-Length: 100\r\n\r\n{\"type\":").encode()):
            s = socket.create_connection((self.d.host, self.d.port))
            s.sendall(half)
            s.close()
            self.assertHealthy()
        self.assertNothingChanged()

    def test_head_over_16k_431(self):
        # a complete head over 16 KiB (17 KiB) arriving at once: the limit
        # holds however the bytes were split into reads
        req = ("GET /v1.0/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
               "a" * (17 * 1024) + "\r\n\r\n").encode()
        r, _ = parse_response(raw(self.d, req))
        self.assertError(r, 431, code="header_too_large")
        self.assertHealthy()

    def test_head_under_16k_ok(self):
        req = ("GET /v1.0/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
               "a" * (15 * 1024) + "\r\n\r\n").encode()
        r, _ = parse_response(raw(self.d, req))
        self.assertEqual(r.status, 200, r)

    def test_request_byte_by_byte(self):
        # two keep-alive requests trickled one byte per send: framing holds
        s = socket.create_connection((self.d.host, self.d.port), timeout=5)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        reqs = b""
        for name in ("slow1", "slow2"):
            body = json.dumps({"type": "conference", "name": name}).encode()
            reqs += ("POST /v1.0/conferences HTTP/1.1\r\n" + self.hdrs() +
                     "Content-Length: %d\r\n\r\n" % len(body)).encode() + body
        try:
            for i in range(len(reqs)):
                s.send(reqs[i:i + 1])
                if i % 8 == 0:
                    time.sleep(0.001)
            data = b""
            while data.count(b"HTTP/1.1 ") < 2:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                try:
                    _, rest = parse_response(data)
                    parse_response(rest)
                    break
                except (AssertionError, ValueError, IndexError):
                    continue
        finally:
            s.close()
        r1, rest = parse_response(data)
        r2, _ = parse_response(rest)
        self.assertEqual((r1.status, r1.json["name"]), (200, "slow1"))
        self.assertEqual((r2.status, r2.json["name"]), (200, "slow2"))

    def test_unterminated_head_431(self):
        # a head that never ends
        req = ("GET /v1.0/health HTTP/1.1\r\nHost: x\r\nX-Big: " +
               "a" * (40 * 1024)).encode()
        r, _ = parse_response(raw(self.d, req))
        self.assertError(r, 431, code="header_too_large")
        self.assertHealthy()

    def test_pipelining_and_keepalive(self):
        one = ("GET /v1.0/conferences/%s HTTP/1.1\r\n" % self.conf["id"] +
               self.hdrs() + "\r\n").encode()
        data = raw(self.d, one * 3 + b"GET /v1.0/health HTTP/1.1\r\n"
                   b"Host: x\r\nConnection: close\r\n\r\n", want=4)
        got = []
        rest = data
        for _ in range(4):
            r, rest = parse_response(rest)
            got.append(r)
        self.assertEqual([r.status for r in got], [200, 200, 200, 200])
        self.assertEqual(got[0].json, self.conf)
        self.assertEqual(got[3].json["status"], "ok")


if __name__ == "__main__":
    main()
