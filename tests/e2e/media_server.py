"""
media_server.py: a small local HTTP server standing in for a media host in
the playback tests (test_playback.py, test_actions.py). Python 3 standard
library; the files it serves are made by sox (audio_check.tone_file).

MediaServer() listens on 127.0.0.1 (a free port) in threads:
- GET/HEAD of a path added with add(path, file, content_type) answers 200
  with the file's bytes and Content-Length;
- any other path answers 404;
- the path HANG ("/hang.wav") accepts the connection, reads the request
  and never answers (the connection stays open until close());
- every request is logged in .requests (path, method, time.monotonic(),
  headers) so a test sees what chorusd fetched and when.

Self-check: `python3 media_server.py` (no chorusd needed).
"""
import http.client
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time

HANG = "/hang.wav"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _log(self):
        srv = self.server.media
        with srv.lock:
            srv.requests.append({"path": self.path, "method": self.command,
                                 "time": time.monotonic(),
                                 "headers": dict(self.headers.items())})
            srv.cond.notify_all()

    def _serve(self, body):
        self._log()
        path = self.path.split("?", 1)[0]
        if path == HANG:
            # accepted and read; no answer until the server closes
            self.server.media.stop.wait()
            self.close_connection = True
            return
        f = self.server.media.files.get(path)
        if f is None:
            out = b"not found\n"
            self.send_response(404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            if body:
                self.wfile.write(out)
            return
        fpath, ctype = f
        with open(fpath, "rb") as fh:
            data = fh.read()
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if body:
            self.wfile.write(data)

    def do_GET(self):
        self._serve(True)

    def do_HEAD(self):
        self._serve(False)

    def log_message(self, fmt, *args):
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class MediaServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.requests = []
        self.files = {}  # path -> (file, content type)
        self.stop = threading.Event()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.media = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def add(self, path, fpath, content_type=None):
        """Serves fpath at path; returns its URL."""
        if content_type is None:
            ext = os.path.splitext(fpath)[1].lower()
            content_type = {".wav": "audio/wav", ".mp3": "audio/mpeg",
                            ".flac": "audio/flac", ".ogg": "audio/ogg"
                            }.get(ext, "application/octet-stream")
        self.files[path] = (fpath, content_type)
        return self.url(path)

    def hang_url(self):
        return self.url(HANG)

    def missing_url(self):
        return self.url("/no-such-file.wav")

    def requests_for(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"].split("?")[0] ==
                    path]

    def wait_request(self, path, timeout):
        """The first request for path, or None after timeout s."""
        end = time.monotonic() + timeout
        with self.lock:
            while True:
                for r in self.requests:
                    if r["path"].split("?")[0] == path:
                        return r
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def close(self):
        self.stop.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def _selftest():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from audio_check import read_audio, sox_info, tone_file, mean_tone_db
    d = tempfile.mkdtemp(prefix="media-server-")
    srv = MediaServer()
    bad = []
    try:
        wav = tone_file(d, 1500, 2)
        mp3 = tone_file(d, 2000, 2, fmt="mp3", rate=22050)
        srv.add("/t.wav", wav)
        srv.add("/t.mp3", mp3)
        for path, src, freq in (("/t.wav", wav, 1500), ("/t.mp3", mp3, 2000)):
            c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
            c.request("GET", path)
            r = c.getresponse()
            body = r.read()
            c.close()
            got = os.path.join(d, "got" + os.path.splitext(path)[1])
            with open(got, "wb") as f:
                f.write(body)
            with open(src, "rb") as f:
                same = f.read() == body
            info = sox_info(got)
            rate, ch = read_audio(got)
            lv = mean_tone_db(ch[0], rate, 0.3, 1.7, freq)
            ok = r.status == 200 and same and lv > -15
            print("  %s %s: %d, %d bytes, %s, %d Hz at %.1f dB" % (
                "ok  " if ok else "FAIL", path, r.status, len(body),
                info["encoding"], freq, lv))
            if not ok:
                bad.append(path)
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        c.request("GET", "/nothing")
        r = c.getresponse()
        r.read()
        print("  %s unknown path: %d" % ("ok  " if r.status == 404 else
                                          "FAIL", r.status))
        if r.status != 404:
            bad.append("404")
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=1.5)
        t0 = time.monotonic()
        c.request("GET", HANG)
        try:
            c.getresponse()
            hung = False
        except OSError:  # socket.timeout
            hung = True
        took = time.monotonic() - t0
        c.close()
        seen = srv.wait_request(HANG, 1) is not None
        print("  %s hang: no answer in %.1f s, request seen %s" % (
            "ok  " if hung and seen else "FAIL", took, seen))
        if not (hung and seen):
            bad.append("hang")
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)
    print("media_server self-test: %s" % ("FAILED %s" % bad if bad else
                                          "all passed"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(_selftest())
