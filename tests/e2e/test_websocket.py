"""
test_websocket.py: the WebSocket event stream (GET /v1.0/ws) end to end
with python3-websocket: a client with its token receives its customer's
conference events as JSON text messages; another customer's client sees
none; subscribe to "conference:<id>" is acknowledged and narrows the
stream, an empty list widens it again; a bad subscribe answers
{"type": "error"} and leaves the stream as it was; no or a bad token gets
HTTP 401 on the upgrade; ping/pong; clients that vanish do not hurt the
daemon or the other clients; a join token's stream holds only its
conference's events, cannot be widened, and is closed (1008) when the
token expires.
"""
import os
import socket
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (TS_RE, UUID_RE, ChorusTestCase,  # noqa: E402
                            customer_add, json, main, time, websocket,
                            ws_connect, ws_drain, ws_recv_json)


class WebSocketTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon()
        self.c = self.d.client()

    def connect(self, token=None):
        ws = ws_connect(self.d, token=token)
        self.addCleanup(ws.close)
        return ws

    def recv_until(self, ws, pred, timeout=5):
        """Messages until one matches pred (returned last)."""
        out, end = [], time.monotonic() + timeout
        while time.monotonic() < end:
            m = ws_recv_json(ws, max(0.05, end - time.monotonic()))
            if m is None:
                break
            out.append(m)
            if pred(m):
                return out
        self.fail("no matching message in %.1f s; got %r" % (timeout, out))

    def test_events_as_json_text(self):
        ws = self.connect()
        conf = self.c.create_conference(name="live")
        # the first frame: a text frame holding conference.created
        ws.settimeout(5)
        opcode, data = ws.recv_data()
        self.assertEqual(opcode, websocket.ABNF.OPCODE_TEXT)
        m = json.loads(data.decode("utf-8"))
        self.assertEqual(m["event"], "conference.created")
        self.assertEqual(m["room_id"], conf["id"])
        self.assertEqual(m["app_id"], self.d.customer_id)
        self.assertRegex(m["id"], UUID_RE)
        self.assertRegex(m["timestamp"], TS_RE)
        self.assertEqual(m["status"], "starting")
        self.assertEqual(m["conference"]["id"], conf["id"])
        msgs = self.recv_until(ws, lambda m: m.get("status") == "progressing")
        self.assertEqual(msgs[-1]["event"], "conference.updated")
        self.c.put("/conferences/" + conf["id"], {"name": "renamed"})
        msgs = self.recv_until(ws, lambda m: m.get("name") == "renamed")
        self.assertEqual(msgs[-1]["event"], "conference.updated")
        self.assertEqual(msgs[-1]["conference"]["name"], "renamed")
        self.c.delete("/conferences/" + conf["id"])
        msgs = self.recv_until(
            ws, lambda m: m.get("event") == "conference.destroyed")
        self.assertEqual([(m["event"], m["status"]) for m in msgs],
                         [("conference.updated", "terminating"),
                          ("conference.updated", "terminated"),
                          ("conference.destroyed", "terminated")])
        ids = [m["id"] for m in msgs]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(ws_drain(ws, 0.3), [])

    def test_other_customer_sees_nothing(self):
        bob = customer_add(self.d.data_dir, "bob")
        wa = self.connect()
        wb = self.connect(token=bob["token"])
        wa2 = self.connect()  # a second client of A gets the same
        conf = self.c.create_conference(name="a-only")
        self.c.delete("/conferences/" + conf["id"])
        got_a = self.recv_until(
            wa, lambda m: m.get("event") == "conference.destroyed")
        got_a2 = self.recv_until(
            wa2, lambda m: m.get("event") == "conference.destroyed")
        self.assertEqual([m["id"] for m in got_a], [m["id"] for m in got_a2])
        self.assertEqual(ws_drain(wb, 1.0), [], "B saw A's events")
        # and B sees its own, A does not
        bc = self.d.client(token=bob["token"]).create_conference(name="b")
        m = ws_recv_json(wb, 5)
        self.assertIsNotNone(m)
        self.assertEqual(m["room_id"], bc["id"])
        self.assertEqual(m["app_id"], bob["customer_id"])
        self.assertEqual(ws_drain(wa, 0.5), [], "A saw B's events")

    def test_subscribe_narrows(self):
        ws = self.connect()
        one = self.c.create_conference(name="one")
        two = self.c.create_conference(name="two")
        for cid in (one["id"], two["id"]):
            self.c.wait_status(cid, "progressing", 2)
        ws_drain(ws, 0.3)
        topic = "conference:" + one["id"]
        ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
        ack = ws_recv_json(ws, 5)
        self.assertEqual(ack, {"type": "subscribed", "topics": [topic]})
        self.c.put("/conferences/" + two["id"], {"name": "two-b"})
        self.c.put("/conferences/" + one["id"], {"name": "one-b"})
        self.c.delete("/conferences/" + two["id"])
        self.c.delete("/conferences/" + one["id"])
        msgs = self.recv_until(
            ws, lambda m: m.get("event") == "conference.destroyed")
        msgs += ws_drain(ws, 0.5)
        self.assertEqual({m["room_id"] for m in msgs}, {one["id"]},
                         "events of other conferences after subscribe")
        self.assertEqual([m["event"] for m in msgs],
                         ["conference.updated"] * 3 +
                         ["conference.destroyed"])
        # an empty list widens it again
        ws.send(json.dumps({"type": "subscribe", "topics": []}))
        self.assertEqual(ws_recv_json(ws, 5),
                         {"type": "subscribed", "topics": []})
        three = self.c.create_conference(name="three")
        m = ws_recv_json(ws, 5)
        self.assertIsNotNone(m, "no events after widening")
        self.assertEqual(m["room_id"], three["id"])

    def test_subscribe_before_conference_exists(self):
        # a subscription to an id not yet seen is fine; and two topics
        ws = self.connect()
        a = self.c.create_conference(name="a")
        b = self.c.create_conference(name="b")
        ws_drain(ws, 0.3)
        topics = ["conference:" + a["id"], "conference:" + b["id"]]
        ws.send(json.dumps({"type": "subscribe", "topics": topics}))
        self.assertEqual(ws_recv_json(ws, 5)["type"], "subscribed")
        other = self.c.create_conference(name="other")
        self.c.delete("/conferences/" + b["id"])
        msgs = self.recv_until(
            ws, lambda m: m.get("event") == "conference.destroyed")
        self.assertEqual({m["room_id"] for m in msgs}, {b["id"]})
        self.assertNotIn(other["id"], [m.get("room_id") for m in msgs])

    def test_bad_subscribe(self):
        ws = self.connect()
        conf = self.c.create_conference(name="c")
        self.c.wait_status(conf["id"], "progressing", 2)
        ws_drain(ws, 0.3)
        topic = "conference:" + conf["id"]
        ws.send(json.dumps({"type": "subscribe", "topics": [topic]}))
        self.assertEqual(ws_recv_json(ws, 5)["type"], "subscribed")
        bad = ["not json", "[]", "{}", json.dumps({"type": "unsubscribe"}),
               json.dumps({"type": "subscribe"}),
               json.dumps({"type": "subscribe", "topics": "conference:x"}),
               json.dumps({"type": "subscribe", "topics": ["room:1"]}),
               json.dumps({"type": "subscribe",
                           "topics": ["conference:not-a-uuid"]}),
               json.dumps({"type": "subscribe", "topics": [5]}),
               json.dumps({"type": "subscribe",
                           "topics": [topic] * 65})]
        for text in bad:
            ws.send(text)
            m = ws_recv_json(ws, 5)
            self.assertIsNotNone(m, "no answer to %r" % text)
            self.assertEqual(m.get("type"), "error", text)
            self.assertIsInstance(m.get("message"), str)
        # the connection still works, the earlier subscription still holds
        other = self.c.create_conference(name="other")
        self.c.put("/conferences/" + conf["id"], {"name": "still"})
        m = ws_recv_json(ws, 5)
        self.assertIsNotNone(m)
        self.assertEqual(m["room_id"], conf["id"])
        self.assertEqual(m["conference"]["name"], "still")
        self.assertNotIn(other["id"],
                         [x.get("room_id") for x in ws_drain(ws, 0.5)])

    def test_join_token_stream(self):
        c1 = self.c.create_conference(name="one")
        c2 = self.c.create_conference(name="two")
        for c in (c1, c2):
            self.assertIsNotNone(self.c.wait_status(c["id"], "progressing",
                                                    5))
        r = self.c.post("/conferences/%s/join_tokens" % c1["id"],
                        {"ttl_seconds": 10})
        self.assertEqual(r.status, 200, r)
        t0 = time.monotonic()
        ws = self.connect(token=r.json["token"])
        self.c.put("/conferences/" + c2["id"], {"name": "two-renamed"})
        self.c.put("/conferences/" + c1["id"], {"name": "one-renamed"})
        msgs = self.recv_until(
            ws, lambda m: m.get("conference", {}).get("name") ==
            "one-renamed")
        msgs += ws_drain(ws, 0.5)
        self.assertEqual({m.get("room_id") for m in msgs}, {c1["id"]}, msgs)
        # it cannot widen its stream; naming its own conference is fine
        for topics in (["conference:" + c2["id"]], [],
                       ["conference:" + c1["id"], "conference:" + c2["id"]]):
            ws.send(json.dumps({"type": "subscribe", "topics": topics}))
            self.assertEqual(ws_recv_json(ws, 5)["type"], "error", topics)
        ws.send(json.dumps({"type": "subscribe",
                            "topics": ["conference:" + c1["id"]]}))
        self.assertEqual(ws_recv_json(ws, 5)["type"], "subscribed")
        self.c.put("/conferences/" + c2["id"], {"name": "two-again"})
        self.assertEqual(ws_drain(ws, 0.5), [])
        # expired: an error saying so, then close 1008
        ws.settimeout(20)
        texts, code = [], None
        while code is None:
            frame = ws.recv_data_frame(True)[1]
            if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big")
            elif frame.opcode == websocket.ABNF.OPCODE_TEXT:
                texts.append(json.loads(frame.data.decode()))
        self.assertEqual(code, 1008)
        self.assertGreaterEqual(time.monotonic() - t0, 9)
        self.assertIn("expired", texts[-1].get("message", ""), texts)

    def test_upgrade_needs_token(self):
        for token in ("", "bad", "0" * 64):
            with self.assertRaises(
                    websocket.WebSocketBadStatusException) as cm:
                ws_connect(self.d, token=token)
            self.assertEqual(cm.exception.status_code, 401)
        # no token parameter at all
        with self.assertRaises(websocket.WebSocketBadStatusException) as cm:
            websocket.create_connection(
                "ws://%s:%d/v1.0/ws" % (self.d.host, self.d.port), timeout=5)
        self.assertEqual(cm.exception.status_code, 401)
        # the token in an Authorization header works for the upgrade too
        ws = websocket.create_connection(
            "ws://%s:%d/v1.0/ws" % (self.d.host, self.d.port), timeout=5,
            header=["Authorization: Bearer " + self.d.token])
        self.addCleanup(ws.close)
        conf = self.c.create_conference(name="h")
        self.assertEqual(ws_recv_json(ws, 5)["room_id"], conf["id"])
        # a plain GET (no upgrade) with a token: 400
        r = self.c.get("/ws")
        self.assertError(r, 400)

    def test_ping_and_clients_that_vanish(self):
        ws = self.connect()
        ws.ping(b"hi")
        ws.settimeout(5)
        frame = ws.recv_data_frame(control_frame=True)
        self.assertEqual(frame[0], websocket.ABNF.OPCODE_PONG)
        self.assertEqual(frame[1].data, b"hi")
        # clients that vanish: clean close, abrupt close, half handshake
        gone = ws_connect(self.d)
        gone.close()
        rude = ws_connect(self.d)
        rude.sock.shutdown(socket.SHUT_RDWR)
        rude.sock.close()
        s = socket.create_connection((self.d.host, self.d.port))
        s.sendall(("GET /v1.0/ws?token=%s HTTP/1.1\r\nHost: x\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                   % self.d.token).encode())
        head = s.recv(4096)
        self.assertIn(b" 101 ", head.split(b"\r\n")[0])
        self.assertIn(b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head)
        s.sendall(b"\x81\xfe\x7f")  # half a masked frame header, then gone
        s.close()
        time.sleep(0.2)
        # the remaining client still gets events, the daemon still answers
        for i in range(3):
            conf = self.c.create_conference(name="n%d" % i)
            m = self.recv_until(ws, lambda m, cid=conf["id"]:
                                m.get("room_id") == cid)
            self.assertEqual(m[-1]["event"], "conference.created")
        self.assertEqual(self.c.get("/health", token=None).status, 200)
        self.assertTrue(self.d.alive())

    def test_protocol_details(self):
        ABNF = websocket.ABNF
        conf = self.c.create_conference(name="frag")
        ws = self.connect()
        ws_drain(ws, 0.3)
        # a subscribe split into three fragments, a ping between them
        msg = json.dumps({"type": "subscribe",
                          "topics": ["conference:" + conf["id"]]}).encode()
        ws.send_frame(ABNF.create_frame(msg[:10], ABNF.OPCODE_TEXT, fin=0))
        ws.send_frame(ABNF.create_frame(msg[10:30], ABNF.OPCODE_CONT, fin=0))
        ws.ping(b"mid")
        ws.send_frame(ABNF.create_frame(msg[30:], ABNF.OPCODE_CONT, fin=1))
        ws.settimeout(5)
        f = ws.recv_data_frame(control_frame=True)
        self.assertEqual((f[0], f[1].data), (ABNF.OPCODE_PONG, b"mid"))
        f = ws.recv_data_frame(control_frame=True)
        self.assertEqual(f[0], ABNF.OPCODE_TEXT)
        self.assertEqual(json.loads(f[1].data)["type"], "subscribed")

        def close_code(send):
            w = self.connect()
            send(w)
            w.settimeout(5)
            f = w.recv_data_frame(control_frame=True)
            self.assertEqual(f[0], ABNF.OPCODE_CLOSE)
            return int.from_bytes(f[1].data[:2], "big")
        # a message over 64 KiB: 1009; invalid UTF-8: 1007; our close: 1000
        # (only the frame head is sent: the server may close at the head,
        # and sending the rest then races a reset)
        head = (b"\x81\xff" + (70 * 1024).to_bytes(8, "big") +
                b"\x01\x02\x03\x04")
        self.assertEqual(close_code(lambda w: w.sock.sendall(head)), 1009)
        self.assertEqual(close_code(lambda w: w.send_frame(
            ABNF.create_frame(b"\xff\xfe", ABNF.OPCODE_TEXT))), 1007)
        self.assertEqual(close_code(lambda w: w.send_close(1000, b"bye")),
                         1000)
        # the first client still works
        self.c.put("/conferences/" + conf["id"], {"name": "after"})
        m = ws_recv_json(ws, 5)
        self.assertEqual(m["conference"]["name"], "after")


if __name__ == "__main__":
    main()
