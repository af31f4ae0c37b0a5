"""
cluster_harness.py: what a test of several chorusd nodes needs (used by
test_cluster.py and bench/cluster_api.py): a private PostgreSQL
(tests/tools/pg_server.sh, on a Unix socket in a folder of its own), a
private nats-server on a free port, and nodes each on its own loopback
address (127.0.0.0/8 is all local on Linux), sharing both.

Fails (does not skip) when PostgreSQL or nats-server is missing.
"""
import os
import shutil
import socket
import subprocess

from chorus_harness import CHORUSD, Daemon, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CHORUS_SRC") or os.path.dirname(os.path.dirname(HERE))
PG_SERVER = os.path.join(SRC, "tests", "tools", "pg_server.sh")
NATS = shutil.which("nats-server") or "/usr/sbin/nats-server"


def require_cluster_tools():
    missing = []
    if not os.access(NATS, os.X_OK):
        missing.append("nats-server")
    if not any(os.path.exists("/usr/lib/postgresql/%s/bin/initdb" % v)
               for v in os.listdir("/usr/lib/postgresql")) \
            if os.path.isdir("/usr/lib/postgresql") else True:
        missing.append("postgresql")
    if not shutil.which("psql"):
        missing.append("psql (postgresql-client)")
    if missing:
        raise AssertionError("missing: %s (scripts/deps.sh test installs "
                             "them)" % ", ".join(missing))


class Postgres:
    """A private PostgreSQL server in a folder of its own under $TMPDIR
    (the server runs as user postgres, which cannot enter a test's 0700
    workdir); self.url is its "postgres" database."""

    def __init__(self):
        import tempfile
        self.dir = dir = tempfile.mkdtemp(prefix="chorus-pg-")
        r = subprocess.run([PG_SERVER, "start", dir], capture_output=True,
                           text=True, timeout=60)
        if r.returncode:
            raise AssertionError("pg_server.sh start: %s%s" %
                                 (r.stdout, r.stderr))
        with open(os.path.join(dir, "conninfo")) as f:
            self.url = f.read().strip()

    def sql(self, query):
        """Rows of query (psql -At), each a list of strings."""
        r = subprocess.run(["psql", self.url, "-At", "-F", "\t", "-c",
                            query], capture_output=True, text=True,
                           timeout=30)
        if r.returncode:
            raise AssertionError("psql %r: %s" % (query, r.stderr))
        return [ln.split("\t") for ln in r.stdout.splitlines() if ln]

    def stop(self):
        subprocess.run([PG_SERVER, "stop", self.dir], capture_output=True,
                       timeout=60)


class Nats:
    """A private nats-server on 127.0.0.1; self.url nats://..."""

    def __init__(self, workdir):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        self.port = s.getsockname()[1]
        s.close()
        self.log = open(os.path.join(workdir, "nats.log"), "wb")
        self.proc = subprocess.Popen([NATS, "-a", "127.0.0.1", "-p",
                                      str(self.port)], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.url = "nats://127.0.0.1:%d" % self.port

        def up():
            c = socket.socket()
            try:
                c.connect(("127.0.0.1", self.port))
                return True
            except OSError:
                return False
            finally:
                c.close()
        if not wait_until(up, 10):
            raise AssertionError("nats-server did not start")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


def node(workdir, name, ip, pg_url, nats_url, rtp, sip_port=5060,
         http_port=8080, args=()):
    """A (not yet started) chorusd node on ip; rtp "LO-HI"."""
    d = Daemon(workdir, data_dir=os.path.join(workdir, name),
               name=name,
               args=["--http", "%s:%d" % (ip, http_port), "--sip",
                     "%s:%d" % (ip, sip_port), "--rtp-ports", rtp,
                     "--store", pg_url, "--nats", nats_url, "--node-name",
                     name] + list(args))
    d.ip, d.sip_port = ip, sip_port
    return d


__all__ = ["CHORUSD", "Postgres", "Nats", "node", "require_cluster_tools"]
