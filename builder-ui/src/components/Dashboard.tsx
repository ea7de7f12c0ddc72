// The Dashboards screen: a dashboard's widgets on its grid (one column on a
// phone), its parameters in the URL (?period=thisMonth&store=…), figures
// formatted for the language, refreshed when the server says the data
// changed, and every figure a link to the records behind it.
import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { api, watchDashboard, type AppDocument, type DashboardDef, type DashResult, type DashRow, type DataRecord, type DirectoryUser, type Widget } from "../api";
import { useI18n, type Lang } from "../i18n";
import { href } from "../router";
import { fieldLabel } from "../fields";
import { flowStates, labelIn, optionLabel, titleIn } from "../labels";
import { ErrorBox, Loading } from "./common";

const Chart = lazy(() => import("./Chart").then((m) => ({ default: m.Chart })));

const PRESETS = ["today", "yesterday", "last7Days", "last30Days", "last90Days", "thisWeek", "lastWeek",
  "thisMonth", "lastMonth", "thisQuarter", "lastQuarter", "thisYear", "lastYear"] as const;

// formatNumber writes a figure in the language's digits and separators;
// money (a measure of a field with a currency) with the currency's sign.
export function formatNumber(v: unknown, lang: Lang, unit?: string, currency?: string): string {
  if (v === null || v === undefined || v === "") return "—";
  const n = typeof v === "number" ? v : Number(v);
  if (Number.isNaN(n)) return String(v);
  let s: string;
  try {
    s = new Intl.NumberFormat(lang, { maximumFractionDigits: 2, ...(currency ? { style: "currency", currency } : {}) }).format(n);
  } catch {
    s = new Intl.NumberFormat(lang, { maximumFractionDigits: 2 }).format(n);
  }
  return unit ? `${s} ${unit}` : s;
}

// KPI_COMPACT_FROM is the magnitude from which a KPI shows its figure
// abbreviated (1.4M, 144万, 1.44亿): a long figure does not fit a card.
const KPI_COMPACT_FROM = 1e6;

// formatKpi writes a KPI figure: in full below a million, else abbreviated
// by the language (en 144M, zh-CN 1.44亿). The full figure is formatNumber's.
export function formatKpi(v: unknown, lang: Lang, currency?: string): string {
  const n = typeof v === "number" ? v : Number(v);
  if (v === null || v === undefined || v === "" || Number.isNaN(n) || Math.abs(n) < KPI_COMPACT_FROM) return formatNumber(v, lang, undefined, currency);
  const o: Intl.NumberFormatOptions = { notation: "compact", maximumSignificantDigits: 3 };
  try {
    return new Intl.NumberFormat(lang, { ...o, ...(currency ? { style: "currency", currency } : {}) }).format(n);
  } catch {
    return new Intl.NumberFormat(lang, o).format(n);
  }
}

// stateOrder is the order a funnel shows the values of entity's field in:
// the states of the flow over that field, else the field's options.
export function stateOrder(doc: AppDocument | undefined, entity: string, field: string | undefined): string[] | undefined {
  if (!doc || !field) return undefined;
  const flows = ((doc as { flows?: unknown[] }).flows ?? []) as { entity?: string; field?: string; states?: { name?: string }[] }[];
  const flow = flows.find((f) => f && f.entity === entity && f.field === field && Array.isArray(f.states));
  if (flow) return flow.states!.map((s) => s?.name ?? "").filter(Boolean);
  return doc.entities.find((e) => e.name === entity)?.fields.find((f) => f.name === field)?.options;
}

// dimensionText shows a dimension's value grouped by a select, multiselect
// or flow state field by its label in lang (optionLabels, else the flow
// states' labels); undefined for other dimensions (refs, users and dates
// keep the server's labels and formatKey).
export function dimensionText(doc: AppDocument | undefined, widget: Widget, row: DashRow, i: number, lang: string): string | undefined {
  const dim = widget.query.dimensions?.[i];
  if (!doc || !dim || dim.bucket || row.other || row.labels?.[i]) return undefined;
  const key = row.keys[i];
  if (typeof key !== "string" || key === "") return undefined;
  const f = doc.entities.find((e) => e.name === widget.query.entity)?.fields.find((x) => x.name === dim.field);
  if (!f || (f.type !== "select" && f.type !== "multiselect")) return undefined;
  return optionLabel(f, key, lang, flowStates(doc, widget.query.entity, f.name));
}

