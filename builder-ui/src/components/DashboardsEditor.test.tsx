import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { DashboardDef } from "../api";
import { pack, withLabels } from "../designer/dashboards";
import type { DDoc } from "../designer/model";
import { mockFetch, pointerDrag, renderWith } from "../test/util";
import { DashboardsEditor } from "./DashboardsEditor";

const base = (): DDoc => ({
  name: "shop", version: 2,
  entities: [
    { name: "store", fields: [{ id: "s1", name: "name", type: "text" }, { id: "s2", name: "region", type: "select", options: ["north", "south"] }] },
    { name: "sale", fields: [
      { id: "o1", name: "title", type: "text" }, { id: "o2", name: "amount", type: "decimal" },
      { id: "o3", name: "at", type: "datetime" }, { id: "o4", name: "store", type: "ref", entity: "store" }] },
  ],
});

let latest: DDoc = base();
function Harness({ initial }: { initial: DDoc }) {
  const [doc, setDoc] = useState(initial);
  latest = doc;
  return <DashboardsEditor doc={doc} onChange={setDoc} stored />;
}
const dash = () => (latest.dashboards as DashboardDef[])[0];

describe("DashboardsEditor", () => {
  it("drops widgets from the palette onto the grid, resizes and moves them, picks measures and buckets, and previews", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/query/shop") {
        return { body: { columns: [{ name: "n", kind: "measure" }], rows: [{ keys: [], values: [42], drill: "" }], sqlMs: 1, cached: false } };
      }
    });
    renderWith(<Harness initial={base()} />);
    fireEvent.click(screen.getByTestId("dash-add"));
    expect(dash().name).toBe("dashboard_1");
    fireEvent.click(screen.getByTestId("palette-kpi"));
    const canvas = screen.getByTestId("dash-canvas");
    await pointerDrag(screen.getByTestId("palette-line"), canvas, canvas);
    expect(dash().widgets.map((w) => w.id)).toEqual(["kpi_1", "line_1"]);
    // The line groups the sales by day of their datetime, over the period parameter.
    const line = dash().widgets[1];
    expect(line.query.entity).toBe("store"); // the first entity; changed below
    // Dropped before the KPI: moved to the front, the grid re-packed.
    await pointerDrag(screen.getByTestId("tile-line_1").querySelector(".drag-handle") as HTMLElement, screen.getByTestId("tile-kpi_1"), canvas, true);
    expect(dash().widgets.map((w) => [w.id, w.layout.x, w.layout.y])).toEqual([["line_1", 0, 0], ["kpi_1", 6, 0]]);
    fireEvent.click(screen.getByTestId("tile-wider-kpi_1"));
    expect(dash().widgets[1].layout.w).toBe(4);

    // Configure the KPI: sales, sum of amount, with a preview.
    fireEvent.click(screen.getByTestId("tile-kpi_1"));
    const cfg = screen.getByTestId("widget-config");
    fireEvent.change(within(cfg).getByTestId("w-entity"), { target: { value: "sale" } });
    fireEvent.change(within(cfg).getByTestId("w-agg-0"), { target: { value: "sum" } });
    expect(dash().widgets[1].query.measures[0].expr).toBe("sum(amount)");
    fireEvent.change(within(cfg).getByTestId("w-period"), { target: { value: "at" } });
    expect(dash().widgets[1].query.period).toEqual({ field: "at", param: "period" });
    expect((await screen.findByTestId("kpi-value")).textContent).toBe("42");
    const lastQuery = () => calls.filter((c) => c.url.pathname === "/api/query/shop").at(-1)?.body as { query: { period?: unknown } } | undefined;
    await waitFor(() => expect(lastQuery()?.query.period).toEqual({ field: "at", preset: "thisMonth" })); // the parameter's default

    // The line: by the store's region, then by a datetime bucketed by month.
    fireEvent.click(screen.getByTestId("tile-line_1"));
    fireEvent.change(within(screen.getByTestId("widget-config")).getByTestId("w-entity"), { target: { value: "sale" } });
    fireEvent.click(screen.getByTestId("w-add-dim"));
    fireEvent.change(screen.getByTestId("w-dfield-0"), { target: { value: "store.region" } });
    fireEvent.change(screen.getByTestId("w-dfield-0"), { target: { value: "at" } });
    fireEvent.change(screen.getByTestId("w-bucket-0"), { target: { value: "month" } });
    expect(dash().widgets[0].query.dimensions).toEqual([{ field: "at", bucket: "month" }]);
    fireEvent.click(screen.getByTestId("tile-remove-kpi_1"));
    expect(dash().widgets.map((w) => w.id)).toEqual(["line_1"]);
  });

  it("edits the dashboard's label and each widget's title per language, shown in the designer's language", () => {
    mockFetch(() => ({ body: { columns: [], rows: [], sqlMs: 0, cached: false } }));
    const doc: DDoc = { ...base(), dashboards: [{ name: "sales", label: "销售", widgets: [
      { id: "n", type: "kpi", title: "订单", layout: { x: 0, y: 0, w: 3, h: 2 }, query: { entity: "sale", measures: [{ name: "n", expr: "count()" }] } }] }] };
    renderWith(<Harness initial={doc} />, "en");
    // No en variant yet: the fallbacks.
    expect(screen.getByTestId("dash-tab-sales").textContent).toBe("销售");
    expect(screen.getByTestId("tile-n").textContent).toContain("订单");

    fireEvent.change(screen.getByTestId("dash-label-en"), { target: { value: "Sales" } });
    fireEvent.change(screen.getByTestId("dash-label-zh-CN"), { target: { value: "销售概览" } });
    expect(dash().labels).toEqual({ en: "Sales", "zh-CN": "销售概览" });
    expect(dash().label).toBe("销售");
    expect(screen.getByTestId("dash-tab-sales").textContent).toBe("Sales");

    fireEvent.click(screen.getByTestId("tile-n"));
    const cfg = screen.getByTestId("widget-config");
    expect(within(cfg).getByText("Title (English)")).toBeTruthy();
    fireEvent.change(within(cfg).getByTestId("w-title-label-en"), { target: { value: "Orders" } });
    expect(dash().widgets[0].titles).toEqual({ en: "Orders" });
    expect(dash().widgets[0].title).toBe("订单");
    expect(screen.getByTestId("tile-n").textContent).toContain("Orders");

    // Emptied, a language drops out; emptied whole, the map does.
    fireEvent.change(screen.getByTestId("w-title-label-en"), { target: { value: "" } });
    expect(dash().widgets[0].titles).toBeUndefined();
    fireEvent.change(screen.getByTestId("dash-label-en"), { target: { value: "" } });
    expect(dash().labels).toEqual({ "zh-CN": "销售概览" });
  });

  // A document as an ops manager may have written it by hand: keys the
  // designer does not know, widgets out of grid order and not packed.
  const handWritten = (): DDoc => ({ ...base(), "x-owner": { team: "ops" }, dashboards: [{
    name: "sales", label: "销售", "x-note": "keep me",
    params: [{ name: "period", label: "期间", type: "daterange", default: "thisMonth", "x-hint": 1 },
      { name: "store", type: "ref", entity: "store" }],
    widgets: [
      { id: "by_region", type: "bar", title: "各区域", layout: { x: 0, y: 2, w: 6, h: 4 }, "x-color": "red",
        query: { entity: "sale", "x-q": true,
          measures: [{ name: "takings", label: "营收", expr: "sum(amount)", unit: "CNY", "x-m": [1, 2] }],
          dimensions: [{ field: "store.region", label: "区域", labels: { "zh-CN": "区域" }, "x-d": null }] } },
      { id: "n", type: "kpi", title: "订单", layout: { x: 6, y: 0, w: 3, h: 2 }, query: { entity: "sale", measures: [{ name: "n", expr: "count()" }] } },
    ],
  }] } as unknown as DDoc);

  it("edits each parameter's, measure's and dimension's labels per language, and nothing else in the document moves", () => {
    mockFetch(() => ({ body: { columns: [], rows: [], sqlMs: 0, cached: false } }));
    const before = JSON.stringify(handWritten());
    renderWith(<Harness initial={handWritten()} />, "en");

    // Parameters: listed with their type, labels per language.
    expect(screen.getByTestId("dash-param-store").textContent).toContain("record");
    expect((screen.getByTestId("dash-param-period-label-en") as HTMLInputElement).placeholder).toBe("期间");
    fireEvent.change(screen.getByTestId("dash-param-period-label-en"), { target: { value: "Period" } });
    expect(dash().params![0].labels).toEqual({ en: "Period" });

    fireEvent.click(screen.getByTestId("tile-by_region"));
    const cfg = screen.getByTestId("widget-config");
    // Measures: typed per language, each lands in the document.
    expect((within(cfg).getByTestId("w-measure-0-label-en") as HTMLInputElement).placeholder).toBe("营收");
    fireEvent.change(within(cfg).getByTestId("w-measure-0-label-en"), { target: { value: "Takings" } });
    fireEvent.change(within(cfg).getByTestId("w-measure-0-label-zh-CN"), { target: { value: "营收额" } });
    expect(dash().widgets[0].query.measures[0].labels).toEqual({ en: "Takings", "zh-CN": "营收额" });
    // Dimensions: the existing zh-CN label shown, an en one added.
    expect((within(cfg).getByTestId("w-dim-0-label-zh-CN") as HTMLInputElement).value).toBe("区域");
    fireEvent.change(within(cfg).getByTestId("w-dim-0-label-en"), { target: { value: "Region" } });
    expect(dash().widgets[0].query.dimensions![0].labels).toEqual({ "zh-CN": "区域", en: "Region" });

    // Only those labels changed: unknown keys kept, widgets neither re-packed nor reordered.
    const want = JSON.parse(before);
    const d = want.dashboards[0];
    d.params[0].labels = { en: "Period" };
    d.widgets[0].query.measures[0].labels = { en: "Takings", "zh-CN": "营收额" };
    d.widgets[0].query.dimensions[0].labels = { "zh-CN": "区域", en: "Region" };
    expect(JSON.stringify(latest)).toBe(JSON.stringify(want));

    // Cleared in every language, the labels key goes; the document is as it was.
    fireEvent.change(within(cfg).getByTestId("w-measure-0-label-en"), { target: { value: "" } });
    fireEvent.change(within(cfg).getByTestId("w-measure-0-label-zh-CN"), { target: { value: "" } });
    expect("labels" in dash().widgets[0].query.measures[0]).toBe(false);
    fireEvent.change(within(cfg).getByTestId("w-dim-0-label-en"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("dash-param-period-label-en"), { target: { value: "" } });
    expect("labels" in dash().params![0]).toBe(false);
    expect(JSON.stringify(latest)).toBe(before);
    fireEvent.change(within(cfg).getByTestId("w-dim-0-label-zh-CN"), { target: { value: "" } });
    expect("labels" in dash().widgets[0].query.dimensions![0]).toBe(false);
    expect(dash().widgets[0].query.dimensions![0]).toEqual({ field: "store.region", label: "区域", "x-d": null });

    // A widget's title edits in place too: the grid keeps its layout.
    fireEvent.change(within(cfg).getByTestId("w-title-label-en"), { target: { value: "By region" } });
    expect(dash().widgets.map((w) => [w.id, w.layout.x, w.layout.y])).toEqual([["by_region", 0, 2], ["n", 6, 0]]);
  });

  it("captions the new inputs in Chinese", () => {
    mockFetch(() => ({ body: { columns: [], rows: [], sqlMs: 0, cached: false } }));
    renderWith(<Harness initial={handWritten()} />, "zh-CN");
    expect(screen.getByText("参数")).toBeTruthy();
    expect(screen.getByTestId("dash-param-period").textContent).toContain("日期范围");
    fireEvent.click(screen.getByTestId("tile-by_region"));
    const m = screen.getByTestId("w-measure-0");
    expect(within(m).getByText("显示名(English)")).toBeTruthy();
  });

  it("withLabels sets or drops the map and keeps every other key in its place", () => {
    const x = { name: "a", labels: { en: "A" }, expr: "count()", other: 1 };
    expect(Object.keys(withLabels(x, { en: "B" }))).toEqual(["name", "labels", "expr", "other"]);
    expect(withLabels(x, {})).toEqual({ name: "a", expr: "count()", other: 1 });
    expect("titles" in withLabels({ id: "w", titles: { en: "T" } }, {}, "titles")).toBe(false);
    expect(x.labels).toEqual({ en: "A" }); // not mutated
  });

  it("packs widgets left to right, wrapping to a new row", () => {
    const w = (id: string, width: number, h = 2) => ({ id, type: "kpi" as const, layout: { x: 9, y: 9, w: width, h }, query: { entity: "sale", measures: [] } });
    expect(pack([w("a", 6, 4), w("b", 4), w("c", 4)]).map((x) => [x.id, x.layout.x, x.layout.y])).toEqual([["a", 0, 0], ["b", 6, 0], ["c", 0, 4]]);
  });
});
