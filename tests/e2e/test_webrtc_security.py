"""
test_webrtc_security.py: the strangers of a WebRTC leg, against a real
chorusd.

- STUN: a Binding request to the leg's port whose MESSAGE-INTEGRITY is not
  keyed by the answer's ice-pwd (or that has none, or names another ufrag)
  is ignored; the same request keyed right is answered (so the silence is
  the check's doing, not a closed port). DTLS and SRTP datagrams from an
  address no valid check chose are counted rejected and change nothing.
- DTLS: headless Chromium POSTs an offer whose a=fingerprint is not its
  certificate's: the handshake is refused, the call ends failed and its
  participant never joins; the same browser's true offer connects.
- Join tokens: another conference's is 404, a tampered one 401, an expired
  one 401 token_expired, one on a route it does not grant 403; CORS
  preflight without a token answers 204 with the allow headers.
"""
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sip_harness import SipTestCase, customer_add, main, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NPM_DIR = os.environ.get("CHORUS_NPM_TOOLS",
                         os.path.expanduser("~/.cache/chorus-test-npm"))
OFFER = os.path.join(ROOT, "tests", "fuzz", "corpus", "webrtc_sdp",
                     "chromium.sdp")
OFFER_UFRAG = "fL3x"
MAGIC = 0x2112A442


def stun_attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def stun_request(tid, username, pwd, integrity=True):
    """A Binding request as a controlling browser sends it (RFC 8445):
    USERNAME, PRIORITY, ICE-CONTROLLING, MESSAGE-INTEGRITY keyed by pwd,
    FINGERPRINT."""
    attrs = (stun_attr(0x0006, username.encode()) +
             stun_attr(0x0024, struct.pack("!I", 1853824767)) +
             stun_attr(0x802A, os.urandom(8)))

    def head(n):
        return struct.pack("!HHI", 0x0001, n, MAGIC) + tid
    if integrity:
        mac = hmac.new(pwd.encode(), head(len(attrs) + 24) + attrs,
                       hashlib.sha1).digest()
        attrs += stun_attr(0x0008, mac)
    crc = zlib.crc32(head(len(attrs) + 8) + attrs) ^ 0x5354554E
    attrs += stun_attr(0x8028, struct.pack("!I", crc))
    return head(len(attrs)) + attrs


