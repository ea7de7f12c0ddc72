// Data in bulk, run by smoke.mjs after the assignments: an app "bulkapp"
// (installed here through the API) with customers and a duplicate rule by
// phone. At 1280×800 in English the admin opens the customers' list, starts
// the import wizard and uploads a small CSV (Chinese headers, one unknown
// column, one bad revenue): the mapping shows the unknown column
// highlighted and the bad cell in the preview; the admin maps the unknown
// column to City (the preview runs again), and "Check everything" lists the
// bad row before anything is written, with its errors.csv. The admin goes
// back, picks the corrected file, maps the column again and imports: the
// progress bar, then 3 created. The list shows them; Export CSV downloads
// them with the list's columns as labels. At 390×844 in Chinese the same
// corrected file is imported again, updating by phone: 3 updated, none
// created; the Excel export downloads too. No page scrolls sideways on the
// phone. Screenshots: e2e/screenshots/bulk-<lang>-<width>-NN-<step>.png.
//
// It needs the server's import and export routes (POST
// /api/data/{app}/{entity}/imports[/preview], GET …/imports/{id}, GET
// …/export): without them it stops with an error that says so.
import { join } from "node:path";
import { install, waitFor } from "./day.mjs";
import { login, noSideways } from "./flows.mjs";

const app = {
  name: "bulkapp", label: "Bulk",
  entities: [{
    name: "customer", label: "Customer",
    fields: [
      { id: "fb1", name: "name", label: "Name", type: "text", required: true },
      { id: "fb2", name: "phone", label: "Phone", type: "phone", unique: true },
      { id: "fb3", name: "revenue", label: "Revenue", type: "decimal", scale: 2 },
      { id: "fb4", name: "city", label: "City", type: "text" },
    ],
  }],
  forms: [{ entity: "customer", kind: "list", columns: ["name", "phone", "revenue", "city"] }],
  matching: [{ name: "by_phone", label: "Same phone", entity: "customer", keys: [{ fields: ["phone"], normalize: "phone" }] }],
};

// Headers by label (Name, Phone, Revenue) and one the entity does not know (地区).
const bad = "Name,Phone,Revenue,地区\n华为技术,13800000001,\"1,200,000\",深圳\n小米科技,13800000002,一百万,北京\n腾讯,13800000003,¥350000,深圳\n";
const fixed = bad.replace("一百万", "1000000");

export async function bulk({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await install(api, token, app, []);
  // The routes must exist: a preview of nothing answers 4xx, but not 404/405.
  const probe = await fetch(base + "/api/data/bulkapp/customer/imports/preview", { method: "POST", headers: { Authorization: "Bearer " + token } });
  if (probe.status === 404 || probe.status === 405) throw new Error("the server has no import routes (POST …/imports/preview answered " + probe.status + ")");

  for (const cfg of [
    { lang: "en", locale: "en-US", viewport: { width: 1280, height: 800 } },
    { lang: "zh-CN", locale: "zh-CN", viewport: { width: 390, height: 844 } },
  ]) {
    const ctx = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport, acceptDownloads: true });
    const page = await ctx.newPage();
    let n = 0;
    const shot = (name) => page.screenshot({ path: join(shots, `bulk-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
    const tid = (id) => page.getByTestId(id);
    const phone = cfg.viewport.width < 500;
    const upload = (name, text) => tid("import-file").setInputFiles({ name, mimeType: "text/csv", buffer: Buffer.from(text, "utf8") });
    const mapUnknown = async () => {
      const col = page.locator("[data-testid=import-col][data-header=地区]");
      await col.waitFor();
      if (!(await col.getAttribute("class"))?.includes("import-unknown")) throw new Error("the unknown column 地区 is not highlighted");
      await col.locator("select").selectOption("city");
      await waitFor(async () => !(await col.getAttribute("class"))?.includes("import-unknown"), "the mapping to take 地区 → city");
    };

    await login(page, base, email, password);
    await tid("nav-admin").waitFor();
    await page.goto(base + "/#/a/bulkapp/customer");
    await tid("import-open").click();
    await tid("import-wizard").waitFor();

    if (!phone) {
      // The file with one bad row: seen in the preview, then in the check.
      await upload("customers.csv", bad);
      await tid("import-next").click();
      await tid("import-map").waitFor();
      await tid("import-bad-cell").first().waitFor();
      if (!(await tid("import-bad-cell").first().textContent()).includes("一百万")) throw new Error("the bad cell does not show its value");
      await shot("mapping");
      await mapUnknown();
      await tid("import-next").click();
      await tid("import-dry").click();
      await tid("import-dry-bad").waitFor({ timeout: 30000 });
      const problems = await tid("import-problem").allTextContents();
      if (problems.length !== 1 || !problems[0].includes("3")) throw new Error("the check should name row 3 only: " + JSON.stringify(problems));
      await tid("import-errors-csv").waitFor();
      await shot("check-errors");
      const count = (await api(token, "GET", "/api/data/bulkapp/customer?count=exact")).count;
      if (count) throw new Error("the check wrote records: " + count);
      // Back to the file: the corrected one.
      await tid("import-back").click();
      await tid("import-back").click();
      await upload("customers-fixed.csv", fixed);
      await tid("import-next").click();
      await tid("import-map").waitFor();
      await mapUnknown();
    } else {
      await upload("客户.csv", fixed);
      await tid("import-upsert").selectOption("phone");
      await tid("import-next").click();
      await tid("import-map").waitFor();
      await mapUnknown();
      await noSideways(page, "the import mapping");
      await shot("mapping");
    }
    await tid("import-next").click();
    await tid("import-check").waitFor();
    await tid("import-run").click();
    await tid("import-running").waitFor();
    await tid("import-result").waitFor({ timeout: 60000 });
    const created = Number(await tid("import-created").textContent());
    const updated = Number(await tid("import-updated").textContent());
    if (!phone && (created !== 3 || updated !== 0)) throw new Error(`want 3 created, got ${created} created and ${updated} updated`);
    if (phone && (created !== 0 || updated !== 3)) throw new Error(`want 3 updated by phone, got ${created} created and ${updated} updated`);
    if (phone) await noSideways(page, "the import result");
    await shot("result");
    await tid("import-close").click();
    await waitFor(async () => (await tid("list-row").count()) === 3, "three customers in the list");
    const recs = await api(token, "GET", "/api/data/bulkapp/customer?sort=phone");
    if (Number(recs.items?.[1]?.revenue) !== 1000000 || recs.items?.[1]?.city !== "北京") throw new Error("the imported values are wrong: " + JSON.stringify(recs.items?.[1]));
    await shot("list");

    // Export what the list shows.
    const format = phone ? "xlsx" : "csv";
    const [dl] = await Promise.all([page.waitForEvent("download"), tid("export-" + format).click()]);
    const path = await dl.path();
    if (!dl.suggestedFilename().endsWith("." + format)) throw new Error("the export is named " + dl.suggestedFilename());
    if (format === "csv") {
      const { readFileSync } = await import("node:fs");
      const text = readFileSync(path, "utf8");
      if (!text.includes("Name") || !text.includes("小米科技") || text.split(/\r?\n/).filter(Boolean).length !== 4) {
        throw new Error("the CSV export does not hold the list: " + text.slice(0, 300));
      }
    }
    await ctx.close();
  }
}
