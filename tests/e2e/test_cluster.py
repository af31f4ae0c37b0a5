"""
test_cluster.py: three chorusd nodes on one PostgreSQL and one
nats-server, each on its own loopback address (127.0.0.31-33), with the
Kamailio proxy of deploy/kamailio/ in front (127.0.0.30:5064), all
started here (docs/cluster.md).

One scenario, in order:
- the customer is made with `chorusd customer add --store postgres://`;
- a conference created through node A is readable through B and C (the
  same row), and its summary names A as mixer_region;
- a WebSocket client on B is connected before anything happens;
- two baresip phones dial sip:{conference_id}@proxy: Kamailio asks B's
  GET /v1.0/cluster/sip_route (B is not the owner), and both calls land
  on A (their owner row in the store is A) and hear each other, not
  themselves;
- B's WebSocket got both participants' conference.member.joined events,
  made on A;
- a phone dialling B directly is answered 302 with a Contact on A; a
  dial-out asked of C (POST /calls joining the conference) is made by A,
  and its hang-up asked of B reaches A;
- a kick sent to C (DELETE /conferencecalls/{id}) acts on A's room: the
  phone gets a BYE, the participant leaves `removed`;
- kill -9 of A: within 15 s a surviving node ends the conference
  (terminated, end_reason mixer_failed, the remaining participant
  leaved/orphan); B's WebSocket sees it; every event of the customer's
  outbox reaches the webhook (A held the webhook lease: another node takes
  it over), none lost, none sent twice beyond the one A may have had in
  flight (receivers de-duplicate by id).
Failure paths: an action on the dead node's conference before it is
ended answers 503 or acts on a terminated row, never hangs; another
tenant's kick through C is refused 404 like on one node; a hostile user
to sip_route gets 400.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, raw_sip, wait_until  # noqa: E402
from chorus_harness import (ws_connect, ws_recv_json, Client,  # noqa: E402
                            customer_add)
import cluster_harness as ch  # noqa: E402
import kamailio  # noqa: E402

PROXY_IP, PROXY_PORT = "127.0.0.30", 5064
IPS = {"A": "127.0.0.31", "B": "127.0.0.32", "C": "127.0.0.33"}
SECONDS = 6


class ClusterTest(kamailio.ProxyCase, SipTestCase):

    def setUp(self):
        ch.require_cluster_tools()
        kamailio.require_kamailio()
        super().setUp()
        self.pg = ch.Postgres()
        self.addCleanup(self.pg.stop)
        self.nats = ch.Nats(self.workdir)
        self.addCleanup(self.nats.stop)

    def report_failure(self):
        super().report_failure()
        for n in getattr(self, "nodes", {}).values():
            sys.stderr.write("\n---- node %s stderr ----\n%s\n" % (
                n.name, n.stderr()[-5000:]))
        self.report_proxy(4000)

    def start_nodes(self):
        self.nodes = {}
        for name in ("A", "B", "C"):
            b = self.block()
            d = ch.node(self.workdir, name, IPS[name], self.pg.url,
                        self.nats.url, "%d-%d" % (b.base + 10, b.base + 90))
            self.daemons.append(d)
            d.start()
            self.nodes[name] = d
        # one customer for all, made in the shared store by the CLI
        self.cust = customer_add(None, "cluster-e2e", self.rcv.url,
                                 store=self.pg.url)
        self.other = customer_add(None, "other-tenant", store=self.pg.url)
        for d in self.nodes.values():
            d.token = self.cust["token"]
        self.api = self.nodes["A"].client(token=self.cust["token"])
        self.b = self.nodes["B"].client(token=self.cust["token"])
        self.c = self.nodes["C"].client(token=self.cust["token"])

        def all_alive():
            rows = self.pg.sql("SELECT name FROM nodes WHERE status ="
                               " 'alive'")
            return len(rows) == 3
        self.assertTrue(wait_until(all_alive, 10), self.pg.sql(
            "SELECT * FROM nodes"))

    def owner(self, rid):
        rows = self.pg.sql("SELECT node FROM owners WHERE id = '%s'" % rid)
        return rows[0][0] if rows else None

    def delivered_ids(self):
        """Ids of the events the webhook answered 2xx to, with repeats."""
        return [e["id"] for e in self.rcv.events()]

    def outbox_ids(self):
        return {r[0] for r in self.pg.sql(
            "SELECT id FROM events WHERE customer_id = '%s'" %
            self.cust["customer_id"])}

    def test_three_nodes(self):
        self.start_nodes()
        A, B, C = self.nodes["A"], self.nodes["B"], self.nodes["C"]
        ws = ws_connect(B, token=self.cust["token"])
        self.addCleanup(ws.close)

        # created through A, read through B and C
        conf = self.api.create_conference(name="cluster")
        cid = conf["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        self.assertEqual(self.owner(cid), "A")
        for cl in (self.b, self.c):
            r = cl.get("/conferences/" + cid)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["id"], cid)
            self.assertEqual(r.json["name"], "cluster")
        r = self.c.get("/conferences/%s/summary" % cid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["mixer_region"], "A", r.json)
        # another tenant sees nothing of it on any node
        stranger = Client(C.host, C.port, self.other["token"])
        self.addCleanup(stranger.close)
        self.assertEqual(stranger.get("/conferences/" + cid).status, 404)

        # the route Kamailio asks, through a node that is not the owner
        r = self.b.request("GET", "/cluster/sip_route",
                           query={"user": cid}, token=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body.decode().strip(), "sip:%s:5060" % IPS["A"])
        r = self.b.request("GET", "/cluster/sip_route",
                           query={"user": "a'b\"c"}, token=None)
        self.assertEqual(r.status, 400, r)

        self.start_proxy(PROXY_IP, PROXY_PORT,
                         "http://%s:8080/v1.0/cluster/sip_route" % IPS["B"])
        alice = self.phone("alice", 440)
        bob = self.phone("bob", 660)
        for ph in (alice, bob):
            ph.dial("sip:%s@%s:%d" % (cid, PROXY_IP, PROXY_PORT))
        parts = {}
        for ph in (alice, bob):
            e = ph.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
            self.assertTrue(e and e["type"] == "CALL_ESTABLISHED",
                            "%s: %r" % (ph.name, e))
            parts[ph.name] = self.wait_participant(cid, "joined", 10,
                                                   caller_id=ph.name)
        t_all = time.monotonic()
        # both calls landed on A
        for p in parts.values():
            self.assertEqual(self.owner(p["reference_id"]), "A", p)

        # a phone that dials B itself is sent to A (302), not mixed on B
        code, contact = raw_sip("INVITE", cid, IPS["B"], 5060)
        self.assertEqual((code, contact),
                         (302, "<sip:%s@%s:5060>" % (cid, IPS["A"])))
        # a dial-out asked of C is made by A, the room's node
        carol = self.phone("carol", 880, answermode="auto")
        r = self.c.post("/calls", {
            "source": {"type": "sip", "target": "sip:chorus@127.0.0.1"},
            "destinations": [{"type": "sip", "target": carol.aor}],
            "actions": [{"type": "conference_join", "option": {
                "conference_id": cid}}]})
        self.assertEqual(r.status, 200, r)
        carol_call = r.json["calls"][0]["id"]
        self.assertEqual(self.owner(carol_call), "A")
        e = carol.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_ESTABLISHED", e)
        self.wait_participant(cid, "joined", 10, reference_id=carol_call)
        r = self.b.delete("/calls/" + carol_call)
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(carol.wait_event("CALL_CLOSED", 5),
                             "the hang-up through B did not reach A")
        carol.quit()

        # B's WebSocket saw A's events
        joined, seen = set(), []
        end = time.monotonic() + 5
        while time.monotonic() < end and len(joined) < 3:
            m = ws_recv_json(ws, 0.5)
            if m:
                seen.append(m.get("event"))
            if m and m.get("event") == "conference.member.joined" and \
                    m.get("room_id") == cid:
                joined.add(m.get("id"))
        self.assertEqual(len(joined), 3,  # alice, bob, carol
                         "B's WebSocket saw %r joined of %r" % (joined,
                                                                seen))

        time.sleep(max(0.0, t_all + SECONDS - time.monotonic()))
        t_end = time.monotonic()

        # a kick sent to C acts on A's room; another tenant's is refused
        r = stranger.delete("/conferencecalls/" + parts["alice"]["id"])
        self.assertEqual(r.status, 404, r)
        # through a non-owner: another tenant's dial-out into the room,
        # unknown and hostile ids are refused as on one node
        r = stranger.post("/calls", {
            "source": {"type": "sip", "target": "sip:x@127.0.0.1"},
            "destinations": [{"type": "sip", "target": carol.aor}],
            "actions": [{"type": "conference_join", "option": {
                "conference_id": cid}}]})
        self.assertEqual(r.status, 404, r)
        unknown = "0d3c5f3e-0000-4000-8000-000000000000"
        for path in ("/conferences/" + unknown,
                     "/conferences/a'b%22c",
                     "/conferencecalls/" + unknown):
            r = self.b.request("PUT" if "conferences/" in path else
                               "DELETE", path, body={"name": "x"})
            self.assertEqual(r.status, 404, (path, r))
        r = self.c.delete("/conferencecalls/" + parts["alice"]["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 5),
                             "alice: the kick through C did not end her "
                             "call on A")
        p = self.wait_participant(cid, "leaved", 10, caller_id="alice")
        self.assertEqual(p["leave_reason"], "removed", p)
        alice.quit()
        self.assertHeard(alice, t_all + 1.5, t_end - 0.5, [660], [440],
                         "on node A")

        # the webhook had everything so far, from A (the lease holder)
        self.assertTrue(wait_until(
            lambda: self.outbox_ids() <= set(self.delivered_ids()), 10),
            "webhook missed events before the kill")
        held = self.pg.sql("SELECT holder FROM leases WHERE name ="
                           " 'webhooks'")
        self.assertEqual(held, [["A"]])

        # kill -9 of the owner
        t_kill = time.monotonic()
        A.kill()
        self.api = self.b  # the participant reads go through B now
        r = self.b.put("/conferences/" + cid, {"name": "late"})
        self.assertIn(r.status, (503, 504), r)

        def ended():
            r = self.b.get("/conferences/" + cid)
            return r.json if r.status == 200 and \
                r.json["status"] == "terminated" else None
        c_end = wait_until(ended, 15, 0.2)
        took = time.monotonic() - t_kill
        self.assertIsNotNone(c_end, "not ended 15 s after kill -9 of A")
        self.assertEqual(c_end["end_reason"], "mixer_failed", c_end)
        pb = self.participant(cid, caller_id="bob")
        self.assertEqual(pb["status"], "leaved", pb)
        self.assertEqual(pb["leave_reason"], "orphan", pb)
        calls = self.pg.sql("SELECT status, hangup_reason FROM calls WHERE"
                            " id = '%s'" % parts["bob"]["reference_id"])
        self.assertEqual(calls, [["hangup", "failed"]])
        reaper = self.pg.sql("SELECT status, reaped_by FROM nodes WHERE"
                             " name = 'A'")
        self.assertEqual(reaper[0][0], "dead")
        self.assertIn(reaper[0][1], ("B", "C"))
        # the reaper took the rows over: an action on the ended conference
        # through any node gets its state, not a 503 for the dead node
        self.assertEqual(self.owner(cid), reaper[0][1])
        for cl in (self.b, self.c):
            r = cl.put("/conferences/" + cid, {"name": "late"})
            self.assertEqual(r.status, 409, r)
        code, _ = raw_sip("INVITE", cid, IPS["B"], 5060)
        self.assertIn(code, (302, 480), "dial-in to the ended conference")
        sys.stderr.write("conference ended %.1f s after kill -9, by %s\n"
                         % (took, reaper[0][1]))

        # B's WebSocket saw the end, whoever ended it
        saw_end = False
        end = time.monotonic() + 5
        while time.monotonic() < end and not saw_end:
            m = ws_recv_json(ws, 0.5)
            saw_end = bool(m and m.get("room_id") == cid and
                           m.get("status") == "terminated")
        self.assertTrue(saw_end, "B's WebSocket did not see the end")

        # no event lost, none sent twice but what A had in flight
        ok = wait_until(
            lambda: self.outbox_ids() <= set(self.delivered_ids()), 15)
        got = self.delivered_ids()
        missing = self.outbox_ids() - set(got)
        self.assertTrue(ok and not missing,
                        "webhook lost %d events: %r" % (len(missing),
                                                        missing))
        dups = len(got) - len(set(got))
        self.assertLessEqual(dups, 1, "events sent twice: %d" % dups)
        held = self.pg.sql("SELECT holder FROM leases WHERE name ="
                           " 'webhooks'")
        self.assertIn(held[0][0], ("B", "C"))
        bob.quit()
        self.assertHeard(bob, t_all + 1.5, t_end - 0.5, [440], [660],
                         "on node A")


if __name__ == "__main__":
    main()
