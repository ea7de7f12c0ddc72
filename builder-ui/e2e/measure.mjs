// Measures the UI's first paint: starts a forma binary (FORMA_BIN, or a fresh
// build) on a free port and opens the login page in Debian's Chromium RUNS
// times (a fresh browser context each, no cache), printing the median
// first-paint and first-contentful-paint (performance.getEntriesByType("paint")).
//
//   node e2e/measure.mjs            (from builder-ui/, after `npm ci`)
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const runs = Number(process.env.RUNS || 15);

const work = mkdtempSync(join(tmpdir(), "forma-measure-"));
let bin = process.env.FORMA_BIN;
if (!bin) {
  bin = join(work, "forma");
  execFileSync("go", ["build", "-o", bin, "./cmd/forma"], { cwd: repo, stdio: "inherit" });
}
const port = await new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data", join(work, "data")], {
  env: { ...process.env, FORMA_ADMIN_EMAIL: "m@example.com", FORMA_ADMIN_PASSWORD: "measure password 1", FORMA_DB: "" },
  stdio: ["ignore", "ignore", "inherit"],
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  for (let i = 0; i < 150; i++) {
    try { if ((await fetch(base + "/api/health")).ok) break; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  const fp = [], fcp = [];
  for (let i = 0; i < runs + 1; i++) {
    const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    await page.goto(base + "/#/login");
    await page.getByTestId("login-submit").waitFor();
    await page.waitForTimeout(100);
    const paint = await page.evaluate(() => Object.fromEntries(performance.getEntriesByType("paint").map((e) => [e.name, e.startTime])));
    if (i > 0) { fp.push(paint["first-paint"]); fcp.push(paint["first-contentful-paint"]); } // the first run warms the server
    await ctx.close();
  }
  const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
  console.log(JSON.stringify({ runs, firstPaintMs: Math.round(median(fp)), firstContentfulPaintMs: Math.round(median(fcp)) }));
} finally {
  await browser.close();
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
