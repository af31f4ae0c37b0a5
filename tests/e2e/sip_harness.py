"""
sip_harness.py: helpers for the end-to-end tests with real SIP participants
(tests/e2e/test_sip_*.py), on top of chorus_harness.py. Python 3 standard
library only; needs the `baresip` (package baresip-core) and `sox` binaries.

- require_tools(): a clear failure when baresip, its modules or sox are
  missing.
- PortBlock: 200 consecutive free ports (UDP and TCP) in 10000-19999 or
  30000-32599, reserved across processes with an flock'ed file, so two
  tests that ctest runs at once never share a port; outside chorusd's
  default RTP range (20000-29999) and below the kernel's ephemeral range.
- tone_wav(): sox-made sine WAVs (60 s, longer than any call: baresip hangs
  up at the end of its source file).
- read_wav() / tone_levels() / frame_levels(): the `wave` module and a
  Hann-windowed Goertzel filter per frequency, levels in dBFS.
- Baresip: one softphone per participant (config per TESTING.md: aufile
  source, aubridge null player, sndfile recording to DIR/rec, ctrl_tcp),
  driven over ctrl_tcp (netstring JSON), every event kept with its
  time.monotonic() arrival time; stdout/stderr in a file.
- SipTestCase: a ChorusTestCase that starts chorusd with --sip and its own
  --rtp-ports, a customer whose webhook is a WebhookReceiver, phones that
  are always stopped at the end; on failure it prints every phone's log and
  the events received.

sip_selftest.py checks all of this without chorusd (baresip calls baresip).
"""
import fcntl
import glob
import math
import os
import random
import shutil
import signal
import socket
import re
import subprocess
import sys
import tempfile
import threading
import time
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (CHORUSD, ChorusTestCase, WebhookReceiver,  # noqa
                            _ALL_PROCS, customer_add, json, wait_until)

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
SOX = shutil.which("sox") or "/usr/bin/sox"
MODULE_PATH = "/usr/lib/baresip/modules"
MODULES = ("g711.so", "g722.so", "opus.so", "aufile.so", "aubridge.so", "sndfile.so",
           "ctrl_tcp.so")
TONE_VOL = 0.35  # two tones mixed stay below full scale (no clipping)
CODECS = {"pcmu": ("pcmu", 8000), "pcma": ("pcma", 8000),
          "g722": ("g722/16000/1", 16000), "opus": ("opus/48000/2", 48000)}  # name -> (audio_codecs, srate)
INSTALL = "apt-get install -y --no-install-recommends baresip-core sox"


def require_tools():
    """Raises AssertionError naming what is missing."""
    missing = []
    if not os.access(BARESIP, os.X_OK):
        missing.append("baresip")
    if not os.access(SOX, os.X_OK):
        missing.append("sox")
    for m in MODULES:
        if not os.path.exists(os.path.join(MODULE_PATH, m)):
            missing.append(os.path.join(MODULE_PATH, m))
    if missing:
        raise AssertionError("SIP e2e tests need %s; install with: %s" %
                             (", ".join(missing), INSTALL))


# ---------------------------------------------------------------- ports

BLOCK = 200
_LOCK_DIR = os.path.join(tempfile.gettempdir(), "chorus-e2e-ports")


def _bindable(port):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        finally:
            s.close()
    return True


