import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { DashboardDef, DashResult, Widget } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { chartOption } from "./Chart";
import type { AppDocument } from "../api";
import { DashboardView, dimensionText, formatKey, formatKpi, funnelRows, PALETTE, seriesColors, stateOrder } from "./Dashboard";

const def: DashboardDef = {
  name: "sales", label: "Sales", timeZone: "Asia/Shanghai",
  params: [{ name: "period", type: "daterange", default: "thisMonth" }],
  widgets: [
    { id: "takings", type: "kpi", title: "Takings", layout: { x: 0, y: 0, w: 4, h: 2 }, compare: "previousPeriod", target: 1000,
      query: { entity: "sale", measures: [{ name: "total", expr: "sum(amount)", unit: "CNY" }], period: { field: "at", param: "period" } } },
    { id: "regions", type: "pivot", layout: { x: 4, y: 0, w: 8, h: 4 },
      query: { entity: "sale", measures: [{ name: "n", expr: "count()" }], dimensions: [{ field: "at", bucket: "month" }, { field: "store.region" }] } },
    { id: "margin", type: "kpi", layout: { x: 0, y: 2, w: 4, h: 2 }, query: { entity: "sale", measures: [{ name: "c", expr: "sum(cost)" }] } },
  ],
};

const answer = {
  name: "sales", params: { period: "thisMonth" },
  widgets: [
    { id: "takings", type: "kpi", columns: [{ name: "total", kind: "measure", unit: "CNY" }], sqlMs: 1.25, cached: false,
      rows: [{ keys: [], values: [12345.5], drill: 'at >= "2026-11-01T00:00:00+08:00"' }],
      kpi: { previous: [10000], previousDrill: 'at < "2026-11-01T00:00:00+08:00"', change: [2345.5], percent: [23.46], target: 1000, progress: 1234.55 } },
    { id: "regions", type: "pivot", sqlMs: 2, cached: true,
      columns: [{ name: "at", kind: "dimension", bucket: "month" }, { name: "store_region", kind: "dimension" }, { name: "n", kind: "measure" }],
      rows: [{ keys: ["2026-01", "north"], values: [3], drill: "c1" }, { keys: ["2026-01", "south"], values: [2], drill: "c2" }],
      pivot: { rows: ["2026-01"], cols: ["north", "south"],
        rowTotals: [{ keys: ["2026-01", null], labels: ["2026-01", ""], values: [5], drill: "r1" }],
        colTotals: [{ keys: [null, "north"], labels: ["", "north"], values: [3], drill: "k1" }, { keys: [null, "south"], labels: ["", "south"], values: [2], drill: "k2" }],
        total: { keys: [null, null], values: [5], drill: "" } } },
    { id: "margin", type: "kpi", columns: [], rows: [], sqlMs: 0, cached: false, error: { status: 403, code: "field_hidden", message: "hidden" } },
  ],
};

describe("DashboardView", () => {
  it("shows figures in the language, totals, hidden widgets, and links every figure to its records", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/dash/shop/sales") return { body: answer };
    });
    renderWith(<DashboardView app="shop" def={def} />);
    const kpi = await screen.findByTestId("kpi-value");
    expect(kpi.textContent).toBe("12,345.5 CNY");
    expect(decodeURIComponent(kpi.getAttribute("href")!)).toBe('#/a/shop/sale?filter=at >= "2026-11-01T00:00:00+08:00"'.replace(/ /g, "+"));
    expect(screen.getByTestId("kpi-change").textContent).toContain("+23.46%");
    expect(screen.getByTestId("kpi-target").textContent).toContain("1,234.55% of target 1,000");
    const pivot = screen.getByTestId("pivot");
    expect(within(pivot).getByText("Jan 2026")).toBeTruthy();
    expect(screen.getByTestId("pivot-total").textContent).toBe("5");
    expect(within(screen.getByTestId("widget-margin")).getByTestId("widget-error").textContent).toBe("This widget uses a field hidden from you.");
    expect(screen.getByTestId("widget-regions").textContent).toContain("from cache");
    expect(calls.some((c) => c.url.pathname === "/api/dash/shop/sales/events")).toBe(true);
  });

  it("formats numbers and date buckets for zh-CN", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/dash/shop/sales") return { body: answer };
    });
    renderWith(<DashboardView app="shop" def={def} />, "zh-CN");
    expect((await screen.findByTestId("kpi-value")).textContent).toBe("12,345.5 CNY");
    expect(within(screen.getByTestId("pivot")).getByText("2026年1月")).toBeTruthy();
    expect(screen.getByTestId("widget-margin").textContent).toContain("此组件使用了对你隐藏的字段");
  });
});

