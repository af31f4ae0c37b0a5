"""
sip_selftest.py: a self-test of sip_harness.py that needs no chorusd (not a
ctest test; run `python3 tests/e2e/sip_selftest.py`). baresip calls
baresip with the harness's configs: PCMU, PCMA, Opus (48 kHz source) and a
two-tone "mix" file through PCMU (the 3rd-order intermodulation of 660+880
lands on 440 Hz, of 440+660 on 880 Hz: the 30 dB margin must hold through
mu-law). The caller's recording must hold the far tone(s) and its own tone
30 dB below; a mute toggled in the far phone must show up in the recording
at the time it was sent (so windows cut by wall-clock time are right).
Exit status 0 when everything holds.
"""
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import (CODECS, Baresip, PortBlock, check_heard,  # noqa
                         fmt_levels, require_tools, tone_levels, tone_wav)


def call_pair(wd, codec, near, far, far2=None, talk=4, mid=None):
    """a (near Hz) calls an auto-answering b (far Hz, + far2); mid(a, b)
    runs halfway. Returns (a, b, t_end) after both quit."""
    rate = CODECS[codec][1]
    ports = PortBlock()
    try:
        a = Baresip(wd, "a%d%s" % (near, codec), tone_wav(wd, near, rate),
                    ports, codec)
        b = Baresip(wd, "b%d%s" % (far, codec),
                    tone_wav(wd, far, rate, freq2=far2), ports, codec,
                    answermode="auto")
        a.start(), b.start()
        a.dial(b.aor)
        e = a.wait_event(("CALL_ESTABLISHED", "CALL_CLOSED"), 10)
        if not e or e["type"] != "CALL_ESTABLISHED":
            a.quit(), b.quit()
            raise AssertionError("%s: not established: %r\n%s" %
                                 (codec, e, a.log()))
        time.sleep(talk / 2)
        if mid:
            mid(a, b)
        time.sleep(talk / 2)
        t_end = time.monotonic()
        a.hangup()
        a.wait_event("CALL_CLOSED", 5)
        a.quit(), b.quit()
        return a, b, t_end
    finally:
        ports.release()


def _selftest():
    require_tools()
    wd = tempfile.mkdtemp(prefix="chorus-sip-selftest-")
    bad = []
    cases = [("pcmu", 440, 660, None), ("pcma", 440, 660, None),
             ("opus", 440, 880, None), ("pcmu", 440, 660, 880),
             ("pcmu", 880, 440, 660)]
    try:
        for codec, near, far, far2 in cases:
            a, b, _ = call_pair(wd, codec, near, far, far2)
            rate, x = a.heard()
            present = [far] + ([far2] if far2 else [])
            lv = tone_levels(rate, x, 1.5, len(x) / rate - 0.5,
                             sorted(present + [near]))
            probs = check_heard(lv, present, [near])
            print("%s near %d, far %s (rec %d Hz): %s%s" % (
                codec, near, present, rate, fmt_levels(lv),
                " FAIL " + "; ".join(probs) if probs else " ok"))
            bad += probs
            # the check can fail: a tone that is there is not "absent"
            if not check_heard(lv, [near] + present[1:], [far]):
                bad.append("%s: check_heard cannot fail" % codec)
        # b mutes its microphone for 3 s: a's recording, cut by the
        # monotonic times of the commands, shows it (0.5 s margins)
        times = {}

        def mute(a, b):
            times["m"] = time.monotonic()
            b.command("mute")
            time.sleep(3)
            times["u"] = time.monotonic()
            b.command("mute")
        a, b, t_end = call_pair(wd, "pcmu", 440, 660, talk=6, mid=mute)
        rate, x = a.heard()
        t0 = a.established_at()
        for what, w0, w1, present, absent in (
                ("before", t0 + 1, times["m"] - 0.5, [660], [440]),
                ("muted", times["m"] + 0.5, times["u"] - 0.5, [], [660]),
                ("after", times["u"] + 0.5, t_end - 0.5, [660], [440])):
            lv = tone_levels(rate, x, w0 - t0, w1 - t0, [440, 660])
            if what == "muted":  # silence: 660 must be far below -30 dBFS
                probs = [] if lv[660][0] < -60 else ["660 Hz heard: %s" %
                                                     fmt_levels(lv)]
            else:
                probs = check_heard(lv, present, absent)
            print("mute window %s %.1f..%.1f s: %s%s" % (
                what, w0 - t0, w1 - t0, fmt_levels(lv),
                " FAIL " + "; ".join(probs) if probs else " ok"))
            bad += probs
    finally:
        if not bad:
            shutil.rmtree(wd, ignore_errors=True)
    print("self-test %s" % ("FAILED: %s (kept %s)" % ("; ".join(bad), wd)
                            if bad else "passed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_selftest())
