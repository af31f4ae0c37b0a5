"""
test_recordings_api.py: the /recordings routes end to end against a real
chorusd: list, get, the audio file (whole, ranges, errors) and DELETE.

Recording rows are written straight into chorusd's SQLite store with
python's sqlite3 (the start/stop routes that make them are not the subject
here): the stopped ones while the daemon is down, the one still
"recording" while it runs (a start could otherwise treat it as left over
from a crash). Their files are WAVs of pseudo-random samples in
<data dir>/recordings. Checked: the list (newest first, only the caller's,
pages that add up, ?reference_id), the resource's fields, another tenant's
id answering 404, the file with exact bytes and Content-Length /
Content-Type / Accept-Ranges / Content-Disposition, Range bytes=0-99 (206,
100 exact bytes), a suffix range, an open range, 416 with Content-Range
bytes */size, several ranges answered whole, 409 for a recording in
progress, 404 for a missing file, DELETE (409 while recording, then the
file is gone and the id answers 404), and a 128 MiB file downloaded whole
with curl, byte for byte, while chorusd's peak RSS grows by far less than
the file.
"""
import filecmp
import os
import random
import sqlite3
import subprocess
import sys
import uuid
import wave

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chorus_harness import (NEVER, TS_RE, ChorusTestCase,  # noqa: E402
                            customer_add, main, time)

CONF_1 = str(uuid.uuid4())
CONF_2 = str(uuid.uuid4())
BIG = 128 * 1024 * 1024


def write_wav(path, nbytes, seed):
    """A 16 kHz mono 16-bit WAV whose data is nbytes of pseudo-random
    samples (different for each seed)."""
    rnd = random.Random(seed)
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        left = nbytes - nbytes % 2
        while left:
            n = min(1 << 20, left)
            w.writeframes(rnd.randbytes(n))
            left -= n


def insert(db, cust, conf, tm_create, status="stopped", fmt="wav", size=0,
           tm_delete=0):
    rid = str(uuid.uuid4())
    channels = ('[{"index":1,"kind":"mix"},{"index":2,"kind":'
                '"participant","conferencecall_id":"%s","caller_id":'
                '"alice"}]' % uuid.uuid4())
    db.execute(
        "INSERT INTO recordings (id, customer_id, reference_type,"
        " reference_id, status, format, tracks, duration_ms, channels,"
        " rate, size, tm_start, tm_end, tm_create, tm_update, tm_delete)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (rid, cust, "conference", conf, status, fmt, 1, 1500, channels,
         16000, size, tm_create + 1,
         0 if status == "recording" else tm_create + 2, tm_create,
         tm_create, tm_delete))
    return rid


