// webrtc_peer.mjs: one headless Chromium participant for
// tests/e2e/test_webrtc_control.py: a plain RTCPeerConnection whose fake
// microphone plays cfg.wav, joined through POST /conferences/{id}/webrtc
// with the API token. Usage: node webrtc_peer.mjs '<json config>'
// (config: {npm_dir, base, conference_id, token, wav, name}).
// Prints {"step": "joined", call_id, conferencecall_id} once connected,
// then reads commands on stdin: "kill" SIGKILLs the browser (it vanishes
// without a word: no DTLS close, no DELETE), "quit" closes it.
import { createInterface } from "node:readline";
import { killChromium, launchChromium, say } from "./chromium.mjs";

const cfg = JSON.parse(process.argv[2]);
// "kill" finds the browser's processes by its profile folder
const { ctx: browser, profile } = await launchChromium(cfg.npm_dir, cfg.wav);
try {
  const page = await browser.newPage();
  await page.goto(cfg.base + "/join");
  const r = await page.evaluate(async (cfg) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    // the tone as it is: a steady sine is what noise suppression removes
    const ms = await navigator.mediaDevices.getUserMedia({ audio: {
      echoCancellation: false, noiseSuppression: false, autoGainControl: false } });
    ms.getTracks().forEach((t) => pc.addTrack(t, ms));
    pc.ontrack = (e) => { const a = new Audio(); a.muted = true; a.srcObject = new MediaStream([e.track]); a.play().catch(() => {}); window.el = a; };
    const offer = await pc.createOffer();
    await pc.setLocalDescription(offer);
    const res = await fetch(`/v1.0/conferences/${cfg.conference_id}/webrtc?name=${encodeURIComponent(cfg.name)}`, {
      method: "POST", body: offer.sdp,
      headers: { "Authorization": "Bearer " + cfg.token, "Content-Type": "application/sdp" } });
    const answer = await res.text();
    if (res.status !== 201) return { error: res.status + " " + answer };
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const t0 = Date.now();
    while (pc.connectionState !== "connected" && Date.now() - t0 < 15000)
      await new Promise((res) => setTimeout(res, 100));
    if (pc.connectionState !== "connected") return { error: "not connected: " + pc.connectionState };
    return { call_id: res.headers.get("X-Chorus-Call-Id"),
      conferencecall_id: res.headers.get("X-Chorus-Conferencecall-Id") };
  }, cfg);
  if (r.error) throw new Error(r.error);
  say({ step: "joined", ...r });
  for await (const line of createInterface({ input: process.stdin })) {
    if (line === "kill") {
      const n = killChromium(profile);
      if (!n) throw new Error("no browser process to kill");
      say({ step: "killed", processes: n });
      process.exit(0);
    }
    if (line === "quit") break;
  }
  await browser.close();
  process.exit(0);
} catch (e) {
  say({ error: String(e && e.stack || e) });
  await browser.close();
  process.exit(1);
}
