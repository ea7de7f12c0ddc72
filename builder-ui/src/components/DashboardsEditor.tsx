// The designer's Dashboards tab: dashboards of the document; for the
// selected one a palette of widget types dragged (or clicked) onto its grid,
// widgets moved by dragging and resized with their size buttons, and the
// selected widget's query picked from lists — entity, measures, dimensions
// with date buckets, filter, period, top N — with a live preview. The
// dashboard's label, its parameters' labels, a widget's title and its
// measures' and dimensions' labels are edited per language (LabelsInputs).
import { useEffect, useMemo, useState } from "react";
import { api, type DashboardDef, type DashResult, type DashQuery, type Widget, type WidgetType } from "../api";
import { DndArea, DragRow, DropList, PaletteItem, type DropAt } from "../dnd";
import {
  AGGS, BUCKETS, dashboardsOf, dimensionFields, measureExpr, measureFields, newDashboard, newWidget, ordered, pack, parseMeasure,
  previewQuery, replaceWidget, resize, WIDGET_TYPES, withDashboards, withLabels,
} from "../designer/dashboards";
import { NAME_RE, type DDoc } from "../designer/model";
import { useI18n } from "../i18n";
import { labelIn, titleIn } from "../labels";
import { ErrorBox, Icon } from "./common";
import { LabelsInputs } from "./LabelsInputs";
import { ExpressionEditor } from "./ExpressionEditor";
import { WidgetBody } from "./Dashboard";

type Drag = { kind: "type"; type: WidgetType } | { kind: "widget"; id: string };

