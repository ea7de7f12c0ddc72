// The template gallery end to end, against a real `forma serve` on an empty
// SQLite folder, in Debian's Chromium, in Chinese:
//
//   node e2e/templates.mjs        (from builder-ui/, after `npm ci`; CI runs it after smoke.mjs)
//
// The admin's first start offers the gallery; they install both templates
// with 1,000 sample rows from it (the dialog, its progress, the app it
// opens), then upgrade the installed pipeline (its data kept). Then every
// dashboard and main screen of both apps — each dashboard, the list of
// every entity with a list layout, a record form of every entity with a
// form layout, the stage kanban — is opened at 1280×800 and at 390×844 and
// photographed: e2e/screenshots/templates-<app>-<width>-NN-<screen>.png
// (the gallery: templates-gallery-<width>-NN-<step>.png). A dashboard widget
// that answers an error, or a screen that does not load, fails the run once
// every screenshot is taken.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { email, main, password, waitFor } from "./serve.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const shots = join(here, "screenshots");
mkdirSync(shots, { recursive: true });
for (const f of readdirSync(shots)) if (f.startsWith("templates-")) rmSync(join(shots, f));

const VIEWPORTS = [{ width: 1280, height: 800 }, { width: 390, height: 844 }];
const SAMPLE = 1000;
// An install writes its sample rows before it answers: give it time on a loaded CI machine.
const INSTALL_MS = 5 * 60 * 1000;

let base, api, browser;
// E2E_DB=postgres://… runs it on PostgreSQL (an empty database); SQLite otherwise.
await main(join(here, "..", ".."), { FORMA_DB: process.env.E2E_DB ?? "" }, async (ctx) => {
  ({ base, api, browser } = ctx);
  await run();
});

async function run() {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  const problems = [];
  const started = Date.now();
  const templates = (await api(token, "GET", "/api/meta/templates")).items;
  if (templates.length < 2) throw new Error("want both templates, the server lists " + JSON.stringify(templates.map((t) => t.name)));

  // Install both from the gallery at 1280×800, then look at it on a phone.
  const installs = await gallery(token, templates, VIEWPORTS[0]);
  await gallery(token, templates, VIEWPORTS[1]);

  for (const tpl of templates) {
    const doc = await api(token, "GET", `/api/meta/apps/${tpl.app}`);
    const dashboards = (await api(token, "GET", `/api/dash/${tpl.app}`)).items ?? [];
    for (const vp of VIEWPORTS) await screens(token, tpl.app, doc, dashboards, vp, problems);
  }

  console.log(`installs from the gallery (1,000 sample rows, ${process.env.E2E_DB ? "PostgreSQL" : "SQLite"}):`, installs.map((i) => `${i.name} ${i.seconds.toFixed(1)} s`).join(", "));
  console.log(`templates e2e took ${((Date.now() - started) / 1000).toFixed(0)} s; screenshots in ${shots}`);
  if (problems.length) throw new Error("the templates' screens:\n  " + problems.join("\n  "));
  console.log("templates e2e passed");
}

async function signedIn(vp) {
  const ctx = await browser.newContext({ locale: "zh-CN", viewport: vp });
  const page = await ctx.newPage();
  await page.goto(base + "/#/login");
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
  await page.getByTestId("nav-admin").waitFor();
  if (!/[\u4e00-\u9fff]/.test(await page.getByTestId("logout").textContent())) throw new Error("the zh-CN browser is not in Chinese");
  return { ctx, page };
}