// dimensionHead heads a dimension's column: its own label when the widget
// gives one (in lang, else its fallback), else its field's label in lang,
// else the server's.
function dimensionHead(doc: AppDocument | undefined, widget: Widget, col: { name: string; label?: string }, lang: string): string {
  const dims = widget.query.dimensions ?? [];
  const dim = dims.find((d) => (d.name || d.field) === col.name) ?? dims.find((d) => d.field === col.name);
  if (dim?.labels?.[lang]) return dim.labels[lang];
  if (doc && dim && !dim.label) {
    const f = doc.entities.find((e) => e.name === widget.query.entity)?.fields.find((x) => x.name === dim.field);
    if (f && f.labels?.[lang]) return fieldLabel(f, lang);
  }
  return col.label || col.name;
}

// funnelRows orders a funnel's rows by the stage order (values it does not
// know last, in answer order).
export function funnelRows(rows: DashRow[], order: string[] | undefined): DashRow[] {
  if (!order?.length) return rows;
  const at = (r: DashRow) => {
    const i = order.indexOf(String(r.keys[0]));
    return i < 0 ? order.length : i;
  };
  return rows.map((r, i) => [r, i] as const).sort((a, b) => at(a[0]) - at(b[0]) || a[1] - b[1]).map(([r]) => r);
}

