"""
test_route_failures.py: the failure path of every API route, against a real
chorusd with SIP and real participants (baresip).

The route table is read from src/api/api.c: a route that this file has no
failure case for fails the test, so a new route cannot land without one.

Customer A drives the API; customer B owns a progressing conference with a
joined participant (a phone in it). For each route the cases are: an unknown
id (404), B's id (404: another tenant's resource is never revealed), a
hostile string in the path (404, never a crash), a wrong state (409: PUT of
a terminated conference, kick/mute/unmute of a participant that left, hang-up
of a hung-up call, dial-out into an unknown, foreign or terminated
conference), bad query or body fields (400 naming the field), a missing or
bad token (401); a route not built yet would have to answer 501 with a JSON
error (none is left).
After all of them nothing changed: B's conference, participant and call are
as they were, A's lists hold what they held, and chorusd is still alive.
"""
import os
import subprocess
import re
import sys
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, customer_add, main, wait_until  # noqa

SRC = os.environ.get("CHORUS_SRC",
                     os.path.join(os.path.dirname(__file__), "..", ".."))
HOSTILE = ["..%2F..%2Fetc%2Fpasswd", "%27%3B%20DROP%20TABLE%20conferences",
           "%00", "x" * 2000, "%E2%80%AE%0D%0ASet-Cookie:x",
           str(uuidlib.uuid4()).upper()]


def route_table():
    """(method, path) of every route in src/api/api.c's table."""
    with open(os.path.join(SRC, "src", "api", "api.c")) as f:
        text = f.read()
    return set(re.findall(r'\{"(GET|POST|PUT|DELETE|PATCH)",\s*"([^"]+)"',
                          text))


