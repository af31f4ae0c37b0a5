#!/usr/bin/env python3
"""
transcribe_load.py: does transcribing real talkers disturb the mix?

Starts a fresh chorusd and one conference in which TALKERS (4) baresip
participants (G.722) talk all the time: each plays the recordings of
pocketsphinx-testdata one after another with 1 s pauses, in its own
order, for the whole run. Then it runs bench_sip_load twice into the same
conference (PARTICIPANTS, 4, PCMU tone participants: it measures loss,
the interval of the server's packets at each receiver and whether each
hears the others), LOAD_SECONDS (60) each: run 1 without transcription,
run 2 with transcribe_start (pocketsphinx) running over the talkers and
the generator's participants. It prints both runs' figures, chorusd's CPU
over each window, and the transcription's segments and dropped audio.

The generator's tone check does not apply here (the talkers' speech has
energy at every participant's own tone, so each "hears itself"): its
FAIL lines are expected; loss and the packet intervals are what count.

Usage: bench/transcribe_load.py [BUILD_DIR]   (default: build)
Environment: TALKERS, PARTICIPANTS, LOAD_SECONDS, STT_SEARCH (fast|full,
chorusd's --stt-sphinx-search), STT_DECODERS (--stt-decoders).
Exit: 0 when every participant stayed joined, no packet was lost, no
audio was dropped and segments were recognised; 1 otherwise; 2 on a
set-up error.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import wave

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from chorus_harness import Daemon, wait_until  # noqa: E402
from sip_harness import BLOCK, Baresip, PortBlock, require_tools  # noqa
from stt_accuracy import corpus  # noqa: E402


def talk_wav(tmp, k, seconds):
    """16 kHz WAV: the corpus from item k on, 1 s pauses, seconds long."""
    items = corpus()
    pcm = bytearray()
    i = k
    while len(pcm) < seconds * 32000:
        path = items[i % len(items)][1]
        if path.endswith(".raw"):
            with open(path, "rb") as f:
                pcm += f.read()
        else:
            with wave.open(path) as w:
                pcm += w.readframes(w.getnframes())
        pcm += bytes(32000)
        i += 1
    out = os.path.join(tmp, "talk%d.wav" % k)
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(pcm[:seconds * 32000]))
    return out


def load(gen, d, block, cid, parts, secs, tmp, name):
    out = os.path.join(tmp, name + ".out")
    with open(out, "w") as f:
        rc = subprocess.call([gen, "--sip", "127.0.0.1:%d" % block.base,
                              "--participants", str(parts), "--codec",
                              "pcmu", "--seconds", str(secs), "--settle",
                              "3000", "--pid", str(d.proc.pid),
                              "--conference", cid], stdout=f,
                             stderr=subprocess.STDOUT)
    with open(out) as f:
        text = f.read()
    print(text.rstrip())
    return rc, text  # rc: the tone check fails with speech in the room


def fig(text, pattern):
    m = re.search(pattern + r"\s*([0-9.]+)", text)
    return float(m.group(1)) if m else float("nan")


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
    gen = os.environ.get("BENCH_SIP_LOAD") or os.path.join(
        build, "bench", "bench_sip_load")
    talkers = int(os.environ.get("TALKERS", "4"))
    parts = int(os.environ.get("PARTICIPANTS", "4"))
    secs = int(os.environ.get("LOAD_SECONDS", "60"))
    try:
        require_tools()
    except AssertionError as e:
        print("transcribe_load.py: %s" % e, file=sys.stderr)
        return 2
    if not os.access(gen, os.X_OK):
        print("transcribe_load.py: %s not built" % gen, file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="chorus-transcribe-load.")
    block = PortBlock()
    d = Daemon(tmp, args=["--sip", "127.0.0.1:%d" % block.base,
                          "--rtp-ports", "%d-%d" % (
                              block.base + 10, block.base + BLOCK - 1),
                          "--log-level", "warn",
                          "--stt-sphinx-search",
                          os.environ.get("STT_SEARCH", "fast"),
                          "--stt-decoders",
                          os.environ.get("STT_DECODERS", "2")]).start()
    phones, status = [], 0
    try:
        api = d.client()
        cid = api.post("/conferences", {"type": "conference"}).json["id"]
        wait_until(lambda: api.get("/conferences/" + cid).json.get(
            "status") == "progressing", 5)
        pblock = PortBlock()
        total = 2 * (secs + 15) + 30
        for k in range(talkers):
            p = Baresip(tmp, "talker%d" % k, talk_wav(tmp, 3 * k, total),
                        pblock, codec="g722").start()
            phones.append(p)
            p.dial("sip:%s@127.0.0.1:%d" % (cid, block.base))
        for p in phones:
            e = p.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 15)
            if not e or e["type"] != "CALL_ESTABLISHED":
                print("%s did not join" % p.name, file=sys.stderr)
                return 2
        print("chorusd %d; %d cores, load %s; %d G.722 talkers (speech) + "
              "%d PCMU generator participants, %d s windows" % (
                  d.proc.pid, os.cpu_count(),
                  open("/proc/loadavg").read().split()[0], talkers, parts,
                  secs))
        print("\n== run 1: no transcription")
        _, t1 = load(gen, d, block, cid, parts, secs, tmp, "plain")
        r = api.post("/conferences/%s/transcribe_start" % cid,
                     {"language": "en-US"})
        if r.status != 200:
            print("transcribe_start: %r" % r, file=sys.stderr)
            return 2
        tid = r.json["transcribe_id"]
        print("\n== run 2: transcription on (pocketsphinx)")
        _, t2 = load(gen, d, block, cid, parts, secs, tmp, "stt")
        api.post("/conferences/%s/transcribe_stop" % cid)
        t0 = time.monotonic()
        wait_until(lambda: api.get("/transcribes/" + tid).json.get(
            "status") == "done", 120, 0.2)
        tr = api.get("/transcribes/" + tid).json
        print("\n== summary")
        print("  %-10s %7s %8s %8s %8s %8s" % ("run", "CPU %", "loss %",
                                               "p50 ms", "p99 ms", "max ms"))
        for n, t in (("plain", t1), ("stt", t2)):
            print("  %-10s %7.1f %8.3f %8.2f %8.2f %8.2f" % (
                n, fig(t, r"chorusd CPU:"), fig(t, r"loss:"),
                fig(t, r"interval:\s*p50"), fig(t, r"ms, p99"),
                fig(t, r"p99 [0-9.]+ ms, max")))
        print("  transcribe: %s, %d segments, %d ms dropped, done %.1f s "
              "after transcribe_stop" % (tr["status"], tr["segments"],
                                         tr["dropped_ms"],
                                         time.monotonic() - t0))
        by = {}
        for s in api.get("/transcripts", query={
                "transcribe_id": tid, "page_size": "100"}).json["result"]:
            by.setdefault(s["caller_id"], []).append(s["text"])
        for who in sorted(by):
            print("  %s: %d segments, e.g. %r" % (who, len(by[who]),
                                                   by[who][0]))
        joined = [re.search(r"joined:\s+(\d+) of (\d+).*?(\d+) dropped", t)
                  for t in (t1, t2)]
        if not all(j and j.group(1) == j.group(2) and j.group(3) == "0"
                   for j in joined) or fig(t1, r"loss:") != 0 or \
                fig(t2, r"loss:") != 0 or tr["dropped_ms"] or \
                not tr["segments"]:
            status = 1
        print("exit status %d" % status)
        return status
    finally:
        for p in phones:
            p.quit(3)
        d.stop(10)


if __name__ == "__main__":
    sys.exit(main())