export function DashboardsEditor({ doc, onChange, stored }: { doc: DDoc; onChange: (d: DDoc) => void; stored: boolean }) {
  const { t, lang } = useI18n();
  const dashboards = dashboardsOf(doc);
  const [sel, setSel] = useState(0);
  const di = Math.min(sel, dashboards.length - 1);
  const dash = di >= 0 ? dashboards[di] : undefined;
  const [widgetId, setWidgetId] = useState<string | null>(null);
  const widgets = useMemo(() => ordered(dash?.widgets ?? []), [dash]);
  const widget = widgets.find((w) => w.id === widgetId) ?? null;
  const cols = dash?.columns || 12;

  const setDash = (d: DashboardDef) => onChange(withDashboards(doc, dashboards.map((x, i) => (i === di ? d : x))));
  const setWidgets = (ws: Widget[]) => dash && setDash({ ...dash, widgets: pack(ws, cols) });
  const setWidget = (w: Widget) => setWidgets(widgets.map((x) => (x.id === w.id ? w : x)));
  // A widget's settings (title, query, labels) change in place: no re-pack.
  const editWidget = (w: Widget) => dash && setDash(replaceWidget(dash, w));

  function drop(d: Drag, at: DropAt) {
    if (!dash) return;
    const list = [...widgets];
    let w: Widget;
    if (d.kind === "type") {
      w = newWidget(d.type, dash, doc.entities);
    } else {
      const i = list.findIndex((x) => x.id === d.id);
      if (i < 0) return;
      [w] = list.splice(i, 1);
      if (at.at !== undefined && at.at > i) at = { ...at, at: at.at - 1 };
    }
    list.splice(at.at ?? list.length, 0, w);
    setWidgets(list);
    setWidgetId(w.id);
  }

  return (
    <div className="dash-editor" data-testid="dash-editor">
      <div className="dash-editor-bar">
        {dashboards.map((d, i) => (
          <button key={i} type="button" className={"btn btn-small" + (i === di ? " btn-active" : "")} data-testid={`dash-tab-${d.name}`}
            onClick={() => { setSel(i); setWidgetId(null); }}>{labelIn(d, lang)}</button>
        ))}
        <button type="button" className="btn btn-small" data-testid="dash-add"
          onClick={() => { onChange(withDashboards(doc, [...dashboards, newDashboard(doc)])); setSel(dashboards.length); }}>
          <Icon.plus /> {t("dash.add")}
        </button>
      </div>
      {!dash ? <p className="muted">{t("dash.none")}</p> : (
        <DndArea<Drag> onDrop={drop} overlay={(d) => <span>{d.kind === "type" ? t(`dash.type.${d.type}`) : d.id}</span>}>
          <div className="dash-editor-grid">
            <aside className="designer-col">
              <label className="field">
                <span className="field-label">{t("dash.name")}</span>
                <input className="mono" value={dash.name} data-testid="dash-name" aria-invalid={!NAME_RE.test(dash.name) || undefined}
                  onChange={(e) => setDash({ ...dash, name: e.target.value })} />
              </label>
              <label className="field">
                <span className="field-label">{t("dash.label")}</span>
                <input value={dash.label ?? ""} data-testid="dash-label" onChange={(e) => setDash({ ...dash, label: e.target.value })} />
              </label>
              <LabelsInputs labels={dash.labels} prefix="dash" onChange={(l) => setDash(withLabels(dash, l))} />
              <label className="field">
                <span className="field-label">{t("dash.timeZone")}</span>
                <input className="mono" value={dash.timeZone ?? ""} placeholder="Asia/Shanghai" data-testid="dash-tz"
                  onChange={(e) => setDash({ ...dash, timeZone: e.target.value || undefined })} />
              </label>
              {(dash.params ?? []).length > 0 && (
                <>
                  <h3 className="panel-title">{t("dash.params")}</h3>
                  {dash.params!.map((p, i) => (
                    <div key={i} className="dash-item" data-testid={`dash-param-${p.name}`}>
                      <div className="small"><span className="mono">{p.name}</span> <span className="muted">{t(`dash.paramType.${p.type}`)}</span></div>
                      <LabelsInputs labels={p.labels} prefix={`dash-param-${p.name}`} placeholder={p.label || p.name}
                        onChange={(l) => setDash({ ...dash, params: dash.params!.map((x, j) => (j === i ? withLabels(x, l) : x)) })} />
                    </div>
                  ))}
                </>
              )}
              <h3 className="panel-title">{t("dash.palette")}</h3>
              <div className="palette">
                {WIDGET_TYPES.map((ty) => (
                  <PaletteItem<Drag> key={ty} id={"palette-" + ty} data={{ kind: "type", type: ty }} className="btn btn-small palette-item"
                    testId={`palette-${ty}`} onClick={() => drop({ kind: "type", type: ty }, { zone: "grid" })}>
                    {t(`dash.type.${ty}`)}
                  </PaletteItem>
                ))}
              </div>
            </aside>
            <DropList zone="grid" className={"dash-editor-canvas cols-" + cols} testId="dash-canvas" label={t("dash.grid")}>
              {widgets.length === 0 && <li className="muted small dash-editor-empty">{t("dash.empty")}</li>}
              {widgets.map((w, i) => (
                <DragRow<Drag> key={w.id} id={"w-" + w.id} data={{ kind: "widget", id: w.id }} zone="grid" index={i}
                  className={"card dash-editor-tile" + (w.id === widgetId ? " active" : "")} testId={`tile-${w.id}`}
                  handleLabel={t("dash.move")} onClick={() => setWidgetId(w.id)}
                  style={{ gridColumn: `${w.layout.x + 1} / span ${Math.min(w.layout.w, cols)}`, gridRow: `${w.layout.y + 1} / span ${w.layout.h}` }}>
                  <div className="dash-editor-tile-body">
                    <strong>{titleIn(w, lang)}</strong> <span className="muted small">{t(`dash.type.${w.type}`)} · {w.layout.w}×{w.layout.h}</span>
                    <span className="dash-size">
                      <button type="button" className="btn btn-small" aria-label={t("dash.narrower")} data-testid={`tile-narrower-${w.id}`}
                        onClick={(e) => { e.stopPropagation(); setWidget(resize(w, -1, 0, cols)); }}>−W</button>
                      <button type="button" className="btn btn-small" aria-label={t("dash.wider")} data-testid={`tile-wider-${w.id}`}
                        onClick={(e) => { e.stopPropagation(); setWidget(resize(w, 1, 0, cols)); }}>+W</button>
                      <button type="button" className="btn btn-small" aria-label={t("dash.shorter")}
                        onClick={(e) => { e.stopPropagation(); setWidget(resize(w, 0, -1, cols)); }}>−H</button>
                      <button type="button" className="btn btn-small" aria-label={t("dash.taller")} data-testid={`tile-taller-${w.id}`}
                        onClick={(e) => { e.stopPropagation(); setWidget(resize(w, 0, 1, cols)); }}>+H</button>
                      <button type="button" className="btn btn-small" aria-label={t("dash.remove")} data-testid={`tile-remove-${w.id}`}
                        onClick={(e) => { e.stopPropagation(); setWidgets(widgets.filter((x) => x.id !== w.id)); }}><Icon.x /></button>
                    </span>
                  </div>
                </DragRow>
              ))}
            </DropList>
            <aside className="designer-col">
              {widget ? <WidgetConfig doc={doc} dash={dash} widget={widget} onChange={editWidget} stored={stored} />
                : <p className="muted small">{t("dash.pick")}</p>}
            </aside>
          </div>
        </DndArea>
      )}
    </div>
  );
}

