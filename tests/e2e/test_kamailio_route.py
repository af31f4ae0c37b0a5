"""
test_kamailio_route.py: phones reach a conference through the Kamailio
proxy of deploy/kamailio/kamailio.cfg. One real chorusd (SIP on
127.0.0.1); a python HTTP server plays the cluster's lookup
(GET /v1.0/cluster/sip_route?user=..., answers sip:<chorusd's SIP
address>) and records every query; kamailio listens on 127.0.0.10:5062
with ROUTE_URL pointing there (run with WITH_DEBUG: it logs every request
it handles).

Case 1: two baresip phones (440 and 660 Hz tones) dial
sip:{conference_id}@127.0.0.10:5062; both are joined (the API lists two
joined participants), each hears the other's tone and not its own, the
lookup saw the conference id as user (once per call) and nothing else;
their hang-up ends the calls: the participants leave with reason hangup
and the proxy's log shows it relayed each phone's BYE (record-route:
in-dialog requests pass the proxy).
Case 2: a kick (DELETE /conferencecalls/{id}) sends chorusd's BYE to the
phone through the proxy too.
Case 3: what the proxy refuses without asking the lookup: a baresip dial
to sip:bad%20user@proxy and a raw INVITE whose user holds a quote get
404; a MESSAGE gets 403; an OPTIONS gets 200. When the lookup is down a
valid id gets 503.

Fails (does not skip) when kamailio is not installed.
"""
import http.server
import os
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, raw_sip, wait_until  # noqa: E402
import kamailio  # noqa: E402

PROXY_IP, PROXY_PORT = "127.0.0.10", 5062
SECONDS = 6  # both phones talk this long


# ---------------------------------------------------------------- lookup

class _LookupHandler(http.server.BaseHTTPRequestHandler):
    """GET /v1.0/cluster/sip_route?user=U: 200 and server.answer (the one
    node there is), every query recorded in server.queries."""

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        with self.server.lock:
            self.server.queries.append({"path": u.path, "query": q,
                                        "raw": self.path})
        if u.path != "/v1.0/cluster/sip_route" or "user" not in q:
            self.send_error(404)
            return
        body = (self.server.answer + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class LookupServer:
    """The lookup on 127.0.0.1, an ephemeral port, in a thread."""

    def __init__(self, answer):
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                   _LookupHandler)
        self.srv.daemon_threads = True
        self.srv.answer = answer
        self.srv.queries = []
        self.srv.lock = threading.Lock()
        self.closed = False
        self.url = "http://127.0.0.1:%d/v1.0/cluster/sip_route" % \
            self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever,
                                       daemon=True)
        self.thread.start()

    def queries(self):
        with self.srv.lock:
            return list(self.srv.queries)

    def users(self):
        return [q["query"].get("user") for q in self.queries()]

    def close(self):
        """Stops serving (the port is closed: a query is refused); the
        queries stay readable."""
        if not self.closed:
            self.closed = True
            self.srv.shutdown()
            self.srv.server_close()


# ---------------------------------------------------------------- raw SIP

def raw_request(method, user, timeout=3):
    """One request for sip:user@proxy over UDP: the final status or None."""
    return raw_sip(method, user, PROXY_IP, PROXY_PORT, timeout)[0]


# ---------------------------------------------------------------- tests

