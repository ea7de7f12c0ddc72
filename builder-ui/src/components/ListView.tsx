import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { useSearchParams } from "react-router";
import { createColumnHelper, getCoreRowModel, useReactTable, type SortingState } from "@tanstack/react-table";
import { api, ApiError, type AppDocument, type DataRecord, type Entity, type Field } from "../api";
import { listViewOf } from "../designer/layouts";
import {
  columnLabel, displaySystem, displayValue, entityLabel, fieldLabel, fromInput, isComputed, isSystem, toInput, type InputValue,
} from "../fields";
import { filterableFields, type FilterModel } from "../filter";
import { useI18n } from "../i18n";
import { flowStates, optionLabel } from "../labels";
import { rememberRecord, useNames, type NameKey } from "../names";
import { href, navigate, rememberListQuery } from "../router";
import { SavedViews, shareRoles } from "./SavedViews";
import { ErrorBox, errorText, Icon, Loading } from "./common";
import { refLabel } from "./RefPicker";
import { emptyFilter, FilterBuilder } from "./FilterBuilder";
import { FilterText } from "./FilterText";
import { BulkActions } from "./BulkActions";
import { TotalsRow } from "./TotalsRow";
import { pageTotals, totalsSpec, type Totals } from "../bulk";
import { Kanban } from "./Kanban";
import { Calendar, monthOf, monthText } from "./Calendar";
import { CountdownBadge, TICK_MS, useNow } from "./Assignment";
import { countdownRule } from "../designer/assignments";
import { ExportButtons, ImportButton } from "./DataButtons";

export const PAGE_SIZE = 25;
const MAX_COLUMNS = 6;
const UNSORTABLE = new Set(["json", "multiselect"]);
const COUNTDOWN = "@countdown";

interface Column {
  name: string;
  label: string;
  field?: Field;
}

// listColumns: the list view's columns (entity fields and system columns;
// unknown names skipped), or without one the first six plain fields and
// created_at; fields headed by their label in lang when given.
export function listColumns(entity: Entity, t: (k: "sys.created_at") => string, names?: string[], lang?: string): Column[] {
  if (names) {
    const out: Column[] = [];
    for (const n of names) {
      const f = entity.fields.find((x) => x.name === n);
      if (f) out.push({ name: n, label: fieldLabel(f, lang), field: f });
      else if (isSystem(n)) out.push({ name: n, label: columnLabel(n, [], t as Parameters<typeof columnLabel>[2]) });
    }
    if (out.length) return out;
  }
  const cols: Column[] = entity.fields
    .filter((f) => f.type !== "json" && f.type !== "longtext")
    .slice(0, MAX_COLUMNS)
    .map((f) => ({ name: f.name, label: fieldLabel(f, lang), field: f }));
  cols.push({ name: "created_at", label: t("sys.created_at") });
  return cols;
}

// nextSort: a click on a column sorts ascending, a second click descending.
export function nextSort(current: string, name: string): string {
  return current === name ? "-" + name : name;
}

export type ViewKind = "list" | "kanban" | "calendar";

// The field types a grid cell edits in place (the rest open the record).
const INLINE = new Set(["text", "email", "phone", "url", "integer", "decimal", "select", "date", "boolean"]);

export function kanbanFields(entity: Entity): Field[] {
  return entity.fields.filter((f) => f.type === "select" && (f.options?.length ?? 0) > 0);
}
export function calendarFields(entity: Entity): Field[] {
  return entity.fields.filter((f) => f.type === "date" || f.type === "datetime");
}

