"""
test_metrics.py: GET /metrics (Prometheus text format 0.0.4) of a real
chorusd while two baresip participants talk (440 and 660 Hz tones, PCMU).
Scraped with curl: 200 with "text/plain; version=0.0.4" and any
customer's token as Bearer, 401 without one; the RTP packet counters are
above 0 and grow between two scrapes, and never fall when the legs leave
(legs that left stay counted); the worker tick histogram
(chorus_media_tick_seconds) and the legs' jitter histogram have counted
something; the participants show as joined; the HTTP request counter has
the routes this test called (POST /v1.0/conferences, 200) under their
pattern, never the raw path. The --metrics listener answers /metrics
without a token and 404 to any other path. `promtool check metrics`
(Debian package prometheus) must pass on every scrape; the test fails if
promtool is missing.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, main, wait_until  # noqa: E402

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} of every sample line."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("not a sample line: %r" % line)
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        out[(m.group(1), labels)] = float(m.group(4))
    return out


def total(samples, name, **labels):
    """Sum of name's samples whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items()
               if n == name and want <= set(ls))


class MetricsTest(SipTestCase):

    def scrape(self, port, path="/metrics", token=None):
        """(status, headers text, body) of curl GET http://127.0.0.1:port
        path."""
        hdr = os.path.join(self.workdir, "hdr.txt")
        args = ["curl", "-s", "-S", "--max-time", "10", "-D", hdr,
                "-o", "-", "http://127.0.0.1:%d%s" % (port, path)]
        if token:
            args[1:1] = ["-H", "Authorization: Bearer " + token]
        r = subprocess.run(args, capture_output=True, text=True, timeout=15)
        self.assertEqual(r.returncode, 0, "curl: " + r.stderr)
        with open(hdr) as f:
            head = f.read()
        status = int(head.split()[1])
        return status, head, r.stdout

    def promtool(self, text):
        exe = shutil.which("promtool")
        self.assertIsNotNone(exe, "promtool is missing (Debian package "
                             "prometheus, scripts/deps.sh test)")
        r = subprocess.run([exe, "check", "metrics"], input=text,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0,
                         "promtool check metrics failed:\n%s%s" %
                         (r.stdout, r.stderr))

    def api_scrape(self):
        st, head, body = self.scrape(self.d.port, token=self.cust["token"])
        self.assertEqual(st, 200, body)
        ctype = re.search(r"^content-type:\s*(.*?)\s*$", head, re.I | re.M)
        self.assertTrue(ctype and ctype.group(1).startswith(
            "text/plain; version=0.0.4"), head)
        self.promtool(body)
        return parse(body)

    def test_metrics_during_a_call(self):
        self.assertIsNotNone(shutil.which("promtool"),
                             "promtool is missing (Debian package "
                             "prometheus, scripts/deps.sh test)")
        mport = self.block().base
        self.start_sip_daemon(args=["--metrics", "127.0.0.1:%d" % mport])
        conf = self.api.create_conference(name="metrics")
        cid = conf["id"]
        self.assertIsNotNone(self.api.wait_status(cid, "progressing", 5))
        phones = [self.phone("alice", 440), self.phone("bob", 660)]
        parts = self.join(cid, *phones)

        def flowing():
            for p in parts:
                st = self.api.get("/conferencecalls/" + p["id"]).json.get(
                    "stats") or {}
                if not (st.get("packets_in") or 0) > 0:
                    return False
            return True
        self.assertTrue(wait_until(flowing, 5, 0.2), "no RTP both ways")
        time.sleep(2.5)  # jitter is sampled once a second

        s1 = self.api_scrape()
        time.sleep(1.0)
        s2 = self.api_scrape()
        for name in ("chorus_rtp_packets_received_total",
                     "chorus_rtp_packets_sent_total"):
            a, b = total(s1, name), total(s2, name)
            self.assertGreater(a, 0, name)
            # 2 legs x 50 packets a second; at least half of that
            self.assertGreater(b - a, 40, "%s: %s -> %s" % (name, a, b))
        self.assertGreater(total(s2, "chorus_media_tick_seconds_count"), 0)
        self.assertEqual(total(s2, "chorus_media_tick_seconds_count"),
                         total(s2, "chorus_media_tick_seconds_bucket",
                               le="+Inf"))
        self.assertGreater(total(s2, "chorus_rtp_jitter_seconds_count"), 0)
        self.assertGreater(total(s2, "chorus_store_commit_seconds_count"), 0)
        self.assertEqual(total(s2, "chorus_participants", status="joined"), 2)
        self.assertEqual(
            total(s2, "chorus_conferences", status="progressing"), 1)
        self.assertEqual(total(s2, "chorus_calls", status="progressing"), 2)
        self.assertEqual(total(s2, "chorus_media_legs"), 2)
        # the route pattern, never the raw path
        self.assertGreaterEqual(
            total(s2, "chorus_http_requests_total", method="POST",
                  route="/v1.0/conferences", status="200"), 1)
        self.assertGreaterEqual(
            total(s2, "chorus_http_requests_total", method="GET",
                  route="/v1.0/conferencecalls/{id}", status="200"), 2)
        self.assertGreaterEqual(
            total(s2, "chorus_http_requests_total", method="GET",
                  route="/metrics", status="200"), 1)
        self.assertFalse([k for k in s2 if k[0] ==
                          "chorus_http_requests_total" and
                          cid in dict(k[1]).get("route", "")])

        # no token: 401; a wrong token too
        st, _h, body = self.scrape(self.d.port)
        self.assertEqual(st, 401, body)
        st, _h, body = self.scrape(self.d.port, token="x" * 40)
        self.assertEqual(st, 401, body)

        # the --metrics listener: no token, /metrics only
        st, head, body = self.scrape(mport)
        self.assertEqual(st, 200, body)
        self.assertIn("version=0.0.4", head)
        self.promtool(body)
        s3 = parse(body)
        self.assertGreaterEqual(total(s3, "chorus_rtp_packets_received_total"),
                                total(s2, "chorus_rtp_packets_received_total"))
        for path in ("/", "/metricsx", "/v1.0/conferences", "/v1.0/metrics"):
            st, _h, body = self.scrape(mport, path)
            self.assertEqual(st, 404, "%s: %s" % (path, body))
        # nor is /v1.0/metrics a route of the API
        st, _h, body = self.scrape(self.d.port, "/v1.0/metrics",
                                   token=self.cust["token"])
        self.assertEqual(st, 404, body)

        # the legs leave: their packets stay counted
        for ph in phones:
            ph.hangup()
        for p in parts:
            self.wait_participant(cid, "leaved", 10,
                                  reference_id=p["reference_id"])

        def legs_gone():
            return total(self.api_scrape(), "chorus_media_legs") == 0
        self.assertTrue(wait_until(legs_gone, 5, 0.3), "legs not freed")
        s4 = self.api_scrape()
        for name in ("chorus_rtp_packets_received_total",
                     "chorus_rtp_packets_sent_total"):
            self.assertGreaterEqual(total(s4, name), total(s2, name), name)
        self.assertEqual(total(s4, "chorus_participants", status="joined"), 0)
        self.assertGreaterEqual(
            total(s4, "chorus_http_requests_total", route="/metrics",
                  status="401"), 2)


if __name__ == "__main__":
    main()