describe("charts", () => {
  const r: DashResult = {
    columns: [{ name: "day", kind: "dimension", bucket: "day" }, { name: "store", kind: "dimension" }, { name: "total", kind: "measure" }],
    rows: [
      { keys: ["2026-01-01", "a"], labels: ["", "Shop A"], values: [1], drill: "x1" },
      { keys: ["2026-01-01", "b"], labels: ["", "Shop B"], values: [2], drill: "x2" },
      { keys: ["2026-01-02", "a"], labels: ["", "Shop A"], values: [3], drill: "x3" },
    ],
    sqlMs: 1, cached: false,
  };
  const widget = { id: "w", type: "bar" as const, layout: { x: 0, y: 0, w: 6, h: 4 }, stacked: true, horizontal: true,
    query: { entity: "sale", measures: [{ name: "total", expr: "sum(amount)" }] } };
  it("draws one series per value of the second dimension, same colour for the same series, clicks open rows", () => {
    const label = (row: DashResult["rows"][number], i: number) => formatKey(row, i, i === 0 ? "day" : undefined, "en", "Other");
    const { option, rows } = chartOption({ widget, r, lang: "en", labelOf: label, onDrill: () => undefined });
    const series = option.series as { name: string; data: (number | null)[]; stack?: string; itemStyle: { color: string } }[];
    expect(series.map((s) => s.name)).toEqual(["Shop A", "Shop B"]);
    expect(series[0].data).toEqual([1, 3]);
    expect(series[1].data).toEqual([2, null]);
    expect(series[0].stack).toBe("total");
    expect(series[0].itemStyle.color).toBe(seriesColors(["a", "b"]).get("a")); // by the store's id, not its name
    expect((option.yAxis as { type: string }).type).toBe("category"); // horizontal bars
    expect(rows[0][1].drill).toBe("x3");
  });
});

