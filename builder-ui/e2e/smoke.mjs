// End-to-end smoke test of the web UI against a real `forma serve`, driven
// by playwright-core in Debian's Chromium (never a downloaded browser).
//
//   node e2e/smoke.mjs            (from builder-ui/, after `npm ci`)
//
// It builds the forma binary, starts it on a free port with a fresh SQLite
// folder and a bootstrap admin, installs a small app through the API (the
// designer screens come later), then works the runtime like a rep would.
// Screenshots of every step land in e2e/screenshots/.
import { chromium } from "playwright-core";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import net from "node:net";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const shots = join(here, "screenshots");
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const email = "e2e@example.com";
const password = "e2e password 1";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => { const { port } = s.address(); s.close(() => resolve(port)); });
    s.on("error", reject);
  });
}

async function waitFor(url, ms) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try { const r = await fetch(url); if (r.ok) return; } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("server did not come up: " + url);
}

const work = mkdtempSync(join(tmpdir(), "forma-e2e-"));
const bin = join(work, "forma");
execFileSync("go", ["build", "-o", bin, "./cmd/forma"], { cwd: repo, stdio: "inherit" });
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = spawn(bin, ["serve", "--addr", `127.0.0.1:${port}`, "--data", join(work, "data")], {
  env: { ...process.env, FORMA_ADMIN_EMAIL: email, FORMA_ADMIN_PASSWORD: password, FORMA_DB: "" },
  stdio: ["ignore", "inherit", "inherit"],
});
let browser;
let failed = false;
try {
  await waitFor(base + "/api/health", 30000);
  await run();
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  if (browser) await browser.close();
  server.kill("SIGTERM");
  rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

async function api(token, method, path, body) {
  const r = await fetch(base + path, {
    method, headers: { "Content-Type": "application/json", ...(token ? { Authorization: "Bearer " + token } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function run() {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await api(token, "POST", "/api/meta/apps", {
    name: "crm", label: "CRM", entities: [{
      name: "deal", label: "Deal", fields: [
        { id: "f1", name: "title", type: "text", required: true, maxLength: 100 },
        { id: "f2", name: "amount", type: "decimal", min: 0 },
        { id: "f3", name: "stage", type: "select", options: ["lead", "won", "lost"], default: "lead" },
      ],
    }],
  });

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  const shot = (name) => page.screenshot({ path: join(shots, name + ".png"), fullPage: true });

  await page.goto(base + "/");
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("app-link-crm").click();
  await shot("01-app");
  await page.getByTestId("entity-link-deal").click();
  await page.getByTestId("new-record").click();
  // A server validation error first: amount below its minimum.
  await page.getByTestId("field-title").fill("Acme renewal");
  await page.getByTestId("field-amount").fill("-5");
  await page.getByTestId("form-save").click();
  await page.getByTestId("field-error-amount").waitFor();
  await shot("02-validation-error");
  await page.getByTestId("field-amount").fill("1200.50");
  await page.getByTestId("form-save").click();
  await page.getByTestId("history-link").waitFor(); // the saved record's page
  await shot("03-saved");
  await page.getByTestId("back-to-list").click();
  await page.getByTestId("list-row").first().waitFor();
  // A second record, through the API, then filter the list to one of them.
  await api(token, "POST", "/api/data/crm/deal", { title: "Globex pilot", amount: 300, stage: "won" });
  await page.reload();
  await waitRows(page, 2);
  await page.getByTestId("filter-toggle").click().catch(() => {});
  await page.getByTestId("filter-add").click();
  await page.getByTestId("filter-field").last().selectOption("stage");
  await page.getByTestId("filter-op").last().selectOption("=");
  const value = page.getByTestId("filter-value").last();
  if ((await value.evaluate((el) => el.tagName)) === "SELECT") await value.selectOption("won");
  else await value.fill("won");
  await page.getByTestId("filter-apply").click();
  await waitRows(page, 1);
  await shot("04-filtered");

  // A phone-sized screen shows the same list.
  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByTestId("list-row").first().waitFor();
  await shot("05-phone");
  // A browser that prefers Chinese gets the UI in Chinese.
  const zh = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  await zh.goto(base + "/");
  const label = await zh.getByTestId("login-submit").textContent();
  if (!/[\u4e00-\u9fff]/.test(label || "")) throw new Error("zh-CN browser got login button " + JSON.stringify(label));
  await zh.screenshot({ path: join(shots, "06-login-zh.png") });
  console.log("e2e smoke passed; screenshots in", shots);
}

async function waitRows(page, n) {
  const until = Date.now() + 10000;
  let got = -1;
  while (Date.now() < until) {
    got = await page.getByTestId("list-row").count();
    if (got === n) return;
    await page.waitForTimeout(100);
  }
  throw new Error(`want ${n} list rows, got ${got}`);
}
