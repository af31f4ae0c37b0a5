// chromium.mjs: what the WebRTC drivers of tests/e2e share: playwright-core
// from the test's npm folder (scripts/deps.sh installs it), Debian's
// chromium with ../shared TESTING.md's flags and a fake microphone, a
// profile folder of its own, and a way to kill that browser outright.
import { createRequire } from "node:module";
import { readFileSync, readdirSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// Launches headless Chromium; wav (may be undefined) is the fake
// microphone's file, opts goes to launchPersistentContext (viewport...).
// Returns {ctx, profile}.
export async function launchChromium(npmDir, wav, opts = {}) {
  const require = createRequire(path.join(npmDir, "node_modules", "x.js"));
  const { chromium } = require("playwright-core");
  const profile = mkdtempSync(path.join(os.tmpdir(), "chorus-chromium-"));
  const args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required", "--allow-loopback-in-peer-connection"];
  if (wav) args.push("--use-file-for-fake-audio-capture=" + wav);
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium", headless: true, args, ...opts });
  return { ctx, profile };
}

// SIGKILLs every process whose command line names profile (the browser
// and its children): it vanishes without a word. Returns how many.
export function killChromium(profile) {
  let n = 0;
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    let cmd;
    try { cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1"); } catch { continue; }
    if (!cmd.includes(profile)) continue;
    try { process.kill(Number(pid), "SIGKILL"); n++; } catch { /* gone */ }
  }
  return n;
}

// One JSON line on stdout.
export const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