class PortBlock:
    """BLOCK free ports base..base+BLOCK-1, held until release()."""

    def __init__(self):
        os.makedirs(_LOCK_DIR, exist_ok=True)
        blocks = list(range(10000 // BLOCK, 20000 // BLOCK)) + \
            list(range(30000 // BLOCK, 32600 // BLOCK))
        random.shuffle(blocks)
        for b in blocks:
            f = open(os.path.join(_LOCK_DIR, "block-%d" % b), "a")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                continue
            base = b * BLOCK
            if all(_bindable(p) for p in range(base, base + BLOCK)):
                self.file, self.base, self.next = f, base, base
                return
            f.close()
        raise AssertionError("no free block of %d ports in 10000-19999 or "
                             "30000-32599" % BLOCK)

    def take(self, n):
        """The first of n consecutive ports not handed out yet, or None."""
        if self.next + n > self.base + BLOCK:
            return None
        p, self.next = self.next, self.next + n
        return p

    def release(self):
        if self.file:
            self.file.close()
            self.file = None


# ---------------------------------------------------------------- audio

def tone_wav(directory, freq, rate=8000, seconds=60, vol=TONE_VOL,
             freq2=None):
    """A mono 16-bit sine WAV made by sox (cached in directory); freq2 adds
    a second tone (a "mix" for the self-test)."""
    name = "tone%d%s_%dk.wav" % (freq, "+%d" % freq2 if freq2 else "",
                                 rate // 1000)
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        cmd = [SOX, "-n", "-r", str(rate), "-c", "1", "-b", "16", "-e",
               "signed-integer", path, "synth", str(seconds), "sine",
               str(freq)]
        if freq2:
            cmd += ["sine", str(freq2), "remix", "1-2"]
        cmd += ["vol", str(vol)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("sox failed: %s" % r.stderr)
    return path


def speech_wav(directory, src, rate, lead=2.0, tail=40.0):
    """A recording of pocketsphinx-testdata (src: a 16 kHz raw or WAV file)
    as a mono 16-bit WAV at rate with lead seconds of silence before it
    and tail after (made by sox, cached in directory)."""
    base = os.path.splitext(os.path.basename(src))[0]
    path = os.path.join(directory, "speech-%s-%dk-%g.wav" % (
        base, rate // 1000, lead))
    if not os.path.exists(path):
        inp = (["-t", "raw", "-r", "16000", "-e", "signed-integer", "-b",
                "16", "-c", "1"] if src.endswith(".raw") else []) + [src]
        cmd = [SOX] + inp + ["-r", str(rate), "-c", "1", "-b", "16", "-e",
                             "signed-integer", path, "pad", str(lead),
                             str(tail)]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError("sox failed: %s" % r.stderr)
    return path


def read_wav(path):
    """(rate, samples of the first channel as floats in -1..1)."""
    with wave.open(path, "rb") as w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise AssertionError("%s: %d-byte samples" % (path, width))
    import array
    a = array.array("h")
    a.frombytes(raw[:len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    return rate, [v / 32768.0 for v in a[::ch]]


_HANN = {}


def goertzel_db(x, rate, freq):
    """Amplitude of freq in x (Hann window) in dBFS: a full-scale sine is
    about 0 dB."""
    n = len(x)
    if n not in _HANN:
        _HANN[n] = [0.5 - 0.5 * math.cos(2 * math.pi * i / n)
                    for i in range(n)]
    win = _HANN[n]
    k = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v, wv in zip(x, win):
        s1, s2 = v * wv + k * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - k * s1 * s2
    amp = 2 * math.sqrt(max(power, 0.0)) / (n * 0.5)
    return 20 * math.log10(max(amp, 1e-9))


def frame_levels(rate, x, t0, t1, freqs, frame=0.5):
    """{freq: [dB per frame]} over x[t0 s .. t1 s] cut in frame-s pieces."""
    n = int(rate * frame)
    a, b = int(t0 * rate), min(int(t1 * rate), len(x))
    out = {f: [] for f in freqs}
    for i in range(a, b - n + 1, n):
        for f in freqs:
            out[f].append(goertzel_db(x[i:i + n], rate, f))
    return out


def tone_levels(rate, x, t0, t1, freqs):
    """{freq: (mean dB, lowest frame dB)} over t0..t1 s; raises if that
    window holds less than one second."""
    fl = frame_levels(rate, x, t0, t1, freqs)
    if len(fl[freqs[0]]) < 2:
        raise AssertionError("window %.2f..%.2f s of a %.2f s recording is "
                             "too short" % (t0, t1, len(x) / rate))
    res = {}
    for f, v in fl.items():
        mean = 10 * math.log10(sum(10 ** (d / 10) for d in v) / len(v))
        res[f] = (mean, min(v))
    return res


def fmt_levels(levels):
    return ", ".join("%d Hz %.1f dB (min %.1f)" % (f, m, lo)
                     for f, (m, lo) in sorted(levels.items()))


def check_heard(levels, present, absent, floor=-30.0, margin=30.0):
    """Problems (list of str) with levels (from tone_levels): every present
    tone above floor dBFS on average and no frame of it below floor - 10
    (no drop-out); every absent tone's mean margin dB below the weakest
    present tone's mean."""
    bad = []
    for f in present:
        mean, low = levels[f]
        if mean < floor or low < floor - 10:
            bad.append("%d Hz missing (mean %.1f dB, lowest frame %.1f dB)"
                       % (f, mean, low))
    if present:
        weakest = min(levels[f][0] for f in present)
        for f in absent:
            if levels[f][0] > weakest - margin:
                bad.append("%d Hz only %.1f dB below the weakest present "
                           "tone (%.1f vs %.1f dB), want %.0f" %
                           (f, weakest - levels[f][0], levels[f][0],
                            weakest, margin))
    return bad


# ---------------------------------------------------------------- baresip

class Baresip:
    """One baresip process: its own config dir, SIP port, RTP range, ctrl
    port and recording dir. user is the SIP user (becomes caller_id)."""

    def __init__(self, workdir, name, tone, ports, codec="pcmu",
                 answermode="manual"):
        self.name = name
        self.dir = os.path.join(workdir, "baresip-" + name)
        self.rec_dir = os.path.join(self.dir, "rec")
        os.makedirs(self.rec_dir, exist_ok=True)
        self.codec = codec
        base = ports.take(40)
        if base is None:
            raise AssertionError("port block exhausted")
        # base: SIP (UDP+TCP; TLS would be base+1), base+5: ctrl_tcp,
        # base+10..39: RTP/RTCP
        self.sip_port, self.ctrl_port = base, base + 5
        self.aor = "sip:%s@127.0.0.1:%d" % (name, self.sip_port)
        acodecs, srate = CODECS[codec]
        cfg = ["poll_method epoll", "net_interface 127.0.0.1",
               "sip_listen 127.0.0.1:%d" % self.sip_port,
               "audio_player aubridge,null_%s" % name,
               "audio_alert aubridge,null_%s" % name,
               "audio_source aufile,%s" % tone,
               "ausrc_srate %d" % srate, "ausrc_channels 1",
               "rtp_ports %d-%d" % (base + 10, base + 39),
               "module_path %s" % MODULE_PATH]
        cfg += ["module %s" % m for m in MODULES]
        cfg += ["module_tmp uuid.so", "module_tmp account.so",
                "module_app menu.so", "snd_path %s" % self.rec_dir,
                "ctrl_tcp_listen 127.0.0.1:%d" % self.ctrl_port]
        with open(os.path.join(self.dir, "config"), "w") as f:
            f.write("\n".join(cfg) + "\n")
        acct = "<%s>;regint=0;answermode=%s" % (self.aor, answermode)
        if acodecs:
            acct += ";audio_codecs=" + acodecs
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(acct + "\n")
        self.log_path = os.path.join(self.dir, "baresip.log")
        self.proc = self.sock = None
        self.lock = threading.Condition()
        self.events = []     # ctrl_tcp events, each with "_t" (monotonic)
        self.responses = {}  # token -> response
        self._tok = 0

    def start(self, timeout=10):
        with open(self.log_path, "wb") as lf:
            self.proc = subprocess.Popen([BARESIP, "-f", self.dir],
                                         stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=subprocess.STDOUT)
        _ALL_PROCS.append(self.proc)
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(
                    ("127.0.0.1", self.ctrl_port), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > end:
                    raise AssertionError("baresip %s did not start (exit "
                                         "%r):\n%s" % (self.name,
                                                       self.proc.poll(),
                                                       self.log()))
                time.sleep(0.1)
        self.sock.settimeout(None)
        threading.Thread(target=self._reader, daemon=True).start()
        return self

    def _reader(self):
        buf = b""
        while True:
            try:
                d = self.sock.recv(65536)
            except OSError:
                d = b""
            if not d:
                with self.lock:
                    self.events.append({"type": "_CTRL_EOF",
                                        "_t": time.monotonic()})
                    self.lock.notify_all()
                return
            buf += d
            while b":" in buf:
                head, _, rest = buf.partition(b":")
                if not head.isdigit() or len(rest) < int(head) + 1:
                    break
                n = int(head)
                try:
                    msg = json.loads(rest[:n])
                except ValueError:
                    msg = {"type": "_BAD", "raw": rest[:n].decode("latin1")}
                buf = rest[n + 1:]
                msg["_t"] = time.monotonic()
                with self.lock:
                    if msg.get("response"):
                        self.responses[msg.get("token")] = msg
                    else:
                        self.events.append(msg)
                    self.lock.notify_all()

    def command(self, cmd, params=None, timeout=5):
        """Sends a ctrl_tcp command; returns its response (dict)."""
        if self.sock is None:
            raise AssertionError("baresip %s is not running" % self.name)
        self._tok += 1
        tok = "%s-%d" % (cmd, self._tok)
        o = {"command": cmd, "token": tok}
        if params is not None:
            o["params"] = params
        b = json.dumps(o).encode()
        self.sock.sendall(b"%d:%s," % (len(b), b))
        with self.lock:
            self.lock.wait_for(lambda: tok in self.responses, timeout)
            r = self.responses.get(tok)
        if r is None:
            raise AssertionError("baresip %s: no answer to %s" %
                                 (self.name, cmd))
        return r

    def dial(self, uri):
        r = self.command("dial", uri)
        if not r.get("ok"):
            raise AssertionError("baresip %s: dial %s: %r" % (self.name,
                                                              uri, r))
        return r

    def hangup(self):
        return self.command("hangup")

    def accept(self):
        return self.command("accept")

    def wait_event(self, etype, timeout, since=0):
        """The first event of type etype (str or tuple) at index >= since,
        or None after timeout s."""
        types = (etype,) if isinstance(etype, str) else tuple(etype)

        def find():
            for e in self.events[since:]:
                if e.get("type") in types:
                    return e
            return None
        with self.lock:
            self.lock.wait_for(find, timeout)
            return find()

    def event_types(self):
        with self.lock:
            return [e.get("type") for e in self.events]

    def established_at(self):
        e = self.wait_event("CALL_ESTABLISHED", 0)
        return e["_t"] if e else None

    def quit(self, timeout=5):
        """ctrl_tcp quit (BYE for a call in progress), then waits for the
        process; kills it if it does not exit."""
        if self.proc and self.proc.poll() is None:
            try:
                self.command("quit", timeout=2)
            except (AssertionError, OSError):
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close()

    def kill(self):
        """SIGKILL: no BYE, no more RTP."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close()

    def _close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def recording(self, kind="dec"):
        """Path of the newest dump-*-<kind>.wav (dec: what it heard)."""
        files = glob.glob(os.path.join(self.rec_dir, "dump-*-%s.wav" % kind))
        if not files:
            raise AssertionError("baresip %s made no %s recording" %
                                 (self.name, kind))
        return max(files, key=os.path.getmtime)

    def heard(self):
        """(rate, samples) of what it heard; the process must have ended
        (the WAV header is written when the call closes)."""
        return read_wav(self.recording("dec"))

    def log(self):
        try:
            with open(self.log_path, "r", errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        # drop the status line baresip rewrites (\r) many times a second
        return re.sub(r"\r?\[\d+:\d\d:\d\d\] audio=\S+ \(bit/s\)\s*", "",
                      text)


# ---------------------------------------------------------------- test case

def raw_sip(method, user, ip, port, timeout=3):
    """Sends one request for sip:user@ip:port over UDP, without a body,
    from an ephemeral port of 127.0.0.1; returns (first final status code,
    its Contact header value or None), (None, None) without one."""
    import uuid
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        lp = s.getsockname()[1]
        target = "%s@%s:%d" % (user, ip, port)
        msg = ("%s sip:%s SIP/2.0\r\n"
               "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK%s;rport\r\n"
               "Max-Forwards: 70\r\n"
               "From: <sip:raw@127.0.0.1>;tag=%s\r\n"
               "To: <sip:%s:%d>\r\n"
               "Call-ID: %s@127.0.0.1\r\n"
               "CSeq: 1 %s\r\n"
               "Contact: <sip:raw@127.0.0.1:%d>\r\n"
               "Content-Length: 0\r\n\r\n" %
               (method, target, lp, uuid.uuid4().hex[:16],
                uuid.uuid4().hex[:8], ip, port, uuid.uuid4().hex, method,
                lp))
        s.sendto(msg.encode(), (ip, port))
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s.settimeout(max(0.05, end - time.monotonic()))
            try:
                data, _ = s.recvfrom(65536)
            except OSError:
                return None, None
            lines = data.decode(errors="replace").split("\r\n")
            first = lines[0].split()
            if len(first) >= 2 and first[1].isdigit() and \
                    int(first[1]) >= 200:
                contact = [ln.split(":", 1)[1].strip() for ln in lines
                           if ln.lower().startswith(("contact:", "m:"))]
                return int(first[1]), contact[0] if contact else None
        return None, None
    finally:
        s.close()


class SipTestCase(ChorusTestCase):
    """self.d: chorusd with SIP (self.d.sip_port); self.api: a Client of a
    customer whose webhook is self.rcv; self.phone(): started baresips."""

    def setUp(self):
        require_tools()
        super().setUp()
        self.phones = []
        self._dump = ""
        self.blocks = []
        self.phone_ports = None
        self.addCleanup(self._release_blocks)
        self.rcv = WebhookReceiver()
        self.addCleanup(self.rcv.close)
        self.addCleanup(self._stop_phones)

    def block(self):
        b = PortBlock()
        self.blocks.append(b)
        return b

    def _release_blocks(self):
        for b in self.blocks:
            b.release()

    def start_sip_daemon(self, timeout=5, rtp_ports=None, args=()):
        """rtp_ports: "LO-HI" (default: 95 pairs of our own block); args:
        more chorusd flags."""
        # SIP on a port of our own block, not "--sip 127.0.0.1:0": with 0
        # chorusd binds UDP on an ephemeral port and then TCP on the same
        # number, which fails when that TCP port is taken (EADDRINUSE).
        b = self.block()
        d = self.start_daemon(args=["--sip", "127.0.0.1:%d" % b.base,
                                    "--rtp-ports", rtp_ports or "%d-%d" % (
                                        b.base + 10, b.base + BLOCK - 1)]
                            + list(args))

        def sip_line():
            with open(d.stdout_path, "r", errors="replace") as f:
                return re.search(r"^  SIP:\s+127\.0\.0\.1:(\d+)\b", f.read(),
                                 re.M)
        m = wait_until(sip_line, timeout)
        if not m:
            with open(d.stdout_path, "r", errors="replace") as f:
                self.fail("chorusd printed no '  SIP:   127.0.0.1:PORT' line "
                          "(no SIP layer?); stdout:\n" + f.read())
        d.sip_port = int(m.group(1))
        self.assertEqual(d.sip_port, b.base, "SIP port in the banner")
        self.cust = customer_add(d.data_dir, "sip-e2e", self.rcv.url)
        self.d = d
        self.api = d.client(token=self.cust["token"])
        return d

    def phone(self, name, freq, codec="pcmu", answermode="manual"):
        """A started baresip with user name, playing a freq Hz tone."""
        if self.phone_ports is None or \
                self.phone_ports.next + 40 > self.phone_ports.base + BLOCK:
            self.phone_ports = self.block()
        rate = CODECS[codec][1]
        p = Baresip(self.workdir, name, tone_wav(self.workdir, freq, rate),
                    self.phone_ports, codec=codec, answermode=answermode)
        p.freq = freq
        self.phones.append(p)
        return p.start()

    def phone_file(self, name, path, codec="pcmu", answermode="manual"):
        """A started baresip with user name, playing the WAV at path (mono
        16-bit at the codec's rate, see speech_wav)."""
        if self.phone_ports is None or \
                self.phone_ports.next + 40 > self.phone_ports.base + BLOCK:
            self.phone_ports = self.block()
        p = Baresip(self.workdir, name, path, self.phone_ports, codec=codec,
                    answermode=answermode)
        p.freq = None
        self.phones.append(p)
        return p.start()

    def _stop_phones(self):
        for p in self.phones:
            p.quit(3)
        self._dump = "".join(
            "\n---- baresip %s (events %s) ----\n%s\n" %
            (p.name, p.event_types(), p.log()[-3000:]) for p in self.phones)
        try:
            evs = self.rcv.events()
            self._dump += "\n---- webhook events ----\n" + "\n".join(
                "%s %s %s %s" % (e.get("event"), e.get("status", ""),
                                 e.get("session_uuid", ""),
                                 e.get("reason", "")) for e in evs) + "\n"
        except Exception:
            pass

    def report_failure(self):
        super().report_failure()
        sys.stderr.write(getattr(self, "_dump", ""))

    # ---- API helpers
    def conf_uri(self, cid):
        return "sip:%s@127.0.0.1:%d" % (cid, self.d.sip_port)

    def participants(self, cid):
        r = self.api.get("/conferencecalls", query={"conference_id": cid,
                                                    "page_size": "100"})
        self.assertEqual(r.status, 200, r)
        return r.json["result"]

    def participant(self, cid, caller_id=None, reference_id=None):
        for p in self.participants(cid):
            if (caller_id is None or p.get("caller_id") == caller_id) and \
                    (reference_id is None or
                     p.get("reference_id") == reference_id):
                return p
        return None

    def wait_participant(self, cid, status, timeout, caller_id=None,
                         reference_id=None):
        """Polls until the participant has status; fails otherwise."""
        last = {}

        def check():
            last["p"] = self.participant(cid, caller_id, reference_id)
            return last["p"] if last["p"] and \
                last["p"]["status"] == status else None
        p = wait_until(check, timeout, 0.1)
        if not p:
            self.fail("participant %s%s of %s not %s within %.0f s; last: %r"
                      % (caller_id or "", reference_id or "", cid, status,
                         timeout, last.get("p")))
        return p

    def join(self, cid, *phones, timeout=10):
        """Each phone dials into cid; waits for CALL_ESTABLISHED and for
        its participant (caller_id = name) to be joined. Returns the
        participants in order."""
        for p in phones:
            p.dial(self.conf_uri(cid))
        out = []
        for p in phones:
            e = p.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), timeout)
            self.assertTrue(e and e["type"] == "CALL_ESTABLISHED",
                            "%s: call to the conference not established: %r"
                            % (p.name, e))
            out.append(self.wait_participant(cid, "joined", timeout,
                                             caller_id=p.name))
        return out

    def events_for(self, key, value):
        """Webhook events (deduplicated by id, arrival order) whose key is
        value; e.g. ("session_uuid", participant id); a dotted key looks
        into objects ("call.id")."""
        def get(e):
            for k in key.split("."):
                e = e.get(k) if isinstance(e, dict) else None
            return e
        seen, out = set(), []
        for e in self.rcv.events():
            if e.get("id") in seen or get(e) != value:
                continue
            seen.add(e.get("id"))
            out.append(e)
        return out

    def wait_events(self, key, value, want, timeout=10):
        """Waits until the events for key=value contain want as an ordered
        subsequence (others may be in between); an item of want is an
        event name or (name, {field: value}). Fails otherwise."""
        def match(e, w):
            name, fields = (w, {}) if isinstance(w, str) else w
            return e.get("event") == name and all(
                e.get(k) == v for k, v in fields.items())

        def ok():
            i = 0
            for e in self.events_for(key, value):
                if i < len(want) and match(e, want[i]):
                    i += 1
            return i == len(want)
        if not wait_until(ok, timeout, 0.1):
            self.fail("events for %s=%s: want %s in this order, got %s" %
                      (key, value, want, [
                          (e["event"], e.get("status"), e.get("reason"),
                           e.get("session_uuid"))
                          for e in self.events_for(key, value)]))
        return self.events_for(key, value)

    def recording_file(self, rid, name, api=None):
        """Downloads recording rid's file (GET /recordings/{id}/file, 200)
        into the workdir as name; returns its path."""
        r = (api or self.api).get("/recordings/%s/file" % rid,
                                  headers={"Accept": "*/*"})
        self.assertEqual(r.status, 200, r)
        path = os.path.join(self.workdir, name)
        with open(path, "wb") as f:
            f.write(r.body)
        return path

    def assertHeard(self, phone, t0, t1, present, absent, what=""):
        """phone's recording, between monotonic times t0 and t1 (its call
        was established at time 0 of the file), holds the present tones
        and not the absent ones (30 dB below)."""
        rate, x = phone.heard()
        base = phone.established_at()
        self.assertIsNotNone(base, "%s: never established" % phone.name)
        freqs = sorted(set(present) | set(absent))
        lv = tone_levels(rate, x, t0 - base, t1 - base, freqs)
        bad = check_heard(lv, present, absent)
        msg = "%s heard %s in %.1f..%.1f s of %.1f s: %s" % (
            phone.name, what, t0 - base, t1 - base, len(x) / rate,
            fmt_levels(lv))
        sys.stderr.write("  " + msg + "\n")
        if bad:
            self.fail(msg + "\n  " + "\n  ".join(bad))
        return lv


def event_monotonic(e):
    """The time.monotonic() value of an event's "timestamp" (UTC wall
    clock with microseconds, set when chorusd made the event), so it can
    be placed on a capture's timeline (Baresip.established_at())."""
    import datetime
    t = datetime.datetime.strptime(e["timestamp"], "%Y-%m-%d %H:%M:%S.%f")
    wall = t.replace(tzinfo=datetime.timezone.utc).timestamp()
    return wall - (time.time() - time.monotonic())


def main():
    """Entry point of a test_sip_*.py file."""
    try:
        require_tools()
    except AssertionError as e:
        sys.stderr.write("%s\n" % e)
        sys.exit(2)
    if not os.access(CHORUSD, os.X_OK):
        sys.stderr.write("CHORUSD=%s is not an executable\n" % CHORUSD)
        sys.exit(2)
    import unittest
    unittest.main(verbosity=2)
