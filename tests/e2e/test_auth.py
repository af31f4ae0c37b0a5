"""
test_auth.py: authentication and tenant isolation end to end: no token or
a bad one answers 401 with the API.md error body; a token works as
?token= and as Authorization: Bearer (also through curl); a second
customer (made with `chorusd customer add` while the daemon runs) gets 404
on the first customer's conference for GET, PUT and DELETE, which leave it
untouched, and does not see it in its list; /v1.0/health needs no token.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (ChorusTestCase, curl,  # noqa: E402
                            customer_add, main, uuid)


class AuthTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        self.d = self.start_daemon()
        self.c = self.d.client()

    def test_no_token_401(self):
        cid = self.c.create_conference(name="x")["id"]
        anon = self.d.client(token="")
        for method, path, body in (
                ("GET", "/conferences", None),
                ("POST", "/conferences", {"type": "conference"}),
                ("GET", "/conferences/" + cid, None),
                ("GET", "/conferences/" + str(uuid.uuid4()), None),
                ("PUT", "/conferences/" + cid, {"name": "y"}),
                ("DELETE", "/conferences/" + cid, None),
                ("GET", "/conferencecalls", None)):
            r = anon.request(method, path, body=body, token=None)
            e = self.assertError(r, 401)
            self.assertEqual(e["code"], "unauthorized", r)
        # nothing was created, changed or deleted
        items = self.c.list_all()
        self.assertEqual(len(items), 1)
        self.assertEqual(items[0]["name"], "x")
        self.assertNotIn(items[0]["status"], ("terminating", "terminated"))

    def test_bad_token_401(self):
        bads = ["0" * 64, "nope", self.d.token[:-1], self.d.token + "0",
                self.d.token.upper(), "x" * 65, "x" * 500]
        for bad in bads:
            for auth in ("bearer", "query"):
                r = self.c.get("/conferences", token=bad, auth=auth)
                self.assertError(r, 401)
        # an empty ?token= and a wrong auth scheme
        r = self.c.get("/conferences", token="", auth="query")
        self.assertError(r, 401)
        r = self.c.get("/conferences", token=None,
                       headers={"Authorization": "Basic " + self.d.token})
        self.assertError(r, 401)
        r = self.c.get("/conferences", token=None,
                       headers={"Authorization": self.d.token})
        self.assertError(r, 401)
        self.assertError(self.c.post("/conferences", {"type": "conference"},
                                     token="bad"), 401)
        self.assertEqual(self.c.list_all(), [])

    def test_token_query_and_bearer(self):
        r = self.c.post("/conferences", {"type": "conference", "name": "q"},
                        auth="query")
        self.assertEqual(r.status, 200, r)
        r2 = self.c.get("/conferences/" + r.json["id"], auth="bearer")
        self.assertEqual(r2.status, 200, r2)
        self.assertEqual(r2.json["name"], "q")
        r3 = self.c.get("/conferences/" + r.json["id"], token=None,
                        headers={"Authorization": "bearer " + self.d.token})
        self.assertEqual(r3.status, 200, r3)
        # curl with each style
        st, body = curl([self.d.url + "/conferences?token=" + self.d.token])
        self.assertEqual(st, 200, body)
        self.assertEqual([x["id"] for x in json.loads(body)["result"]],
                         [r.json["id"]])
        st, body = curl(["-H", "Authorization: Bearer " + self.d.token,
                         self.d.url + "/conferences"])
        self.assertEqual(st, 200, body)
        st, body = curl([self.d.url + "/conferences"])
        self.assertEqual(st, 401, body)
        self.assertEqual(json.loads(body)["error"]["status"], 401)

    def test_customers_are_isolated(self):
        a = self.c.create_conference(name="a-secret")
        self.assertIsNotNone(self.c.wait_status(a["id"], "progressing", 1))
        a_before = self.c.conference(a["id"])
        b_cust = customer_add(self.d.data_dir, "bob")
        self.assertNotEqual(b_cust["customer_id"], self.d.customer_id)
        self.assertNotEqual(b_cust["token"], self.d.token)
        b = self.d.client(token=b_cust["token"])
        # B's own token works at once (added while the daemon runs)
        r = b.get("/conferences")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["result"], [])
        path = "/conferences/" + a["id"]
        self.assertError(b.get(path), 404)
        self.assertError(b.put(path, {"name": "pwned"}), 404)
        self.assertError(b.delete(path), 404)
        # the 404 does not differ from an unknown id
        rnd = b.get("/conferences/" + str(uuid.uuid4()))
        self.assertError(rnd, 404)
        self.assertEqual(b.get(path).json["error"]["code"],
                         rnd.json["error"]["code"])
        # A's conference is untouched
        self.assertEqual(self.c.conference(a["id"]), a_before)
        # B's list does not contain it; B's own conference is B's
        bc = b.create_conference(name="b-own")
        self.assertEqual(bc["customer_id"], b_cust["customer_id"])
        b_ids = [x["id"] for x in b.list_all()]
        self.assertEqual(b_ids, [bc["id"]])
        a_ids = [x["id"] for x in self.c.list_all()]
        self.assertEqual(a_ids, [a["id"]])
        # and A cannot reach B's
        self.assertError(self.c.get("/conferences/" + bc["id"]), 404)
        self.assertError(self.c.delete("/conferences/" + bc["id"]), 404)
        self.assertEqual(b.conference(bc["id"])["status"], "progressing")
        # pagination tokens do not leak across customers
        r = b.get("/conferences", query={"page_token": a["tm_create"]})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn(a["id"], [x["id"] for x in r.json["result"]])

    def test_health_needs_no_token(self):
        anon = self.d.client(token="")
        r = anon.get("/health", token=None)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ok")
        # a bad token does not matter there either
        r = anon.get("/health", token="bad")
        self.assertEqual(r.status, 200, r)
        st, body = curl([self.d.url + "/health"])
        self.assertEqual(st, 200, body)
        self.assertEqual(json.loads(body)["status"], "ok")


if __name__ == "__main__":
    main()
