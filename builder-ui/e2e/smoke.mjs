// End-to-end smoke test of the web UI against a real `forma serve`, driven
// by playwright-core in Debian's Chromium (never a downloaded browser).
//
//   node e2e/smoke.mjs            (from builder-ui/, after `npm ci`)
//
// It builds the forma binary, starts it on a free port with a fresh SQLite
// folder and a bootstrap admin (e2e/serve.mjs), and then, as an ops manager and a rep would:
// logs in; creates an app and an entity in the designer and drags three
// fields of different types onto it; publishes (plan first, then apply);
// renames a field and publishes again (a rename, not a drop); creates a
// record through the form, meeting a server validation error first; sees
// the record written before the rename still there; filters the list; looks
// at it on a phone-sized screen; and checks a Chinese browser gets Chinese.
// Then e2e/day.mjs: the ops manager's day at 1280×800 (en) and 390×844 (zh-CN),
// e2e/automations.mjs: automations built in the designer, in both,
// e2e/flows.mjs: a flow built in the designer and taken on a record, in both,
// e2e/assign.mjs: lead distribution (preview, countdown, pool claim, reassign), in both,
// e2e/bulk.mjs: the import wizard and the export, and e2e/plugins.mjs: connectors as
// plugins (install, a write-only secret, a test call, the designer's plugin action and
// inbound endpoint; alone with E2E_ONLY=plugins), and e2e/dashboards.mjs: labels of a
// dashboard's parameters, measures and dimensions set in the designer and read in the
// runtime in both languages, chart colours the same in both (alone with E2E_ONLY=dashboards).
// Screenshots of every step land in e2e/screenshots/.
import { mkdirSync, rmSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { day } from "./day.mjs";
import { automations } from "./automations.mjs";
import { flows } from "./flows.mjs";
import { assign } from "./assign.mjs";
import { bulk } from "./bulk.mjs";
import { plugins } from "./plugins.mjs";
import { dashboards } from "./dashboards.mjs";
import { email, main, password } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const shots = join(here, "screenshots");
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

// e2e/plugins.mjs installs an unsigned test plugin (it asks for it; the server must allow it).
let base, api, browser;
await main(repo, { FORMA_PLUGIN_ALLOW_UNSIGNED: "1" }, async (ctx) => {
  ({ base, api, browser } = ctx);
  await run();
});

async function run() {
  const page = await browser.newPage({ locale: "en-US", viewport: { width: 1400, height: 900 } });
  // One part alone while working on it: E2E_ONLY=plugins node e2e/smoke.mjs.
  if (process.env.E2E_ONLY === "plugins") return plugins({ browser, base, shots, api, email, password });
  if (process.env.E2E_ONLY === "dashboards") return dashboards({ browser, base, shots, api, email, password });
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  const shot = (name) => page.screenshot({ path: join(shots, name + ".png"), fullPage: true });

  // Log in.
  await page.goto(base + "/");
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();

  // Create an app with an entity, and drag three fields of different types onto it.
  await page.getByTestId("new-app").click();
  await page.getByTestId("new-app-name").fill("shop");
  await page.getByTestId("new-app-label").fill("Shop");
  await page.getByTestId("new-app-create").click();
  await page.getByTestId("add-entity").click();
  await page.getByTestId("entity-name").fill("customer");
  await page.getByTestId("entity-label").fill("Customer");
  await page.getByTestId("entity-save").click();
  const zone = page.getByTestId("field-dropzone");
  await dragTo(page, page.getByTestId("palette-text"), zone);
  await dragTo(page, page.getByTestId("palette-decimal"), zone);
  await dragTo(page, page.getByTestId("palette-date"), zone);
  for (const f of ["text_1", "decimal_1", "date_1"]) await page.getByTestId("designer-field-" + f).waitFor();
  // The amount may not be negative: the form will meet the server's check.
  await page.getByTestId("designer-field-decimal_1").click();
  await page.getByTestId("config-min").fill("0");
  await shot("01-designer-fields");

  // Publish: the plan first, then apply on confirmation.
  const plan1 = await publish(page, () => shot("02-plan-create"));
  if (!/customer/.test(plan1)) throw new Error("first plan does not create the table: " + plan1);

  // A record stored under the first names, to see that the rename keeps it.
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await api(token, "POST", "/api/data/shop/customer", { text_1: "Ann Archer", decimal_1: 10 });

  // Rename a field and publish again: the plan renames, it does not drop.
  await page.getByTestId("designer-field-text_1").click();
  await page.getByTestId("config-name").fill("full_name");
  const plan2 = await publish(page, async () => {
    if (await page.locator("[data-testid=plan-step].destructive").count()) throw new Error("a rename was marked destructive");
    await shot("03-plan-rename");
  });
  if (!/rename/i.test(plan2) || /drop/i.test(plan2)) throw new Error("rename plan: " + plan2);

  // Lay out the record form: a titled section with two fields, previewed live.
  await page.getByTestId("tab-forms").click();
  await page.getByTestId("section-add").click();
  await page.getByTestId("section-title-0").fill("Contact");
  await page.getByTestId("form-palette-full_name").click();
  await page.getByTestId("form-palette-decimal_1").click();
  await page.getByTestId("form-preview").getByText("Contact").waitFor();
  await shot("03b-form-designer");
  await publish(page, async () => {});

  // The runtime: create a record through the form, meeting a server validation error first.
  await page.goto(base + "/#/");
  await page.getByTestId("app-link-shop").click();
  await page.getByTestId("entity-link-customer").click();
  await page.getByTestId("new-record").click();
  const section = page.getByTestId("form-section").first();
  if (!(await section.textContent()).includes("Contact")) throw new Error("the form does not follow its layout");
  await page.getByTestId("field-full_name").fill("Bob Baker");
  await page.getByTestId("field-decimal_1").fill("-5");
  await page.getByTestId("form-save").click();
  await page.getByTestId("field-error-decimal_1").waitFor();
  await shot("04-form-server-error");
  await page.getByTestId("field-decimal_1").fill("1200.50");
  await page.getByTestId("form-save").click();
  await page.getByTestId("history-link").waitFor();
  await shot("05-record-saved");

  // The list: the renamed column holds the data written before the rename.
  await page.getByTestId("back-to-list").click();
  await waitRows(page, 2);
  const listText = await page.locator("body").textContent();
  if (!listText.includes("Ann Archer")) throw new Error("the record written before the rename is gone from the list");
  await shot("06-list");

  // Filter the list with the visual filter builder.
  await page.getByTestId("filter-toggle").click().catch(() => {});
  await page.getByTestId("filter-add").click();
  await page.getByTestId("filter-field").last().selectOption("full_name");
  await page.getByTestId("filter-op").last().selectOption("~");
  await page.getByTestId("filter-value").last().fill("ann");
  await page.getByTestId("filter-apply").click();
  await waitRows(page, 1);
  if (!(await page.getByTestId("list-row").first().textContent()).includes("Ann Archer")) throw new Error("the filter kept the wrong row");
  await shot("07-filtered");

  // A phone-sized screen shows the same list.
  await page.setViewportSize({ width: 375, height: 740 });
  await page.getByTestId("list-row").first().waitFor();
  await shot("08-phone");

  // A browser that prefers Chinese gets the UI in Chinese.
  const zh = await browser.newPage({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  await zh.goto(base + "/");
  const label = await zh.getByTestId("login-submit").textContent();
  if (!/[\u4e00-\u9fff]/.test(label || "")) throw new Error("zh-CN browser got login button " + JSON.stringify(label));
  await zh.screenshot({ path: join(shots, "09-login-zh.png") });

  // The ops manager's day: views, inline editing, the admin area (e2e/day.mjs).
  await day({ browser, base, shots, api, email, password });

  // Automations built in the designer's Automations tab (e2e/automations.mjs).
  await automations({ browser, base, shots, api, email, password });

  // Flows: built in the designer's Flows tab, taken on a record, the approvals inbox (e2e/flows.mjs).
  await flows({ browser, base, shots, api, email, password });

  // Lead distribution: the Assignment tab's preview, the countdown, a pool claim, a reassignment (e2e/assign.mjs).
  await assign({ browser, base, shots, api, email, password });

  // Data in bulk: the import wizard (mapping, check, run) and the export (e2e/bulk.mjs).
  await bulk({ browser, base, shots, api, email, password });

  // Connectors as plugins: install, configure with a secret, test, the designer's plugin action and inbound endpoint (e2e/plugins.mjs).
  await plugins({ browser, base, shots, api, email, password });

  // Dashboards: labels edited in the designer's Dashboards tab, read in the runtime in both languages (e2e/dashboards.mjs).
  await dashboards({ browser, base, shots, api, email, password });

  if (consoleErrors.length) console.log("browser console errors (4xx answers are expected):\n  " + consoleErrors.join("\n  "));
  console.log("e2e passed; screenshots in", shots);
}

// dragTo drags with the mouse in small steps, as a person does (@dnd-kit
// starts a drag after the pointer has moved a few pixels, then follows it);
// the drop lands on the lower part of the target.
async function dragTo(page, from, to) {
  const a = await from.boundingBox();
  const b = await to.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 8, a.y + a.height / 2 + 8, { steps: 4 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height - 4, { steps: 12 });
  await page.waitForTimeout(50);
  await page.mouse.up();
  await page.waitForTimeout(80);
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

// publish opens the plan, lets check look at it, applies it and waits for
// the designer's confirmation; it returns the plan's steps as text.
async function publish(page, check) {
  await page.getByTestId("publish").click();
  await page.getByTestId("plan-dialog").waitFor();
  const steps = (await page.getByTestId("plan-step").allTextContents()).join(" | ");
  await check();
  await page.getByTestId("plan-apply").click();
  await page.getByTestId("publish-ok").waitFor();
  return steps;
}
