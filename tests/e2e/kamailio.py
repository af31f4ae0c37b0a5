"""
kamailio.py: starts and stops the Kamailio proxy of deploy/kamailio/ for
the end-to-end tests (test_kamailio_route.py, later the cluster test).
Python 3 standard library only; needs the `kamailio` binary (package
kamailio) and its http_client module (package kamailio-utils-modules).

- start_kamailio(listen_ip, port, route_url, workdir): kamailio in the
  foreground (-DD: the main process does not daemonise; its children are
  still forked), logging to stderr (-E) into workdir/kamailio.log, with
  its runtime dir (-Y) in workdir; returns the Popen once the proxy
  answers an OPTIONS over UDP.
- stop_kamailio(p): SIGTERM (the main process ends its children), SIGKILL
  of the process group when that does not work.
- options_ping(): one raw OPTIONS over UDP, the status code or None.
- ProxyCase: a test-case mixin, start_proxy() (stopped at cleanup) and
  report_proxy() for failure reports.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("CHORUS_SRC") or os.path.dirname(os.path.dirname(HERE))
CONFIG = os.path.join(SRC, "deploy", "kamailio", "kamailio.cfg")
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
MODULE_DIR = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
INSTALL = "apt-get install -y kamailio kamailio-utils-modules"


def require_kamailio():
    """Raises AssertionError naming what is missing."""
    missing = []
    if not os.access(KAMAILIO, os.X_OK):
        missing.append("kamailio")
    if os.path.isdir(MODULE_DIR) and \
            not os.path.exists(os.path.join(MODULE_DIR, "http_client.so")):
        missing.append(os.path.join(MODULE_DIR, "http_client.so"))
    if missing:
        raise AssertionError("the Kamailio tests need %s; install with: %s"
                             % (", ".join(missing), INSTALL))


def command(listen_ip, port, route_url, workdir, defines=()):
    """The kamailio command line (a list) start_kamailio() runs; defines:
    more -A defines (e.g. "WITH_DEBUG": every request is logged)."""
    cmd = [KAMAILIO, "-f", CONFIG, "-DD", "-E",
           "-Y", os.path.join(workdir, "run"),
           "-P", os.path.join(workdir, "kamailio.pid"),
           "-m", "32", "-M", "8",
           "-A", "LISTEN=%s:%d" % (listen_ip, port),
           "-A", "ROUTE_URL=%s" % route_url]
    for d in defines:
        cmd += ["-A", d]
    return cmd


def options_ping(ip, port, timeout=0.5):
    """Sends one OPTIONS sip:ip:port over UDP from an ephemeral port on
    127.0.0.1; returns the status code of the reply, or None."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:probe@127.0.0.1>;tag=%s\r\n"
               "To: <sip:%s:%d>\r\n"
               "Call-ID: %s@127.0.0.1\r\n"
               "CSeq: 1 OPTIONS\r\n"
               "Content-Length: 0\r\n\r\n" %
               (ip, port, lport, branch, uuid.uuid4().hex[:8], ip, port,
                uuid.uuid4().hex))
        s.settimeout(timeout)
        s.sendto(msg.encode(), (ip, port))
        data, _ = s.recvfrom(65536)
        first = data.split(b"\r\n", 1)[0].split()
        if len(first) >= 2 and first[0] == b"SIP/2.0" and first[1].isdigit():
            return int(first[1])
        return None
    except OSError:
        return None
    finally:
        s.close()


def _log(workdir):
    try:
        with open(os.path.join(workdir, "kamailio.log"), "r",
                  errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def start_kamailio(listen_ip, port, route_url, workdir, timeout=10,
                   defines=()):
    """Starts the proxy listening on listen_ip:port (UDP and TCP) with
    ROUTE_URL route_url (and the -A defines); returns the Popen once an
    OPTIONS gets 200. p.log_path is its stderr; p.log() reads it."""
    require_kamailio()
    if not os.path.exists(CONFIG):
        raise AssertionError("no Kamailio config at %s" % CONFIG)
    os.makedirs(os.path.join(workdir, "run"), exist_ok=True)
    log_path = os.path.join(workdir, "kamailio.log")
    cmd = command(listen_ip, port, route_url, workdir, defines)
    with open(log_path, "ab") as lf:
        # its own process group: stop_kamailio() can reach the children
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf,
                             stderr=subprocess.STDOUT,
                             start_new_session=True)
    p.log_path = log_path
    p.log = lambda: _log(workdir)
    p.cmd = cmd
    end = time.monotonic() + timeout
    while True:
        if p.poll() is not None:
            raise AssertionError("kamailio exited %r at start:\n%s\n%s" %
                                 (p.returncode, " ".join(cmd),
                                  _log(workdir)[-4000:]))
        if options_ping(listen_ip, port) == 200:
            return p
        if time.monotonic() > end:
            stop_kamailio(p)
            raise AssertionError("kamailio did not answer OPTIONS on %s:%d "
                                 "within %.0f s:\n%s" %
                                 (listen_ip, port, timeout,
                                  _log(workdir)[-4000:]))
        time.sleep(0.1)


def stop_kamailio(p, timeout=5):
    """SIGTERM to the main process, which stops its children; SIGKILL to
    the whole process group after timeout s. Returns the exit status."""
    if p is None:
        return None
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # leftover children (the group is the one Popen made for it)
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except OSError:
        pass
    if p.poll() is None:
        p.wait(5)
    return p.returncode


class ProxyCase:
    """Mixin for a test case (before its TestCase base) that runs the
    proxy: start_proxy() starts it as self.kam, stopped at cleanup;
    report_proxy() writes its command and log tail for a failure
    report."""
    kam = None

    def start_proxy(self, listen_ip, port, route_url, defines=()):
        self.kam = start_kamailio(listen_ip, port, route_url, self.workdir,
                                  defines=defines)
        self.addCleanup(stop_kamailio, self.kam)
        return self.kam

    def report_proxy(self, tail=6000):
        if self.kam is not None:
            sys.stderr.write("\n---- kamailio %s ----\n%s\n" % (
                " ".join(self.kam.cmd), self.kam.log()[-tail:]))
