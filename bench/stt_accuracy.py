#!/usr/bin/env python3
"""
stt_accuracy.py: word accuracy of Chorus's transcription on the
recordings of pocketsphinx-testdata, as telephone participants send them.

For each codec (G.722: wideband, 16 kHz; PCMU: narrowband, 8 kHz, the
common SIP case) it starts a fresh chorusd, makes one conference with
transcription on (engine sphinx, or ENGINE=http with STT_HTTP_URL), and
has one baresip participant per recording join it at once, each playing
its recording (2 s of silence first). Every participant is recognised on
its own, so all of them talk at the same time. After the last recording
has ended it stops the transcription, reads GET /transcripts and compares
each participant's words with the reference text (word error rate:
substitutions + deletions + insertions over the reference words, by edit
distance; accuracy = 1 - WER).

As a ceiling it also runs pocketsphinx_continuous on the same files
directly (16 kHz as recorded), and after a round trip through 8 kHz (sox),
which is what a narrowband leg leaves of the audio.

Usage: bench/stt_accuracy.py [--codecs g722,pcmu] [--direct-only]
Environment: CHORUSD (default build/chorusd), ENGINE (sphinx), STT_HTTP_URL,
STT_SEARCH (fast|full: chorusd's --stt-sphinx-search; the direct runs use
pocketsphinx's defaults, which are "full").
Prints one line per recording and codec, then the totals. Exit 0, or 2
when a tool is missing or chorusd does not start.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "e2e"))
from chorus_harness import Daemon, wait_until  # noqa: E402
from sip_harness import (BLOCK, Baresip, PortBlock, require_tools,  # noqa
                         speech_wav)

DATA = "/usr/share/pocketsphinx/test/data"


def corpus():
    """[(name, path, reference words)]"""
    out = [("goforward", os.path.join(DATA, "goforward.raw"),
            "go forward ten meters"),
           ("something", os.path.join(DATA, "something.raw"),
            "go somewhere and do something")]
    for sub, listing in (("librivox", "transcription"),
                         ("cards", "cards.transcription")):
        with open(os.path.join(DATA, sub, listing)) as f:
            for line in f:
                m = re.match(r"\s*<s>(.*)</s>\s*\((\S+)\)", line)
                if m:
                    name = m.group(2)
                    out.append(("lv-" + name[-4:] if sub == "librivox"
                                else "cards-" + name,
                                os.path.join(DATA, sub, name + ".wav"),
                                m.group(1).strip()))
    return out


def words(text):
    return re.findall(r"[a-z']+", (text or "").lower())


def errors(ref, hyp):
    """Edit distance in words."""
    d = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, d[0] = d[0], i
        for j, h in enumerate(hyp, 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r != h))
            prev, d[j] = d[j], cur
    return d[len(hyp)]


def direct(path, tmp, narrow):
    src = path
    if narrow or path.endswith(".raw"):
        src = os.path.join(tmp, "direct-%d-%s.wav" % (
            narrow, os.path.basename(path)))
        inp = (["-t", "raw", "-r", "16000", "-e", "signed-integer", "-b",
                "16", "-c", "1"] if path.endswith(".raw") else []) + [path]
        if narrow:
            mid = src + ".8k.wav"
            subprocess.run(["sox"] + inp + ["-r", "8000", mid], check=True)
            inp = [mid]
        subprocess.run(["sox"] + inp + ["-r", "16000", "-b", "16", "-c",
                                        "1", src], check=True)
    r = subprocess.run(["pocketsphinx_continuous", "-infile", src,
                        "-logfn", "/dev/null"], capture_output=True,
                       text=True, timeout=120)
    return " ".join(r.stdout.split())


def through_chorus(codec, items, tmp, engine, http_url):
    rate = 16000 if codec == "g722" else 8000
    block = PortBlock()
    args = ["--sip", "127.0.0.1:%d" % block.base, "--rtp-ports",
            "%d-%d" % (block.base + 10, block.base + BLOCK - 1),
            "--log-level", "warn", "--stt-sphinx-search",
            os.environ.get("STT_SEARCH", "fast")]
    if http_url:
        args += ["--stt-http-url", http_url]
    d = Daemon(tmp, data_dir=os.path.join(tmp, "data-" + codec),
               args=args, name="chorusd-" + codec).start()
    phones = []
    try:
        api = d.client()
        cid = api.post("/conferences", {"type": "conference"}).json["id"]
        wait_until(lambda: api.get("/conferences/" + cid).json.get(
            "status") == "progressing", 5)
        r = api.post("/conferences/%s/transcribe_start" % cid,
                     {"language": "en-US", "engine": engine})
        if r.status != 200:
            raise SystemExit("transcribe_start: %r" % r)
        tid = r.json["transcribe_id"]
        pblock = None
        longest = 0
        for name, path, _ in items:
            if pblock is None or pblock.next + 40 > pblock.base + BLOCK:
                pblock = PortBlock()
            wav = speech_wav(tmp, path, rate, lead=2.0, tail=20.0)
            p = Baresip(tmp, name, wav, pblock, codec=codec).start()
            phones.append(p)
            secs = float(subprocess.run(["soxi", "-D", path if not
                                         path.endswith(".raw") else wav],
                                        capture_output=True, text=True
                                        ).stdout or 10)
            longest = max(longest, secs)
        uri = "sip:%s@127.0.0.1:%d" % (cid, block.base)
        for p in phones:
            p.dial(uri)
        for p in phones:
            e = p.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 15)
            if not e or e["type"] != "CALL_ESTABLISHED":
                raise SystemExit("%s did not join: %r" % (p.name, e))
        # the recordings end 2 s + their length after the calls began
        time.sleep(2.0 + min(longest, 30) + 4.0)
        api.post("/conferences/%s/transcribe_stop" % cid)
        wait_until(lambda: api.get("/transcribes/" + tid).json.get(
            "status") == "done", 60, 0.2)
        tr = api.get("/transcribes/" + tid).json
        segs, token = [], None
        while True:
            q = {"transcribe_id": tid, "page_size": "100"}
            if token:
                q["page_token"] = token
            r = api.get("/transcripts", query=q).json
            segs += r["result"]
            token = r.get("next_page_token")
            if not token:
                break
        hyp = {}
        for s in segs:
            hyp.setdefault(s["caller_id"], []).append(s["text"])
        return {n: " ".join(hyp.get(n, [])) for n, _, _ in items}, tr
    finally:
        for p in phones:
            p.quit(3)
        d.stop(10)
        block.release()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--codecs", default="g722,pcmu")
    ap.add_argument("--direct-only", action="store_true")
    a = ap.parse_args()
    try:
        require_tools()
    except AssertionError as e:
        print("stt_accuracy.py: %s" % e, file=sys.stderr)
        return 2
    items = corpus()
    if not all(os.path.exists(p) for _, p, _ in items):
        print("stt_accuracy.py: apt-get install pocketsphinx-testdata",
              file=sys.stderr)
        return 2
    tmp = tempfile.mkdtemp(prefix="chorus-stt-accuracy.")
    engine = os.environ.get("ENGINE", "sphinx")
    runs = [("direct 16k", {n: direct(p, tmp, False) for n, p, _ in items}),
            ("direct 8k->16k", {n: direct(p, tmp, True)
                                for n, p, _ in items})]
    info = {}
    if not a.direct_only:
        for codec in a.codecs.split(","):
            hyp, tr = through_chorus(codec, items, tmp, engine,
                                     os.environ.get("STT_HTTP_URL"))
            runs.append(("chorus %s" % codec, hyp))
            info[codec] = tr
    total_ref = sum(len(words(r)) for _, _, r in items)
    for label, hyp in runs:
        errs = 0
        print("== %s" % label)
        for n, _, ref in items:
            e = errors(words(ref), words(hyp[n]))
            errs += e
            print("  %-12s %2d/%2d errors  ref: %s\n%17s hyp: %s" % (
                n, e, len(words(ref)), ref, "", hyp[n]))
        print("  word accuracy %.1f %% (%d errors in %d words)" % (
            100.0 * (1 - errs / total_ref), errs, total_ref))
    for codec, tr in info.items():
        print("%s transcribe: %d segments, %d ms dropped" % (
            codec, tr.get("segments", 0), tr.get("dropped_ms", 0)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