def fmt_us(us):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(us // 10**6)) + \
        ".%06d" % (us % 10**6)


def rss_hwm_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


class RecordingsApiTest(ChorusTestCase):

    def setUp(self):
        super().setUp()
        d = self.start_daemon()
        self.other = customer_add(d.data_dir, "tenant-b")
        self.assertEqual(d.stop(), 0)
        self.recdir = os.path.join(d.data_dir, "recordings")
        os.makedirs(self.recdir, exist_ok=True)
        base = int(time.time() * 10**6) - 10**9
        a, b = d.customer_id, self.other["customer_id"]
        db = sqlite3.connect(os.path.join(d.data_dir, "chorus.db"))
        with db:
            self.older = [insert(db, a, CONF_1 if i % 2 else CONF_2,
                                 base + i * 1000) for i in range(12)]
            self.stopped = insert(db, a, CONF_1, base + 50000,
                                  size=3 * 1024 * 1024 + 44)
            self.nofile = insert(db, a, CONF_2, base + 60000)
            self.flac = insert(db, a, CONF_2, base + 70000, fmt="flac")
            self.gone = insert(db, a, CONF_1, base + 80000,
                               tm_delete=base + 90000)
            self.big = insert(db, a, CONF_2, base + 1000, size=BIG)
            self.theirs = insert(db, b, CONF_1, base + 55000)
        db.close()
        self.stopped_path = os.path.join(self.recdir, self.stopped + ".wav")
        write_wav(self.stopped_path, 3 * 1024 * 1024, 1)
        for rid in (self.theirs, self.gone):
            write_wav(os.path.join(self.recdir, rid + ".wav"), 1000, 2)
        with open(os.path.join(self.recdir, self.flac + ".flac"), "wb") as f:
            f.write(b"fLaC" + os.urandom(5000))
        with open(self.stopped_path, "rb") as f:
            self.data = f.read()
        self.d = d
        d.start()
        # the one in progress: written while chorusd runs
        db = sqlite3.connect(os.path.join(d.data_dir, "chorus.db"),
                             timeout=10)
        with db:
            self.live = insert(db, a, CONF_1, base + 100000,
                               status="recording")
        db.close()
        write_wav(os.path.join(self.recdir, self.live + ".wav"), 1000, 3)
        self.api = d.client()
        self.b = d.client(token=self.other["token"])

    def get_file(self, rid, headers=None, client=None):
        return (client or self.api).get("/recordings/%s/file" % rid,
                                        headers=headers)

    def test_list_and_get(self):
        r = self.api.get("/recordings", query={"page_size": "100"})
        self.assertEqual(r.status, 200, r)
        items = r.json["result"]
        ids = [x["id"] for x in items]
        want = {self.live, self.stopped, self.nofile, self.flac,
                self.big} | set(self.older)
        self.assertEqual(set(ids), want)  # not B's, not the deleted one
        tms = [x["tm_create"] for x in items]
        self.assertEqual(tms, sorted(tms, reverse=True))
        self.assertEqual(ids[0], self.live)
        self.assertEqual(r.json["next_page_token"], "")

        # pages of 4 add up to the same list
        seen, token = [], ""
        for _ in range(10):
            q = {"page_size": "4"}
            if token:
                q["page_token"] = token
            r = self.api.get("/recordings", query=q)
            self.assertEqual(r.status, 200, r)
            self.assertLessEqual(len(r.json["result"]), 4)
            seen += [x["id"] for x in r.json["result"]]
            token = r.json["next_page_token"]
            if not token:
                break
        self.assertEqual(seen, ids)
        # default page size 10
        r = self.api.get("/recordings")
        self.assertEqual(len(r.json["result"]), 10)
        self.assertTrue(TS_RE.match(r.json["next_page_token"]))

        r = self.api.get("/recordings", query={"reference_id": CONF_2,
                                               "page_size": "100"})
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["result"])
        self.assertTrue(all(x["reference_id"] == CONF_2
                            for x in r.json["result"]))
        self.assertIn(self.flac, [x["id"] for x in r.json["result"]])
        self.assertError(self.api.get("/recordings", query={
            "reference_id": "nope"}), 400, field="reference_id")

        r = self.api.get("/recordings/" + self.stopped)
        self.assertEqual(r.status, 200, r)
        o = r.json
        self.assertEqual(set(o), {
            "id", "customer_id", "reference_type", "reference_id", "status",
            "format", "tracks", "duration_ms", "rate", "size", "channels",
            "tm_start", "tm_end", "tm_create", "tm_update", "tm_delete"})
        self.assertEqual((o["customer_id"], o["reference_type"],
                          o["reference_id"], o["status"], o["format"],
                          o["tracks"], o["duration_ms"], o["rate"],
                          o["size"]),
                         (self.d.customer_id, "conference", CONF_1,
                          "stopped", "wav", True, 1500, 16000,
                          3 * 1024 * 1024 + 44))
        self.assertEqual([c["index"] for c in o["channels"]], [1, 2])
        self.assertEqual(o["channels"][1]["caller_id"], "alice")
        for k in ("tm_start", "tm_end", "tm_create", "tm_update"):
            self.assertTrue(TS_RE.match(o[k]), o)
            self.assertNotEqual(o[k], NEVER)
        self.assertEqual(o["tm_delete"], NEVER)
        live = self.api.get("/recordings/" + self.live).json
        self.assertEqual((live["status"], live["tm_end"]),
                         ("recording", NEVER))

        # another tenant's recording is not there for A, and A's not for B
        self.assertError(self.api.get("/recordings/" + self.theirs), 404)
        self.assertError(self.get_file(self.theirs), 404)
        self.assertError(self.api.delete("/recordings/" + self.theirs), 404)
        self.assertEqual(self.b.get("/recordings/" + self.theirs).status,
                         200)
        self.assertError(self.b.get("/recordings/" + self.stopped), 404)
        r = self.b.get("/recordings")
        self.assertEqual([x["id"] for x in r.json["result"]], [self.theirs])
        # deleted and unknown
        self.assertError(self.api.get("/recordings/" + self.gone), 404)
        self.assertError(self.api.get("/recordings/" + str(uuid.uuid4())),
                         404)
        self.assertError(self.api.get("/recordings", token=None), 401)

    def test_file(self):
        size = len(self.data)
        r = self.get_file(self.stopped)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.body, self.data)
        self.assertEqual(int(r.headers["content-length"]), size)
        self.assertEqual(r.headers["content-type"], "audio/wav")
        self.assertEqual(r.headers["accept-ranges"], "bytes")
        self.assertEqual(r.headers["content-disposition"],
                         'attachment; filename="%s.wav"' % self.stopped)
        self.assertNotIn("content-range", r.headers)

        r = self.get_file(self.stopped, {"Range": "bytes=0-99"})
        self.assertEqual(r.status, 206, r)
        self.assertEqual(r.body, self.data[:100])
        self.assertEqual(r.headers["content-length"], "100")
        self.assertEqual(r.headers["content-range"],
                         "bytes 0-99/%d" % size)
        r = self.get_file(self.stopped, {"Range": "bytes=-500"})
        self.assertEqual((r.status, r.body), (206, self.data[-500:]))
        self.assertEqual(r.headers["content-range"],
                         "bytes %d-%d/%d" % (size - 500, size - 1, size))
        r = self.get_file(self.stopped, {"Range": "bytes=%d-" % (size - 7)})
        self.assertEqual((r.status, r.body), (206, self.data[-7:]))
        r = self.get_file(self.stopped, {"Range": "bytes=1000-1000000000"})
        self.assertEqual((r.status, r.body), (206, self.data[1000:]))

        r = self.get_file(self.stopped, {"Range": "bytes=%d-" % size})
        self.assertError(r, 416)
        self.assertEqual(r.headers["content-range"], "bytes */%d" % size)
        # several ranges, an invalid one, junk: the whole file
        for v in ("bytes=0-1,5-9", "bytes=9-2", "bytes=abc", "pages=1-2"):
            r = self.get_file(self.stopped, {"Range": v})
            self.assertEqual((r.status, len(r.body)), (200, size), v)
            self.assertEqual(r.body, self.data, v)

        r = self.get_file(self.flac)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.headers["content-type"], "audio/flac")
        self.assertTrue(r.body.startswith(b"fLaC"))

        self.assertError(self.get_file(self.live), 409,
                         code="recording_in_progress")
        self.assertError(self.get_file(self.nofile), 404,
                         code="file_not_found")
        # the keep-alive connection survived every one of those answers
        self.assertEqual(self.api.connects, 1)

        # the same through curl, a client this project did not write
        out = os.path.join(self.workdir, "part")
        p = subprocess.run(
            ["curl", "-s", "-S", "-o", out, "-w", "%{http_code}",
             "-H", "Authorization: Bearer " + self.d.token,
             "-r", "0-99", "%s/recordings/%s/file" % (self.d.url,
                                                      self.stopped)],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stdout, "206", p.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), self.data[:100])

    def test_delete(self):
        self.assertError(self.api.delete("/recordings/" + self.live), 409,
                         code="recording_in_progress")
        self.assertTrue(os.path.exists(os.path.join(self.recdir,
                                                    self.live + ".wav")))
        r = self.api.delete("/recordings/" + self.stopped)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["id"], self.stopped)
        self.assertNotEqual(r.json["tm_delete"], NEVER)
        self.assertFalse(os.path.exists(self.stopped_path))
        self.assertError(self.api.delete("/recordings/" + self.stopped), 404)
        self.assertError(self.api.get("/recordings/" + self.stopped), 404)
        self.assertError(self.get_file(self.stopped), 404)
        r = self.api.get("/recordings", query={"page_size": "100"})
        self.assertNotIn(self.stopped, [x["id"] for x in r.json["result"]])
        # a recording whose file is already gone
        self.assertEqual(self.api.delete("/recordings/" +
                                         self.nofile).status, 200)
        # B's recording and file are untouched
        self.assertTrue(os.path.exists(os.path.join(self.recdir,
                                                    self.theirs + ".wav")))
        self.assertEqual(self.b.get("/recordings/" + self.theirs).status,
                         200)

    def test_big_file_streamed(self):
        path = os.path.join(self.recdir, self.big + ".wav")
        out = os.path.join(self.workdir, "big.wav")
        # the harness keeps work folders: do not leave 256 MiB behind
        for p in (path, out):
            self.addCleanup(lambda p=p: os.path.exists(p) and os.remove(p))
        write_wav(path, BIG - 44, 4)
        self.assertEqual(os.path.getsize(path), BIG)
        pid = self.d.proc.pid
        self.assertEqual(self.api.get("/recordings/" + self.big).status, 200)
        hwm0 = rss_hwm_kb(pid)
        # slowed a little, so the server has to wait for a slow reader
        p = subprocess.run(
            ["curl", "-s", "-S", "-o", out, "--limit-rate", "64M",
             "-w", "%{http_code} %{size_download}",
             "-H", "Authorization: Bearer " + self.d.token,
             "%s/recordings/%s/file" % (self.d.url, self.big)],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "200 %d" % BIG)
        self.assertTrue(filecmp.cmp(path, out, shallow=False))
        grown_kb = rss_hwm_kb(pid) - hwm0
        sys.stderr.write("peak RSS grew by %d KiB\n" % grown_kb)
        self.assertLess(grown_kb * 1024, BIG // 16,
                        "peak RSS grew by %d KiB for a %d MiB file" %
                        (grown_kb, BIG >> 20))
        # and the daemon still answers on a new connection
        self.assertEqual(self.d.client().get("/recordings/" +
                                             self.big).status, 200)


if __name__ == "__main__":
    main()