// formatKey shows a dimension value: date buckets in the language's format,
// refs and users by their labels.
export function formatKey(row: DashRow, i: number, bucket: string | undefined, lang: Lang, other: string): string {
  if (row.other) return other;
  const label = row.labels?.[i];
  const key = row.keys[i];
  if (key === null || key === undefined) return "—";
  if (!bucket || typeof key !== "string") return label || String(key);
  const utc = (y: number, m = 1, d = 1, h = 0) => new Date(Date.UTC(y, m - 1, d, h));
  const f = (d: Date, o: Intl.DateTimeFormatOptions) => new Intl.DateTimeFormat(lang, { ...o, timeZone: "UTC" }).format(d);
  const [y, m, d] = key.split(/[-T:]/).map(Number);
  switch (bucket) {
    case "hour": return f(utc(y, m, d, Number(key.slice(11, 13))), { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
    case "day": case "week": return f(utc(y, m, d), { month: "short", day: "numeric" });
    case "month": return f(utc(y, m), { year: "numeric", month: "short" });
  }
  return key;
}

// A series keeps its colour wherever it appears and in every language: the
// colour follows a stable key — a measure's name, or the raw value a
// dimension splits by (a ref's id, an option's value) — never the label
// shown, which changes with the language and with every rename.
export const PALETTE = ["#2f6fed", "#12b886", "#f59f00", "#e8590c", "#7048e8", "#0ca678", "#d6336c", "#1098ad", "#5c940d", "#495057"];

// paletteSlot is a key's own colour in PALETTE.
function paletteSlot(key: string): number {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % PALETTE.length;
}

// seriesKey is the stable key of a row's value in dimension i: its raw key,
// the "Other" row one of its own.
export function seriesKey(row: DashRow, i: number): string {
  if (row.other) return "\u0000other";
  const k = row.keys[i];
  return typeof k === "string" ? k : JSON.stringify(k ?? null);
}

// seriesColors colours the series of one chart: each key takes its own
// colour unless a key before it (in code-unit order, so independent of the
// language and of the answer's order) took it, then the next free one — two
// series of a chart differ while the palette lasts.
export function seriesColors(keys: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const taken = new Set<number>();
  for (const k of [...new Set(keys)].sort()) {
    let i = paletteSlot(k);
    if (taken.size < PALETTE.length) while (taken.has(i)) i = (i + 1) % PALETTE.length;
    taken.add(i);
    out.set(k, PALETTE[i]);
  }
  return out;
}

export function DashboardView({ app, def, doc }: { app: string; def: DashboardDef; doc?: AppDocument }) {
  const { t, lang } = useI18n();
  const [search, setSearch] = useSearchParams();
  const params = useMemo(() => {
    const p: Record<string, string> = {};
    for (const d of def.params ?? []) {
      const v = search.get(d.name);
      if (v) p[d.name] = v;
    }
    return p;
  }, [search, def]);
  const [result, setResult] = useState<Record<string, DashResult>>({});
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(false);
  const [tick, setTick] = useState(0);

  useEffect(() => {
    let live = true;
    api.dashboard(app, def.name, params).then((r) => {
      if (!live) return;
      const byId: Record<string, DashResult> = {};
      for (const w of r.widgets) if (w.id) byId[w.id] = w;
      setResult(byId);
      setError(null);
      setLoaded(true);
    }, (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [app, def.name, params, tick]);

  // Live: reload when a write changes what a widget reads.
  useEffect(() => {
    const ctl = new AbortController();
    void watchDashboard(app, def.name, (widgets) => widgets.length && setTick((n) => n + 1), ctl.signal);
    return () => ctl.abort();
  }, [app, def.name]);

  const setParam = (name: string, value: string) => {
    const next = new URLSearchParams(search);
    if (value) next.set(name, value);
    else next.delete(name);
    setSearch(next);
  };

  const cols = def.columns || 12;
  return (
    <div className="dashboard" data-testid="dashboard">
      <div className="toolbar">
        <h1>{labelIn(def, lang)}</h1>
        <div className="dash-params">
          {(def.params ?? []).map((p) => (
            <ParamInput key={p.name} app={app} param={p} value={params[p.name] ?? ""} onChange={(v) => setParam(p.name, v)} />
          ))}
        </div>
      </div>
      {error ? <ErrorBox error={error} onRetry={() => setTick((n) => n + 1)} /> : null}
      {!loaded && !error ? <Loading /> : null}
      <div className="dash-grid" style={{ gridTemplateColumns: `repeat(${cols}, minmax(0, 1fr))` }}>
        {def.widgets.map((w) => (
          <div key={w.id} className="card dash-widget" data-testid={`widget-${w.id}`}
            style={{ gridColumn: `${w.layout.x + 1} / span ${w.layout.w}`, gridRow: `${w.layout.y + 1} / span ${w.layout.h}` }}>
            <div className="dash-widget-title" data-testid={`widget-title-${w.id}`}>{titleIn(w, lang)}</div>
            {result[w.id] ? <WidgetBody app={app} widget={w} r={result[w.id]} lang={lang} doc={doc} /> : loaded ? <div className="muted">—</div> : null}
            {result[w.id] && !result[w.id].error && (
              <div className="dash-widget-foot muted">
                {result[w.id].cached ? t("dash.cached") : t("dash.sqlMs", { ms: result[w.id].sqlMs.toFixed(1) })}
              </div>
            )}
          </div>
        ))}
      </div>
    </div>
  );
}

function drillHref(app: string, widget: Widget, drill: string | null | undefined): string | undefined {
  if (drill === null || drill === undefined) return undefined;
  return href({ name: "list", app, entity: widget.query.entity }, drill ? new URLSearchParams({ filter: drill }) : undefined);
}

export function WidgetBody({ app, widget, r: answer, lang, doc }: { app: string; widget: Widget; r: DashResult; lang: Lang; doc?: AppDocument }) {
  const { t } = useI18n();
  // Measure and dimension columns read in lang where the document gives
  // their labels in it; everything below (tables, charts) uses col.label.
  const r = useMemo(() => ({ ...answer, columns: answer.columns.map((c) => (c.labels?.[lang] ? { ...c, label: c.labels[lang] } : c)) }), [answer, lang]);
  if (r.error) {
    return <div className="alert alert-error" data-testid="widget-error">{r.error.code === "field_hidden" ? t("dash.hidden") : r.error.message}</div>;
  }
  const measures = r.columns.filter((c) => c.kind === "measure");
  const dims = r.columns.filter((c) => c.kind === "dimension");
  const label = (row: DashRow, i: number) => dimensionText(doc, widget, row, i, lang) ?? formatKey(row, i, dims[i]?.bucket, lang, t("dash.other"));
  switch (widget.type) {
    case "kpi": {
      const row = r.rows[0];
      const pct = r.kpi?.percent?.[0];
      return (
        <div className="kpi">
          <a className="kpi-value" data-testid="kpi-value" href={drillHref(app, widget, row?.drill)}
            title={formatNumber(row?.values[0], lang, measures[0]?.unit, measures[0]?.currency)}>
            {formatKpi(row?.values[0], lang, measures[0]?.currency)}{measures[0]?.unit ? <> <span className="kpi-unit">{measures[0].unit}</span></> : null}
          </a>
          {pct !== undefined && (
            <div className={"kpi-change " + (pct !== null && Number(pct) < 0 ? "down" : "up")} data-testid="kpi-change">
              {pct === null ? "—" : (Number(pct) > 0 ? "+" : "") + formatNumber(pct, lang) + "%"} {t("dash.vsPrevious")}
              {r.kpi?.previousDrill !== undefined && (
                <> (<a href={drillHref(app, widget, r.kpi.previousDrill)}>{formatNumber(r.kpi?.previous?.[0], lang)}</a>)</>
              )}
            </div>
          )}
          {r.kpi?.target !== undefined && (
            <div className="kpi-target" data-testid="kpi-target">
              <progress max={100} value={Math.min(100, Number(r.kpi.progress ?? 0))} />
              {t("dash.ofTarget", { percent: formatNumber(r.kpi.progress, lang), target: formatNumber(r.kpi.target, lang) })}
            </div>
          )}
        </div>
      );
    }
    case "table":
      return (
        <div className="dash-table-wrap">
          <table className="list dash-table">
            <thead><tr>{r.columns.map((c) => <th key={c.name}>{c.kind === "dimension" ? dimensionHead(doc, widget, c, lang) : c.label || c.name}</th>)}</tr></thead>
            <tbody>
              {r.rows.map((row, ri) => (
                <tr key={ri}>
                  {dims.map((d, i) => <td key={i} data-label={dimensionHead(doc, widget, d, lang)}>{label(row, i)}</td>)}
                  {row.values.map((v, i) => (
                    <td key={"m" + i} className="num" data-label={measures[i]?.label || measures[i]?.name}><a href={drillHref(app, widget, row.drill)}>{formatNumber(v, lang, measures[i]?.unit, measures[i]?.currency)}</a></td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    case "pivot":
      return <Pivot app={app} widget={widget} r={r} lang={lang} doc={doc} />;
  }
  // A funnel follows its flow's stages, not the answer's alphabetical order.
  const shown = widget.type === "funnel"
    ? { ...r, rows: funnelRows(r.rows, stateOrder(doc, widget.query.entity, widget.query.dimensions?.[0]?.field)) }
    : r;
  return (
    <Suspense fallback={<Loading />}>
      <Chart widget={widget} r={shown} lang={lang} labelOf={label}
        onDrill={(row) => {
          const h = drillHref(app, widget, row.drill);
          if (h) window.location.hash = h.slice(1);
        }} />
    </Suspense>
  );
}

// Pivot: rows × columns of the first measure, with row, column and grand
// totals; every cell and total opens its records.
function Pivot({ app, widget, r, lang, doc }: { app: string; widget: Widget; r: DashResult; lang: Lang; doc?: AppDocument }) {
  const { t } = useI18n();
  const dims = r.columns.filter((c) => c.kind === "dimension");
  const unit = r.columns.find((c) => c.kind === "measure")?.unit;
  const currency = r.columns.find((c) => c.kind === "measure")?.currency;
  const key = (v: unknown) => JSON.stringify(v ?? null);
  const cells = new Map<string, DashRow>();
  for (const row of r.rows) cells.set(key(row.keys[0]) + "|" + key(row.keys[1]), row);
  const rowTotals = r.pivot?.rowTotals ?? [];
  const colTotals = r.pivot?.colTotals ?? [];
  const other = t("dash.other");
  const fk = (row: DashRow, i: number) => dimensionText(doc, widget, row, i, lang) ?? formatKey(row, i, dims[i]?.bucket, lang, other);
  return (
    <div className="dash-table-wrap">
      <table className="list dash-pivot" data-testid="pivot">
        <thead>
          <tr>
            <th>{dims[0] && dimensionHead(doc, widget, dims[0], lang)} \ {dims[1] && dimensionHead(doc, widget, dims[1], lang)}</th>
            {colTotals.map((c, i) => <th key={i}>{fk(c, 1)}</th>)}
            <th>{t("dash.total")}</th>
          </tr>
        </thead>
        <tbody>
          {rowTotals.map((rt, ri) => (
            <tr key={ri}>
              <th>{fk(rt, 0)}</th>
              {colTotals.map((ct, ci) => {
                const cell = cells.get(key(rt.keys[0]) + "|" + key(ct.keys[1]));
                return (
                  <td key={ci} className="num" data-label={fk(ct, 1)}>
                    {cell ? <a href={drillHref(app, widget, cell.drill)}>{formatNumber(cell.values[0], lang, unit, currency)}</a> : "—"}
                  </td>
                );
              })}
              <td className="num total" data-label={t("dash.total")}><a href={drillHref(app, widget, rt.drill)}>{formatNumber(rt.values[0], lang, unit, currency)}</a></td>
            </tr>
          ))}
          <tr className="total">
            <th>{t("dash.total")}</th>
            {colTotals.map((ct, ci) => (
              <td key={ci} className="num" data-label={fk(ct, 1)}><a href={drillHref(app, widget, ct.drill)}>{formatNumber(ct.values[0], lang, unit, currency)}</a></td>
            ))}
            <td className="num" data-testid="pivot-total" data-label={t("dash.total")}>
              {r.pivot && <a href={drillHref(app, widget, r.pivot.total.drill)}>{formatNumber(r.pivot.total.values[0], lang, unit, currency)}</a>}
            </td>
          </tr>
        </tbody>
      </table>
    </div>
  );
}

function ParamInput({ app, param, value, onChange }: {
  app: string; param: NonNullable<DashboardDef["params"]>[number]; value: string; onChange: (v: string) => void;
}) {
  const { t, lang } = useI18n();
  const [options, setOptions] = useState<{ id: string; label: string }[]>([]);
  useEffect(() => {
    let live = true;
    if (param.type === "ref" && param.entity) {
      api.list(app, param.entity, { limit: 200 }).then((p) => live && setOptions(p.items.map((r: DataRecord) => ({
        id: r.id, label: String(Object.entries(r).find(([k, v]) => typeof v === "string" && !["id", "owner", "created_by", "created_at", "updated_at"].includes(k))?.[1] ?? r.id),
      }))), () => undefined);
    } else if (param.type === "user") {
      api.directory({ limit: 100 }).then((p) => live && setOptions(p.items.map((u: DirectoryUser) => ({ id: u.id, label: u.name || u.email }))), () => undefined);
    }
    return () => {
      live = false;
    };
  }, [app, param]);
  const label = labelIn(param, lang);
  if (param.type === "daterange") {
    const custom = value.includes("..") ? value.split("..") : null;
    return (
      <label className="dash-param">
        <span>{label}</span>
        <select data-testid={`param-${param.name}`} value={custom ? "custom" : value || param.default || ""}
          onChange={(e) => onChange(e.target.value === "custom" ? (param.default?.includes("..") ? param.default : "") : e.target.value)}>
          {!param.default && <option value="">{t("dash.allTime")}</option>}
          {PRESETS.map((p) => <option key={p} value={p}>{t(`dash.preset.${p}`)}</option>)}
          <option value="custom">{t("dash.custom")}</option>
        </select>
        {custom && (
          <>
            <input type="date" value={custom[0]} onChange={(e) => onChange(e.target.value + ".." + custom[1])} />
            <input type="date" value={custom[1]} onChange={(e) => onChange(custom[0] + ".." + e.target.value)} />
          </>
        )}
      </label>
    );
  }
  return (
    <label className="dash-param">
      <span>{label}</span>
      <select data-testid={`param-${param.name}`} value={value} onChange={(e) => onChange(e.target.value)}>
        <option value="">{t("dash.any")}</option>
        {param.type === "user" && <option value="me">{t("dash.me")}</option>}
        {options.map((o) => <option key={o.id} value={o.id}>{o.label}</option>)}
      </select>
    </label>
  );
}
