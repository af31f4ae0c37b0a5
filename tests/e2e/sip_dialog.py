"""
sip_dialog.py: a raw SIP-over-UDP caller that keeps its dialogs, for the
end-to-end tests that need more than one request per call
(test_sip_sdp_interop.py, test_sip_floods.py). It extends RawSip of
test_sip_errors.py with:

- a source address of choice (127.0.0.1, 127.0.0.2, ...: all loopback);
- invite(): the final answer with its SDP body and the dialog (Call-ID,
  tags), ACKed or, with ack=False, left un-ACKed as a flood would;
- reinvite() / bye() in that dialog;
- an RTP socket whose port the SDP names, and rtp_received().
"""
import os
import re
import socket
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_sip_errors import RawSip  # noqa: E402

SDP = ("v=0\r\no=- 1 %(ver)d IN IP4 %(ip)s\r\ns=-\r\nc=IN IP4 %(c)s\r\n"
       "t=0 0\r\nm=audio %(port)d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
       "a=rtpmap:101 telephone-event/8000\r\na=%(dir)s\r\n%(extra)s")


class Call:
    """One INVITE's outcome: code, headers, raw answer, SDP body, dialog."""

    def __init__(self, ruri, call_id, from_tag):
        self.ruri, self.call_id, self.from_tag = ruri, call_id, from_tag
        self.to_tag, self.cseq = None, 1
        self.code, self.hdrs, self.raw, self.body = None, {}, b"", ""


class DialogSip(RawSip):

    def __init__(self, port, host="127.0.0.1", dst_host="127.0.0.1"):
        self.host = host
        self.dst = (dst_host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.lport = self.sock.getsockname()[1]
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((host, 0))
        self.rtp_port = self.rtp.getsockname()[1]

    def close(self):
        self.sock.close()
        self.rtp.close()

    def sdp(self, c=None, port=None, direction="sendrecv", extra="", ver=1):
        return SDP % {"ip": self.host, "c": c or self.host,
                      "port": self.rtp_port if port is None else port,
                      "dir": direction, "extra": extra, "ver": ver}

    def _build(self, method, ruri, call_id, cseq, branch, from_tag,
               to_tag=None, body="", ctype="application/sdp"):
        # RawSip writes 127.0.0.1 in Via/From/Contact; use our address
        msg = super()._build(method, ruri, call_id, cseq, branch, from_tag,
                             to_tag, body, ctype)
        return msg.replace(b"127.0.0.1:%d" % self.lport,
                           b"%s:%d" % (self.host.encode(), self.lport))

    def _transaction(self, method, call, body, ack, timeout, raw_msg=None):
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        msg = raw_msg or self._build(method, call.ruri, call.call_id,
                                     call.cseq, branch, call.from_tag,
                                     call.to_tag, body=body)
        if raw_msg:
            branch = re.search(rb"branch=([^;\r\n]+)", raw_msg).group(1)
            branch = branch.decode()
        code, hdrs, raw = self.final_answer(msg, method, branch, timeout)
        call.code, call.hdrs, call.raw = code, hdrs, raw
        call.body = raw.split(b"\r\n\r\n", 1)[1].decode("utf-8", "replace")
        if call.to_tag is None:
            tag = hdrs.get("to", "").partition(";tag=")[2]
            call.to_tag = tag.split(";")[0] or None
        if method == "INVITE" and (code >= 300 or ack):
            self.sock.sendto(self._build(
                "ACK", call.ruri, call.call_id, call.cseq,
                branch if code >= 300 else
                "z9hG4bK" + uuid.uuid4().hex[:16], call.from_tag,
                call.to_tag), self.dst)
        return call

    def invite(self, ruri, body, ack=True, timeout=8):
        call = Call(ruri, uuid.uuid4().hex + "@" + self.host,
                    uuid.uuid4().hex[:8])
        return self._transaction("INVITE", call, body, ack, timeout)

    def raw_request(self, method, ruri, build, timeout=8):
        """Sends build(call) (bytes) as a method request of a new call
        and returns the call with its final answer."""
        call = Call(ruri, uuid.uuid4().hex + "@" + self.host,
                    uuid.uuid4().hex[:8])
        return self._transaction(method, call, "", True, timeout,
                                 raw_msg=build(call))

    def reinvite(self, call, body, timeout=8):
        """A re-INVITE in call's dialog; returns (code, SDP body)."""
        call.cseq += 1
        self._transaction("INVITE", call, body, True, timeout)
        return call.code, call.body

    def bye(self, call):
        call.cseq += 1
        self._transaction("BYE", call, "", False, 5)
        return call.code

    def rtp_received(self, timeout):
        """Whether any datagram reaches the RTP port within timeout s
        (drains what is queued first)."""
        self.rtp.setblocking(False)
        try:
            while True:
                self.rtp.recv(2048)
        except OSError:
            pass
        self.rtp.settimeout(timeout)
        try:
            self.rtp.recv(2048)
            return True
        except socket.timeout:
            return False
