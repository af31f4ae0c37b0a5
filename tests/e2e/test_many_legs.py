"""
test_many_legs.py: 1,200 call legs up at once over real SIP and RTP, and
the control loop still answers: six bench_sip_load processes
(build/bench; one alone cannot pace 1,200 senders) each join 4
conferences x 50 participants sending PCMU every 20 ms, one generator
after the other (each has 30 s to join its calls, which a loaded machine
needs); while all 1,200 are up, GET /v1.0/health is answered and a new
WebSocket connects and receives its events. Then the generators stop. Also checks that chorusd really holds the legs' RTP
and RTCP sockets (more descriptors than libre's default table of 1,024)
and that its and this process's descriptor limits are high enough.
"""
import os
import resource
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (SRC, ChorusTestCase, main, time,  # noqa: E402
                            wait_until, ws_connect, ws_recv_json)
from sip_harness import PortBlock  # noqa: E402

GENERATORS = 6
ROOMS = 4  # per generator
PARTS = 50
LEGS = GENERATORS * ROOMS * PARTS
SETTLE_MS = 240000  # legs stay up this long after a generator's last join
JOIN_S = 35  # a generator's joins: its own give-up is at 30 s
BENCH = os.environ.get("BENCH_SIP_LOAD") or os.path.join(
    os.path.dirname(os.environ.get("CHORUSD") or
                    os.path.join(SRC, "build", "chorusd")),
    "bench", "bench_sip_load")


def nofile_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    return 0


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class ManyLegsTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        if not os.access(BENCH, os.X_OK):
            self.fail("%s not built (cmake --build build)" % BENCH)
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        # bench_sip_load: one RTP socket per leg, plus SIP
        self.assertGreaterEqual(hard, LEGS + 512, "RLIMIT_NOFILE hard limit")
        self.ports = PortBlock()
        self.addCleanup(self.ports.release)
        self.d = self.start_daemon(args=[
            "--sip", "127.0.0.1:%d" % self.ports.base,
            "--rtp-ports", "20000-29999", "--log-level", "warn"])
        self.benches = []
        self.addCleanup(self.stop_benches)

    def stop_benches(self):
        for b in self.benches:
            if b.poll() is None:
                b.kill()
                b.wait(10)

    def start_bench(self, i):
        out = os.path.join(self.workdir, "bench%d.out" % i)
        with open(out, "wb") as fo:
            self.benches.append(subprocess.Popen(
                [BENCH, "--api", self.d.url, "--token", self.d.token,
                 "--sip", "127.0.0.1:%d" % self.ports.base,
                 "--rooms", str(ROOMS), "--participants", str(PARTS),
                 "--settle", str(SETTLE_MS), "--seconds", "1",
                 "--max-pending", "8"],
                stdout=fo, stderr=subprocess.STDOUT))
        return out

    def reports(self, outs):
        text = ""
        for o in outs:
            with open(o) as f:
                text += f.read()
        return text

    def legs_present(self, c):
        return sum(len(conf["conferencecall_ids"])
                   for conf in c.list_all()
                   if conf["status"] == "progressing")

    def test_health_and_websocket_with_1200_legs(self):
        pid = self.d.proc.pid
        # chorusd raised its own limit to the hard one
        self.assertGreaterEqual(nofile_limit(pid), 2 * LEGS + 512)
        c = self.d.client()
        t0 = time.monotonic()
        outs = []
        for i in range(GENERATORS):
            outs.append(self.start_bench(i))
            want = (i + 1) * ROOMS * PARTS
            ok = wait_until(lambda: self.legs_present(c) >= want or
                            self.benches[-1].poll() is not None,
                            JOIN_S, step=0.5)
            self.assertTrue(ok and all(b.poll() is None for b in
                                       self.benches),
                            "generator %d: %d of %d legs present after "
                            "%.0f s\n%s" % (i, self.legs_present(c), want,
                                             time.monotonic() - t0,
                                             self.reports(outs)))
        joined_s = time.monotonic() - t0
        self.assertEqual(self.legs_present(c), LEGS)

        # every leg holds an RTP and an RTCP socket in chorusd
        fds = open_fds(pid)
        self.assertGreater(fds, 2 * LEGS, "chorusd descriptors")

        # the control loop still answers: /health on a new connection...
        t = time.monotonic()
        h = self.d.client()
        r = h.get("/health")
        h.close()
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["status"], "ok")
        health_s = time.monotonic() - t
        # ...and a new WebSocket, which gets the events of a new conference
        ws = ws_connect(self.d)
        self.addCleanup(ws.close)
        conf = c.create_conference(name="beside 1200 legs")
        # events of the last joins may still be on their way before it
        seen, deadline = [], time.monotonic() + 5
        while time.monotonic() < deadline:
            m = ws_recv_json(ws, max(0.1, deadline - time.monotonic()))
            if m is None or m.get("room_id") == conf["id"]:
                break
            seen.append(m.get("event"))
        self.assertIsNotNone(m, "no event of the new conference on the new "
                             "WebSocket (others: %r)" % seen[:10])
        self.assertEqual(m["room_id"], conf["id"])
        print("1200 legs joined in %.1f s; chorusd holds %d descriptors; "
              "/health answered in %.3f s" % (joined_s, fds, health_s))
        c.close()

        # stop the generators (SIGINT while they wait: they just go)
        for b in self.benches:
            b.send_signal(signal.SIGINT)
        for b in self.benches:
            b.wait(30)
        self.d.stop()
        self.assertEqual(self.d.proc.returncode, 0)


if __name__ == "__main__":
    main()
