// console_driver.mjs: drives the web console (/console) in Debian's
// Chromium with playwright-core, for tests/e2e/test_console.py. Usage:
//   node console_driver.mjs '<json config>'
// config: {npm_dir, url, token, conference_id, talker, other, shots}.
// Writes one JSON line per step to stdout ({"step": ...}); after "muted"
// and "kicked" it waits for a line on stdin ("ok") from the test, which
// checks the API meanwhile. Exits 1 with {"error": ...} on a failure.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import path from "node:path";

const cfg = JSON.parse(process.argv[2]);
const require = createRequire(path.join(cfg.npm_dir, "node_modules", "x.js"));
const { chromium } = require("playwright-core");

const lines = createInterface({ input: process.stdin });
const waiting = [];
lines.on("line", (l) => { const w = waiting.shift(); if (w) w(l); });
const reply = () => new Promise((res) => waiting.push(res));
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium", headless: true,
  args: ["--no-sandbox", "--disable-gpu"],
});
const errors = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  await page.goto(cfg.url);
  await page.fill("#token", "not-a-token");
  await page.click("#login-form button[type=submit]");
  await page.waitForFunction(() => document.getElementById("login-error").textContent.includes("Invalid"), null, { timeout: 5000 });
  errors.length = 0; // the refused token's 401 is logged by Chromium
  await page.fill("#token", cfg.token);
  await page.click("#login-form button[type=submit]");
  await page.waitForSelector("#ws-state.live", { timeout: 5000 });
  say({ step: "logged_in", stored: await page.evaluate(() => sessionStorage.getItem("chorus.console.token") !== null) });
  await page.click(`#conferences li[data-id="${cfg.conference_id}"]`);
  const card = (name) => page.locator(".participant", { has: page.locator(".caller", { hasText: name }) });
  for (const n of [cfg.talker, cfg.other]) {
    await card(n).and(page.locator('[data-status="joined"]')).waitFor({ timeout: 10000 });
  }
  say({ step: "participants", n: await page.locator('.participant[data-status="joined"]').count() });
  const dot = card(cfg.talker).locator(".talk-dot");
  await dot.and(page.locator(".on")).waitFor({ timeout: 12000 });
  const tOn = Date.now();
  await page.screenshot({ path: path.join(cfg.shots, "console-talking.png") });
  await dot.and(page.locator(":not(.on)")).waitFor({ timeout: 12000 });
  const tOff = Date.now();
  await dot.and(page.locator(".on")).waitFor({ timeout: 12000 });
  say({ step: "talking", on_ms: tOff - tOn, again_ms: Date.now() - tOff,
        other_on: await card(cfg.other).locator(".talk-dot.on").count() });
  await card(cfg.talker).locator("button.mute").click();
  await card(cfg.talker).locator(".muted-flag").waitFor({ timeout: 5000 });
  say({ step: "muted", id: await card(cfg.talker).getAttribute("data-id") });
  await reply();
  const otherId = await card(cfg.other).getAttribute("data-id");
  await card(cfg.other).locator("button.kick").click();
  await page.locator(`.participant[data-id="${otherId}"]:is([data-status="leaving"], [data-status="leaved"])`).waitFor({ timeout: 8000 });
  say({ step: "kicked", id: otherId });
  await reply();
  await page.locator(`.participant[data-id="${otherId}"][data-status="leaved"]`).waitFor({ timeout: 8000 });
  await page.screenshot({ path: path.join(cfg.shots, "console-after-kick.png") });
  say({ step: "done", errors });
} catch (e) {
  say({ error: String(e && e.stack || e), errors });
  process.exitCode = 1;
} finally {
  await browser.close();
  lines.close();
}
