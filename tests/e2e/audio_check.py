"""
audio_check.py: analysis of audio files for the end-to-end tests of
recording, playback and actions (test_recording*.py, test_playback.py,
test_actions.py). Python 3 standard library plus the `sox` binary.

- read_audio(): every channel of a WAV (parse_wav: RIFF chunks, plain or
  WAVE_FORMAT_EXTENSIBLE), or of a FLAC,
  Ogg or MP3 file converted to a 16-bit WAV by sox first.
- sox_info(): what `sox --i` reads from a file (channels, rate, samples,
  duration, encoding); fails when sox cannot open it. audio_info(): the
  same, or from libsndfile (ctypes) for a file sox has no handler for
  (Debian's sox cannot read Ogg/Opus); sndfile_read() reads the samples.
- channel_levels(): tone levels (Goertzel, sip_harness.tone_levels) of
  each channel over a window.
- rms_db() / frame_rms_db(): broadband level in dBFS.
- residual_db() / speech_seconds(): what is left in each 100 ms frame
  once the known steady tones are projected out (least squares on their
  sine and cosine): a steady tone leaves codec noise only, speech leaves
  its energy. speech_seconds() sums the frames above a threshold.
- tone_segments() / tone_span(): where a tone is present in a capture
  (start and end times, 50 ms frames hopped by 10 ms), relative to its
  own loudest frame or an absolute floor.

The tone generator (tone_file) writes WAV, MP3, FLAC or Ogg through sox.
Self-check: `python3 audio_check.py` builds files with sox and checks
every function against them (no chorusd needed).
"""
import array
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import goertzel_db, tone_levels  # noqa: E402

SOX = shutil.which("sox") or "/usr/bin/sox"
SILENCE_DB = -120.0


# ---------------------------------------------------------------- files

def tone_file(directory, freq, seconds, fmt="wav", rate=8000, vol=0.35,
              channels=1, name=None, extra=None):
    """A sine file made by sox; fmt wav|mp3|flac|ogg. extra: more sox
    arguments appended (effects). Returns its path."""
    name = name or "tone%d_%gs_%d.%s" % (freq, seconds, rate, fmt)
    path = os.path.join(directory, name)
    cmd = [SOX, "-n", "-r", str(rate), "-c", str(channels)]
    if fmt in ("wav", "flac"):
        cmd += ["-b", "16", "-e", "signed-integer"]
    if fmt == "mp3":
        cmd += ["-C", "64"]
    cmd += [path, "synth", str(seconds), "sine", str(freq), "vol", str(vol)]
    cmd += list(extra or [])
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise AssertionError("sox %s failed: %s" % (" ".join(cmd), r.stderr))
    return path