class KamailioRouteTest(kamailio.ProxyCase, SipTestCase):

    def setUp(self):
        kamailio.require_kamailio()  # a failure, not a skip
        super().setUp()

    def report_failure(self):
        super().report_failure()
        self.report_proxy()
        if getattr(self, "lookup", None) is not None:
            sys.stderr.write("---- lookup queries ----\n%r\n" %
                             self.lookup.queries())

    def start_all(self):
        """chorusd, the lookup answering its SIP address, the proxy."""
        self.start_sip_daemon()
        self.lookup = LookupServer("sip:127.0.0.1:%d" % self.d.sip_port)
        self.addCleanup(self.lookup.close)
        self.start_proxy(PROXY_IP, PROXY_PORT, self.lookup.url,
                         defines=["WITH_DEBUG"])

    def proxy_uri(self, user):
        return "sip:%s@%s:%d" % (user, PROXY_IP, PROXY_PORT)

    def proxy_log_lines(self, needle):
        return [ln for ln in self.kam.log().splitlines() if needle in ln]

    def assertProxied(self, method, source, timeout=5):
        """The proxy logged (WITH_DEBUG) a method request from source."""
        needle = "%s sip:" % method
        tail = " from %s " % source

        def find():
            return [ln for ln in self.proxy_log_lines(needle) if tail in ln]
        lines = wait_until(find, timeout, 0.1)
        self.assertTrue(lines, "the proxy relayed no %s from %s; its log:\n"
                        "%s" % (method, source, self.kam.log()[-3000:]))
        return lines

    def test_two_phones_through_proxy(self):
        self.start_all()
        conf = self.api.create_conference(name="via-kamailio")
        cid = conf["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice = self.phone("alice", 440)
        bob = self.phone("bob", 660)

        for ph in (alice, bob):
            ph.dial(self.proxy_uri(cid))
        parts = []
        for ph in (alice, bob):
            e = ph.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
            self.assertTrue(e and e["type"] == "CALL_ESTABLISHED",
                            "%s: call through the proxy not established: %r"
                            % (ph.name, e))
            parts.append(self.wait_participant(cid, "joined", 10,
                                               caller_id=ph.name))
        t_all = time.monotonic()

        # the API: both joined, one conference
        joined = [p for p in self.participants(cid)
                  if p["status"] == "joined"]
        self.assertEqual(sorted(p["caller_id"] for p in joined),
                         ["alice", "bob"], joined)
        self.assertEqual(sorted(self.api.conference(cid)
                                ["conferencecall_ids"]),
                         sorted(p["id"] for p in parts))

        # the lookup: the conference id, once per call, and nothing else
        self.assertEqual(self.lookup.users(), [[cid], [cid]],
                         self.lookup.queries())
        for q in self.lookup.queries():
            self.assertEqual(q["path"], "/v1.0/cluster/sip_route", q)
            self.assertEqual(q["raw"], "/v1.0/cluster/sip_route?user=" +
                             cid, q)

        time.sleep(max(0.0, t_all + SECONDS - time.monotonic()))
        t_end = time.monotonic()
        for ph in (alice, bob):
            ph.hangup()
        for ph in (alice, bob):
            self.assertIsNotNone(ph.wait_event("CALL_CLOSED", 5),
                                 "%s: hangup did not close" % ph.name)

        # chorusd got each BYE (reason hangup)...
        for part in parts:
            p = self.wait_participant(cid, "leaved", 10,
                                      reference_id=part["reference_id"])
            self.assertEqual(p["leave_reason"], "hangup", p)
        self.assertEqual(self.api.conference(cid)["conferencecall_ids"], [])
        # ...through the proxy: Record-Route put it in the route set
        # (WITH_DEBUG logs "BYE <R-URI> from <source>")
        for ph in (alice, bob):
            self.assertProxied("BYE", "127.0.0.1:%d" % ph.sip_port)
        acks = self.proxy_log_lines("ACK sip:")
        self.assertGreaterEqual(len(acks), 2, "the ACKs passed the proxy")

        for ph in (alice, bob):
            ph.quit()
        # what each heard: the other's tone, not its own
        self.assertHeard(alice, t_all + 1.5, t_end - 0.5, [660], [440],
                         "through the proxy")
        self.assertHeard(bob, t_all + 1.5, t_end - 0.5, [440], [660],
                         "through the proxy")

    def test_kick_through_proxy(self):
        """chorusd's BYE (a kick) reaches the phone through the proxy: the
        node learnt the route set from the Record-Route too."""
        self.start_all()
        cid = self.api.create_conference(name="kick")["id"]
        alice = self.phone("alice", 440)
        alice.dial(self.proxy_uri(cid))
        e = alice.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_ESTABLISHED", e)
        pa = self.wait_participant(cid, "joined", 10, caller_id="alice")
        self.assertEqual(self.lookup.users(), [[cid]])
        time.sleep(1)
        r = self.api.delete("/conferencecalls/" + pa["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 5),
                             "alice: the kick's BYE did not arrive")
        self.assertProxied("BYE", "127.0.0.1:%d" % self.d.sip_port)
        p = self.wait_participant(cid, "leaved", 10, caller_id="alice")
        self.assertEqual(p["leave_reason"], "removed", p)

    def test_refusals(self):
        self.start_all()
        conf = self.api.create_conference(name="refusals")
        cid = conf["id"]

        # a user that is not a plain token: 404 from the proxy itself
        carol = self.phone("carol", 880)
        carol.dial(self.proxy_uri("bad%20user"))
        e = carol.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_CLOSED", e)
        self.assertIn("404", e.get("param", ""), e)
        self.assertEqual(raw_request("INVITE", cid[:8] + "'" + cid[9:]),
                         404)
        self.assertEqual(raw_request("INVITE", "x" * 65), 404)
        # a request that is neither INVITE nor OPTIONS: 403
        self.assertEqual(raw_request("MESSAGE", cid), 403)
        # OPTIONS to the proxy itself: 200
        self.assertEqual(kamailio.options_ping(PROXY_IP, PROXY_PORT), 200)
        self.assertEqual(self.lookup.queries(), [],
                         "the lookup must not see refused users")
        self.assertEqual(self.participants(cid), [])

        # the lookup down: 503 for a valid id
        self.lookup.close()
        self.assertEqual(raw_request("INVITE", cid, timeout=8), 503)


if __name__ == "__main__":
    main()
