// The ops manager's day in the web UI, run by smoke.mjs against the same
// `forma serve`, once at 1280×800 in English and once at 390×844 in
// Chinese: install the small sample app (schema/testdata/pipeline.json,
// first run), see money and references by name in the list, edit a cell in place (and
// meet the server's refusal on the cell), move a kanban card (and see a
// refused move snap back with the reason), look at the month in the
// calendar, keep a filter as a saved view and write a formula with the editor, reloading
// the designer mid-way (first run), and bulk-edit all
// the filtered records, read the history ("web"), invite a rep in the Admin area, look at
// its Jobs tab, and (first run) open the invitation link as the rep to choose a password.
// Before that, in Chinese at 1280×800: a Chinese-named app built by dragging,
// its API names derived from the labels (pinyin) as they are typed.
// Screenshots: e2e/screenshots/day-<lang>-<width>-NN-<step>.png.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./serve.mjs";

// The other walks import these from here.
export { waitFor };

const here = dirname(fileURLToPath(import.meta.url));

const CONFIGS = [
  { lang: "en", locale: "en-US", viewport: { width: 1280, height: 800 }, first: true },
  { lang: "zh-CN", locale: "zh-CN", viewport: { width: 390, height: 844 }, first: false },
];

export async function day({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await chineseApp({ browser, base, shots, email, password });
  let seeded = null;
  for (const cfg of CONFIGS) {
    const ctx = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
    const page = await ctx.newPage();
    let n = 0;
    const shot = (name) => page.screenshot({ path: join(shots, `day-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
    const tid = (id) => page.getByTestId(id);

    await page.goto(base + "/#/login");
    await tid("login-email").fill(email);
    await tid("login-password").fill(password);
    await tid("login-submit").click();
    await tid("nav-admin").waitFor();
    if (cfg.lang === "zh-CN" && !/[\u4e00-\u9fff]/.test(await tid("logout").textContent())) throw new Error("zh-CN run is not in Chinese");

    if (cfg.first) {
      // The small sample app these steps know (the template gallery installs
      // the full templates: e2e/templates.mjs).
      await api(token, "POST", "/api/meta/apps", JSON.parse(readFileSync(join(here, "..", "..", "schema", "testdata", "pipeline.json"), "utf8")));
      seeded = await seed(api, token);
    }
    const { opp, month } = seeded;

    // The list: money with separators, the account by name.
    await page.goto(base + "/#/a/pipeline/opportunity");
    const row = page.locator(`[data-testid=list-row][data-id="${opp.id}"]`);
    await row.waitFor();
    await waitText(row.getByTestId("cell-account"), "静安店");
    const amount = await row.getByTestId("cell-amount").textContent();
    if (!amount.includes("1,234,567.50")) throw new Error("money not grouped: " + amount);
    await shot("list");

    if (cfg.first) {
      // A filter by a store picked by name: the list, then the URL, keep it.
      await tid("filter-toggle").click();
      await tid("filter-add").click();
      await tid("filter-field").last().selectOption("account");
      await tid("filter-value-pick").fill("静安");
      await tid("ref-option").first().click();
      await tid("filter-apply").click();
      await waitFor(async () => (await tid("list-row").count()) === 2, "two rows of 静安店");
      if (!/filter=/.test(page.url())) throw new Error("the filter is not in the URL: " + page.url());
      await shot("filter-picked-store");
      // Kept as a saved view: a tab that puts the filter back.
      page.once("dialog", (d) => d.accept("Jing'an stores"));
      await tid("saved-view-save").click();
      const tab = page.locator('[data-testid^="saved-view-"]', { hasText: "Jing'an stores" }).first();
      await tab.waitFor();
      await page.goto(base + "/#/a/pipeline/opportunity");
      await row.waitFor();
      await tab.click();
      await waitFor(async () => (await tid("list-row").count()) === 2, "the saved view filters again");
      await shot("saved-view");
      await page.goto(base + "/#/a/pipeline/opportunity");
      await row.waitFor();
    }

    if (cfg.first) await formula({ page, base, shot, api, token, opp });

    // Inline edit: a refusal lands on the cell, then a good value is saved.
    await row.getByTestId("cell-stage").click();
    await tid("cell-input").selectOption("");
    await tid("cell-error-stage").waitFor();
    await shot("cell-refused");
    await tid("cell-input").press("Escape");
    await row.getByTestId("cell-probability").click();
    await tid("cell-input").fill(cfg.first ? "40" : "60");
    await tid("cell-input").press("Enter");
    await waitText(row.getByTestId("cell-probability"), cfg.first ? "40" : "60");
    const after = await api(token, "GET", `/api/data/pipeline/opportunity/${opp.id}`);
    if (after.probability !== (cfg.first ? 40 : 60)) throw new Error("inline edit not saved: " + JSON.stringify(after));
    await shot("cell-saved");

    // Kanban: a move is saved; a move to "no value" is refused and snaps back.
    await tid("view-kanban").click();
    await tid("kanban").waitFor();
    if (!/view=kanban/.test(page.url())) throw new Error("the view is not in the URL: " + page.url());
    const from = cfg.first ? "lead" : "qualified";
    const to = cfg.first ? "qualified" : "proposal";
    const card = () => page.locator(`[data-testid=kanban-card][data-id="${opp.id}"]`);
    await tid(`kanban-col-${from}`).locator(`[data-id="${opp.id}"]`).waitFor();
    // With the mouse on the desktop; with the keyboard on the phone (Space
    // lifts the focused card, → moves it a column, Space drops).
    if (cfg.first) await dragTo(page, card(), tid(`kanban-col-${to}`));
    else {
      await card().focus();
      await page.keyboard.press("Space");
      await page.waitForTimeout(100);
      await page.keyboard.press("ArrowRight");
      await page.waitForTimeout(100);
      await page.keyboard.press("Space");
    }
    await tid(`kanban-col-${to}`).locator(`[data-id="${opp.id}"]`).waitFor();
    await waitFor(async () => (await api(token, "GET", `/api/data/pipeline/opportunity/${opp.id}`)).stage === to, "kanban move saved");
    await shot("kanban-moved");
    if (cfg.first) {
      // No stage is refused (422: stage is required).
      await dragTo(page, card(), tid("kanban-col-none"));
    } else {
      // Someone else changed the record meanwhile: the move is refused (409).
      await api(token, "PATCH", `/api/data/pipeline/opportunity/${opp.id}`, { probability: 70, version: (await api(token, "GET", `/api/data/pipeline/opportunity/${opp.id}`)).version });
      await tid(`kanban-col-${to}`).evaluate((el) => el.scrollIntoView({ inline: "start", block: "nearest" }));
      await dragTo(page, card(), tid("kanban-col-negotiation"));
    }
    await tid("kanban-error").waitFor();
    await tid(`kanban-col-${to}`).locator(`[data-id="${opp.id}"]`).waitFor();
    await shot("kanban-refused");

    await bulkEdit({ page, base, shot, api, token, cfg });

    // Calendar: the month of the close dates, the record on its day.
    await tid("view-calendar").click();
    await tid("calendar").waitFor();
    await tid(`cal-day-${month}-15`).getByTestId("cal-event").first().waitFor();
    await shot("calendar");

    // History: changes made here say "web", those through the API "API".
    await page.goto(base + `/#/a/pipeline/opportunity/${opp.id}/history`);
    await tid("history-entry").first().waitFor();
    const paths = await tid("history-path").evaluateAll((els) => els.map((e) => e.getAttribute("data-path")));
    if (!paths.includes("web") || !paths.includes("api")) throw new Error("history paths: " + paths.join(","));
    await shot("history");

    // Admin: invite a rep; the one-time link is shown to copy.
    await tid("nav-admin").click();
    await tid("invite-open").click();
    const rep = `rep-${cfg.lang.toLowerCase()}@example.com`;
    await tid("invite-email").fill(rep);
    await tid("invite-name").fill(cfg.first ? "Rita Rep" : "王小红");
    await tid("invite-submit").click();
    const link = await tid("invite-link").inputValue();
    if (!/#\/reset\/.+/.test(link)) throw new Error("invitation link: " + link);
    await tid(`user-row-${rep}`).waitFor();
    await shot("admin-invited");
    await tid("admin-tab-audit").click();
    await tid("audit-row").first().waitFor();
    await shot("admin-audit");
    // Jobs: the counts by state; on the first run, an after-hook that always
    // fails (a durable job), discarded after its attempts, with the error of
    // every attempt and a Retry button.
    await tid("admin-tab-jobs").click();
    await tid("job-states").waitFor();
    if (cfg.first) {
      const job = await failingJob(api, token);
      await tid("job-state-discarded").click();
      await page.waitForURL(/state=discarded/);
      await tid(`job-row-${job.id}`).getByTestId("job-retry").waitFor();
      await tid(`job-row-${job.id}`).getByTestId("job-expand").click();
      await tid("job-errors").waitFor();
    } else {
      await page.locator('[data-testid^="job-row-"], [data-testid="jobs-empty"]').first().waitFor();
    }
    await shot("admin-jobs");

    if (cfg.first) {
      // The rep opens the link, chooses a password, and is signed in.
      const repCtx = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
      const rp = await repCtx.newPage();
      await rp.goto(link);
      await rp.getByTestId("reset-rule").waitFor();
      await rp.getByTestId("reset-password").fill("rep pass phrase 1");
      await rp.getByTestId("reset-again").fill("rep pass phrase 1");
      await rp.screenshot({ path: join(shots, `day-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-rep-password.png`), fullPage: true });
      await rp.getByTestId("reset-submit").click();
      await rp.getByTestId("app-link-pipeline").waitFor();
      await rp.screenshot({ path: join(shots, `day-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-rep-home.png`), fullPage: true });
      await repCtx.close();
    }
    await ctx.close();
  }
}

// chineseApp: New app and Add entity take their names from Chinese labels,
// a dragged field's name follows its label, and the app publishes.
async function chineseApp({ browser, base, shots, email, password }) {
  const ctx = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  const tid = (id) => page.getByTestId(id);
  await page.goto(base + "/#/login");
  await tid("login-email").fill(email);
  await tid("login-password").fill(password);
  await tid("login-submit").click();
  await tid("new-app").click();
  await tid("new-app-label").fill("门店销售");
  // The pinyin preview loads lazily: wait for it rather than read it at once.
  await waitFor(async () => (await tid("new-app-name").inputValue()) === "mendian_xiaoshou", "app name mendian_xiaoshou from 门店销售");
  await tid("new-app-create").click();
  await tid("add-entity").click();
  await tid("entity-label").fill("门店");
  await tid("entity-save").click();
  await tid("designer-entity-mendian").waitFor();
  await dragTo(page, tid("palette-text"), tid("field-dropzone"));
  await tid("designer-field-text_1").click();
  await tid("config-label").fill("门店名称");
  await tid("designer-field-mendian_mingcheng").waitFor();
  await dragTo(page, tid("palette-phone"), tid("field-dropzone"));
  await tid("config-label").fill("联系电话");
  await tid("designer-field-lianxi_dianhua").waitFor();
  await page.screenshot({ path: join(shots, "day-zh-CN-1280-00-chinese-app.png"), fullPage: true });
  await tid("publish").click();
  await tid("plan-apply").click();
  await tid("publish-ok").waitFor();
  await ctx.close();
}

// formula: in the designer, a new formula field written with the editor —
// part of a label typed, the field picked from the suggestions (its API
// name inserted), the live check passes, the preview on a sample record
// shows the value — published, and the value computed on the record.
async function formula({ page, base, shot, api, token, opp }) {
  const tid = (id) => page.getByTestId(id);
  await page.goto(base + "/#/design/pipeline");
  await tid("designer-entity-opportunity").click();
  await tid("palette-formula").click();
  await tid("designer-field-formula_1").click();
  await tid("config-label").fill("Double amount");
  await tid("designer-field-double_amount").waitFor();
  // A new formula starts as "1": clear it, then type part of a label.
  await tid("config-expr").fill("");
  await tid("config-expr").pressSequentially("Amou");
  const offer = tid("config-expr-editor-offer").filter({ has: page.locator("code", { hasText: /^amount$/ }) });
  await offer.waitFor();
  await shot("formula-suggest");
  await offer.click();
  await waitFor(async () => (await tid("config-expr").inputValue()) === "amount", "the suggestion inserts the API name");
  await tid("config-expr").press("End");
  await tid("config-expr").pressSequentially(" * 2");
  await tid("config-expr-editor-ok").waitFor({ timeout: 15000 });
  await tid("config-expr-editor-sample").fill("Spring");
  await tid("ref-option").first().click();
  await waitText(tid("config-expr-editor-preview"), "2469135");
  await shot("formula-preview");
  // A reload mid-design keeps the work: the draft is on the server.
  await tid("draft-saved").waitFor({ timeout: 15000 });
  const leave = (d) => d.accept();
  page.on("dialog", leave);
  await page.reload();
  page.off("dialog", leave);
  await tid("draft-restored").waitFor({ timeout: 15000 });
  await tid("designer-entity-opportunity").click();
  await tid("designer-field-double_amount").waitFor();
  await shot("reload-kept");
  await tid("publish").click();
  await tid("plan-apply").click();
  await tid("publish-ok").waitFor();
  const rec = await api(token, "GET", `/api/data/pipeline/opportunity/${opp.id}`);
  if (Number(rec.double_amount) !== 2469135) throw new Error("formula value: " + JSON.stringify(rec));
  await page.goto(base + `/#/a/pipeline/opportunity/${opp.id}`);
  await waitFor(async () => /2,?469,?135/.test(await page.locator("body").textContent()), "the formula's value on the record");
  await shot("formula-on-record");
  await page.goto(base + "/#/a/pipeline/opportunity");
  await page.locator(`[data-testid=list-row][data-id="${opp.id}"]`).waitFor();
}

// bulkEdit: select two rows, widen to all the filtered records, Edit…, the
// confirmation states the count, progress, the result; the records changed.
async function bulkEdit({ page, base, shot, api, token, cfg }) {
  const tid = (id) => page.getByTestId(id);
  const notes = cfg.first ? "Call back in spring" : "春季回访";
  await page.goto(base + "/#/a/pipeline/opportunity");
  await tid("list-row").first().waitFor();
  const total = (await api(token, "GET", "/api/data/pipeline/opportunity?limit=200")).items.length;
  await tid("select-row").nth(0).check();
  await tid("select-row").nth(1).check();
  await waitText(tid("bulk-count"), "2");
  if (await tid("bulk-all").count()) await tid("bulk-all").click();
  await waitText(tid("bulk-count"), String(total));
  await shot("bulk-selected");
  await tid("bulk-edit").click();
  await tid("bulk-field").selectOption("notes");
  await tid("bulk-value").fill(notes);
  await tid("bulk-edit-next").click();
  const what = await tid("bulk-confirm-text").textContent();
  if (!what.includes(String(total))) throw new Error(`the confirmation does not state ${total}: ${what}`);
  await shot("bulk-confirm");
  await tid("bulk-run").click();
  await tid("bulk-result-text").waitFor({ timeout: 30000 });
  const result = await tid("bulk-result-text").textContent();
  if (!result.includes(String(total))) throw new Error("bulk result: " + result);
  await shot("bulk-result");
  await tid("bulk-result-close").click();
  const items = (await api(token, "GET", "/api/data/pipeline/opportunity?limit=200")).items;
  const stale = items.filter((r) => r.notes !== notes);
  if (stale.length) throw new Error("bulk edit left records unchanged: " + JSON.stringify(stale.map((r) => r.id)));
}

// seed: an account with a Chinese name and two opportunities closing on the
// 15th of this month, one in "lead".
async function seed(api, token) {
  const now = new Date();
  const month = `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
  const acct = await api(token, "POST", "/api/data/pipeline/account", { name: "静安店", industry: "retail" });
  const opp = await api(token, "POST", "/api/data/pipeline/opportunity",
    { title: "Spring order", account: acct.id, stage: "lead", amount: "1234567.5", probability: 20, close_date: `${month}-15` });
  await api(token, "POST", "/api/data/pipeline/opportunity",
    { title: "Store refit", account: acct.id, stage: "proposal", amount: "88000", close_date: `${month}-15` });
  const other = await api(token, "POST", "/api/data/pipeline/account", { name: "徐汇店", industry: "retail" });
  await api(token, "POST", "/api/data/pipeline/opportunity", { title: "Xuhui deal", account: other.id, stage: "won", amount: "5000" });
  return { acct, opp, month };
}

// failingJob publishes a small app whose afterSave hook throws, saves a
// record, and waits until its after-hook job has failed every attempt and is
// discarded (5 attempts, about 15 s of backoff).
async function failingJob(api, token) {
  await api(token, "POST", "/api/meta/apps", {
    name: "jobs_demo", label: "Jobs demo",
    entities: [{ name: "note", fields: [{ id: "n1", name: "title", type: "text" }], hooks: { afterSave: "note#afterSave" } }],
    scripts: { note: "function afterSave(record, ctx) { throw new Error('the mail server is down'); }" },
  });
  await api(token, "POST", "/api/data/jobs_demo/note", { title: "hello" });
  const until = Date.now() + 90000;
  while (Date.now() < until) {
    const page = await api(token, "GET", "/api/admin/jobs?state=discarded");
    const job = page.items.find((j) => j.errors.length === j.maxAttempts);
    if (job) return job;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error("the failing after-hook job was not discarded within 90 s");
}

// dragTo drags with the mouse in small steps, as a person does (@dnd-kit
// starts a drag after the pointer has moved a few pixels, then follows it).
export async function dragTo(page, from, to) {
  await from.scrollIntoViewIfNeeded();
  const a = await from.boundingBox();
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move(a.x + a.width / 2 + 8, a.y + a.height / 2 + 8, { steps: 4 });
  const b = await to.boundingBox();
  await page.mouse.move(b.x + b.width / 2, b.y + Math.min(b.height - 4, 60), { steps: 12 });
  await page.waitForTimeout(50);
  await page.mouse.up();
  await page.waitForTimeout(80);
}

async function waitText(loc, want) {
  await waitFor(async () => ((await loc.textContent()) ?? "").includes(want), `text ${JSON.stringify(want)}`);
}

// install creates the app (unless it exists) and the users (invited, then
// given their passwords) through the API, as the admin whose token it is.
export async function install(api, token, app, users) {
  const apps = await api(token, "GET", "/api/meta/apps");
  if (!(apps.items ?? []).some((a) => a.name === app.name)) await api(token, "POST", "/api/meta/apps", app);
  const known = await api(token, "GET", "/api/admin/users");
  for (const u of users) {
    if ((known.items ?? []).some((x) => x.email === u.email)) continue;
    const { resetToken } = await api(token, "POST", "/api/admin/users", { email: u.email, name: u.name, roles: u.roles });
    await api(null, "POST", "/api/auth/reset-password", { token: resetToken, password: u.password });
  }
}