def sox_info(path):
    """{"channels", "rate", "samples", "duration" (s), "encoding",
    "precision"} from `sox --i`; AssertionError if sox cannot read it."""
    r = subprocess.run([SOX, "--i", path], capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        raise AssertionError("sox --i %s: exit %d: %s" %
                             (path, r.returncode, r.stderr.strip()))
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if k == "Channels":
            out["channels"] = int(v)
        elif k == "Sample Rate":
            out["rate"] = int(v)
        elif k == "Precision":
            out["precision"] = v
        elif k == "Sample Encoding":
            out["encoding"] = v
        elif k == "Duration":
            m = re.search(r"=\s*(\d+)\s+samples", v)
            if m:
                out["samples"] = int(m.group(1))
    for k in ("channels", "rate", "samples"):
        if k not in out:
            raise AssertionError("sox --i %s: no %s in %r" %
                                 (path, k, r.stdout))
    out["duration"] = out["samples"] / float(out["rate"])
    return out


def parse_wav(path):
    """{"format" (1 PCM, 3 float, 0xFFFE extensible), "subformat",
    "channels", "rate", "bits", "data_offset", "data_size" (as the header
    says), "file_size"} of a RIFF WAV; AssertionError if it is not one.
    The `wave` module of Python < 3.12 refuses WAVE_FORMAT_EXTENSIBLE,
    which multi-channel writers (sox, libsndfile) use."""
    import struct
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise AssertionError("%s: not a RIFF WAVE file" % path)
        out = {"file_size": size}
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, clen = struct.unpack("<4sI", f.read(8))
            if cid == b"fmt ":
                fmt = f.read(min(clen, 40))
                tag, ch, rate, _br, _ba, bits = struct.unpack(
                    "<HHIIHH", fmt[:16])
                out.update(format=tag, channels=ch, rate=rate, bits=bits,
                           subformat=tag)
                if tag == 0xFFFE and len(fmt) >= 26:
                    out["subformat"] = struct.unpack("<H", fmt[24:26])[0]
            elif cid == b"data":
                out["data_offset"], out["data_size"] = pos + 8, clen
                break
            pos += 8 + clen + (clen & 1)
    for k in ("channels", "data_offset"):
        if k not in out:
            raise AssertionError("%s: no %s chunk" %
                                 (path, "fmt" if k == "channels" else "data"))
    return out


_SF = None


def _libsndfile():
    """libsndfile through ctypes (chorusd links it, so it is installed)."""
    global _SF
    if _SF is None:
        import ctypes
        import ctypes.util
        name = ctypes.util.find_library("sndfile") or "libsndfile.so.1"
        lib = ctypes.CDLL(name)

        class SfInfo(ctypes.Structure):
            _fields_ = [("frames", ctypes.c_int64),
                        ("samplerate", ctypes.c_int),
                        ("channels", ctypes.c_int), ("format", ctypes.c_int),
                        ("sections", ctypes.c_int),
                        ("seekable", ctypes.c_int)]
        lib.sf_open.restype = ctypes.c_void_p
        lib.sf_open.argtypes = [ctypes.c_char_p, ctypes.c_int,
                                ctypes.POINTER(SfInfo)]
        lib.sf_readf_short.restype = ctypes.c_int64
        lib.sf_readf_short.argtypes = [ctypes.c_void_p,
                                       ctypes.POINTER(ctypes.c_short),
                                       ctypes.c_int64]
        lib.sf_writef_short.restype = ctypes.c_int64
        lib.sf_writef_short.argtypes = lib.sf_readf_short.argtypes
        lib.sf_close.argtypes = [ctypes.c_void_p]
        lib.sf_strerror.restype = ctypes.c_char_p
        lib.sf_strerror.argtypes = [ctypes.c_void_p]
        _SF = (ctypes, lib, SfInfo)
    return _SF


# major formats and subtypes of sndfile.h worth naming
_SF_NAMES = {0x010000: "WAV", 0x170000: "FLAC", 0x200000: "OGG",
             0x0002: "PCM_16", 0x0060: "VORBIS", 0x0064: "OPUS"}


def sndfile_read(path, samples=True):
    """(info dict as sox_info gives it, channels or None) read by
    libsndfile: the reader for what this machine's sox cannot open
    (Debian's sox has no Ogg/Opus handler). AssertionError if libsndfile
    refuses the file."""
    ctypes, lib, SfInfo = _libsndfile()
    info = SfInfo()
    h = lib.sf_open(path.encode(), 0x10, ctypes.byref(info))  # SFM_READ
    if not h:
        raise AssertionError("libsndfile cannot open %s: %s" % (
            path, lib.sf_strerror(None).decode(errors="replace")))
    try:
        nch, chans, frames = info.channels, None, 0
        if samples:
            buf = (ctypes.c_short * (4096 * nch))()
            data = array.array("h")
            while True:
                n = lib.sf_readf_short(h, buf, 4096)
                if n <= 0:
                    break
                data.extend(buf[:n * nch])
                frames += n
            chans = [[v / 32768.0 for v in data[c::nch]]
                     for c in range(nch)]
    finally:
        lib.sf_close(h)
    fmt = "%s/%s" % (_SF_NAMES.get(info.format & 0x0FFF0000, "?"),
                     _SF_NAMES.get(info.format & 0xFFFF, "?"))
    out = {"channels": nch, "rate": info.samplerate,
           "samples": frames if samples else info.frames,
           "encoding": fmt, "precision": "", "reader": "libsndfile"}
    out["duration"] = out["samples"] / float(info.samplerate)
    return out, chans


def sndfile_write(path, rate, chans, fmt):
    """Writes chans (lists of floats) with libsndfile in format fmt
    (sndfile.h major | subtype); for the self-check."""
    ctypes, lib, SfInfo = _libsndfile()
    info = SfInfo(samplerate=rate, channels=len(chans), format=fmt)
    h = lib.sf_open(path.encode(), 0x20, ctypes.byref(info))  # SFM_WRITE
    if not h:
        raise AssertionError("libsndfile cannot write %s: %s" % (
            path, lib.sf_strerror(None).decode(errors="replace")))
    inter = [int(v * 32767) for fr in zip(*chans) for v in fr]
    lib.sf_writef_short(h, (ctypes.c_short * len(inter))(*inter),
                        len(chans[0]))
    lib.sf_close(h)


def audio_info(path):
    """sox_info(path), or for a file sox has no handler for, what
    libsndfile reads (all its samples counted); "reader" says which."""
    try:
        i = sox_info(path)
        i["reader"] = "sox"
        return i
    except AssertionError as e:
        if "no handler" not in str(e):
            raise
    return sndfile_read(path)[0]


def _read_wav16(path):
    """(rate, channels) of a 16-bit PCM WAV, or None for another kind."""
    h = parse_wav(path)
    if h["subformat"] != 1 or h["bits"] != 16:
        return None
    nch = h["channels"]
    avail = h["file_size"] - h["data_offset"]
    n = min(h["data_size"], avail) if h["data_size"] else avail
    with open(path, "rb") as f:
        f.seek(h["data_offset"])
        raw = f.read(n)
    a = array.array("h")
    a.frombytes(raw[:len(raw) - len(raw) % (2 * nch)])
    if sys.byteorder == "big":
        a.byteswap()
    chans = [[v / 32768.0 for v in a[c::nch]] for c in range(nch)]
    return h["rate"], chans


def read_audio(path):
    """(rate, [samples of channel 1, channel 2, ...]) as floats in -1..1.
    WAV with 16-bit samples is read directly; anything else sox can read
    (FLAC, Ogg, MP3, other WAV widths) is converted to one first; what
    sox has no handler for (Ogg/Opus) is read by libsndfile."""
    if path.lower().endswith(".wav"):
        try:
            got = _read_wav16(path)
        except (AssertionError, OSError):
            got = None
        if got:
            return got
    fd, tmp = tempfile.mkstemp(suffix=".wav")
    os.close(fd)
    try:
        r = subprocess.run([SOX, path, "-b", "16", "-e", "signed-integer",
                            "-t", "wavpcm", tmp], capture_output=True,
                           text=True, timeout=120)
        if r.returncode != 0 and "no handler" in r.stderr:
            info, chans = sndfile_read(path)
            return info["rate"], chans
        if r.returncode != 0:
            raise AssertionError("sox cannot convert %s: %s" %
                                 (path, r.stderr.strip()))
        got = _read_wav16(tmp)
    finally:
        os.unlink(tmp)
    if not got:
        raise AssertionError("%s: sox did not give 16-bit samples" % path)
    return got


# ---------------------------------------------------------------- levels

def _window(x, rate, t0, t1):
    a = max(0, int(round(t0 * rate)))
    b = min(len(x), int(round(t1 * rate)))
    return x[a:b] if b > a else []


def rms_db(x, rate, t0=0.0, t1=None):
    """RMS of x[t0..t1 s] in dBFS (a full-scale sine is -3 dB); -120 for
    digital silence or an empty window."""
    w = _window(x, rate, t0, len(x) / rate if t1 is None else t1)
    if not w:
        return SILENCE_DB
    ms = sum(v * v for v in w) / len(w)
    return 10 * math.log10(ms) if ms > 1e-12 else SILENCE_DB


def frame_rms_db(x, rate, t0, t1, frame=0.02):
    """[RMS dBFS of each frame-s piece of x[t0..t1]]."""
    n = max(1, int(rate * frame))
    out = []
    a, b = max(0, int(t0 * rate)), min(len(x), int(t1 * rate))
    for i in range(a, b - n + 1, n):
        ms = sum(v * v for v in x[i:i + n]) / n
        out.append(10 * math.log10(ms) if ms > 1e-12 else SILENCE_DB)
    return out


def channel_levels(rate, chans, t0, t1, freqs):
    """[tone_levels(...) of each channel] over t0..t1 s: per channel
    {freq: (mean dB, lowest 0.5 s frame dB)}."""
    return [tone_levels(rate, c, t0, t1, sorted(freqs)) for c in chans]


def mean_tone_db(x, rate, t0, t1, freq):
    """Mean level (dBFS) of freq over t0..t1 (0.5 s frames)."""
    return tone_levels(rate, x, t0, t1, [freq])[freq][0]


# ---------------------------------------------------------------- speech

_BASIS = {}


def _basis(n, rate, f):
    """cos, sin of f over n samples and their Gram terms (cached)."""
    key = (n, rate, f)
    if key not in _BASIS:
        w = 2 * math.pi * f / rate
        c = [math.cos(w * i) for i in range(n)]
        s = [math.sin(w * i) for i in range(n)]
        cc = sum(v * v for v in c)
        ss = sum(v * v for v in s)
        cs = sum(a * b for a, b in zip(c, s))
        _BASIS[key] = (c, s, cc, ss, cs, cc * ss - cs * cs)
    return _BASIS[key]


def _project_out(seg, rate, freqs):
    """seg minus its least-squares fit of a sine and cosine at each
    freq (mean removed too)."""
    n = len(seg)
    mean = sum(seg) / n
    res = [v - mean for v in seg]
    for f in freqs:
        c, s, cc, ss, cs, det = _basis(n, rate, f)
        if abs(det) < 1e-9:
            continue
        rc = sum(a * b for a, b in zip(res, c))
        rs = sum(a * b for a, b in zip(res, s))
        a = (rc * ss - rs * cs) / det
        b = (rs * cc - rc * cs) / det
        res = [v - a * ci - b * si for v, ci, si in zip(res, c, s)]
    return res


def residual_db(x, rate, t0, t1, remove=(), frame=0.1):
    """[dBFS RMS of each frame-s piece of x[t0..t1] with the steady tones
    `remove` projected out]. Steady tones leave only codec noise (about
    -45 dBFS or lower for PCMU); speech or any other sound stays."""
    n = max(8, int(rate * frame))
    a, b = max(0, int(t0 * rate)), min(len(x), int(t1 * rate))
    out = []
    for i in range(a, b - n + 1, n):
        res = _project_out(x[i:i + n], rate, remove)
        ms = sum(v * v for v in res) / n
        out.append(10 * math.log10(ms) if ms > 1e-12 else SILENCE_DB)
    return out


SPEECH_DB = -42.0


def speech_seconds(x, rate, t0, t1, remove=(), threshold=SPEECH_DB,
                   frame=0.1):
    """Seconds of x[t0..t1] whose frames, with the tones `remove`
    projected out, are above threshold dBFS: sound that is not one of
    the known steady tones (speech, a beep, noise)."""
    fr = residual_db(x, rate, t0, t1, remove, frame)
    return sum(1 for v in fr if v > threshold) * frame


def speech_report(x, rate, t0, t1, remove=(), threshold=SPEECH_DB):
    """Text for a failure message: speech seconds, loudest residual."""
    fr = residual_db(x, rate, t0, t1, remove)
    if not fr:
        return "empty window %.2f..%.2f s" % (t0, t1)
    return "%.1f s of %.1f s above %.0f dBFS (loudest %.1f dBFS)" % (
        sum(1 for v in fr if v > threshold) * 0.1, len(fr) * 0.1,
        threshold, max(fr))


# ---------------------------------------------------------------- timing

def tone_track(x, rate, freq, t0=0.0, t1=None, frame=0.05, hop=0.01):
    """[(time of the frame's centre in s, dBFS of freq)] over x[t0..t1]."""
    n, h = int(rate * frame), max(1, int(rate * hop))
    a = max(0, int(t0 * rate))
    b = len(x) if t1 is None else min(len(x), int(t1 * rate))
    return [((i + n / 2.0) / rate, goertzel_db(x[i:i + n], rate, freq))
            for i in range(a, b - n + 1, h)]


def tone_segments(x, rate, freq, t0=0.0, t1=None, floor=None, rel=20.0,
                  min_len=0.1, frame=0.05):
    """[(start s, end s)] where freq is present: frames at or above
    floor dBFS, or (floor None) within rel dB of the tone's loudest
    frame. Gaps shorter than 2 frames are bridged; segments shorter than
    min_len s are dropped. Times are frame centres (about +-frame/2)."""
    tr = tone_track(x, rate, freq, t0, t1, frame)
    if not tr:
        return []
    thr = floor if floor is not None else max(v for _t, v in tr) - rel
    segs, cur, gap = [], None, 0
    hop = tr[1][0] - tr[0][0] if len(tr) > 1 else frame
    for t, v in tr:
        if v >= thr:
            if cur is None:
                cur = [t, t]
            cur[1], gap = t, 0
        elif cur is not None:
            gap += 1
            if gap * hop > 2 * frame:
                segs.append(tuple(cur))
                cur, gap = None, 0
    if cur is not None:
        segs.append(tuple(cur))
    return [s for s in segs if s[1] - s[0] >= min_len]


def tone_span(x, rate, freq, t0=0.0, t1=None, floor=None, rel=20.0):
    """(first start, last end) of freq in x (s), or None if absent."""
    segs = tone_segments(x, rate, freq, t0, t1, floor, rel)
    return (segs[0][0], segs[-1][1]) if segs else None


def longest_segment(segs):
    return max(segs, key=lambda s: s[1] - s[0]) if segs else None


# ---------------------------------------------------------------- self-check

def _selftest():
    d = tempfile.mkdtemp(prefix="audio-check-")
    bad = []

    def check(cond, what):
        print("  %s %s" % ("ok  " if cond else "FAIL", what))
        if not cond:
            bad.append(what)
    try:
        # a 3-channel WAV: ch1 = 400+700 mix, ch2 = 400, ch3 = 700
        t400 = tone_file(d, 400, 4, rate=16000)
        t700 = tone_file(d, 700, 4, rate=16000)
        mix = os.path.join(d, "mix.wav")
        subprocess.run([SOX, "-m", t400, t700, mix], check=True)
        three = os.path.join(d, "three.wav")
        subprocess.run([SOX, "-M", mix, t400, t700, three], check=True)
        info = sox_info(three)
        check(info["channels"] == 3 and info["rate"] == 16000 and
              abs(info["duration"] - 4) < 0.01, "sox_info %r" % info)
        rate, chans = read_audio(three)
        check(rate == 16000 and len(chans) == 3 and
              len(chans[0]) == 64000, "read_audio 3 channels")
        lv = channel_levels(rate, chans, 0.5, 3.5, [400, 700, 1100])
        check(lv[0][400][0] > -20 and lv[0][700][0] > -20,
              "mix holds both tones %r" % lv[0])
        check(lv[1][400][0] - lv[1][700][0] > 60 and
              lv[2][700][0] - lv[2][400][0] > 60,
              "tracks hold one tone each")
        check(lv[0][1100][0] < -80, "absent tone is absent")
        # flac / ogg conversions hold the same
        for fmt in ("flac", "ogg"):
            p = os.path.join(d, "three." + fmt)
            subprocess.run([SOX, three, p], check=True)
            r2, c2 = read_audio(p)
            lv2 = channel_levels(r2, c2, 0.5, 3.5, [400, 700])
            check(len(c2) == 3 and lv2[1][400][0] - lv2[1][700][0] > 30,
                  "%s: 3 channels, track 2 holds 400 Hz alone (%.1f vs "
                  "%.1f dB)" % (fmt, lv2[1][400][0], lv2[1][700][0]))
        # Ogg/Opus: this sox cannot read it, libsndfile can
        opus = os.path.join(d, "three.opus.ogg")
        sndfile_write(opus, rate, chans, 0x200000 | 0x0064)  # OGG | OPUS
        i = audio_info(opus)
        check(i["channels"] == 3 and abs(i["duration"] - 4) < 0.1,
              "audio_info of Ogg/Opus %r" % i)
        r3, c3 = read_audio(opus)
        lv3 = channel_levels(r3, c3, 0.5, 3.5, [400, 700])
        check(lv3[1][400][0] - lv3[1][700][0] > 30 and lv3[0][700][0] > -20,
              "Ogg/Opus: track 2 holds 400 Hz alone (%.1f vs %.1f dB)" % (
                  lv3[1][400][0], lv3[1][700][0]))
        # rms: a -9.1 dBFS amplitude sine has RMS -12.1 dBFS
        r = rms_db(chans[1], rate, 0.5, 3.5)
        check(abs(r - (20 * math.log10(0.35) - 3.01)) < 0.2,
              "rms_db %.2f" % r)
        check(rms_db([0.0] * 100, 8000) == SILENCE_DB, "rms of silence")
        # a tone from 1.0 to 2.5 s in 4 s of silence
        burst = os.path.join(d, "burst.wav")
        subprocess.run([SOX, "-n", "-r", "8000", "-c", "1", "-b", "16",
                        burst, "synth", "1.5", "sine", "1500", "vol",
                        "0.35", "pad", "1", "1.5"], check=True)
        rate, (b,) = read_audio(burst)
        segs = tone_segments(b, rate, 1500)
        check(len(segs) == 1 and abs(segs[0][0] - 1.0) < 0.04 and
              abs(segs[0][1] - 2.5) < 0.04, "tone_segments %r" % segs)
        # a gap: 1500 Hz 1 s, 1 s silence, 1 s again
        gap = os.path.join(d, "gap.wav")
        subprocess.run([SOX, burst, burst, gap], check=True)
        rate, (g,) = read_audio(gap)
        segs = tone_segments(g, rate, 1500)
        check(len(segs) == 2 and abs(segs[1][0] - 5.0) < 0.04,
              "two segments %r" % segs)
        # -20 dB by Goertzel
        quiet = tone_file(d, 1500, 3, vol=0.035, name="quiet.wav")
        loud = tone_file(d, 1500, 3, vol=0.35, name="loud.wav")
        lq = mean_tone_db(read_audio(quiet)[1][0], 8000, 0.5, 2.5, 1500)
        ll = mean_tone_db(read_audio(loud)[1][0], 8000, 0.5, 2.5, 1500)
        check(abs((ll - lq) - 20) < 0.2, "volume step %.2f dB" % (ll - lq))
        # speech: espeak-ng (when present) on top of two tones through
        # mu-law; the tones alone leave nothing
        ulaw = os.path.join(d, "tones_ulaw.wav")
        subprocess.run([SOX, "-m", tone_file(d, 400, 4), tone_file(d, 700, 4),
                        "-e", "u-law", ulaw], check=True)
        rate, (tu,) = read_audio(ulaw)
        s = speech_seconds(tu, rate, 0.2, 3.8, remove=(400, 700))
        check(s == 0, "steady mu-law tones are not speech (%s)" %
              speech_report(tu, rate, 0.2, 3.8, (400, 700)))
        s = speech_seconds(tu, rate, 0.2, 3.8, remove=(400,))
        check(s > 3, "a tone not removed counts (%.1f s)" % s)
        espeak = shutil.which("espeak-ng")
        if espeak:
            sp = os.path.join(d, "speech22k.wav")
            subprocess.run([espeak, "-v", "en-us", "-w", sp,
                            "Welcome to the conference."], check=True)
            sp8 = os.path.join(d, "speech_mix.wav")
            subprocess.run([SOX, "-m", "-v", "0.5", sp, "-v", "1",
                            tone_file(d, 400, 1.5, rate=22050),
                            "-r", "8000", "-e", "u-law", sp8], check=True)
            rate, (sx,) = read_audio(sp8)
            dur = len(sx) / rate
            s = speech_seconds(sx, rate, 0, dur, remove=(400,))
            check(s > 0.5 * dur, "espeak speech found: %.1f of %.1f s (%s)"
                  % (s, dur, speech_report(sx, rate, 0, dur, (400,))))
        else:
            print("  skip espeak-ng speech check (no espeak-ng)")
        # unreadable file
        junk = os.path.join(d, "junk.flac")
        with open(junk, "wb") as f:
            f.write(b"not audio at all" * 10)
        try:
            sox_info(junk)
            check(False, "sox_info of junk raises")
        except AssertionError:
            check(True, "sox_info of junk raises")
    finally:
        shutil.rmtree(d, ignore_errors=True)
    print("audio_check self-test: %s" % ("FAILED: %s" % bad if bad else
                                         "all passed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_selftest())
