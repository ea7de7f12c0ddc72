// Dashboards, run by smoke.mjs after the connectors (alone: E2E_ONLY=dashboards
// node e2e/smoke.mjs): an app "dashdemo" (installed here through the API, its
// dashboard labelled in Chinese only, a few sales) is opened in the
// designer's Dashboards tab at 1280×800 in English; the admin gives the
// period parameter, the table's measure and dimension and the bar chart's
// measure their English labels and publishes (plan, apply). The published
// document differs from the installed one by those labels only. The runtime
// dashboard then heads the table "Region" / "Takings" and names the period
// parameter "Period" in English, and 区域 / 营收 / 期间 in Chinese; the bar
// chart (two measures, one series each) draws the same colours in both
// languages. Screenshots: e2e/screenshots/dash-<lang>-<width>-NN-<step>.png.
import { join } from "node:path";
import { install, waitFor } from "./day.mjs";
import { login } from "./flows.mjs";

const app = {
  name: "dashdemo", label: "Dash demo",
  entities: [{
    name: "sale", label: "Sale",
    fields: [
      { id: "fs1", name: "title", label: "Title", type: "text", required: true },
      { id: "fs2", name: "region", label: "Region", type: "select", options: ["north", "south"] },
      { id: "fs3", name: "amount", label: "Amount", type: "decimal", scale: 2 },
      { id: "fs4", name: "sold_on", label: "Sold on", type: "date" },
    ],
  }],
  dashboards: [{
    name: "sales", label: "销售",
    params: [{ name: "period", label: "期间", type: "daterange" }],
    widgets: [
      { id: "by_region", type: "table", title: "各区域营收", layout: { x: 0, y: 0, w: 6, h: 4 },
        query: { entity: "sale", period: { field: "sold_on", param: "period" },
          measures: [{ name: "takings", label: "营收", expr: "sum(amount)" }],
          dimensions: [{ field: "region", label: "区域" }] } },
      { id: "mix", type: "bar", title: "营收与订单", layout: { x: 6, y: 0, w: 6, h: 4 },
        query: { entity: "sale", period: { field: "sold_on", param: "period" },
          measures: [{ name: "takings", label: "营收", expr: "sum(amount)" }, { name: "orders", label: "订单", expr: "count()" }],
          dimensions: [{ field: "region", label: "区域" }] } },
    ],
  }],
};

const sales = [["A", "north", 120], ["B", "north", 80], ["C", "south", 60]];

export async function dashboards({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await install(api, token, app, []);
  for (const [title, region, amount] of sales) {
    await api(token, "POST", "/api/data/dashdemo/sale", { title, region, amount, sold_on: "2026-01-15" });
  }
  const before = await api(token, "GET", "/api/meta/apps/dashdemo");

  // ---- the designer, in English ----
  const en = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  const page = await en.newPage();
  let n = 0;
  const shot = (p, lang, name) => p.screenshot({ path: join(shots, `dash-${lang}-1280-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
  const tid = (id) => page.getByTestId(id);
  await login(page, base, email, password);
  await tid("nav-admin").waitFor();
  await page.goto(base + "/#/design/dashdemo");
  await tid("tab-dashboards").click();
  await tid("dash-editor").waitFor();
  await tid("dash-param-period-label-en").fill("Period");
  await tid("tile-by_region").click();
  await tid("w-measure-0-label-en").fill("Takings");
  await tid("w-dim-0-label-en").fill("Region");
  await shot(page, "en", "designer-labels");
  await tid("tile-mix").click();
  await tid("w-measure-0-label-en").fill("Takings");
  await tid("w-measure-1-label-en").fill("Orders");
  await tid("publish").click();
  await tid("plan-dialog").waitFor();
  await tid("plan-apply").click();
  await tid("publish-ok").waitFor();

  // The published document is the installed one plus those labels.
  const after = await api(token, "GET", "/api/meta/apps/dashdemo");
  const want = structuredClone(before.dashboards);
  want[0].params[0].labels = { en: "Period" };
  const [tbl, mix] = want[0].widgets;
  tbl.query.measures[0].labels = { en: "Takings" };
  tbl.query.dimensions[0].labels = { en: "Region" };
  mix.query.measures[0].labels = { en: "Takings" };
  mix.query.measures[1].labels = { en: "Orders" };
  if (!sameJSON(after.dashboards, want)) {
    throw new Error("published dashboards differ beyond the labels:\n" + JSON.stringify(after.dashboards) + "\nwant\n" + JSON.stringify(want));
  }
  for (const k of Object.keys(before)) {
    if (k !== "dashboards" && k !== "version" && !sameJSON(before[k], after[k])) throw new Error(`publishing the labels changed ${k}`);
  }

  // ---- the runtime, in English and in Chinese ----
  const fills = {};
  const zh = await browser.newContext({ locale: "zh-CN", viewport: { width: 1280, height: 800 } });
  const contexts = [en, zh];
  for (const [lang, ctx, heads, param] of [["en", en, ["Region", "Takings"], "Period"], ["zh-CN", zh, ["区域", "营收"], "期间"]]) {
    const p = lang === "en" ? page : await ctx.newPage();
    if (lang !== "en") {
      await login(p, base, email, password);
      await p.getByTestId("nav-admin").waitFor();
    }
    await p.goto(base + "/#/d/dashdemo/sales?period=2026-01-01..2026-01-31");
    const table = p.getByTestId("widget-by_region");
    await table.locator("tbody tr").first().waitFor();
    const got = await table.locator("th").allTextContents();
    if (JSON.stringify(got) !== JSON.stringify(heads)) throw new Error(`${lang}: table heads ${JSON.stringify(got)}, want ${JSON.stringify(heads)}`);
    const pl = await p.getByTestId("param-period").locator("xpath=ancestor::label[1]/span").first().textContent();
    if (pl !== param) throw new Error(`${lang}: period parameter reads ${JSON.stringify(pl)}, want ${param}`);
    // The bar chart's legend names the measures in the language; its bars' colours are the same in both.
    const chart = p.getByTestId("widget-mix").getByTestId("chart");
    await waitFor(async () => (await chart.locator("svg path").count()) > 0, `${lang}: the bar chart`, 20000);
    const legend = heads[1];
    await waitFor(async () => (await chart.locator("svg text").allTextContents()).includes(legend), `${lang}: the legend's ${legend}`, 10000);
    fills[lang] = await chart.evaluate((el) => [...new Set([...el.querySelectorAll("svg path[fill]")].map((x) => x.getAttribute("fill"))
      .filter((f) => f && f !== "none" && f !== "transparent"))].sort());
    await p.waitForTimeout(600);
    await shot(p, lang, "runtime");
  }
  if (fills.en.length < 2 || JSON.stringify(fills.en) !== JSON.stringify(fills["zh-CN"])) {
    throw new Error(`bar colours differ between languages: en ${JSON.stringify(fills.en)}, zh-CN ${JSON.stringify(fills["zh-CN"])}`);
  }
  for (const c of contexts) await c.close();
  console.log("dashboards e2e passed");
}

// sameJSON compares two JSON values whatever the order of their objects' keys.
function sameJSON(a, b) {
  const canon = (v) => Array.isArray(v) ? v.map(canon)
    : v && typeof v === "object" ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canon(v[k])])) : v;
  return JSON.stringify(canon(a)) === JSON.stringify(canon(b));
}
