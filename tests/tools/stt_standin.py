#!/usr/bin/env python3
"""stt_standin.py: a local stand-in for an OpenAI-compatible speech-to-text
service, for the tests of the HTTP engine (src/services/stt_http.c).

Serves POST /v1/audio/transcriptions on 127.0.0.1. The multipart/form-data
body must hold a "file" part with a 16 kHz mono 16-bit PCM WAV, else the
answer is 400 with a JSON error. The audio is recognised for real by
pocketsphinx_continuous (Debian package pocketsphinx) and the answer is
{"text": "..."}.

Options: --port N (0: any free port; "PORT <n>" is printed on stdout once
listening), --fail-first N (answer 500 to the first N requests),
--delay-ms D (sleep before answering each request), --log FILE (append one
JSON line per request: status, language, model, response_format, auth
(whether an Authorization header came), audio_seconds). Python 3 standard
library only; stops on SIGTERM or SIGINT.
"""
import argparse
import email.parser
import email.policy
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import wave
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PATH = "/v1/audio/transcriptions"
BODY_MAX = 16 * 1024 * 1024
RECOGNISE_TIMEOUT_S = 120


class BadRequest(Exception):
    pass


def parse_form(ctype, body):
    """The fields of a multipart/form-data body: {name: (filename, bytes)}."""
    if not ctype.lower().startswith("multipart/form-data"):
        raise BadRequest("not multipart/form-data")
    head = b"Content-Type: " + ctype.encode("latin-1") + b"\r\n\r\n"
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        head + body)
    if not msg.is_multipart() or msg.defects:
        raise BadRequest("malformed multipart body")
    fields = {}
    for part in msg.iter_parts():
        if part.defects:
            raise BadRequest("malformed part")
        name = part.get_param("name", header="content-disposition")
        if not name:
            raise BadRequest("part without a name")
        fields[name] = (part.get_filename(), part.get_payload(decode=True))
    return fields


def check_wav(data):
    """The seconds of a 16 kHz mono 16-bit WAV, else BadRequest."""
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != \
                    (1, 2, 16000):
                raise BadRequest("WAV is not 16 kHz mono 16-bit")
            frames = w.getnframes()
            if len(w.readframes(frames)) != frames * 2:
                raise BadRequest("WAV data is short")
            return frames / 16000.0
    except (wave.Error, EOFError) as e:
        raise BadRequest("not a WAV file: %s" % e)


def recognise(data):
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        f.write(data)
        f.flush()
        out = subprocess.run(
            ["pocketsphinx_continuous", "-infile", f.name, "-logfn",
             "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            timeout=RECOGNISE_TIMEOUT_S, check=True)
    lines = out.stdout.decode("utf-8", "replace").split("\n")
    return " ".join(l.strip() for l in lines if l.strip())


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, obj, raw=None):
        body = raw if raw is not None else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass  # the client gave up (its timeout)

    def record(self, entry):
        srv = self.server
        if srv.log_path:
            with srv.lock, open(srv.log_path, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def do_POST(self):
        srv = self.server
        entry = {"status": 400, "language": None, "model": None,
                 "response_format": None,
                 "auth": "Authorization" in self.headers,
                 "audio_seconds": None}
        with srv.lock:
            srv.count += 1
            nth = srv.count
        try:
            if self.path != PATH:
                entry["status"] = 404
                self.record(entry)
                self.answer(404, {"error": {"message": "no such path"}})
                return
            length = int(self.headers.get("Content-Length", "-1"))
            if length < 0 or length > BODY_MAX:
                raise BadRequest("Content-Length missing or too large")
            body = self.rfile.read(length)
            fields = parse_form(self.headers.get("Content-Type", ""), body)
            for k in ("language", "model", "response_format"):
                if k in fields:
                    entry[k] = fields[k][1].decode("utf-8", "replace")
            if "file" not in fields or not fields["file"][0]:
                raise BadRequest("no file part")
            entry["audio_seconds"] = check_wav(fields["file"][1])
        except (BadRequest, ValueError) as e:
            self.record(entry)
            self.answer(400, {"error": {"message": str(e)}})
            return
        if srv.delay_ms:
            time.sleep(srv.delay_ms / 1000.0)
        if nth <= srv.fail_first:
            entry["status"] = 500
            self.record(entry)
            self.answer(500, {"error": {"message": "failing as asked"}})
            return
        if srv.bad_answer:
            # a 200 whose body is not the OpenAI shape, for failure tests
            entry["status"] = 200
            self.record(entry)
            self.answer(200, None, raw=BAD_ANSWERS[srv.bad_answer])
            return
        try:
            text = recognise(fields["file"][1])
        except (subprocess.SubprocessError, OSError) as e:
            entry["status"] = 500
            self.record(entry)
            self.answer(500, {"error": {"message": "recogniser: %s" % e}})
            return
        entry["status"] = 200
        self.record(entry)
        self.answer(200, {"text": text})


# --answer MODE: what a broken or hostile service answers with 200
BAD_ANSWERS = {
    "garbage": b"<html>not json</html>",
    "notext": b'{"transcript": "go forward"}',
    "number": b'{"text": 42}',
    "array": b'["go forward"]',
    "huge": b'{"text": "' + b"a" * 70000 + b'"}',
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--log")
    ap.add_argument("--answer", choices=sorted(BAD_ANSWERS),
                    help="answer every request 200 with this broken body")
    args = ap.parse_args()
    if not shutil.which("pocketsphinx_continuous"):
        print("stt_standin: pocketsphinx_continuous not found (Debian "
              "package pocketsphinx)", file=sys.stderr)
        return 1
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.lock = threading.Lock()
    srv.count = 0
    srv.fail_first = args.fail_first
    srv.delay_ms = args.delay_ms
    srv.log_path = args.log
    srv.bad_answer = args.answer
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    print("PORT %d" % srv.server_address[1], flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
