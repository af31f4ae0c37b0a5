"""
test_webhooks.py: webhook delivery end to end, with a real HTTP receiver:
create + delete of a conference POSTs conference.created, .updated
(progressing, terminating, terminated) and .destroyed in order, each with
id, event, timestamp, app_id, room_id, a valid X-Chorus-Signature and
X-Chorus-Event-Id = id; each customer gets only its own events; a receiver
that is down for 30 s gets every event afterwards, in commit order (the
WebSocket stream is the commit-order oracle), signatures valid; a receiver
answering 500 gets the same event again until it answers 200, and nothing
overtakes it; events undelivered when the daemon stops are delivered after
a restart.
"""
import json
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (TS_RE, UUID_RE, ChorusTestCase,  # noqa: E402
                            WebhookReceiver, customer_add, main, time,
                            verify_signature, wait_until, ws_connect,
                            ws_drain)

LIFECYCLE = [("conference.created", "starting"),
             ("conference.updated", "progressing"),
             ("conference.updated", "terminating"),
             ("conference.updated", "terminated"),
             ("conference.destroyed", "terminated")]


def dedup(reqs):
    """2xx-answered requests, first of each event id, in arrival order."""
    out, seen = [], set()
    for r in reqs:
        if r["status"] >= 300:
            continue
        ev = json.loads(r["body"])
        if ev["id"] in seen:
            continue
        seen.add(ev["id"])
        out.append((r, ev))
    return out


class WebhookTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.rcv = WebhookReceiver()
        self.addCleanup(self.rcv.close)

    def start_with_customer(self, rcv=None):
        """A daemon and a customer whose webhook is the receiver; returns
        (daemon, customer, client)."""
        d = self.start_daemon()
        cust = customer_add(d.data_dir, "hooked", (rcv or self.rcv).url)
        return d, cust, d.client(token=cust["token"])

    def assertValidDelivery(self, req, ev, cust):
        h = req["headers"]
        self.assertEqual(req["path"], "/hook")
        self.assertTrue(h.get("content-type", "").startswith(
            "application/json"), h)
        self.assertTrue(verify_signature(cust["webhook_secret"], req["body"],
                                         h.get("x-chorus-signature")),
                        "bad signature %r" % h.get("x-chorus-signature"))
        self.assertEqual(h.get("x-chorus-event-id"), ev["id"])
        self.assertRegex(ev["id"], UUID_RE)
        self.assertRegex(ev["timestamp"], TS_RE)
        self.assertEqual(ev["app_id"], cust["customer_id"])
        self.assertIsInstance(ev["event"], str)
        self.assertRegex(ev["room_id"], UUID_RE)

    def lifecycle(self, client):
        """Creates a conference, waits for progressing, deletes it, waits
        for terminated; returns its id."""
        c = client.create_conference(name="hooked")
        self.assertIsNotNone(client.wait_status(c["id"], "progressing", 2))
        self.assertEqual(client.delete("/conferences/" + c["id"]).status, 200)
        self.assertIsNotNone(client.wait_status(c["id"], "terminated", 2))
        return c["id"]

    def assertLifecycle(self, evs, cid):
        mine = [e for e in evs if e["room_id"] == cid]
        self.assertEqual([(e["event"], e["status"]) for e in mine],
                         LIFECYCLE, "events of %s" % cid)
        for e in mine:
            self.assertEqual(e["conference"]["id"], cid)
            self.assertEqual(e["conference"]["status"], e["status"])
        ts = [e["timestamp"] for e in mine]
        self.assertEqual(ts, sorted(ts))

    def test_lifecycle_events(self):
        d, cust, c = self.start_with_customer()
        cid = self.lifecycle(c)
        got = self.rcv.wait_for(lambda reqs: len(dedup(reqs)) >= 5, 10)
        self.assertTrue(got, "only %d events" % len(dedup(self.rcv.requests)))
        time.sleep(1.0)  # nothing more should come
        pairs = dedup(self.rcv.requests)
        self.assertEqual(len(pairs), 5, [e["event"] for _, e in pairs])
        for req, ev in pairs:
            self.assertValidDelivery(req, ev, cust)
            self.assertEqual(ev["room_id"], cid)
        self.assertLifecycle([e for _, e in pairs], cid)
        # the default customer (no webhook) sends nothing anywhere
        dc = d.client()
        self.lifecycle(dc)
        time.sleep(0.5)
        self.assertEqual(len(dedup(self.rcv.requests)), 5)

    def test_update_event_and_tamper(self):
        d, cust, c = self.start_with_customer()
        conf = c.create_conference(name="before")
        c.wait_status(conf["id"], "progressing", 2)
        self.assertEqual(c.put("/conferences/" + conf["id"],
                               {"name": "after"}).status, 200)
        ok = self.rcv.wait_for(lambda reqs: len(dedup(reqs)) >= 3, 10)
        self.assertTrue(ok)
        pairs = dedup(self.rcv.requests)
        req, ev = pairs[2]
        self.assertEqual(ev["event"], "conference.updated")
        self.assertEqual(ev["conference"]["name"], "after")
        self.assertValidDelivery(req, ev, cust)
        # the signature covers the body: one changed byte breaks it
        body = bytearray(req["body"])
        body[10] ^= 1
        self.assertFalse(verify_signature(cust["webhook_secret"], bytes(body),
                                          req["headers"]
                                          ["x-chorus-signature"]))
        self.assertFalse(verify_signature("0" * 64, req["body"],
                                          req["headers"]
                                          ["x-chorus-signature"]))

    def test_customers_get_only_their_events(self):
        rcv2 = WebhookReceiver()
        self.addCleanup(rcv2.close)
        d, a, ca = self.start_with_customer()
        b = customer_add(d.data_dir, "other", rcv2.url)
        cb = d.client(token=b["token"])
        ida = self.lifecycle(ca)
        idb = self.lifecycle(cb)
        self.assertTrue(self.rcv.wait_for(lambda r: len(dedup(r)) >= 5, 10))
        self.assertTrue(rcv2.wait_for(lambda r: len(dedup(r)) >= 5, 10))
        time.sleep(0.5)
        pa, pb = dedup(self.rcv.requests), dedup(rcv2.requests)
        self.assertEqual({e["room_id"] for _, e in pa}, {ida})
        self.assertEqual({e["room_id"] for _, e in pb}, {idb})
        for req, ev in pa:
            self.assertValidDelivery(req, ev, a)
        for req, ev in pb:
            self.assertValidDelivery(req, ev, b)
            # signed with B's secret, not A's
            self.assertFalse(verify_signature(
                a["webhook_secret"], req["body"],
                req["headers"]["x-chorus-signature"]))

    def test_receiver_down_then_up(self):
        d, cust, c = self.start_with_customer()
        ws = ws_connect(d, token=cust["token"])  # commit-order oracle
        self.addCleanup(ws.close)
        self.rcv.down()
        t_down = time.monotonic()
        ids = [self.lifecycle(c) for _ in range(3)]
        oracle = [m for m in ws_drain(ws, 1.0) if "event" in m]
        self.assertEqual(len(oracle), 15, [m["event"] for m in oracle])
        self.assertEqual(self.rcv.requests, [])
        # keep it down 30 s, then up on the same port
        time.sleep(max(0.0, 30 - (time.monotonic() - t_down)))
        port = self.rcv.port
        self.rcv.up()
        self.assertEqual(self.rcv.port, port)
        t_up = time.monotonic()
        ok = self.rcv.wait_for(lambda r: len(dedup(r)) >= 15, 90)
        got = dedup(self.rcv.requests)
        self.assertTrue(ok, "only %d of 15 events within 90 s" % len(got))
        self.assertLess(time.monotonic() - t_up, 90)
        time.sleep(0.5)
        got = dedup(self.rcv.requests)
        evs = [e for _, e in got]
        self.assertEqual([e["id"] for e in evs], [m["id"] for m in oracle],
                         "not every event, or not in commit order")
        self.assertEqual(evs, oracle, "webhook and WebSocket bodies differ")
        for req, ev in got:
            self.assertValidDelivery(req, ev, cust)
        for cid in ids:
            self.assertLifecycle(evs, cid)
        # every request (duplicates too) is signed
        for r in self.rcv.requests:
            self.assertTrue(verify_signature(
                cust["webhook_secret"], r["body"],
                r["headers"].get("x-chorus-signature")))

    def test_retry_after_500(self):
        d, cust, c = self.start_with_customer()
        self.rcv.fail_next(3, 500)
        conf = c.create_conference(name="retry")
        ok = self.rcv.wait_for(lambda r: len(dedup(r)) >= 2, 20)
        self.assertTrue(ok, "event not retried after 500s: %r" %
                        [(r["status"], r["body"][:80])
                         for r in self.rcv.requests])
        reqs = self.rcv.requests
        first = reqs[0]["headers"]["x-chorus-event-id"]
        self.assertEqual([r["status"] for r in reqs[:4]],
                         [500, 500, 500, 200])
        # the same event, same body, four times; nothing overtook it
        for r in reqs[:4]:
            self.assertEqual(r["headers"]["x-chorus-event-id"], first)
            self.assertEqual(r["body"], reqs[0]["body"])
            self.assertTrue(verify_signature(
                cust["webhook_secret"], r["body"],
                r["headers"]["x-chorus-signature"]))
        pairs = dedup(reqs)
        self.assertEqual(pairs[0][1]["event"], "conference.created")
        self.assertEqual(pairs[0][1]["room_id"], conf["id"])
        self.assertEqual(pairs[1][1]["event"], "conference.updated")
        # back-off between attempts grows
        t = [r["time"] for r in reqs[:4]]
        gaps = [b - a for a, b in zip(t, t[1:])]
        self.assertGreater(gaps[0], 0.2, gaps)
        self.assertGreater(gaps[2], gaps[0], gaps)

    def test_other_error_statuses_retry(self):
        d, cust, c = self.start_with_customer()
        self.rcv.fail_next(1, 404)
        c.create_conference(name="x")
        ok = self.rcv.wait_for(lambda r: len(dedup(r)) >= 1, 10)
        self.assertTrue(ok)
        self.assertEqual([r["status"] for r in self.rcv.requests[:2]],
                         [404, 200])

    def test_delivery_resumes_after_restart(self):
        d, cust, c = self.start_with_customer()
        self.rcv.down()
        cid = self.lifecycle(c)
        c.close()
        self.assertEqual(d.stop(), 0)
        self.rcv.up()
        d.start()
        ok = self.rcv.wait_for(lambda r: len(dedup(r)) >= 5, 10)
        self.assertTrue(ok, "undelivered events lost across a restart: %d" %
                        len(dedup(self.rcv.requests)))
        time.sleep(0.5)
        pairs = dedup(self.rcv.requests)
        self.assertEqual(len(pairs), 5)
        for req, ev in pairs:
            self.assertValidDelivery(req, ev, cust)
        self.assertLifecycle([e for _, e in pairs], cid)
        # delivered ones are not sent again after another restart
        n = len(self.rcv.requests)
        self.assertEqual(d.stop(), 0)
        d.start()
        time.sleep(1.0)
        self.assertLessEqual(len(self.rcv.requests), n + 1,
                             "delivered events resent after restart")

    def test_receiver_that_never_answers(self):
        # accepts and reads, never answers: each POST is abandoned after
        # --webhook-timeout-ms and retried; SIGTERM is still prompt
        ls = socket.socket()
        ls.bind(("127.0.0.1", 0))
        ls.listen(16)
        self.addCleanup(ls.close)
        accepted = []

        def accept():
            while True:
                try:
                    s, _ = ls.accept()
                except OSError:
                    return
                accepted.append((time.monotonic(), s))
        threading.Thread(target=accept, daemon=True).start()
        d = self.start_daemon(args=["--webhook-timeout-ms", "500"])
        cust = customer_add(d.data_dir, "hang", "http://127.0.0.1:%d/h" %
                            ls.getsockname()[1])
        d.client(token=cust["token"]).create_conference(name="x")
        self.assertTrue(wait_until(lambda: len(accepted) >= 3, 8),
                        "no retry after a timed-out POST: %d" % len(accepted))
        t = [a for a, _ in accepted]
        self.assertGreater(t[1] - t[0], 0.5)  # timeout + back-off
        t0 = time.monotonic()
        self.assertEqual(d.stop(5), 0)
        self.assertLess(time.monotonic() - t0, 5)
        for _, s in accepted:
            s.close()

    def test_timeout_while_down_sends_end_events(self):
        # a conference whose timeout expires while the daemon is down is
        # terminated at start, and its end events are delivered
        d, cust, c = self.start_with_customer()
        conf = c.create_conference(name="t", timeout=2)
        c.wait_status(conf["id"], "progressing", 2)
        self.assertTrue(self.rcv.wait_for(lambda r: len(dedup(r)) >= 2, 10))
        c.close()
        d.kill()
        time.sleep(2.5)
        d.start()
        ok = self.rcv.wait_for(lambda r: len(dedup(r)) >= 5, 10)
        self.assertTrue(ok, [e["event"] for _, e in
                             dedup(self.rcv.requests)])
        pairs = dedup(self.rcv.requests)
        for req, ev in pairs:
            self.assertValidDelivery(req, ev, cust)
        self.assertLifecycle([e for _, e in pairs], conf["id"])


if __name__ == "__main__":
    main()
