// webrtc_fingerprint.mjs: for tests/e2e/test_webrtc_security.py. Joins a
// conference twice from headless Chromium with a plain RTCPeerConnection:
// once with its true offer, once POSTing an offer whose a=fingerprint was
// changed (the browser keeps its real certificate). Usage:
//   node webrtc_fingerprint.mjs '<json config>'   config: {npm_dir, base,
//   conference_id, token}
// Prints one JSON line: {good: {status, call_id, state, final,
// packets_in}, bad: {...}} (state when ICE+DTLS settled, final 3 s later).
import { launchChromium, say } from "./chromium.mjs";

const cfg = JSON.parse(process.argv[2]);
const { ctx } = await launchChromium(cfg.npm_dir);
try {
  const page = await ctx.newPage();
  await page.goto(cfg.base + "/join");
  const out = await page.evaluate(async (cfg) => {
    async function join(munge) {
      const pc = new RTCPeerConnection();
      const ms = await navigator.mediaDevices.getUserMedia({ audio: true });
      ms.getTracks().forEach((t) => pc.addTrack(t, ms));
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      let sdp = offer.sdp;
      if (munge) // flip the first hex byte of the certificate's fingerprint
        sdp = sdp.replace(/a=fingerprint:sha-256 ([0-9A-F]{2})/,
          (m, b) => "a=fingerprint:sha-256 " + (b === "00" ? "01" : "00"));
      const res = await fetch(`/v1.0/conferences/${cfg.conference_id}/webrtc`, {
        method: "POST", body: sdp,
        headers: { "Authorization": "Bearer " + cfg.token, "Content-Type": "application/sdp" } });
      const answer = await res.text();
      const r = { status: res.status, call_id: res.headers.get("X-Chorus-Call-Id"), munged: sdp !== offer.sdp };
      if (res.status !== 201) return { ...r, answer };
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      const t0 = Date.now();
      while (!["connected", "failed", "closed"].includes(pc.connectionState) && Date.now() - t0 < 12000)
        await new Promise((res) => setTimeout(res, 100));
      r.state = pc.connectionState;
      r.ice = pc.iceConnectionState;
      // what the browser got in the next 3 s: SRTP only after a handshake
      // the server accepted
      await new Promise((res) => setTimeout(res, 3000));
      r.final = pc.connectionState;
      r.packets_in = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp") r.packets_in += s.packetsReceived || 0;
      });
      return r;
    }
    return { good: await join(false), bad: await join(true) };
  }, cfg);
  say(out);
  await ctx.close();
  process.exit(0);
} catch (e) {
  say({ error: String(e && e.stack || e) });
  await ctx.close();
  process.exit(1);
}
