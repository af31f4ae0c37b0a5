"""
test_conferences.py: the conference resource end to end against a real
chorusd: every field of API.md's conference on create, the status
lifecycle (starting -> progressing -> terminated), PUT (changes, immutable
type, 409 once terminated), DELETE (idempotent), type "connect", the
timeout that ends a conference by itself, list pagination (page_size,
page_token, newest first, no gaps) and the conferencecall routes with no
participants. One request goes through curl.
"""
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (NEVER, NIL_UUID, TS_RE, UUID_RE,  # noqa: E402
                            ChorusTestCase, curl, main, time, uuid)


def parse_ts(s):
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)


class ConferenceTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon()
        self.c = self.d.client()

    def assertTimestampNow(self, s, slack=120):
        self.assertRegex(s, TS_RE)
        t = parse_ts(s)
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertLess(abs((now - t).total_seconds()), slack,
                        "%s is not UTC now (%s)" % (s, now))

    def test_create_has_every_field(self):
        before = datetime.datetime.now(datetime.timezone.utc)
        r = self.c.post("/conferences", {"type": "conference",
                                         "name": "standup"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.headers["content-type"].startswith(
            "application/json"))
        c = r.json
        expected = {
            "customer_id": self.d.customer_id, "type": "conference",
            "status": "starting", "name": "standup", "detail": "",
            "data": {}, "timeout": 0, "pre_actions": [],
            "post_actions": [], "conferencecall_ids": [],
            "recording_id": NIL_UUID, "recording_ids": [],
            "transcribe_id": NIL_UUID, "transcribe_ids": [],
            "playback_status": "stopped", "max_participants": 0,
            "tm_delete": NEVER,
        }
        for k, v in expected.items():
            self.assertIn(k, c)
            self.assertEqual(c[k], v, "field %s" % k)
            self.assertIs(type(c[k]), type(v), "type of field %s" % k)
        self.assertRegex(c["id"], UUID_RE)
        self.assertNotEqual(c["id"], NIL_UUID)
        self.assertIs(type(c["playback_volume"]), int)
        self.assertTrue(-50 <= c["playback_volume"] <= 7)
        for k in ("tm_create", "tm_update"):
            self.assertTimestampNow(c[k])
            # microsecond clock, not rounded to the second
            self.assertGreaterEqual(
                parse_ts(c[k]), before.replace(microsecond=0) -
                datetime.timedelta(seconds=1))
        self.assertLessEqual(c["tm_create"], c["tm_update"])
        # ids are unique
        c2 = self.c.create_conference(name="other")
        self.assertNotEqual(c2["id"], c["id"])

        # GET shows progressing within 1 s, same fields otherwise
        t0 = time.monotonic()
        g = self.c.wait_status(c["id"], "progressing", 1.0)
        self.assertIsNotNone(g, "not progressing within 1 s")
        self.assertLess(time.monotonic() - t0, 1.5)
        for k in expected:
            if k != "status":
                self.assertEqual(g[k], c[k], "field %s changed" % k)
        self.assertEqual(g["id"], c["id"])
        self.assertEqual(g["tm_create"], c["tm_create"])
        self.assertGreaterEqual(g["tm_update"], c["tm_update"])

    def test_create_with_curl(self):
        # curl, with the token in the query, a client this project did
        # not write
        status, body = curl(["-X", "POST", "-H",
                             "Content-Type: application/json", "--data",
                             '{"type":"conference","name":"via curl"}',
                             self.d.url + "/conferences?token=" +
                             self.d.token])
        self.assertEqual(status, 200, body)
        c = json.loads(body)
        self.assertEqual(c["name"], "via curl")
        self.assertEqual(c["status"], "starting")
        status, body = curl(["-H", "Authorization: Bearer " + self.d.token,
                             self.d.url + "/conferences/" + c["id"]])
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["id"], c["id"])

    def test_put_changes_fields(self):
        c = self.c.create_conference(name="a", detail="d1")
        self.assertIsNotNone(self.c.wait_status(c["id"], "progressing", 1))
        time.sleep(0.01)
        change = {
            "name": "b", "detail": "d2",
            "data": {"k": "v", "n": 1, "nested": {"x": [1, 2]}},
            "timeout": 3600, "max_participants": 7,
            "pre_actions": [{"type": "talk",
                             "option": {"text": "hi",
                                        "language": "en-US"}},
                            {"type": "beep"}],
            "post_actions": [{"type": "play",
                              "option": {"urls": ["http://x/a.wav"]}}],
        }
        r = self.c.put("/conferences/" + c["id"], change)
        self.assertEqual(r.status, 200, r)
        g = self.c.conference(c["id"])
        for k, v in change.items():
            self.assertEqual(r.json[k], v, "PUT answer field %s" % k)
            self.assertEqual(g[k], v, "GET field %s" % k)
        self.assertEqual(g["type"], "conference")
        self.assertEqual(g["status"], "progressing")
        self.assertEqual(g["tm_create"], c["tm_create"])
        self.assertGreater(g["tm_update"], c["tm_update"])
        # a partial PUT leaves the other fields alone
        r = self.c.put("/conferences/" + c["id"], {"name": "c"})
        self.assertEqual(r.status, 200, r)
        g2 = self.c.conference(c["id"])
        self.assertEqual(g2["name"], "c")
        for k in ("detail", "data", "timeout", "max_participants",
                  "pre_actions", "post_actions"):
            self.assertEqual(g2[k], change[k], k)

        # type is immutable
        r = self.c.put("/conferences/" + c["id"], {"type": "connect"})
        self.assertError(r, 400, field="type")
        r = self.c.put("/conferences/" + c["id"], {"type": "conference"})
        self.assertError(r, 400, field="type")
        self.assertEqual(self.c.conference(c["id"]), g2)

    def test_delete_lifecycle(self):
        c = self.c.create_conference(name="bye")
        self.assertIsNotNone(self.c.wait_status(c["id"], "progressing", 1))
        r = self.c.delete("/conferences/" + c["id"])
        self.assertEqual(r.status, 200, r)
        self.assertIn(r.json["status"], ("terminating", "terminated"))
        g = self.c.wait_status(c["id"], "terminated", 2)
        self.assertIsNotNone(g, "not terminated after DELETE")
        self.assertNotEqual(g["tm_delete"], NEVER)
        self.assertTimestampNow(g["tm_delete"])
        self.assertGreaterEqual(g["tm_delete"], g["tm_create"])
        self.assertEqual(g["name"], "bye")
        # DELETE again: 200, unchanged
        r = self.c.delete("/conferences/" + c["id"])
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, g)
        self.assertEqual(self.c.conference(c["id"]), g)
        # PUT on a terminated conference: 409
        r = self.c.put("/conferences/" + c["id"], {"name": "again"})
        self.assertError(r, 409)
        self.assertEqual(self.c.conference(c["id"]), g)
        # it is still listed
        ids = [x["id"] for x in self.c.list_all()]
        self.assertIn(c["id"], ids)

    def test_type_connect(self):
        r = self.c.post("/conferences", {"type": "connect", "name": "1:1"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["type"], "connect")
        g = self.c.wait_status(r.json["id"], "progressing", 1)
        self.assertIsNotNone(g)
        self.assertEqual(g["type"], "connect")

    def test_timeout_ends_conference(self):
        c = self.c.create_conference(name="short", timeout=2)
        self.assertEqual(c["timeout"], 2)
        t0 = time.monotonic()
        time.sleep(1.0)
        self.assertEqual(self.c.conference(c["id"])["status"],
                         "progressing", "ended before its timeout")
        g = self.c.wait_status(c["id"], "terminated",
                               max(0.1, 4.0 - (time.monotonic() - t0)))
        self.assertIsNotNone(g, "timeout 2 did not end it within 4 s")
        self.assertNotEqual(g["tm_delete"], NEVER)
        elapsed = (parse_ts(g["tm_delete"]) -
                   parse_ts(g["tm_create"])).total_seconds()
        self.assertGreaterEqual(elapsed, 1.9)
        self.assertLess(elapsed, 4.0)
        # a conference without timeout is untouched
        c0 = self.c.create_conference(name="long")
        time.sleep(0.2)
        self.assertEqual(self.c.conference(c0["id"])["status"],
                         "progressing")

    def test_put_timeout_rearms(self):
        c = self.c.create_conference(name="later")
        r = self.c.put("/conferences/" + c["id"], {"timeout": 1})
        self.assertEqual(r.status, 200, r)
        self.assertIsNotNone(self.c.wait_status(c["id"], "terminated", 3),
                             "PUT timeout 1 did not end the conference")

    def test_put_timeout_zero_cancels(self):
        c = self.c.create_conference(name="kept", timeout=1)
        r = self.c.put("/conferences/" + c["id"], {"timeout": 0})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["timeout"], 0)
        time.sleep(1.6)
        self.assertEqual(self.c.conference(c["id"])["status"], "progressing",
                         "timeout 0 did not cancel the timeout")

    def test_read_only_fields_stay(self):
        c = self.c.create_conference(name="ro")
        self.c.wait_status(c["id"], "progressing", 1)
        before = self.c.conference(c["id"])
        other = "11111111-2222-4333-8444-555555555555"
        r = self.c.put("/conferences/" + c["id"], {
            "status": "terminated", "id": other, "customer_id": other,
            "tm_create": "2000-01-01 00:00:00.000000",
            "tm_delete": "2000-01-01 00:00:00.000000",
            "conferencecall_ids": [other], "recording_id": other})
        # a 400 or an ignored field are both fine; a change is not
        self.assertIn(r.status, (200, 400), r)
        g = self.c.conference(c["id"])
        for k in ("id", "customer_id", "status", "tm_create", "tm_delete",
                  "conferencecall_ids", "recording_id", "type"):
            self.assertEqual(g[k], before[k], k)

    def test_text_round_trip(self):
        name = "Caf\u00e9 \u4f1a\u8b70 \U0001f3a4 \"q\" \\ / <b>&amp;"
        data = {"emoji": "\U0001f600", "n": [1, 2.5, None, True],
                "deep": {"a": {"b": {"c": "d"}}}}
        c = self.c.create_conference(name=name, detail="line1\nline2\ttab",
                                     data=data)
        g = self.c.conference(c["id"])
        self.assertEqual(g["name"], name)
        self.assertEqual(g["detail"], "line1\nline2\ttab")
        self.assertEqual(g["data"], data)
        # an empty data object and empty strings are kept as such
        r = self.c.put("/conferences/" + c["id"],
                       {"name": "", "detail": "", "data": {}})
        self.assertEqual(r.status, 200, r)
        g = self.c.conference(c["id"])
        self.assertEqual((g["name"], g["detail"], g["data"]), ("", "", {}))

    def create_n(self, n):
        ids = []
        for i in range(n):
            ids.append(self.c.create_conference(name="c%03d" % i)["id"])
        return ids

    def test_pagination(self):
        ids = self.create_n(25)
        newest_first = list(reversed(ids))
        pages, token, seen = [], "", []
        for _ in range(4):
            q = {"page_size": "10"}
            if token:
                q["page_token"] = token
            r = self.c.get("/conferences", query=q)
            self.assertEqual(r.status, 200, r)
            self.assertEqual(set(r.json), {"result", "next_page_token"})
            res = r.json["result"]
            pages.append(len(res))
            seen += [x["id"] for x in res]
            token = r.json["next_page_token"]
            if res and token:
                self.assertEqual(token, res[-1]["tm_create"])
            if not token:
                break
        self.assertEqual(pages, [10, 10, 5])
        self.assertEqual(token, "")
        self.assertEqual(len(seen), len(set(seen)), "duplicates")
        self.assertEqual(seen, newest_first, "not newest first / gaps")
        # default page size is 10
        r = self.c.get("/conferences")
        self.assertEqual(r.status, 200, r)
        self.assertEqual([x["id"] for x in r.json["result"]],
                         newest_first[:10])
        self.assertEqual(r.json["next_page_token"],
                         r.json["result"][-1]["tm_create"])
        # every listed item is a full conference of this customer
        for x in r.json["result"]:
            self.assertEqual(x["customer_id"], self.d.customer_id)
            self.assertIn("tm_delete", x)
        # page_size 100 takes all 25, no next page
        r = self.c.get("/conferences", query={"page_size": "100"})
        self.assertEqual([x["id"] for x in r.json["result"]], newest_first)
        self.assertEqual(r.json["next_page_token"], "")
        # an empty page_token means the first page
        r = self.c.get("/conferences", query={"page_size": "3",
                                              "page_token": ""})
        self.assertEqual([x["id"] for x in r.json["result"]],
                         newest_first[:3])

    def test_page_size_bounds(self):
        for bad in ("0", "abc", "-1", "", "10abc", "1.5"):
            r = self.c.get("/conferences", query={"page_size": bad})
            self.assertError(r, 400, field="page_size")
        for bad in ("abc", "2022-13-01 00:00:00.000000",
                    "2022-08-06 16:57:12", "2022-08-06T16:57:12.247946"):
            r = self.c.get("/conferences", query={"page_token": bad})
            self.assertError(r, 400, field="page_token")
        ids = self.create_n(105)
        r = self.c.get("/conferences", query={"page_size": "500"})
        self.assertEqual(r.status, 200, r)
        got = [x["id"] for x in r.json["result"]]
        self.assertEqual(len(got), 100, "page_size 500 not clamped to 100")
        self.assertEqual(got, list(reversed(ids))[:100])
        r2 = self.c.get("/conferences", query={
            "page_size": "500", "page_token": r.json["next_page_token"]})
        self.assertEqual([x["id"] for x in r2.json["result"]],
                         list(reversed(ids))[100:])
        self.assertEqual(r2.json["next_page_token"], "")
        # keep-alive: all of this went over very few connections
        self.assertLessEqual(self.c.connects, 3)

    def test_conferencecalls_empty(self):
        r = self.c.get("/conferencecalls")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"result": [], "next_page_token": ""})
        rid = str(uuid.uuid4())
        self.assertError(self.c.get("/conferencecalls/" + rid), 404)
        self.assertError(self.c.delete("/conferencecalls/" + rid), 404)
        self.assertError(self.c.post("/conferencecalls/" + rid + "/mute"),
                         404)
        r = self.c.get("/conferencecalls", query={"conference_id": rid})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["result"], [])
        self.assertError(self.c.get("/conferencecalls", query={
            "conference_id": "nope"}), 400, field="conference_id")
        self.assertError(self.c.get("/conferencecalls", query={
            "page_size": "0"}), 400, field="page_size")
        # a conference id is not a conferencecall id
        c = self.c.create_conference()
        self.assertError(self.c.get("/conferencecalls/" + c["id"]), 404)


if __name__ == "__main__":
    main()
