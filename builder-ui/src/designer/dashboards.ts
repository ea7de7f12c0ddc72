// The document's "dashboards" section, pure: new dashboards and widgets,
// the grid packing that moving and resizing use, and the lists a widget's
// query is picked from (measures by field type, dimensions incl. a ref's
// target fields, buckets for dates).
import type { DashboardDef, DashQuery, Entity, Field, Widget, WidgetType } from "../api";
import type { DDoc } from "./model";
import { uniqueName } from "./model";

export const WIDGET_TYPES: WidgetType[] = ["kpi", "line", "bar", "pie", "funnel", "table", "pivot"];
export const AGGS = ["count", "sum", "avg", "min", "max", "count_distinct"] as const;
export const BUCKETS = ["hour", "day", "week", "month", "quarter", "year"] as const;

export function dashboardsOf(doc: DDoc): DashboardDef[] {
  return (doc.dashboards as DashboardDef[] | undefined) ?? [];
}

export function withDashboards(doc: DDoc, ds: DashboardDef[]): DDoc {
  return { ...doc, dashboards: ds };
}

// withLabels is x with its per-language map (key "labels", or "titles" for
// a widget) set to l; an emptied map leaves the key out altogether, so the
// document falls back to the label and carries no empty {}. Every other key
// of x, unknown ones included, stays as it was and where it was.
export function withLabels<T extends object>(x: T, l: Record<string, string>, key: "labels" | "titles" = "labels"): T {
  const out = { ...x } as Record<string, unknown>;
  if (Object.keys(l).length) out[key] = l;
  else delete out[key];
  return out as T;
}

// replaceWidget puts w in place of the widget with its id, in the
// document's order and without re-packing the grid: editing a widget's
// settings moves nothing (moving and resizing use pack).
export function replaceWidget(d: DashboardDef, w: Widget): DashboardDef {
  return { ...d, widgets: d.widgets.map((x) => (x.id === w.id ? w : x)) };
}

export function newDashboard(doc: DDoc): DashboardDef {
  const name = uniqueName("dashboard", dashboardsOf(doc).map((d) => d.name));
  return { name, label: name, columns: 12, params: [{ name: "period", type: "daterange", default: "thisMonth" }], widgets: [] };
}

// Default size of a new widget of each type.
const SIZE: Record<WidgetType, [number, number]> = { kpi: [3, 2], line: [6, 4], bar: [6, 4], pie: [4, 4], funnel: [4, 4], table: [6, 4], pivot: [12, 4] };

// newWidget is a widget of type over the first entity: a count, grouped as
// the type needs (by a date by day for lines, by the first groupable field
// otherwise).
export function newWidget(type: WidgetType, d: DashboardDef, entities: Entity[]): Widget {
  const id = uniqueName(type, d.widgets.map((w) => w.id));
  const e = entities[0];
  const q: DashQuery = { entity: e?.name ?? "", measures: [{ name: "n", label: "Count", expr: "count()" }] };
  const date = e?.fields.find((f) => f.type === "date" || f.type === "datetime");
  const group = e ? dimensionFields(e, entities).find((o) => !o.date) : undefined;
  if (type === "line" || (type === "pivot" && date)) q.dimensions = date ? [{ field: date.name, bucket: "day" }] : group ? [{ field: group.value }] : [];
  if (type === "bar" || type === "pie" || type === "funnel" || type === "table") q.dimensions = group ? [{ field: group.value }] : [];
  if (type === "pivot") {
    const second = e ? dimensionFields(e, entities).find((o) => !o.date && o.value !== q.dimensions?.[0]?.field) : undefined;
    q.dimensions = [...(q.dimensions ?? []), ...(second ? [{ field: second.value }] : [])];
    if (q.dimensions[0]?.bucket) q.dimensions[0].bucket = "month";
  }
  const period = d.params?.find((p) => p.type === "daterange");
  if (date && period) q.period = { field: date.name, param: period.name };
  const [w, h] = SIZE[type];
  return { id, type, title: "", layout: { x: 0, y: 0, w, h }, query: q };
}