class RouteFailureTest(SipTestCase):

    def setUp(self):
        super().setUp()
        self.start_sip_daemon()
        self.other = customer_add(self.d.data_dir, "tenant-b")
        self.b = self.d.client(token=self.other["token"])
        # A: a progressing conference, and one that is terminated
        self.conf_a = self.api.create_conference(name="a")["id"]
        self.conf_t = self.api.create_conference(name="t")["id"]
        for c in (self.conf_a, self.conf_t):
            self.assertIsNotNone(self.api.wait_status(c, "progressing", 5))
        self.assertEqual(self.api.delete("/conferences/" + self.conf_t).status,
                         200)
        self.assertIsNotNone(self.api.wait_status(self.conf_t, "terminated",
                                                  5))
        # A: a participant that has left, and its hung-up call
        alice = self.phone("alice", 440)
        self.left = self.join(self.conf_a, alice)[0]
        alice.hangup()
        self.wait_participant(self.conf_a, "leaved", 10, caller_id="alice")
        self.assertTrue(wait_until(lambda: self.api.get(
            "/calls/" + self.left["reference_id"]).json["status"] == "hangup",
            5))
        # B: a progressing conference with a joined participant
        r = self.b.post("/conferences", {"type": "conference", "name": "b"})
        self.assertEqual(r.status, 200, r)
        self.conf_b = r.json["id"]
        self.assertTrue(wait_until(lambda: self.b.get(
            "/conferences/" + self.conf_b).json["status"] == "progressing",
            5))
        bob = self.phone("bob", 660)
        bob.dial(self.conf_uri(self.conf_b))
        e = bob.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        self.assertTrue(e and e["type"] == "CALL_ESTABLISHED", e)
        self.part_b = wait_until(lambda: next(
            (p for p in self.b.get("/conferencecalls").json["result"]
             if p["status"] == "joined"), None), 10, 0.1)
        self.assertTrue(self.part_b, "B's participant never joined")
        self.call_b = self.part_b["reference_id"]

    # ---- what must not change
    def snapshot(self):
        def strip(o):
            o = dict(o)
            o.pop("stats", None)  # live counters move on their own
            o.pop("quality", None)  # so do the live quality figures
            return o
        return {
            "conf_b": self.b.get("/conferences/" + self.conf_b).json,
            "part_b": strip(self.b.get("/conferencecalls/" +
                                       self.part_b["id"]).json),
            "call_b": self.b.get("/calls/" + self.call_b).json,
            "confs_a": [c["id"] for c in self.api.list_all()],
            "calls_a": [c["id"] for c in self.api.get(
                "/calls", query={"page_size": "100"}).json["result"]],
            "calls_b": [c["id"] for c in self.b.get(
                "/calls", query={"page_size": "100"}).json["result"]],
            "conf_t": self.api.get("/conferences/" + self.conf_t).json,
            "conf_a": self.api.get("/conferences/" + self.conf_a).json,
            "recs_a": self.api.get("/recordings").json,
            "left": strip(self.api.get("/conferencecalls/" +
                                       self.left["id"]).json),
        }

    # ---- the cases, per route
    def ids(self, kind):
        """Unknown, another tenant's and hostile ids for a resource kind."""
        foreign = {"conferences": self.conf_b,
                   "conferencecalls": self.part_b["id"],
                   "calls": self.call_b,
                   # a SIP call of B: no WebRTC session of A's either
                   "webrtc": self.call_b,
                   "recordings": None, "transcribes": None}[kind]
        out = [str(uuidlib.uuid4())] + HOSTILE
        if foreign:
            out.append(foreign)
        return out

    def expect(self, method, path, status, body=None, field=None, **kw):
        r = self.api.request(method, path, body=body, **kw)
        self.assertError(r, status, field=field)
        self.assertTrue(self.d.alive(), "chorusd died on %s %s" %
                        (method, path))
        self.checked.add((method, self.route))
        return r

    def id_route(self, method, route, body=None, status=404):
        kind = route.split("/")[1]
        self.route = route
        for i in self.ids(kind):
            self.expect(method, route.replace("{id}", i), status,
                        body=body)

    def test_every_route_fails_cleanly(self):
        self.checked = set()
        before = self.snapshot()
        dial = {"source": {"type": "sip", "target": "sip:a@127.0.0.1"},
                "destinations": [{"type": "sip",
                                  "target": "sip:x@127.0.0.1:9"}]}

        def join(conf):
            return dict(dial, actions=[{"type": "conference_join",
                                        "option": {"conference_id": conf}}])

        # unknown / foreign / hostile ids on every {id} route
        # (a valid body where the route takes one: the id is what fails)
        play = {"urls": ["http://127.0.0.1:9/a.wav"]}
        bodies = {"/conferences/{id}/play": play,
                  "/conferences/{id}/volume": {"volume": -3},
                  "/conferences/{id}/transcribe_start": {"language": "en-US"},
                  "/conferencecalls/{id}/play": play,
                  "/conferencecalls/{id}/talk": {"text": "hello"}}
        for m, route in sorted(route_table()):
            if "{id}" in route and not self.not_built(m, route):
                body = {"name": "x"} if m == "PUT" else bodies.get(route)
                self.id_route(m, route, body=body)

        # recording and playback: wrong state and bad fields, 409/400
        conf = "/conferences/"
        for verb, body in (("recording_start", None),
                           ("recording_stop", None), ("play", play),
                           ("pause", None), ("stop", None),
                           ("volume", {"volume": 0}),
                           ("transcribe_start", {"language": "en-US"}),
                           ("transcribe_stop", None)):
            self.route = "/conferences/{id}/" + verb
            self.expect("POST", conf + self.conf_t + "/" + verb, 409, body)
        for verb in ("recording_stop", "pause", "stop", "transcribe_stop"):
            # nothing recording or playing in the live conference
            self.route = "/conferences/{id}/" + verb
            self.expect("POST", conf + self.conf_a + "/" + verb, 409)
        self.route = "/conferences/{id}/recording_start"
        for body, field in (({"format": "mp3"}, "format"),
                            ({"tracks": "yes"}, "tracks"),
                            ({"formta": "wav"}, "formta")):
            self.expect("POST", conf + self.conf_a + "/recording_start",
                        400, body, field=field)
        self.route = "/conferences/{id}/transcribe_start"
        for body, field in (({}, "language"), ({"language": 7}, "language"),
                            ({"language": "tlh"}, "language"),
                            ({"language": "en-US\r\nX: y"}, "language"),
                            ({"language": "en-US", "engine": "x"}, "engine"),
                            ({"language": "en-US", "mode": 1}, "mode")):
            self.expect("POST", conf + self.conf_a + "/transcribe_start",
                        400, body, field=field)
        self.route = "/conferences/{id}/play"
        for urls in ([], ["file:///etc/passwd"], ["ftp://x/a.wav"],
                     ["http://a b/c.wav"], ["http://x/\r\nX: y"], "x", [7]):
            self.expect("POST", conf + self.conf_a + "/play", 400,
                        {"urls": urls}, field="urls")
        self.route = "/conferences/{id}/volume"
        for v in (8, -51, "loud", 1.5, None):
            self.expect("POST", conf + self.conf_a + "/volume", 400,
                        {"volume": v}, field="volume")
        # a participant that has left takes no prompt; bad prompt bodies
        left = "/conferencecalls/" + self.left["id"]
        self.route = "/conferencecalls/{id}/play"
        self.expect("POST", left + "/play", 409, play)
        self.expect("POST", left + "/play", 400,
                    {"urls": ["file:///etc/shadow"]}, field="urls")
        self.route = "/conferencecalls/{id}/talk"
        self.expect("POST", left + "/talk", 409, {"text": "hi"})
        for body, field in (({"text": ""}, "text"),
                            ({"text": "hi", "language": "xx-XX"},
                             "language"),
                            ({"text": "x" * 5000}, "text")):
            self.expect("POST", left + "/talk", 400, body, field=field)
        # and a conference whose actions are bad is refused
        self.route = "/conferences"
        for acts, field in (([{"type": "dance"}], "pre_actions[0]"),
                            ([{"type": "beep"}, {"type": "talk"}],
                             "pre_actions[1]"),
                            ([{"type": "talk", "option": {
                                "text": "a", "language": "tlh"}}],
                             "pre_actions[0]")):
            self.expect("POST", "/conferences", 400,
                        {"type": "conference", "pre_actions": acts},
                        field=field)

        # WebRTC: a terminated conference, bad offers and names, a SIP
        # call is no WebRTC session; join tokens
        with open(os.path.join(SRC, "tests", "fuzz", "corpus", "webrtc_sdp",
                               "chromium.sdp"), "rb") as f:
            offer = f.read()
        sdp = {"Content-Type": "application/sdp"}
        self.route = "/conferences/{id}/webrtc"
        self.expect("POST", conf + self.conf_t + "/webrtc", 409, raw=offer,
                    headers=sdp)
        for bad in (b"", b"v=1\r\n", offer.replace(b"a=rtcp-mux\r\n", b""),
                    offer.replace(b"sha-256", b"sha-1"),
                    b"v=0\r\n" + b"a=x\r\n" * 3000, b"\x00" * 64):
            self.expect("POST", conf + self.conf_a + "/webrtc", 400,
                        raw=bad, headers=sdp,
                        field="body" if bad else None)
        self.expect("POST", conf + self.conf_a + "/webrtc", 415, raw=offer,
                    headers={"Content-Type": "application/json"},
                    field="Content-Type")
        for name in ("<script>", "a\r\nVia: x", "x" * 65):
            self.expect("POST", conf + self.conf_a + "/webrtc", 400,
                        raw=offer, headers=sdp, query={"name": name},
                        field="name")
        self.route = "/webrtc/{id}"
        self.expect("DELETE", "/webrtc/" + self.left["reference_id"], 404)
        self.route = "/conferences/{id}/join_tokens"
        self.expect("POST", conf + self.conf_t + "/join_tokens", 409)
        for ttl in (9, 86401, "600", 1.5):
            self.expect("POST", conf + self.conf_a + "/join_tokens", 400,
                        {"ttl_seconds": ttl}, field="ttl_seconds")
        self.expect("POST", conf + self.conf_a + "/join_tokens", 400,
                    {"ttl": 60}, field="ttl")

        # wrong state: 409 and nothing changes
        self.route = "/conferences/{id}"
        self.expect("PUT", "/conferences/" + self.conf_t, 409,
                    {"name": "late"})
        self.route = "/conferencecalls/{id}"
        self.expect("DELETE", "/conferencecalls/" + self.left["id"], 409)
        for verb in ("mute", "unmute"):
            self.route = "/conferencecalls/{id}/" + verb
            self.expect("POST", "/conferencecalls/%s/%s" %
                        (self.left["id"], verb), 409)
        self.route = "/calls/{id}"
        self.expect("DELETE", "/calls/" + self.left["reference_id"], 409)

        # dial-out into an unknown, another tenant's, a terminated
        # conference: 404 / 404 / 409 (it used to crash chorusd)
        self.route = "/calls"
        self.expect("POST", "/calls", 404, join(str(uuidlib.uuid4())),
                    field="actions")
        self.expect("POST", "/calls", 404, join(self.conf_b),
                    field="actions")
        self.expect("POST", "/calls", 409, join(self.conf_t),
                    field="actions")
        self.expect("POST", "/calls", 400, dict(dial, actions=[]),
                    field="actions")
        self.expect("POST", "/calls", 400,
                    dict(join(self.conf_a), destinations=[]),
                    field="destinations")

        # bad fields on create and update; read-only and unknown fields
        self.route = "/conferences"
        self.expect("POST", "/conferences", 400, {"type": "party"},
                    field="type")
        self.expect("POST", "/conferences", 400,
                    {"type": "conference", "status": "terminated"},
                    field="status")
        self.route = "/conferences/{id}"
        for f, v in (("status", "terminated"), ("id", str(uuidlib.uuid4())),
                     ("tm_create", "2020-01-01 00:00:00.000000"),
                     ("recording_id", str(uuidlib.uuid4())),
                     ("customer_id", self.other["customer_id"]),
                     ("end_reason", "timeout"), ("nmae", "typo"),
                     ("type", "connect"), ("timeout", -1),
                     ("max_participants", "ten")):
            self.expect("PUT", "/conferences/" + self.conf_a, 400,
                        {f: v}, field=f)

        # lists: bad paging and filters
        for route in ("/conferences", "/conferencecalls", "/calls",
                      "/recordings", "/transcribes"):
            self.route = route
            for q in ({"page_size": "0"}, {"page_size": "-5"},
                      {"page_size": "ten"}, {"page_token": "yesterday"}):
                self.expect("GET", route, 400, query=q)
        self.route = "/conferencecalls"
        self.expect("GET", "/conferencecalls", 400,
                    query={"conference_id": "'; DROP TABLE x"},
                    field="conference_id")
        self.route = "/recordings"
        self.expect("GET", "/recordings", 400,
                    query={"reference_id": "'; DROP TABLE x"},
                    field="reference_id")
        self.route = "/transcribes"
        self.expect("GET", "/transcribes", 400,
                    query={"reference_id": "'; DROP TABLE x"},
                    field="reference_id")
        # transcripts: transcribe_id missing, hostile, unknown; bad paging
        self.route = "/transcripts"
        self.expect("GET", "/transcripts", 400, field="transcribe_id")
        for t in ("", "'; DROP TABLE transcripts", "\x00", "x" * 2000,
                  str(uuidlib.uuid4()) + "\x00x"):
            self.expect("GET", "/transcripts", 400,
                        query={"transcribe_id": t}, field="transcribe_id")
        self.expect("GET", "/transcripts", 404,
                    query={"transcribe_id": str(uuidlib.uuid4())})
        for q in ({"page_size": "0"}, {"page_token": "yesterday"},
                  {"page_token": "5_" + "x" * 36}):
            q["transcribe_id"] = str(uuidlib.uuid4())
            self.expect("GET", "/transcripts", 400, query=q,
                        field=[k for k in q if k != "transcribe_id"][0])
        r = self.api.get("/conferencecalls",
                         query={"conference_id": self.conf_b})
        self.assertEqual((r.status, r.json["result"]), (200, []),
                         "B's participants are visible to A: %r" % r)

        # the WebSocket without a token or with a bad one; health by POST
        self.route = "/ws"
        self.expect("GET", "/ws", 401, token=None)
        self.expect("GET", "/ws", 401, token="not-a-token")
        self.route = "/health"
        r = self.api.request("POST", "/health", body={})
        self.assertError(r, 405)
        self.checked.add(("GET", "/health"))
        # the OpenAPI document takes GET only
        self.route = "/openapi.json"
        self.assertError(self.api.request("POST", "/openapi.json", body={}),
                         405)
        self.checked.add(("GET", "/openapi.json"))
        # the cluster's SIP route on a single node: 404 not_found (this
        # chorusd is no cluster); hostile users are 400 either way only on a
        # cluster node (e2e.test_cluster), here the 404 comes first
        self.route = "/cluster/sip_route"
        for user in ("0d3c5f3e-0000-4000-8000-000000000000", "a'b", ""):
            self.expect("GET", "/cluster/sip_route", 404,
                        query={"user": user}, token=None)
        self.assertError(self.api.request("POST", "/cluster/sip_route",
                                          body={}), 405)
        # /metrics is at the root: a token is needed, a hostile one is 401
        self.route = "/metrics"
        root = "http://%s:%d/metrics" % (self.d.host, self.d.port)
        for hdr in ([], ["-H", "Authorization: Bearer not-a-token"],
                    ["-H", "Authorization: Bearer \u00ff'\";--"]):
            out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                                  "%{http_code}"] + hdr + [root],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.stdout, "401", (hdr, out))
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w",
                              "%{http_code}", "-X", "POST", "-H",
                              "Authorization: Bearer " + self.api.token, root],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.stdout, "405", out)
        self.checked.add(("GET", "/metrics"))

        # routes not built yet answer 501 with a JSON error
        for m, route in sorted(route_table()):
            if self.not_built(m, route):
                self.route = route
                path = route.replace("{id}", self.conf_a)
                self.expect(m, path, 501, body={} if m == "POST" else None)

        after = self.snapshot()
        for k in before:
            self.assertEqual(before[k], after[k], "%s changed" % k)
        missing = sorted(route_table() - self.checked)
        self.assertFalse(missing, "routes without a failure case: %r" %
                         missing)

    def not_built(self, method, route):
        # an unknown id: a built route answers 404 (or 400) and changes
        # nothing, one not built yet 501
        r = self.api.request(method, route.replace(
            "{id}", str(uuidlib.uuid4())),
            body={} if method == "POST" else None)
        return r.status == 501


if __name__ == "__main__":
    main()