// The list screen of an entity: a view switcher (list, kanban by a select
// field, calendar by a date field) over one filter; the view, its field, the
// sort, the filter and the calendar's month are in the URL
// (#/a/{app}/{entity}?view=kanban&by=stage&filter=…&sort=…&month=2026-11).
export function ListView({ app, entity }: { app: AppDocument; entity: Entity }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  // The list view of the app document gives the starting columns, sort and filter.
  const layout = listViewOf(app, entity.name);
  const filterFields = useMemo(() => filterableFields(entity.fields), [entity]);
  const [params, setParams] = useSearchParams();
  const queryText = params.toString();
  useEffect(() => rememberListQuery(app.name, entity.name, queryText), [app.name, entity.name, queryText]);
  const set = (patch: Record<string, string | null>, replace = true) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v === null) next.delete(k);
      else next.set(k, v);
    }
    setParams(next, { replace });
  };

  const boards = kanbanFields(entity);
  const dates = calendarFields(entity);
  const want = params.get("view");
  const view: ViewKind = want === "kanban" && boards.length ? "kanban" : want === "calendar" && dates.length ? "calendar" : "list";
  const by = view === "kanban" ? boards.find((f) => f.name === params.get("by")) ?? boards[0]
    : view === "calendar" ? dates.find((f) => f.name === params.get("by")) ?? dates[0] : undefined;
  const sort = params.get("sort") ?? layout?.sort ?? "";
  const filter = params.get("filter") ?? layout?.filter ?? "";
  const [filterModel, setFilterModel] = useState<FilterModel>(emptyFilter);
  const [showFilter, setShowFilter] = useState(false);
  // Bumped after an import wrote records: the grid loads again.
  const [stamp, setStamp] = useState(0);

  const applyFilter = (text: string, model: FilterModel) => {
    setFilterModel(model);
    set({ filter: text });
  };
  const pick = (v: ViewKind) => set({ view: v === "list" ? null : v, by: null }, false);

  return (
    <section className="page">
      <div className="page-head">
        <h1>{entityLabel(entity, lang)}</h1>
        <div className="page-actions">
          <div className="view-switch" role="tablist" aria-label={t("view.switch")}>
            <button type="button" role="tab" aria-selected={view === "list"} className={"btn btn-small" + (view === "list" ? " btn-active" : "")}
              data-testid="view-list" onClick={() => pick("list")}>{t("view.list")}</button>
            {boards.length > 0 && (
              <button type="button" role="tab" aria-selected={view === "kanban"} className={"btn btn-small" + (view === "kanban" ? " btn-active" : "")}
                data-testid="view-kanban" onClick={() => pick("kanban")}>{t("view.kanban")}</button>
            )}
            {dates.length > 0 && (
              <button type="button" role="tab" aria-selected={view === "calendar"} className={"btn btn-small" + (view === "calendar" ? " btn-active" : "")}
                data-testid="view-calendar" onClick={() => pick("calendar")}>{t("view.calendar")}</button>
            )}
          </div>
          <button type="button" className={"btn" + (filter ? " btn-active" : "")} aria-expanded={showFilter}
            data-testid="filter-toggle" onClick={() => setShowFilter((s) => !s)}>
            <Icon.filter /> {t("filter.title")}
          </button>
          <ExportButtons app={app.name} entity={entity.name} filter={filter} sort={sort}
            fields={listColumns(entity, t, layout?.columns).map((c) => c.name)} />
          <ImportButton app={app} entity={entity} onDone={() => setStamp((n) => n + 1)} />
          {(app.matching ?? []).some((m) => m.entity === entity.name) && (
            <a className="btn" href={href({ name: "duplicates", app: app.name, entity: entity.name })} data-testid="duplicates-link">
              {t("dup.title")}
            </a>
          )}
          <a className="btn btn-primary" href={href({ name: "new", app: app.name, entity: entity.name })} data-testid="new-record">
            <Icon.plus /> {t("list.new")}
          </a>
        </div>
      </div>
      <SavedViews app={app.name} entity={entity.name} current={{ view, by: by?.name, filter, sort }} onPick={(p) => set(p, false)}
        roles={shareRoles(app, t)} />
      {by && (view === "kanban" ? boards : dates).length > 1 && (
        <label className="inline-field view-by">
          <span className="small muted">{view === "kanban" ? t("view.groupBy") : t("view.dateField")}</span>
          <select value={by.name} data-testid="view-by" onChange={(e) => set({ by: e.target.value })}>
            {(view === "kanban" ? boards : dates).map((f) => <option key={f.name} value={f.name}>{fieldLabel(f, lang)}</option>)}
          </select>
        </label>
      )}
      {showFilter && <FilterBuilder fields={filterFields} app={app} value={filterModel} onApply={applyFilter} />}
      {showFilter && <FilterText app={app} entity={entity} filter={filter} onApply={(text) => applyFilter(text, emptyFilter)} />}
      {!showFilter && filter && <code className="filter-summary" data-testid="filter-active">{filter}</code>}
      {view === "kanban" && by ? (
        <Kanban key={by.name} app={app} entity={entity} field={by} filter={filter} sort={sort} />
      ) : view === "calendar" && by ? (
        <Calendar key={by.name} app={app} entity={entity} field={by} filter={filter} month={monthOf(params.get("month"))}
          onMonth={(m) => set({ month: monthText(m) })} />
      ) : (
        // A new sort or filter starts again from the first page.
        <Grid key={sort + "\u0000" + filter + "\u0000" + stamp} app={app} entity={entity} sort={sort} filter={filter} columnNames={layout?.columns}
          onSort={(name) => set({ sort: nextSort(sort, name) })} />
      )}
    </section>
  );
}

