// webrtc_driver.mjs: a Chromium participant through the /join page, for
// tests/e2e/test_webrtc_browser.py. Usage: node webrtc_driver.mjs '<json>'
// config: {npm_dir, base, conference_id, tokens: [jt1, jt2, jt3], wav, shots, shot_copy}.
// One JSON line per step on stdout; after "joined" steps it waits for a line
// on stdin from the test. Exits 1 with {"error": ...} on a failure.
import { createInterface } from "node:readline";
import { copyFileSync } from "node:fs";
import path from "node:path";
import { launchChromium, say } from "./chromium.mjs";

const cfg = JSON.parse(process.argv[2]);
const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (l) => { const w = waiting.shift(); if (w) w(l); });
const reply = () => new Promise((res) => waiting.push(res));

const { ctx } = await launchChromium(cfg.npm_dir, cfg.wav, {
  viewport: { width: 900, height: 760 }, bypassCSP: true, // waitForFunction evaluates strings
});
const errors = [];
const statuses = (page) => page.evaluate(() => window.chorusStatuses || []);
async function open(token, name) {
  const page = await ctx.newPage();
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${cfg.base}/join?conference=${encodeURIComponent(cfg.conference_id)}&token=${encodeURIComponent(token)}`);
  await page.fill("#name", name);
  await page.click("#join");
  try {
    await page.waitForFunction(() => document.getElementById("status").textContent === "JOINED", null, { timeout: 20000 });
  } catch (e) {
    const st = await page.evaluate(() => ({ status: document.getElementById("status").textContent,
      seq: window.chorusStatuses, pc: window.chorusConference && window.chorusConference._pc &&
        window.chorusConference._pc.connectionState }));
    throw new Error("not JOINED: " + JSON.stringify(st));
  }
  return page;
}
// Goertzel over 2 s of the remote stream, in dBFS per frequency.
const measure = (page, freqs) => page.evaluate(async (freqs) => {
  const c = window.chorusConference;
  const a = new Audio(); a.muted = true; a.srcObject = c.remoteStream; a.play().catch(() => {});
  const ac = new AudioContext({ sampleRate: 48000 });
  await ac.resume();
  const src = ac.createMediaStreamSource(c.remoteStream);
  const an = ac.createAnalyser(); an.fftSize = 8192; src.connect(an);
  const sums = freqs.map(() => 0); let n = 0;
  const buf = new Float32Array(an.fftSize);
  for (let k = 0; k < 10; k++) {
    await new Promise((r) => setTimeout(r, 200));
    an.getFloatTimeDomainData(buf);
    freqs.forEach((f, i) => {
      const w = 2 * Math.cos(2 * Math.PI * f / ac.sampleRate); let s1 = 0, s2 = 0;
      for (const x of buf) { const s = x + w * s1 - s2; s2 = s1; s1 = s; }
      const p = s1 * s1 + s2 * s2 - w * s1 * s2;
      sums[i] += 2 * Math.sqrt(Math.max(p, 0)) / buf.length;
    });
    n++;
  }
  ac.close();
  const out = {}; freqs.forEach((f, i) => { out[f] = 20 * Math.log10(sums[i] / n + 1e-12); });
  return out;
}, freqs);
try {
  let page = await open(cfg.tokens[0], "chromium");
  say({ step: "joined", id: await page.evaluate(() => window.chorusConference.conferencecallId) });
  await reply(); // baresips dialled in
  await page.waitForFunction(() => document.querySelectorAll("#participants li[data-id]").length >= 3, null, { timeout: 15000 });
  say({ step: "levels", levels: await measure(page, [440, 660, 880]) });
  await page.waitForSelector("#participants li.talking", { timeout: 10000 });
  const shot = path.join(cfg.shots, "join-page-three.png");
  await page.screenshot({ path: shot, fullPage: true });
  say({ step: "shot", path: shot, talking: await page.$$eval("#participants li.talking", (l) => l.length) });
  await page.click("#leave");
  await page.waitForFunction(() => document.getElementById("status").textContent === "LEFT", null, { timeout: 10000 });
  say({ step: "left", statuses: await statuses(page) });
  await page.close();
  page = await open(cfg.tokens[1], "chromium2");
  say({ step: "joined2", id: await page.evaluate(() => window.chorusConference.conferencecallId) });
  await reply(); // a silent phone dialled in
  // the page as the docs show it: two participants, one talking
  await page.waitForFunction(() => document.querySelectorAll("#participants li[data-id]").length === 2 &&
    document.querySelectorAll("#participants li.talking").length === 1, null, { timeout: 15000 });
  const shot2 = path.join(cfg.shots, "join-page.png");
  await page.screenshot({ path: shot2, fullPage: true });
  if (cfg.shot_copy) copyFileSync(shot2, cfg.shot_copy);
  say({ step: "shot2", path: shot2,
    participants: await page.$$eval("#participants li[data-id]", (l) => l.length),
    talking: await page.$$eval("#participants li.talking", (l) => l.length) });
  await reply(); // the test kicked us
  await page.waitForFunction(() => document.getElementById("status").textContent === "LEFT", null, { timeout: 15000 });
  say({ step: "kicked", statuses: await statuses(page) });
  await page.close();
  page = await open(cfg.tokens[2], "chromium3");
  say({ step: "joined3", id: await page.evaluate(() => window.chorusConference.conferencecallId) });
  await reply(); // the test deleted the conference
  await page.waitForFunction(() => document.getElementById("status").textContent === "ENDED", null, { timeout: 20000 });
  say({ step: "ended", statuses: await statuses(page) });
  say({ step: "done", errors });
  await ctx.close();
  lines.close(); // stdin would keep node running
  process.exit(0);
} catch (e) {
  say({ error: String(e && e.stack || e), errors });
  await ctx.close();
  process.exit(1);
}