function WidgetConfig({ doc, dash, widget, onChange, stored }: { doc: DDoc; dash: DashboardDef; widget: Widget; onChange: (w: Widget) => void; stored: boolean }) {
  const { t } = useI18n();
  const q = widget.query;
  const entity = doc.entities.find((e) => e.name === q.entity);
  const dims = entity ? dimensionFields(entity, doc.entities) : [];
  const setQ = (p: Partial<DashQuery>) => onChange({ ...widget, query: { ...q, ...p } });
  const dateFields = entity?.fields.filter((f) => f.type === "date" || f.type === "datetime") ?? [];
  const ranges = (dash.params ?? []).filter((p) => p.type === "daterange");

  return (
    <div className="widget-config" data-testid="widget-config">
      <label className="field">
        <span className="field-label">{t("dash.title")}</span>
        <input value={widget.title ?? ""} data-testid="w-title" onChange={(e) => onChange({ ...widget, title: e.target.value })} />
      </label>
      <LabelsInputs labels={widget.titles} prefix="w-title" caption="labels.titleIn" onChange={(l) => onChange(withLabels(widget, l, "titles"))} />
      <label className="field">
        <span className="field-label">{t("dash.widgetType")}</span>
        <select value={widget.type} data-testid="w-type" onChange={(e) => onChange({ ...widget, type: e.target.value as WidgetType })}>
          {WIDGET_TYPES.map((ty) => <option key={ty} value={ty}>{t(`dash.type.${ty}`)}</option>)}
        </select>
      </label>
      <label className="field">
        <span className="field-label">{t("dash.entity")}</span>
        <select value={q.entity} data-testid="w-entity"
          onChange={(e) => setQ({ entity: e.target.value, dimensions: [], filter: undefined, period: undefined, measures: [{ name: "n", expr: "count()" }] })}>
          {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
        </select>
      </label>

      <h3 className="panel-title">{t("dash.measures")}</h3>
      {q.measures.map((m, i) => {
        const simple = parseMeasure(m.expr);
        const setM = (p: Partial<typeof m>) => setQ({ measures: q.measures.map((x, j) => (j === i ? { ...x, ...p } : x)) });
        return (
          <div key={i} className="dash-item" data-testid={`w-measure-${i}`}>
            <div className="dash-row">
              <input className="mono small-input" value={m.name} aria-label={t("dash.name")} onChange={(e) => setM({ name: e.target.value })} />
              <select value={simple?.agg ?? ""} aria-label={t("dash.aggregate")} data-testid={`w-agg-${i}`}
                onChange={(e) => {
                  const agg = e.target.value;
                  const f = entity ? measureFields(entity, agg)[0]?.name ?? "" : "";
                  setM({ expr: measureExpr(agg, agg === "count" ? "" : f) });
                }}>
                {!simple && <option value="">{t("dash.expression")}</option>}
                {AGGS.map((a) => <option key={a} value={a}>{t(`dash.agg.${a}`)}</option>)}
              </select>
              {simple && (simple.agg !== "count" || simple.field) && (
                <select value={simple.field} aria-label={t("dash.field")} data-testid={`w-mfield-${i}`}
                  onChange={(e) => setM({ expr: measureExpr(simple.agg, e.target.value) })}>
                  {simple.agg === "count" && <option value="">{t("dash.records")}</option>}
                  {(entity ? measureFields(entity, simple.agg) : []).map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
                </select>
              )}
              <input className="mono" value={m.expr} aria-label={t("dash.expression")} data-testid={`w-expr-${i}`} onChange={(e) => setM({ expr: e.target.value })} />
              <button type="button" className="btn btn-icon btn-small" aria-label={t("dash.remove")}
                onClick={() => setQ({ measures: q.measures.filter((_, j) => j !== i) })}><Icon.x /></button>
            </div>
            <LabelsInputs labels={m.labels} prefix={`w-measure-${i}`} placeholder={m.label || m.name}
              onChange={(l) => setQ({ measures: q.measures.map((x, j) => (j === i ? withLabels(x, l) : x)) })} />
          </div>
        );
      })}
      <button type="button" className="btn btn-small" data-testid="w-add-measure"
        onClick={() => setQ({ measures: [...q.measures, { name: `m${q.measures.length + 1}`, expr: "count()" }] })}>
        <Icon.plus /> {t("dash.addMeasure")}
      </button>

      {widget.type !== "kpi" && (
        <>
          <h3 className="panel-title">{t("dash.dimensions")}</h3>
          {(q.dimensions ?? []).map((d, i) => {
            const opt = dims.find((o) => o.value === d.field);
            const setD = (p: Partial<typeof d>) => setQ({ dimensions: (q.dimensions ?? []).map((x, j) => (j === i ? { ...x, ...p } : x)) });
            return (
              <div key={i} className="dash-item" data-testid={`w-dim-${i}`}>
                <div className="dash-row">
                  <select value={d.field} aria-label={t("dash.field")} data-testid={`w-dfield-${i}`}
                    onChange={(e) => {
                      const o = dims.find((x) => x.value === e.target.value);
                      setD({ field: e.target.value, bucket: o?.date ? (d.bucket ?? "day") : undefined });
                    }}>
                    {dims.map((o) => <option key={o.value} value={o.value}>{o.label}</option>)}
                  </select>
                  {opt?.date && (
                    <select value={d.bucket ?? "day"} aria-label={t("dash.bucket")} data-testid={`w-bucket-${i}`} onChange={(e) => setD({ bucket: e.target.value })}>
                      {BUCKETS.filter((b) => opt.datetime || b !== "hour").map((b) => <option key={b} value={b}>{t(`dash.bucket.${b}`)}</option>)}
                    </select>
                  )}
                  <button type="button" className="btn btn-icon btn-small" aria-label={t("dash.remove")}
                    onClick={() => setQ({ dimensions: (q.dimensions ?? []).filter((_, j) => j !== i) })}><Icon.x /></button>
                </div>
                <LabelsInputs labels={d.labels} prefix={`w-dim-${i}`} placeholder={d.label || opt?.label || d.field}
                  onChange={(l) => setQ({ dimensions: (q.dimensions ?? []).map((x, j) => (j === i ? withLabels(x, l) : x)) })} />
              </div>
            );
          })}
          {(q.dimensions ?? []).length < (widget.type === "pivot" || widget.type === "line" || widget.type === "bar" ? 2 : 1) && dims.length > 0 && (
            <button type="button" className="btn btn-small" data-testid="w-add-dim"
              onClick={() => setQ({ dimensions: [...(q.dimensions ?? []), { field: dims[0].value, bucket: dims[0].date ? "day" : undefined }] })}>
              <Icon.plus /> {t("dash.addDimension")}
            </button>
          )}
        </>
      )}

      {/* The filter in the shared editor: fields by label, a ref's fields, operators. The
          dashboard's own @parameters are known to the publish check only, so a filter
          using one is not checked as it is typed. */}
      <ExpressionEditor mode="filter" scope="list" compact rows={1} fields={entity?.fields ?? []} app={doc as never} entity={q.entity}
        check={!/@(?!me\b)[a-z]/.test(q.filter ?? "")} value={q.filter ?? ""} label={t("dash.filter")} placeholder='stage = "won" && store = @store'
        testId="w-filter-expr" inputTestId="w-filter" onChange={(x) => setQ({ filter: x || undefined })} />
      {dateFields.length > 0 && (
        <div className="dash-row">
          <label className="field">
            <span className="field-label">{t("dash.period")}</span>
            <select value={q.period?.field ?? ""} data-testid="w-period"
              onChange={(e) => setQ({ period: e.target.value ? { field: e.target.value, ...(ranges[0] ? { param: ranges[0].name } : { preset: "thisMonth" }) } : undefined })}>
              <option value="">{t("dash.allTime")}</option>
              {dateFields.map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
            </select>
          </label>
        </div>
      )}
      {(widget.type === "bar" || widget.type === "table" || widget.type === "pie") && (
        <div className="dash-row">
          <label className="field">
            <span className="field-label">{t("dash.top")}</span>
            <input type="number" min={0} max={1000} value={q.limit ?? 0} data-testid="w-limit"
              onChange={(e) => setQ({ limit: Number(e.target.value) || undefined, sort: Number(e.target.value) ? "-" + q.measures[0]?.name : q.sort })} />
          </label>
          <label className="check">
            <input type="checkbox" checked={!!q.other} disabled={!q.limit} data-testid="w-other" onChange={(e) => setQ({ other: e.target.checked || undefined })} />
            {t("dash.withOther")}
          </label>
        </div>
      )}
      {widget.type === "bar" && (
        <div className="dash-row">
          <label className="check"><input type="checkbox" checked={!!widget.stacked} onChange={(e) => onChange({ ...widget, stacked: e.target.checked || undefined })} /> {t("dash.stacked")}</label>
          <label className="check"><input type="checkbox" checked={!!widget.horizontal} onChange={(e) => onChange({ ...widget, horizontal: e.target.checked || undefined })} /> {t("dash.horizontal")}</label>
        </div>
      )}
      {widget.type === "kpi" && (
        <div className="dash-row">
          <label className="check">
            <input type="checkbox" checked={widget.compare === "previousPeriod"} disabled={!q.period} data-testid="w-compare"
              onChange={(e) => onChange({ ...widget, compare: e.target.checked ? "previousPeriod" : undefined })} /> {t("dash.compare")}
          </label>
          <label className="field">
            <span className="field-label">{t("dash.target")}</span>
            <input type="number" value={widget.target ?? ""} data-testid="w-target"
              onChange={(e) => onChange({ ...widget, target: e.target.value === "" ? undefined : Number(e.target.value) })} />
          </label>
        </div>
      )}
      <h3 className="panel-title">{t("dash.preview")}</h3>
      {stored ? <Preview app={doc.name} dash={dash} widget={widget} /> : <p className="muted small">{t("dash.previewAfterPublish")}</p>}
    </div>
  );
}

// Preview runs the widget's query ad hoc (POST /api/query/{app}), a moment
// after the last change.
function Preview({ app, dash, widget }: { app: string; dash: DashboardDef; widget: Widget }) {
  const { lang } = useI18n();
  const [r, setR] = useState<DashResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const key = JSON.stringify([widget, dash.params]);
  useEffect(() => {
    let live = true;
    const timer = setTimeout(() => {
      api.adhoc(app, previewQuery(widget, dash), widget.type).then((x) => {
        if (live) { setR(x); setError(null); }
      }, (e) => live && setError(e));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app, key]);
  if (error) return <ErrorBox error={error} testId="preview-error" />;
  if (!r) return null;
  return <div className="dash-preview card" data-testid="preview"><WidgetBody app={app} widget={widget} r={r} lang={lang} /></div>;
}