interface Editing {
  id: string;
  name: string;
  value: InputValue;
  error?: string;
  saving?: boolean;
}

// The grid: a @tanstack/react-table table of one page of records, sorted by
// the server (the table only shows the state), rows keyed by record id.
// A click on a plain field's cell edits it in place (Enter or leaving the
// cell saves with the record's version, Escape cancels; a refusal shows on
// the cell); the first column links to the record, other cells open it.
function Grid({ app, entity, sort, filter, columnNames, onSort }: {
  app: AppDocument; entity: Entity; sort: string; filter: string; columnNames?: string[]; onSort: (name: string) => void;
}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  // An entity with a first-contact countdown (an assignment rule's) shows it as the last column.
  const cd = countdownRule(app.assignments, entity.name);
  const now = useNow(cd ? TICK_MS : 0);
  const columns = useMemo(() => {
    const cs = listColumns(entity, t, columnNames, lang);
    return cd ? [...cs, { name: COUNTDOWN, label: t("asg.countdownCol") }] : cs;
  }, [entity, t, columnNames, cd, lang]);
  // cursors[i] is the cursor that fetches page i; page 0 has none.
  const [cursors, setCursors] = useState<string[]>([""]);
  const [items, setItems] = useState<DataRecord[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const [editing, setEditing] = useState<Editing | null>(null);
  // Rows picked for a bulk change (ids), and a counter that reloads the
  // totals after a change.
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [reload, setReload] = useState(0);
  const fieldsShown = useMemo(() => columns.flatMap((c) => (c.field ? [c.field] : [])), [columns]);
  // The totals row and the bulk bar's "all N" come with every page.
  const spec = totalsSpec(fieldsShown);
  const [totals, setTotals] = useState<Totals | null>(null);
  // Ref columns show the referenced record's label (?expand=…). If the
  // server refuses the expansion (a ref hidden from this user), list without.
  const [noExpand, setNoExpand] = useState(false);
  const expand = noExpand ? "" : columns.filter((c) => c.field?.type === "ref").map((c) => c.name).join(",");

  const page = cursors.length - 1;
  const cursor = cursors[page];

  useEffect(() => {
    let live = true;
    setLoading(true);
    setError(null);
    api.list(app.name, entity.name, { sort, filter, limit: PAGE_SIZE, cursor: cursor || undefined, expand: expand || undefined, totals: spec }).then(
      (r) => {
        if (!live) return;
        setTotals(pageTotals(r));
        const got = r.items ?? [];
        for (const x of got) {
          for (const c of columns) {
            const e = x.expand?.[c.name];
            if (e && c.field?.entity) rememberRecord(app, c.field.entity, e);
          }
        }
        setItems(got);
        setNext(r.nextCursor || undefined);
        setLoading(false);
      },
      (e) => {
        if (!live) return;
        if (expand && e instanceof ApiError && e.code === "invalid_query" && /expand/.test(e.message)) {
          setNoExpand(true);
          return;
        }
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      live = false;
    };
    // columns follow entity; app is stable per screen
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app.name, entity.name, sort, filter, cursor, expand, attempt, spec, reload]);

  // Users (user fields, owner, created_by) and refs not expanded show by name.
  const wanted: NameKey[] = [];
  for (const r of items ?? []) {
    for (const c of columns) {
      const v = r[c.name];
      if (typeof v !== "string" || !v) continue;
      if (c.field?.type === "user" || (!c.field && (c.name === "owner" || c.name === "created_by"))) wanted.push({ kind: "user", id: v });
      else if (c.field?.type === "ref" && !r.expand?.[c.name]) wanted.push({ kind: "ref", entity: c.field.entity ?? "", id: v });
    }
  }
  const names = useNames(app, wanted);

  const sorting = useMemo<SortingState>(() => {
    const primary = sort.split(",")[0];
    if (!primary) return [];
    return [{ id: primary.replace(/^-/, ""), desc: primary.startsWith("-") }];
  }, [sort]);
  const colDefs = useMemo(() => {
    const h = createColumnHelper<DataRecord>();
    return columns.map((c) => h.accessor((r) => r[c.name], {
      id: c.name,
      header: c.label,
      enableSorting: c.name !== COUNTDOWN && (!c.field || !UNSORTABLE.has(c.field.type)),
      meta: c,
    }));
  }, [columns]);
  const table = useReactTable({
    data: items ?? [],
    columns: colDefs,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => r.id,
    manualSorting: true,
    state: { sorting },
  });

  const nextPage = () => next && setCursors((c) => [...c, next]);
  const prevPage = () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c));
  const open = (id: string) => navigate({ name: "record", app: app.name, entity: entity.name, id });
  const editable = (c: Column) => !!c.field && INLINE.has(c.field.type) && !isComputed(c.field);

  const show = (c: Column, r: DataRecord) => {
    const v = r[c.name];
    if (typeof v === "string" && v) {
      if (c.field?.type === "user" || (!c.field && (c.name === "owner" || c.name === "created_by"))) return names({ kind: "user", id: v });
      if (c.field?.type === "ref" && !r.expand?.[c.name]) return names({ kind: "ref", entity: c.field.entity ?? "", id: v });
    }
    if (c.name === COUNTDOWN && cd) return <CountdownBadge rule={cd} record={r} now={now} testId="list-countdown" />;
    return cellText(app, c, r, i18n);
  };

  const saving = useRef(false);
  async function save(e: Editing) {
    if (saving.current) return;
    const c = columns.find((x) => x.name === e.name);
    const r = items?.find((x) => x.id === e.id);
    if (!c?.field || !r) return setEditing(null);
    const conv = fromInput(c.field, e.value);
    if ("error" in conv) return setEditing({ ...e, error: t(conv.error) });
    const same = JSON.stringify(conv.value) === JSON.stringify(fromInputOf(c.field, r[c.name]));
    if (same) return setEditing(null);
    setEditing({ ...e, saving: true, error: undefined });
    saving.current = true;
    try {
      const saved = await api.update(app.name, entity.name, r.id, { [c.name]: conv.value, version: r.version });
      setItems((xs) => xs?.map((x) => (x.id === r.id ? { ...x, ...saved, expand: x.expand } : x)) ?? xs);
      setEditing(null);
      setReload((n) => n + 1);
    } catch (err) {
      setEditing({ ...e, saving: false, error: cellError(err, c, t) });
    } finally {
      saving.current = false;
    }
  }

  return (
    <>
      {error ? <ErrorBox error={error} testId="list-error" onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!items && !error && <Loading />}
      {items && (
        <BulkActions app={app} entity={entity} filter={filter} selected={[...selected]} filteredCount={totals?.count}
          onClear={() => setSelected(new Set())} onDone={() => { setAttempt((a) => a + 1); setReload((n) => n + 1); }} />
      )}
      {items && (
        <div className={"table-wrap" + (loading ? " is-loading" : "")}>
          <table className="list">
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h, hi) => {
                    const c = h.column.columnDef.meta as Column;
                    const dir = h.column.getIsSorted();
                    return (
                      <th key={h.id} aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : undefined}>
                        {hi === 0 && (
                          <input type="checkbox" className="select-box" data-testid="select-page" aria-label={t("bulk.selectPage")}
                            checked={items.length > 0 && items.every((x) => selected.has(x.id))}
                            onChange={(e) => setSelected(e.target.checked ? new Set([...selected, ...items.map((x) => x.id)]) : new Set())} />
                        )}
                        {h.column.getCanSort() ? (
                          <button type="button" className="th-sort" data-testid={`sort-${c.name}`}
                            title={t("list.sortBy", { field: c.label })} onClick={() => onSort(c.name)}>
                            {c.label}
                            {dir === "asc" && <span aria-label={t("list.sortedAsc")}><Icon.up /></span>}
                            {dir === "desc" && <span aria-label={t("list.sortedDesc")}><Icon.down /></span>}
                          </button>
                        ) : c.label}
                      </th>
                    );
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => {
                const r = row.original;
                return (
                  <tr key={row.id} data-testid="list-row" data-id={r.id} onClick={() => open(r.id)}>
                    {row.getVisibleCells().map((x, i) => {
                      const c = x.column.columnDef.meta as Column;
                      const ed = editing && editing.id === r.id && editing.name === c.name ? editing : null;
                      if (ed && c.field) {
                        return (
                          <td key={x.id} data-label={c.label} className="cell-editing" onClick={(e) => e.stopPropagation()}>
                            <CellInput field={c.field} states={flowStates(app, entity.name, c.name)} value={ed.value} disabled={ed.saving}
                              onChange={(v) => setEditing({ ...ed, value: v, error: undefined })}
                              onCommit={(v) => void save({ ...ed, value: v })} onCancel={() => setEditing(null)} />
                            {ed.error && <span className="field-error" role="alert" data-testid={`cell-error-${c.name}`}>{ed.error}</span>}
                          </td>
                        );
                      }
                      const canEdit = i > 0 && editable(c);
                      const startEdit = () => setEditing({ id: r.id, name: c.name, value: toInput(c.field!, r[c.name]) });
                      return (
                        <td key={x.id} data-label={c.label} data-testid={`cell-${c.name}`} className={canEdit ? "cell-editable" : undefined}
                          title={canEdit ? t("list.editCell") : undefined} tabIndex={canEdit ? 0 : undefined}
                          onClick={canEdit ? (e) => { e.stopPropagation(); startEdit(); } : undefined}
                          onKeyDown={canEdit ? (e) => { if (e.key === "Enter" || e.key === "F2") { e.preventDefault(); startEdit(); } } : undefined}>
                          {i === 0 && (
                            <input type="checkbox" className="select-box" data-testid="select-row" aria-label={t("bulk.selectRow")}
                              checked={selected.has(r.id)} onClick={(e) => e.stopPropagation()}
                              onChange={(e) => {
                                const next = new Set(selected);
                                if (e.target.checked) next.add(r.id);
                                else next.delete(r.id);
                                setSelected(next);
                              }} />
                          )}
                          {i === 0 ? (
                            <a href={href({ name: "record", app: app.name, entity: entity.name, id: r.id })}
                              onClick={(e) => e.stopPropagation()} title={t("list.open")}>
                              {show(c, r)}
                            </a>
                          ) : show(c, r)}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
            {items.length > 0 && <TotalsRow columns={columns} totals={totals} />}
          </table>
          {items.length === 0 && (
            <div className="empty" data-testid="list-empty">
              <p className="muted">{filter ? t("list.empty") : t("list.emptyNone", { entity: entityLabel(entity, lang) })}</p>
              {filter ? <p className="muted small">{t("list.emptyFilterHint")}</p> : (
                <a className="btn btn-primary" href={href({ name: "new", app: app.name, entity: entity.name })} data-testid="empty-new-record">
                  <Icon.plus /> {t("list.emptyAdd", { entity: entityLabel(entity, lang) })}
                </a>
              )}
            </div>
          )}
        </div>
      )}
      <div className="pager">
        <button type="button" className="btn" disabled={page === 0 || loading} data-testid="prev-page" onClick={prevPage}>
          <Icon.left /> {t("list.prev")}
        </button>
        <span className="muted" data-testid="page-number">{t("list.page", { n: page + 1 })}</span>
        <button type="button" className="btn" disabled={!next || loading} data-testid="next-page" onClick={nextPage}>
          {t("list.next")} <Icon.right />
        </button>
      </div>
    </>
  );
}

// fromInputOf: a stored value as it would be sent (to skip saves that change nothing).
function fromInputOf(f: Field, v: unknown): unknown {
  const r = fromInput(f, toInput(f, v));
  return "value" in r ? r.value : v;
}

// cellError: the server's reason for this field, else its message.
function cellError(err: unknown, c: Column, t: ReturnType<typeof useI18n>["t"]): string {
  if (err instanceof ApiError) {
    if (err.status === 409) return t("list.cellConflict");
    const d = err.details.find((x) => x.path === "/" + c.name) ?? err.details[0];
    if (d) return d.message;
  }
  return errorText(err, t);
}

function CellInput({ field, states, value, disabled, onChange, onCommit, onCancel }: {
  field: Field; states?: ReturnType<typeof flowStates>; value: InputValue; disabled?: boolean; onChange: (v: InputValue) => void; onCommit: (v: InputValue) => void; onCancel: () => void;
}) {
  const { lang } = useI18n();
  const ref = useRef<HTMLInputElement & HTMLSelectElement>(null);
  useEffect(() => ref.current?.focus(), []);
  const keys = (e: KeyboardEvent) => {
    if (e.key === "Enter") {
      e.preventDefault();
      onCommit(value);
    } else if (e.key === "Escape") onCancel();
  };
  const common = { ref, disabled, "data-testid": "cell-input", onKeyDown: keys, "aria-label": fieldLabel(field, lang) };
  if (field.type === "boolean") {
    return <input type="checkbox" {...common} checked={value === true} onChange={(e) => { onChange(e.target.checked); onCommit(e.target.checked); }} />;
  }
  if (field.type === "select") {
    return (
      <select {...common} value={String(value)} onChange={(e) => { onChange(e.target.value); onCommit(e.target.value); }} onBlur={() => onCommit(value)}>
        <option value="">—</option>
        {(field.options ?? []).map((o) => <option key={o} value={o}>{optionLabel(field, o, lang, states)}</option>)}
      </select>
    );
  }
  const type = field.type === "date" ? "date" : field.type === "integer" || field.type === "decimal" ? "text" : field.type === "email" ? "email" : "text";
  return <input {...common} type={type} inputMode={field.type === "integer" || field.type === "decimal" ? "decimal" : undefined}
    value={String(value)} onChange={(e) => onChange(e.target.value)} onBlur={() => onCommit(value)} />;
}

export function cellText(app: AppDocument, c: Column, r: DataRecord, i18n: ReturnType<typeof useI18n>): string {
  if (c.field?.type === "ref") {
    const x = r.expand?.[c.name];
    if (x) return refLabel(app.entities.find((e) => e.name === c.field!.entity), x);
  }
  if (!c.field) return displaySystem(c.name, r[c.name], i18n);
  // A flow's state field reads its states' labels when its options carry none.
  const states = c.field.type === "select" ? flowStates(app, app.entities.find((e) => e.fields.includes(c.field!))?.name, c.name) : undefined;
  return displayValue(c.field, r[c.name], i18n, states);
}