// pack lays widgets out in order, left to right, a new row when the next
// does not fit: moving a widget is reordering, resizing keeps the order.
export function pack(widgets: Widget[], columns = 12): Widget[] {
  let x = 0;
  let y = 0;
  let rowH = 0;
  return widgets.map((w) => {
    const width = Math.max(1, Math.min(columns, w.layout.w));
    if (x + width > columns) {
      x = 0;
      y += rowH;
      rowH = 0;
    }
    const out = { ...w, layout: { x, y, w: width, h: Math.max(1, w.layout.h) } };
    x += width;
    rowH = Math.max(rowH, out.layout.h);
    return out;
  });
}

// ordered lists widgets as the grid shows them: by row, then column.
export function ordered(widgets: Widget[]): Widget[] {
  return [...widgets].sort((a, b) => a.layout.y - b.layout.y || a.layout.x - b.layout.x);
}

export function resize(w: Widget, dw: number, dh: number, columns = 12): Widget {
  return { ...w, layout: { ...w.layout, w: Math.max(1, Math.min(columns, w.layout.w + dw)), h: Math.max(1, Math.min(12, w.layout.h + dh)) } };
}

const valueType = (f: Field) => (f.type === "formula" || f.type === "rollup" ? f.returns ?? "decimal" : f.type);

// measureFields: the fields an aggregate may take.
export function measureFields(e: Entity, agg: string): Field[] {
  return e.fields.filter((f) => {
    const t = valueType(f);
    if (agg === "count" || agg === "count_distinct") return t !== "json" && t !== "multiselect" && t !== "longtext";
    if (agg === "min" || agg === "max") return t === "integer" || t === "decimal" || t === "date" || t === "datetime";
    return t === "integer" || t === "decimal";
  });
}

export interface DimOption {
  value: string; // "stage", "store.region"
  label: string;
  date: boolean; // bucketed
  datetime: boolean;
}

// dimensionFields: what a widget may group by — the entity's own fields
// (dates with a bucket), and the fields of the records its refs point to.
export function dimensionFields(e: Entity, entities: Entity[]): DimOption[] {
  const ok = (f: Field) => !["json", "multiselect", "longtext"].includes(valueType(f));
  const out: DimOption[] = [];
  for (const f of e.fields) {
    if (!ok(f)) continue;
    const t = valueType(f);
    out.push({ value: f.name, label: f.label || f.name, date: t === "date" || t === "datetime", datetime: t === "datetime" });
  }
  out.push({ value: "owner", label: "owner", date: false, datetime: false }, { value: "created_at", label: "created_at", date: true, datetime: true });
  for (const f of e.fields) {
    if (f.type !== "ref") continue;
    const target = entities.find((x) => x.name === f.entity);
    for (const tf of target?.fields ?? []) {
      const t = valueType(tf);
      if (!ok(tf) || t === "date" || t === "datetime") continue;
      out.push({ value: `${f.name}.${tf.name}`, label: `${f.label || f.name} › ${tf.label || tf.name}`, date: false, datetime: false });
    }
  }
  return out;
}

// parseMeasure reads "agg(field)" / "count()" back into the pickers; null
// for anything else (edited as an expression).
export function parseMeasure(expr: string): { agg: string; field: string } | null {
  const m = /^\s*(count|count_distinct|sum|avg|min|max)\(\s*([a-z][a-z0-9_]*)?\s*\)\s*$/.exec(expr);
  return m ? { agg: m[1], field: m[2] ?? "" } : null;
}

export function measureExpr(agg: string, field: string): string {
  return agg === "count" && !field ? "count()" : `${agg}(${field})`;
}

// previewQuery is a widget's query as an ad-hoc query can run it: no
// dashboard parameters there, so a period parameter becomes its default
// preset and comparisons with a parameter are left out.
export function previewQuery(w: Widget, d: DashboardDef): DashQuery {
  const q: DashQuery = JSON.parse(JSON.stringify(w.query));
  if (q.period?.param) {
    const p = d.params?.find((x) => x.name === q.period!.param);
    q.period = { field: q.period.field, preset: p?.default || "thisMonth" };
  }
  if (q.filter && /@(?!me\b)[a-z]/.test(q.filter)) delete q.filter;
  return q;
}