class WebrtcSecurityTest(SipTestCase):
    def offer(self, cid, token=None, auth="bearer"):
        with open(OFFER, "rb") as f:
            raw = f.read()
        return self.api.request(
            "POST", "/conferences/%s/webrtc" % cid, raw=raw,
            headers={"Content-Type": "application/sdp"},
            **({"token": token, "auth": auth} if token else {}))

    def test_stun_integrity(self):
        self.start_sip_daemon()
        cid = self.api.create_conference(name="stun")["id"]
        self.api.wait_status(cid, "progressing", 5)
        r = self.offer(cid)
        self.assertEqual(r.status, 201, r)
        answer = r.body.decode()
        ufrag = re.search(r"a=ice-ufrag:(\S+)", answer).group(1)
        pwd = re.search(r"a=ice-pwd:(\S+)", answer).group(1)
        cand = re.search(r"a=candidate:\S+ 1 udp \d+ (\S+) (\d+) typ host",
                         answer)
        self.assertIsNotNone(cand, answer)
        dst = (cand.group(1), int(cand.group(2)))
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s.close)
        s.settimeout(1.0)

        def answered(req):
            s.sendto(req, dst)
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                return None
            return data
        user = "%s:%s" % (ufrag, OFFER_UFRAG)
        wrong = "x" * len(pwd)
        for what, req in (
                ("a wrong key", stun_request(os.urandom(12), user, wrong)),
                ("no MESSAGE-INTEGRITY",
                 stun_request(os.urandom(12), user, pwd, integrity=False)),
                ("another ufrag", stun_request(
                    os.urandom(12), "zzzz:" + OFFER_UFRAG, pwd))):
            self.assertIsNone(answered(req), "STUN with %s was answered" %
                              what)
        tid = os.urandom(12)
        data = answered(stun_request(tid, user, pwd))
        self.assertIsNotNone(data, "a valid STUN check got no answer")
        kind, _, magic = struct.unpack("!HHI", data[:8])
        self.assertEqual((kind, magic, data[8:20]), (0x0101, MAGIC, tid))
        cc = r.headers["x-chorus-conferencecall-id"]

        def rejected():
            st = self.api.get("/conferencecalls/" + cc).json.get("stats")
            return (st or {}).get("packets_rejected", -1)
        # a stranger (no credentials, another address) sends DTLS and
        # SRTP-looking datagrams: each is rejected, nothing else happens
        before = rejected()
        self.assertGreaterEqual(before, 0)
        s2 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.addCleanup(s2.close)
        for i in range(5):
            s2.sendto(b"\x16\xfe\xfd" + os.urandom(60), dst)
            s2.sendto(b"\x80\x6f" + struct.pack("!H", i) + os.urandom(80),
                      dst)
        self.assertTrue(wait_until(lambda: rejected() >= before + 10, 5),
                        "stranger's packets: rejected %d, was %d" %
                        (rejected(), before))
        self.assertNotEqual(self.api.get("/calls/" + r.headers[
            "x-chorus-call-id"]).json["status"], "hangup")
        # the participant does not join without DTLS
        self.assertEqual(self.api.get("/conferencecalls/" + cc).json
                         ["status"], "joining")

    def test_dtls_fingerprint(self):
        node = shutil.which("node")
        self.assertTrue(node, "node is missing")
        self.assertTrue(os.path.exists("/usr/bin/chromium"),
                        "chromium is missing")
        self.start_sip_daemon()
        cid = self.api.create_conference(name="dtls")["id"]
        self.api.wait_status(cid, "progressing", 5)
        cfg = {"npm_dir": NPM_DIR, "conference_id": cid,
               "base": "http://127.0.0.1:%d" % self.d.port,
               "token": self.api.token}
        p = subprocess.run([node, os.path.join(HERE, "webrtc_fingerprint.mjs"),
                            json.dumps(cfg)], capture_output=True, text=True,
                           timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        out = json.loads(p.stdout.strip().splitlines()[-1])
        good, bad = out["good"], out["bad"]
        self.assertEqual((good["status"], good["state"]), (201, "connected"),
                         out)
        self.assertTrue(bad["munged"], out)
        self.assertGreater(good["packets_in"], 50, out)
        self.assertEqual(bad["status"], 201, out)
        # the browser ends its side of DTLS, then hears nothing: no SRTP
        # keys were made for it
        self.assertEqual(bad["packets_in"], 0, out)
        gc = self.api.get("/calls/" + good["call_id"]).json
        self.assertEqual(gc["status"], "progressing", gc)
        self.assertEqual(gc["transport"], "webrtc", gc)

        def ended():
            c = self.api.get("/calls/" + bad["call_id"]).json
            return c if c["status"] == "hangup" else None
        bc = wait_until(ended, 15)
        self.assertTrue(bc, "the call with the wrong fingerprint did not end")
        self.assertEqual(bc["hangup_reason"], "failed", bc)
        # its participant never joined
        for e in self.events_for("reference_id", bad["call_id"]):
            self.assertNotEqual(e.get("status"), "joined", e)

    def test_join_tokens(self):
        self.start_sip_daemon()
        c1 = self.api.create_conference(name="one")["id"]
        c2 = self.api.create_conference(name="two")["id"]
        self.api.wait_status(c1, "progressing", 5)
        self.api.wait_status(c2, "progressing", 5)
        r = self.api.post("/conferences/%s/join_tokens" % c1, {})
        self.assertEqual(r.status, 200, r)
        tok = r.json["token"]
        self.assertTrue(tok.startswith("cjt_") and len(tok) < 200, r.json)
        # it joins its own conference, by header or ?token=
        self.assertEqual(self.offer(c1, tok).status, 201)
        self.assertEqual(self.offer(c1, tok, auth="query").status, 201)
        # another conference's: as unknown
        r = self.offer(c2, tok)
        self.assertEqual((r.status, r.json["error"]["code"]),
                         (404, "not_found"), r)
        r = self.api.get("/conferencecalls", token=tok,
                         query={"conference_id": c2})
        self.assertEqual(r.status, 404, r)
        # a route it does not grant
        r = self.api.get("/conferences", token=tok)
        self.assertEqual((r.status, r.json["error"]["code"]),
                         (403, "forbidden"), r)
        # tampered
        bad = tok[:-1] + ("0" if tok[-1] != "0" else "1")
        r = self.offer(c1, bad)
        self.assertEqual((r.status, r.json["error"]["code"]),
                         (401, "unauthorized"), r)
        # another customer's conference cannot be minted for
        r = self.api.post("/conferences/%s/join_tokens" % c1, {},
                          token=customer_add(self.d.data_dir, "tenant-b")["token"])
        self.assertEqual(r.status, 404, r)
        r = self.api.post("/conferences/%s/join_tokens" % c1,
                          {"ttl_seconds": 5})
        self.assertEqual(r.status, 400, r)
        # CORS preflight: no token needed
        r = self.api.request("OPTIONS", "/conferences/%s/webrtc" % c1,
                             token=None,
                             headers={"Origin": "http://example.test",
                                      "Access-Control-Request-Method":
                                      "POST"})
        self.assertEqual(r.status, 204, r)
        self.assertEqual(r.headers["access-control-allow-origin"], "*")
        self.assertIn("POST", r.headers["access-control-allow-methods"])
        self.assertIn("Authorization",
                      r.headers["access-control-allow-headers"])
        # expired
        r = self.api.post("/conferences/%s/join_tokens" % c1,
                          {"ttl_seconds": 10})
        short = r.json["token"]
        self.assertEqual(self.offer(c1, short).status, 201)
        time.sleep(11)
        r = self.offer(c1, short)
        self.assertEqual((r.status, r.json["error"]["code"]),
                         (401, "token_expired"), r)
        # a terminated conference mints none
        self.assertEqual(self.api.delete("/conferences/" + c1).status, 200)
        r = self.api.post("/conferences/%s/join_tokens" % c1, {})
        self.assertEqual(r.status, 409, r)


if __name__ == "__main__":
    main()
