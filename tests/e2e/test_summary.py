"""
test_summary.py: GET /v1.0/conferences/{id}/summary (API.md "summary:
insights", seed 003) against a real chorusd with real SIP participants
(baresip). A scripted conference: alice, bob and carol dial in, a
recording is started, bob is kicked (DELETE /conferencecalls/{id}), carol
hangs up, then the conference is DELETEd (alice is removed). The summary
is read at each step, and at the end every field must match what
happened: times against the conference's own tm_create/tm_delete and the
moment the second participant joined, durations from them, the counts, the
end reason and who ended it, the node that mixed it. Another tenant's and
an unknown id answer 404; a summary survives a restart of chorusd.
"""
import datetime
import os
import sys
import time
import uuid as uuidlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, customer_add, main  # noqa: E402

NEVER = "9999-01-01 00:00:00.000000"
NIL = "00000000-0000-0000-0000-000000000000"
FIELDS = {"conference_id", "customer_id", "name", "create_time",
          "start_time", "end_time", "duration_seconds",
          "connect_duration_seconds", "status", "processing_state",
          "end_reason", "ended_by", "max_participants",
          "max_concurrent_participants", "unique_participants",
          "recording_enabled", "mixer_region", "tags", "tag_info"}


def api_time(s):
    """An API timestamp as a UTC datetime."""
    return datetime.datetime.strptime(s, "%Y-%m-%d %H:%M:%S.%f")


def seconds(a, b):
    return int((api_time(b) - api_time(a)).total_seconds())


class SummaryTest(SipTestCase):

    def summary(self, cid):
        r = self.api.get("/conferences/%s/summary" % cid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(set(r.json), FIELDS, r.json)
        return r.json

    def test_scripted_conference(self):
        self.start_sip_daemon()
        t_create = datetime.datetime.utcnow()
        conf = self.api.create_conference(name="summary",
                                          max_participants=5)
        cid = conf["id"]
        s = self.summary(cid)
        self.assertEqual(s["status"], "not_started", s)
        self.assertEqual(s["processing_state"], "in_progress", s)
        self.assertEqual(s["start_time"], NEVER, s)
        self.assertEqual(s["end_time"], NEVER, s)
        self.assertEqual((s["end_reason"], s["ended_by"]), ("", ""), s)
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))

        alice = self.phone("alice", 440)
        bob = self.phone("bob", 660)
        carol = self.phone("carol", 880)
        a, = self.join(cid, alice)
        s = self.summary(cid)
        self.assertEqual(s["status"], "not_started", s)
        self.assertEqual(s["max_concurrent_participants"], 1, s)
        before_b = datetime.datetime.utcnow()
        b, = self.join(cid, bob)
        after_b = datetime.datetime.utcnow()
        c, = self.join(cid, carol)
        s = self.summary(cid)
        self.assertEqual(s["status"], "in_progress", s)
        start = s["start_time"]
        # the server's clock is this machine's: two joined happened
        # while bob was joining
        slack = datetime.timedelta(milliseconds=50)
        self.assertTrue(before_b - slack <= api_time(start) <=
                        after_b + slack, (before_b, start, after_b))
        self.assertEqual(s["max_concurrent_participants"], 3, s)
        self.assertEqual(s["unique_participants"], 3, s)
        self.assertFalse(s["recording_enabled"], s)
        r = self.api.post("/conferences/%s/recording_start" % cid)
        self.assertEqual(r.status, 200, r)
        time.sleep(1.2)
        live = self.summary(cid)
        self.assertTrue(live["recording_enabled"], live)
        self.assertGreaterEqual(live["duration_seconds"], 1, live)
        self.assertGreaterEqual(live["connect_duration_seconds"], 1, live)

        # bob is kicked, carol hangs up
        r = self.api.delete("/conferencecalls/" + b["id"])
        self.assertEqual(r.status, 200, r)
        p = self.wait_participant(cid, "leaved", 10, caller_id="bob")
        self.assertEqual(p["leave_reason"], "removed", p)
        carol.hangup()
        p = self.wait_participant(cid, "leaved", 10, caller_id="carol")
        self.assertEqual(p["leave_reason"], "hangup", p)
        s = self.summary(cid)
        self.assertEqual(s["status"], "in_progress", s)
        self.assertEqual(s["max_concurrent_participants"], 3, s)

        r = self.api.delete("/conferences/" + cid)
        self.assertEqual(r.status, 200, r)
        done = self.api.wait_status(cid, "terminated", 10)
        self.assertIsNotNone(done, "conference never terminated")
        self.assertIsNotNone(alice.wait_event("CALL_CLOSED", 5),
                             "alice was not hung up by the DELETE")
        s = self.summary(cid)
        want = {
            "conference_id": cid,
            "customer_id": self.cust["customer_id"],
            "name": "summary",
            "create_time": done["tm_create"],
            "start_time": start,
            "end_time": done["tm_delete"],
            "duration_seconds": seconds(done["tm_create"],
                                        done["tm_delete"]),
            "connect_duration_seconds": seconds(start, done["tm_delete"]),
            "status": "completed",
            "processing_state": "complete",
            "end_reason": "conference_ended_via_api",
            "ended_by": NIL,
            "max_participants": 5,
            "max_concurrent_participants": 3,
            "unique_participants": 3,
            "recording_enabled": True,
            "mixer_region": "local",
            "tags": [],
            "tag_info": {},
        }
        self.assertEqual(s, want)
        self.assertEqual(done["ended_by"], s["ended_by"])
        self.assertLess(abs((api_time(s["create_time"]) -
                             t_create).total_seconds()), 2, s)
        self.assertGreaterEqual(s["connect_duration_seconds"], 1, s)

        # no one else's, no unknown one
        other = customer_add(self.d.data_dir, "tenant-b")
        tb = self.d.client(token=other["token"])
        for client, i in ((tb, cid), (self.api, str(uuidlib.uuid4()))):
            r = client.get("/conferences/%s/summary" % i)
            self.assertError(r, 404)
        r = self.api.get("/conferences/%s/summary" % cid, token=None)
        self.assertError(r, 401)

        # it is in the store: a restart gives the same answer
        self.d.stop()
        self.d.start()
        self.api = self.d.client(token=self.cust["token"])  # new port
        self.assertEqual(self.summary(cid), want)

    def test_connect_last_participant_left(self):
        """A connect conference ends when one leaves: that participant
        ended it."""
        self.start_sip_daemon()
        cid = self.api.create_conference(type="connect", name="c")["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        alice = self.phone("alice", 440)
        bob = self.phone("bob", 660)
        a, _b = self.join(cid, alice, bob)
        alice.hangup()
        self.assertIsNotNone(self.api.wait_status(cid, "terminated", 10))
        s = self.summary(cid)
        self.assertEqual(s["end_reason"], "last_participant_left", s)
        self.assertEqual(s["ended_by"], a["id"], s)
        self.assertEqual(s["status"], "completed", s)
        self.assertEqual(s["max_concurrent_participants"], 2, s)


if __name__ == "__main__":
    main()
