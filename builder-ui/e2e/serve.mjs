// What a standalone end-to-end script needs (e2e/templates.mjs): a forma
// binary built from this checkout, serving a fresh SQLite folder with a
// bootstrap admin on a free port; a JSON client for its API; Debian's
// Chromium through playwright-core (never a downloaded browser); main, which
// runs a script with them and exits with its verdict.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import net from "node:net";

export const email = "e2e@example.com";
export const password = "e2e password 1";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

async function waitUp(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try { const r = await fetch(url); if (r.ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("server did not come up: " + url);
}

// serve builds and starts `forma serve`; stop() ends it and removes its folder.
export async function serve(repo, env = {}) {
  const work = mkdtempSync(join(tmpdir(), "forma-e2e-"));
  const bin = join(work, "forma");
  execFileSync("go", ["build", "-o", bin, "./cmd/forma"], { cwd: repo, stdio: "inherit" });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data", join(work, "data")], {
    env: { ...process.env, FORMA_ADMIN_EMAIL: email, FORMA_ADMIN_PASSWORD: password, FORMA_DB: "", ...env },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const stop = () => {
    server.kill("SIGTERM");
    rmSync(work, { recursive: true, force: true });
  };
  try {
    await waitUp(base + "/api/health", 30000);
  } catch (e) {
    stop();
    throw e;
  }
  async function api(token, method, path, body) {
    const r = await fetch(base + path, {
      method, headers: { "Content-Type": "application/json", ...(token ? { Authorization: "Bearer " + token } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : null;
  }
  return { base, api, stop };
}

// main serves, launches Chromium, runs run({ base, api, browser }) and exits
// 0 when it passes, 1 when it throws, with the server and browser stopped.
export async function main(repo, env, run) {
  const { base, api, stop } = await serve(repo, env);
  let browser;
  let failed = false;
  try {
    browser = await launch();
    await run({ base, api, browser });
  } catch (e) {
    failed = true;
    console.error(e);
  } finally {
    if (browser) await browser.close();
    stop();
  }
  process.exit(failed ? 1 : 0);
}

function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
}

export async function waitFor(check, what, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out waiting for " + what);
}