describe("series colours", () => {
  // The same answer as zh-CN and en readers get it: the dimension values'
  // labels and the measures' labels differ, the keys do not.
  const regions: Record<string, Record<string, string>> = {
    en: { north: "North", south: "South", east: "East" },
    "zh-CN": { north: "华北", south: "华南", east: "华东" },
  };
  const labelOf = (lang: string) => (row: DashResult["rows"][number], i: number) =>
    i === 0 ? String(row.keys[0]) : row.other ? (lang === "en" ? "Other" : "其他") : regions[lang][String(row.keys[i])];
  const split: DashResult = {
    columns: [{ name: "month", kind: "dimension", bucket: "month" }, { name: "region", kind: "dimension" }, { name: "takings", kind: "measure" }],
    rows: [
      { keys: ["2026-01", "north"], values: [5], drill: "a" }, { keys: ["2026-01", "south"], values: [3], drill: "b" },
      { keys: ["2026-02", "east"], values: [2], drill: "c" }, { keys: ["2026-02", null], other: true, values: [1], drill: "d" },
    ],
    sqlMs: 1, cached: false,
  };
  const bar: Widget = { id: "b", type: "bar", layout: { x: 0, y: 0, w: 6, h: 4 },
    query: { entity: "sale", measures: [{ name: "takings", expr: "sum(amount)" }], dimensions: [{ field: "month", bucket: "month" }, { field: "region" }] } };
  type S = { name: string; itemStyle?: { color: string }; lineStyle?: { color: string }; data: { name: string; itemStyle: { color: string } }[] };
  const draw = (widget: Widget, r: DashResult, lang: "en" | "zh-CN") =>
    chartOption({ widget, r, lang, labelOf: labelOf(lang), onDrill: () => undefined }).option.series as S[];

  it("colours a series split by a dimension by its raw value, the same in zh-CN and en", () => {
    const en = draw(bar, split, "en");
    const zh = draw(bar, split, "zh-CN");
    expect(en.map((s) => s.name)).toEqual(["North", "South", "East", "Other"]);
    expect(zh.map((s) => s.name)).toEqual(["华北", "华南", "华东", "其他"]);
    expect(zh.map((s) => s.itemStyle!.color)).toEqual(en.map((s) => s.itemStyle!.color));
    expect(new Set(en.map((s) => s.itemStyle!.color)).size).toBe(4);
    const want = seriesColors(["north", "south", "east", "\u0000other"]);
    expect(en[0].itemStyle!.color).toBe(want.get("north"));
    // A line's stroke matches its points.
    expect(draw({ ...bar, type: "line" }, split, "zh-CN").map((s) => s.lineStyle!.color)).toEqual(en.map((s) => s.itemStyle!.color));
  });

  it("colours measures by their name, whatever their label says", () => {
    const r = (takings: string, orders: string): DashResult => ({
      columns: [{ name: "day", kind: "dimension", bucket: "day" }, { name: "takings", label: takings, kind: "measure" }, { name: "orders", label: orders, kind: "measure" }],
      rows: [{ keys: ["2026-01-01"], values: [8000, 12], drill: "a" }], sqlMs: 1, cached: false,
    });
    const line: Widget = { ...bar, type: "line", query: { entity: "sale", measures: [{ name: "takings", expr: "sum(amount)" }, { name: "orders", expr: "count()" }] } };
    const en = draw(line, r("Takings", "Orders"), "en");
    const zh = draw(line, r("营收", "订单"), "zh-CN");
    expect(en.map((s) => s.name)).toEqual(["Takings", "Orders"]);
    expect(zh.map((s) => s.name)).toEqual(["营收", "订单"]);
    expect(zh.map((s) => s.itemStyle!.color)).toEqual(en.map((s) => s.itemStyle!.color));
    expect(en[0].itemStyle!.color).not.toBe(en[1].itemStyle!.color);
    // Renamed in the document: the colour stays.
    expect(draw(line, r("Revenue", "Orders"), "en")[0].itemStyle!.color).toBe(en[0].itemStyle!.color);
  });

  it("colours pie slices and funnel stages by their value", () => {
    const r: DashResult = { columns: [{ name: "region", kind: "dimension" }, { name: "n", kind: "measure" }],
      rows: [{ keys: ["north"], values: [5], drill: "a" }, { keys: ["south"], values: [3], drill: "b" }], sqlMs: 1, cached: false };
    // labelOf reads dimension 1 in these tests; a pie's values are dimension 0.
    const lo = (lang: string) => (row: DashResult["rows"][number]) => regions[lang][String(row.keys[0])];
    for (const type of ["pie", "funnel"] as const) {
      const w: Widget = { ...bar, type, query: { ...bar.query, dimensions: [{ field: "region" }] } };
      const slices = (lang: "en" | "zh-CN") =>
        (chartOption({ widget: w, r, lang, labelOf: lo(lang), onDrill: () => undefined }).option.series as S[])[0].data;
      expect(slices("zh-CN").map((d) => d.name)).toEqual(["华北", "华南"]);
      expect(slices("zh-CN").map((d) => d.itemStyle.color)).toEqual(slices("en").map((d) => d.itemStyle.color));
    }
  });

  it("gives the keys of one chart distinct colours while the palette lasts, whatever their order", () => {
    const keys = Array.from({ length: PALETTE.length }, (_, i) => "store_" + i);
    const c = seriesColors(keys);
    expect(new Set(c.values()).size).toBe(PALETTE.length);
    expect([...seriesColors([...keys].reverse())].sort()).toEqual([...c].sort());
    // More series than colours: every one still gets a colour.
    expect(seriesColors([...keys, "one_more"]).get("one_more")).toMatch(/^#/);
  });
});

describe("KPI figures", () => {
  it("abbreviates a figure from a million by language, and keeps the full one in the title", async () => {
    expect(formatKpi(82904.6, "en")).toBe("82,904.6");
    expect(formatKpi(143812178.07, "en")).toBe("144M");
    expect(formatKpi(143812178.07, "zh-CN")).toBe("1.44亿");
    expect(formatKpi(1234567, "zh-CN")).toBe("123万");
    expect(formatKpi(-2500000, "en")).toBe("-2.5M");
    expect(formatKpi(25910303.32, "zh-CN", "CNY")).toBe("¥2590万");
    expect(formatKpi(null, "en")).toBe("—");
    const big = { ...answer, widgets: [{ ...answer.widgets[0], kpi: undefined, rows: [{ keys: [], values: [143812178.07], drill: "" }] }] };
    mockFetch((c) => {
      if (c.url.pathname === "/api/dash/shop/sales") return { body: big };
    });
    renderWith(<DashboardView app="shop" def={{ ...def, widgets: [def.widgets[0]] }} />);
    const kpi = await screen.findByTestId("kpi-value");
    expect(kpi.textContent).toBe("144M CNY");
    expect(kpi.getAttribute("title")).toBe("143,812,178.07 CNY");
  });
});

describe("funnel", () => {
  const doc = {
    name: "crm",
    entities: [{ name: "deal", fields: [{ name: "stage", type: "select", options: ["lost", "won", "open"] }, { name: "kind", type: "select", options: ["b", "a"] }] }],
    flows: [{ name: "deal", entity: "deal", field: "stage", states: [{ name: "discovery" }, { name: "nda" }, { name: "poc" }, { name: "won" }, { name: "lost" }] }],
  } as unknown as AppDocument;
  const row = (k: string, n: number) => ({ keys: [k], values: [n], drill: k });
  // The answer comes sorted by the stage's name; the funnel follows the flow.
  const answerRows = [row("discovery", 9), row("lost", 30), row("nda", 7), row("poc", 4), row("won", 12)];

  it("orders the stages as the flow does (lost last), else as the field's options", () => {
    expect(stateOrder(doc, "deal", "stage")).toEqual(["discovery", "nda", "poc", "won", "lost"]);
    expect(stateOrder(doc, "deal", "kind")).toEqual(["b", "a"]);
    expect(stateOrder(undefined, "deal", "stage")).toBeUndefined();
    expect(funnelRows(answerRows, stateOrder(doc, "deal", "stage")).map((r) => r.keys[0])).toEqual(["discovery", "nda", "poc", "won", "lost"]);
    expect(funnelRows([row("x", 1), ...answerRows.slice(0, 2)], ["lost", "discovery"]).map((r) => r.keys[0])).toEqual(["lost", "discovery", "x"]);
  });

  it("draws the funnel in the rows' order, not sorted by value", () => {
    const r: DashResult = { columns: [{ name: "stage", kind: "dimension" }, { name: "deals", kind: "measure" }],
      rows: funnelRows(answerRows, stateOrder(doc, "deal", "stage")), sqlMs: 1, cached: false };
    const widget = { id: "f", type: "funnel" as const, layout: { x: 0, y: 0, w: 6, h: 4 },
      query: { entity: "deal", measures: [{ name: "deals", expr: "count()" }], dimensions: [{ field: "stage" }] } };
    const { option, rows } = chartOption({ widget, r, lang: "en", labelOf: (x, i) => String(x.keys[i]), onDrill: () => undefined });
    const series = (option.series as { sort?: string; data: { name: string }[] }[])[0];
    expect(series.sort).toBe("none");
    expect(series.data.map((d) => d.name)).toEqual(["discovery", "nda", "poc", "won", "lost"]);
    expect(rows[0][3].drill).toBe("won");
  });
});

describe("measures of different units", () => {
  it("puts a count beside money on its own axis, so it does not lie flat at zero", () => {
    const r: DashResult = {
      columns: [{ name: "day", kind: "dimension", bucket: "day" }, { name: "takings", kind: "measure", unit: "CNY" }, { name: "orders", kind: "measure" }],
      rows: [{ keys: ["2026-01-01"], values: [8000, 12], drill: "a" }, { keys: ["2026-01-02"], values: [6000, 9], drill: "b" }],
      sqlMs: 1, cached: false,
    };
    const widget = { id: "t", type: "line" as const, layout: { x: 0, y: 0, w: 8, h: 4 },
      query: { entity: "sale", measures: [{ name: "takings", expr: "sum(total)", unit: "CNY" }, { name: "orders", expr: "count()" }] } };
    const { option } = chartOption({ widget, r, lang: "en", labelOf: (x, i) => String(x.keys[i]), onDrill: () => undefined });
    const series = option.series as { data: number[]; yAxisIndex?: number }[];
    expect(series.map((s) => s.yAxisIndex)).toEqual([0, 1]);
    expect(series[1].data).toEqual([12, 9]);
    expect(Array.isArray(option.yAxis) && option.yAxis.length).toBe(2);
    // Same unit: one axis.
    const same = chartOption({ widget, r: { ...r, columns: [r.columns[0], r.columns[1], { ...r.columns[2], unit: "CNY" }] }, lang: "en",
      labelOf: (x, i) => String(x.keys[i]), onDrill: () => undefined });
    expect((same.option.series as { yAxisIndex?: number }[]).map((s) => s.yAxisIndex)).toEqual([0, 0]);
    expect(Array.isArray(same.option.yAxis)).toBe(false);
  });
});

describe("dimensions in the user's language", () => {
  const doc = {
    name: "crm",
    entities: [{ name: "deal", fields: [
      { name: "stage", type: "select", label: "Stage", labels: { "zh-CN": "阶段" }, options: ["discovery", "won", "lost"],
        optionLabels: { discovery: { "zh-CN": "需求发现", en: "Discovery" } } },
      { name: "industry", type: "select", label: "Industry", options: ["manufacturing", "other"], optionLabels: { manufacturing: { "zh-CN": "制造业" } } },
      { name: "owner_name", type: "text" },
    ] }],
    flows: [{ name: "deal", entity: "deal", field: "stage", states: [{ name: "discovery" }, { name: "won", labels: { "zh-CN": "赢单", en: "Won" } }, { name: "lost", labels: { "zh-CN": "丢单" } }] }],
  } as unknown as AppDocument;
  const row = (k: string | null, n: number) => ({ keys: [k], values: [n], drill: String(k) });
  const funnel = { id: "f", type: "funnel" as const, layout: { x: 0, y: 0, w: 6, h: 4 },
    query: { entity: "deal", measures: [{ name: "deals", expr: "count()" }], dimensions: [{ field: "stage" }] } };

  it("names a funnel's stages by option label, else the flow state's label, else the value", () => {
    const r: DashResult = { columns: [{ name: "stage", kind: "dimension" }, { name: "deals", kind: "measure" }],
      rows: funnelRows([row("won", 2), row("discovery", 5), row("lost", 1)], stateOrder(doc, "deal", "stage")), sqlMs: 1, cached: false };
    const names = (lang: string) => {
      const { option } = chartOption({ widget: funnel, r, lang: lang as never, labelOf: (x, i) => dimensionText(doc, funnel, x, i, lang) ?? String(x.keys[i]), onDrill: () => undefined });
      return (option.series as { data: { name: string }[] }[])[0].data.map((d) => d.name);
    };
    expect(names("zh-CN")).toEqual(["需求发现", "赢单", "丢单"]);
    expect(names("en")).toEqual(["Discovery", "Won", "lost"]);
  });

  it("leaves other dimensions, date buckets and server labels alone", () => {
    const w = { ...funnel, query: { ...funnel.query, dimensions: [{ field: "owner_name" }] } };
    expect(dimensionText(doc, w, row("x", 1), 0, "zh-CN")).toBeUndefined();
    expect(dimensionText(doc, funnel, { keys: ["won"], labels: ["Server"], values: [1], drill: "" }, 0, "zh-CN")).toBeUndefined();
    expect(dimensionText(doc, funnel, row(null, 1), 0, "zh-CN")).toBeUndefined();
    expect(dimensionText(undefined, funnel, row("won", 1), 0, "zh-CN")).toBeUndefined();
  });

  it("shows a table grouped by a select field with its zh-CN header and option labels", async () => {
    const dash: DashboardDef = { name: "deals", label: "Deals", labels: { "zh-CN": "商机看板" }, widgets: [
      { id: "byIndustry", type: "table", layout: { x: 0, y: 0, w: 6, h: 4 },
        query: { entity: "deal", measures: [{ name: "n", expr: "count()" }], dimensions: [{ field: "stage" }, { field: "industry" }] } },
    ] };
    mockFetch((c) => {
      if (c.url.pathname === "/api/dash/crm/deals") return { body: { name: "deals", params: {}, widgets: [
        { id: "byIndustry", type: "table", sqlMs: 1, cached: false,
          columns: [{ name: "stage", label: "Stage", kind: "dimension" }, { name: "industry", label: "Industry", kind: "dimension" }, { name: "n", kind: "measure" }],
          rows: [{ keys: ["discovery", "manufacturing"], values: [3], drill: "a" }, { keys: ["won", "other"], values: [1], drill: "b" }] },
      ] } };
    });
    renderWith(<DashboardView app="crm" def={dash} doc={doc} />, "zh-CN");
    const w = await screen.findByTestId("widget-byIndustry");
    await within(w).findByText("需求发现");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("商机看板");
    expect(Array.from(w.querySelectorAll("th")).map((h) => h.textContent)).toEqual(["阶段", "Industry", "n"]);
    const cells = Array.from(w.querySelectorAll("tbody tr")).map((tr) => Array.from(tr.querySelectorAll("td")).slice(0, 2).map((td) => td.textContent));
    expect(cells).toEqual([["需求发现", "制造业"], ["赢单", "other"]]);
  });
});

describe("dashboard and widget titles in the user's language", () => {
  const dash: DashboardDef = {
    name: "sales", label: "销售", labels: { "zh-CN": "销售概览", en: "Sales" },
    params: [{ name: "period", label: "期间", labels: { en: "Period" }, type: "daterange", default: "thisMonth" }],
    widgets: [
      { id: "by_region", type: "table", title: "各区域营收", titles: { "zh-CN": "各区域营收", en: "Takings by region" }, layout: { x: 0, y: 0, w: 6, h: 4 },
        query: { entity: "sale", measures: [{ name: "takings", label: "营收", labels: { en: "Takings" }, expr: "sum(amount)" }],
          dimensions: [{ field: "region", label: "区域", labels: { en: "Region" } }] } },
      { id: "orders", type: "kpi", title: "订单", layout: { x: 6, y: 0, w: 3, h: 2 },
        query: { entity: "sale", measures: [{ name: "n", expr: "count()" }] } },
      { id: "bare", type: "kpi", layout: { x: 9, y: 0, w: 3, h: 2 },
        query: { entity: "sale", measures: [{ name: "n", expr: "count()" }] } },
    ],
  };
  const served = { name: "sales", label: "销售", labels: dash.labels, params: { period: "thisMonth" }, widgets: [
    { id: "by_region", type: "table", title: "各区域营收", titles: { "zh-CN": "各区域营收", en: "Takings by region" }, sqlMs: 1, cached: false,
      columns: [{ name: "region", label: "区域", labels: { en: "Region" }, kind: "dimension" }, { name: "takings", label: "营收", labels: { en: "Takings" }, kind: "measure" }],
      rows: [{ keys: ["north"], values: [5], drill: "a" }] },
    { id: "orders", type: "kpi", title: "订单", sqlMs: 1, cached: false, columns: [{ name: "n", kind: "measure" }], rows: [{ keys: [], values: [2], drill: "" }] },
    { id: "bare", type: "kpi", sqlMs: 1, cached: false, columns: [{ name: "n", kind: "measure" }], rows: [{ keys: [], values: [2], drill: "" }] },
  ] };
  const heads = (id: string) => Array.from(screen.getByTestId(`widget-${id}`).querySelectorAll("th")).map((h) => h.textContent);

  for (const [lang, want] of [
    ["en", { h1: "Sales", title: "Takings by region", heads: ["Region", "Takings"], param: "Period" }],
    ["zh-CN", { h1: "销售概览", title: "各区域营收", heads: ["区域", "营收"], param: "期间" }],
  ] as const) {
    it(`reads in ${lang}; a widget without titles shows its title, else its id`, async () => {
      mockFetch((c) => {
        if (c.url.pathname === "/api/dash/shop/sales") return { body: served };
      });
      renderWith(<DashboardView app="shop" def={dash} />, lang);
      await within(screen.getByTestId("widget-by_region")).findByText("north");
      expect(screen.getByRole("heading", { level: 1 }).textContent).toBe(want.h1);
      expect(screen.getByTestId("widget-title-by_region").textContent).toBe(want.title);
      expect(heads("by_region")).toEqual(want.heads);
      expect(screen.getByTestId("param-period").closest("label")!.querySelector("span")!.textContent).toBe(want.param);
      expect(screen.getByTestId("widget-title-orders").textContent).toBe("订单");
      expect(screen.getByTestId("widget-title-bare").textContent).toBe("bare");
    });
  }

  it("falls back to label and title where the language has no variant", async () => {
    const partial: DashboardDef = { ...dash, labels: { "zh-CN": "销售概览" },
      widgets: [{ ...dash.widgets[0], titles: { "zh-CN": "各区域营收" } }] };
    mockFetch((c) => {
      if (c.url.pathname === "/api/dash/shop/sales") return { body: { ...served, widgets: [served.widgets[0]] } };
    });
    renderWith(<DashboardView app="shop" def={partial} />, "en");
    await within(screen.getByTestId("widget-by_region")).findByText("north");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("销售");
    expect(screen.getByTestId("widget-title-by_region").textContent).toBe("各区域营收");
  });
});
