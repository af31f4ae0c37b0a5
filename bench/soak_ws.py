#!/usr/bin/env python3
"""soak_ws.py: a WebSocket event subscriber for bench/soak.sh.

Connects to URL (ws://HOST:PORT/v1.0/ws?token=TOKEN), counts the event
messages it gets, reconnects when the server drops it (counted), and after
SECONDS (or on SIGTERM) prints one line: events, disconnects, the longest
silence. Python 3 standard library plus python3-websocket (Debian).

Usage: soak_ws.py URL SECONDS
"""
import signal
import sys
import time

try:
    import websocket  # python3-websocket (Debian package)
except ImportError:  # a non-Debian python3 first in PATH (e.g. pyenv)
    sys.path.append("/usr/lib/python3/dist-packages")
    import websocket  # noqa: E402


def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    end = time.monotonic() + seconds
    events = drops = failures = 0
    longest = 0.0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    ws = None
    last = time.monotonic()
    while not stop and time.monotonic() < end:
        if ws is None:
            try:
                ws = websocket.create_connection(url, timeout=1)
                last = time.monotonic()
            except (OSError, websocket.WebSocketException):
                failures += 1
                time.sleep(1)
                continue
        try:
            ws.recv()
            events += 1
            now = time.monotonic()
            longest = max(longest, now - last)
            last = now
        except websocket.WebSocketTimeoutException:
            continue
        except (OSError, websocket.WebSocketException):
            drops += 1
            ws = None
    if ws is not None:
        ws.close()
    print(f"ws: {events} events, {drops} disconnects, {failures} failed "
          f"connects, longest silence {longest:.1f} s")


if __name__ == "__main__":
    main()