// gallery: on the desktop, the first start's gallery installs each template
// with sample data and opens its app, then the pipeline is upgraded in place;
// on the phone, the gallery with both installed.
async function gallery(token, templates, vp) {
  const { ctx, page } = await signedIn(vp);
  const tid = (id) => page.getByTestId(id);
  let n = 0;
  const shot = (name) => page.screenshot({ path: join(shots, `templates-gallery-${vp.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
  const installs = [];
  try {
    if (vp.width < 1000) {
      await tid("templates-toggle").click();
      for (const tpl of templates) await tid(`template-installed-${tpl.name}`).waitFor();
      await shot("installed");
      return installs;
    }
    // The first start: no apps, so the gallery is the home page.
    await tid("start-blank").waitFor();
    for (const tpl of templates) {
      await tid(`template-picture-${tpl.name}`).waitFor();
      // Each card in the UI's language: the template's Chinese label.
      const heading = await tid(`template-${tpl.name}`).getByRole("heading").textContent();
      if (!tpl.labels?.["zh-CN"] || !heading.includes(tpl.labels["zh-CN"])) throw new Error(`card ${tpl.name} is headed ${JSON.stringify(heading)}`);
    }
    await waitFor(() => page.evaluate(() => [...document.images].every((i) => i.complete && i.naturalWidth > 0)), "the pictures");
    await shot("first-start");
    for (const tpl of templates) {
      await page.goto(base + "/#/");
      if (installs.length) await tid("templates-toggle").click();
      await tid(`template-install-${tpl.name}`).click();
      await tid("template-dialog").waitFor();
      if (!(await tid("template-sample").isChecked())) throw new Error("sample data is not the default");
      if ((await tid("template-rows").inputValue()) !== String(SAMPLE)) throw new Error("the default sample is not 1,000 rows");
      await shot(`${tpl.name}-dialog`);
      const t0 = Date.now();
      await tid("template-install-go").click();
      await tid("template-progress").waitFor().then(() => shot(`${tpl.name}-progress`), () => {});
      await installed(page, tpl.app);
      installs.push({ name: tpl.name, seconds: (Date.now() - t0) / 1000 });
      await page.locator("[data-testid=dashboard], [data-testid=list-row], [data-testid=list-empty]").first().waitFor({ timeout: 60000 });
      await waitFor(async () => (await page.locator(".loading").count()) === 0, "the app's first screen", 60000);
      await page.waitForTimeout(1200);
      await shot(`${tpl.name}-opened`);
    }
    // Installed: the card offers the upgrade, which keeps the data.
    const tpl = templates.find((t) => t.name === "pipeline") ?? templates[0];
    const entity = (await api(token, "GET", `/api/meta/apps/${tpl.app}`)).entities[0].name;
    const count = async () => (await api(token, "GET", `/api/data/${tpl.app}/${entity}?limit=1&count=exact`)).count;
    const before = await count();
    if (!before) throw new Error(`${tpl.app}.${entity} has no sample rows`);
    await page.goto(base + "/#/");
    await tid("templates-toggle").click();
    await tid(`template-install-${tpl.name}`).click();
    if (!(await tid("template-mode-upgrade").isChecked())) throw new Error("an installed template does not offer the upgrade first");
    await shot(`${tpl.name}-upgrade`);
    await tid("template-install-go").click();
    await installed(page, tpl.app);
    const after = await count();
    if (after !== before) throw new Error(`the upgrade changed ${tpl.app}.${entity}: ${before} rows before, ${after} after`);
    return installs;
  } finally {
    await ctx.close();
  }
}

// installed waits for the install to open the app, or fails with the
// error the dialog shows instead.
async function installed(page, app) {
  // The app opens on its first dashboard (or its first screen).
  const opened = page.waitForURL(new RegExp(`#/(a|d)/${app}(/[a-z_0-9]+)?$`), { timeout: INSTALL_MS }).then(() => null);
  const refused = page.getByTestId("template-error").waitFor({ timeout: INSTALL_MS }).then(() => page.getByTestId("template-error").textContent());
  const error = await Promise.race([opened, refused]);
  if (error) {
    await page.screenshot({ path: join(shots, `templates-gallery-${app}-refused.png`), fullPage: true });
    throw new Error(`installing ${app} from the gallery: ${error}`);
  }
  refused.catch(() => {});
}

// screens photographs an app's dashboards and main screens at one size.
async function screens(token, app, doc, dashboards, vp, problems) {
  const { ctx, page } = await signedIn(vp);
  const tid = (id) => page.getByTestId(id);
  let n = 0;
  // Dashboards and forms whole; a list or a kanban as far as the screen shows
  // it (a whole page of 50 rows or cards says no more, and weighs megabytes).
  const shot = (name, fullPage = true) => page.screenshot({ path: join(shots, `templates-${app}-${vp.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage });
  const where = (what) => `${app} ${what} at ${vp.width}px`;
  const attempt = async (what, fn) => {
    try {
      await fn();
    } catch (e) {
      problems.push(`${where(what)}: ${e.message.split("\n")[0]}`);
      await shot(what + "-failed").catch(() => {});
    }
  };
  try {
    for (const d of dashboards) {
      await attempt(`dashboard ${d.name}`, async () => {
        await page.goto(base + `/#/d/${app}/${d.name}`);
        await tid("dashboard").waitFor();
        // Every widget has its answer (or says it has none), and the charts have drawn.
        await waitFor(async () => (await page.locator("[data-testid=dashboard] .loading").count()) === 0, "the dashboard", 60000);
        await page.waitForTimeout(1200);
        await shot(`dash-${d.name}`);
        const errors = await tid("widget-error").allTextContents();
        if (errors.length) throw new Error(`${errors.length} widget(s) answer an error: ${errors.join(" | ")}`);
      });
    }
    const lists = (doc.forms ?? []).filter((f) => f.kind === "list").map((f) => f.entity);
    for (const entity of lists) {
      await attempt(`list ${entity}`, async () => {
        await page.goto(base + `/#/a/${app}/${entity}`);
        await page.locator("[data-testid=list-row], [data-testid=list-empty]").first().waitFor({ timeout: 30000 });
        await shot(`list-${entity}`, false);
        if (await tid("list-empty").count()) problems.push(`${where("list " + entity)}: no sample rows`);
      });
    }
    const forms = [...new Set((doc.forms ?? []).filter((f) => f.kind === "form").map((f) => f.entity))];
    for (const entity of forms) {
      await attempt(`form ${entity}`, async () => {
        const first = (await api(token, "GET", `/api/data/${app}/${entity}?limit=1`)).items?.[0];
        await page.goto(base + (first ? `/#/a/${app}/${entity}/${first.id}` : `/#/a/${app}/${entity}/new`));
        await tid("form-save").waitFor({ timeout: 30000 });
        await shot(`form-${entity}`);
      });
    }
    // The stage view: the kanban of the entity with a "stage" choice.
    const staged = doc.entities.find((e) => e.fields.some((f) => f.name === "stage" && f.type === "select"));
    if (staged) {
      await attempt(`kanban ${staged.name}`, async () => {
        await page.goto(base + `/#/a/${app}/${staged.name}?view=kanban&by=stage`);
        await tid("kanban").waitFor({ timeout: 30000 });
        await waitFor(async () => (await tid("kanban-card").count()) > 0, "kanban cards", 30000);
        await shot(`kanban-${staged.name}`, false);
      });
    } else problems.push(`${where("kanban")}: no entity has a stage choice`);
  } finally {
    await ctx.close();
  }
}
