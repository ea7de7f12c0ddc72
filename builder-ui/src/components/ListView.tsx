import { useEffect, useMemo, useState } from "react";
import { createColumnHelper, getCoreRowModel, useReactTable, type SortingState } from "@tanstack/react-table";
import { api, ApiError, type AppDocument, type DataRecord, type Entity, type Field } from "../api";
import { listViewOf } from "../designer/layouts";
import { columnLabel, displaySystem, displayValue, entityLabel, fieldLabel, isSystem } from "../fields";
import { filterableFields, type FilterModel } from "../filter";
import { useI18n } from "../i18n";
import { href, navigate } from "../router";
import { ErrorBox, Icon, Loading } from "./common";
import { refLabel } from "./RefPicker";
import { emptyFilter, FilterBuilder } from "./FilterBuilder";

export const PAGE_SIZE = 25;
const MAX_COLUMNS = 6;
const UNSORTABLE = new Set(["json", "multiselect"]);

interface Column {
  name: string;
  label: string;
  field?: Field;
}

// listColumns: the list view's columns (entity fields and system columns;
// unknown names skipped), or without one the first six plain fields and created_at.
export function listColumns(entity: Entity, t: (k: "sys.created_at") => string, names?: string[]): Column[] {
  if (names) {
    const out: Column[] = [];
    for (const n of names) {
      const f = entity.fields.find((x) => x.name === n);
      if (f) out.push({ name: n, label: fieldLabel(f), field: f });
      else if (isSystem(n)) out.push({ name: n, label: columnLabel(n, [], t as Parameters<typeof columnLabel>[2]) });
    }
    if (out.length) return out;
  }
  const cols: Column[] = entity.fields
    .filter((f) => f.type !== "json" && f.type !== "longtext")
    .slice(0, MAX_COLUMNS)
    .map((f) => ({ name: f.name, label: fieldLabel(f), field: f }));
  cols.push({ name: "created_at", label: t("sys.created_at") });
  return cols;
}

// nextSort: a click on a column sorts ascending, a second click descending.
export function nextSort(current: string, name: string): string {
  return current === name ? "-" + name : name;
}

export function ListView({ app, entity }: { app: AppDocument; entity: Entity }) {
  const i18n = useI18n();
  const { t } = i18n;
  // The list view of the app document gives the starting columns, sort and filter.
  const view = listViewOf(app, entity.name);
  const columns = useMemo(() => listColumns(entity, t, view?.columns), [entity, t, view?.columns]);
  const filterFields = useMemo(() => filterableFields(entity.fields), [entity]);

  const [sort, setSort] = useState(view?.sort ?? "");
  const [filter, setFilter] = useState(view?.filter ?? "");
  const [filterModel, setFilterModel] = useState<FilterModel>(emptyFilter);
  const [showFilter, setShowFilter] = useState(false);
  // cursors[i] is the cursor that fetches page i; page 0 has none.
  const [cursors, setCursors] = useState<string[]>([""]);
  const [items, setItems] = useState<DataRecord[] | null>(null);
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);
  const [attempt, setAttempt] = useState(0);
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
    api.list(app.name, entity.name, { sort, filter, limit: PAGE_SIZE, cursor: cursor || undefined, expand: expand || undefined }).then(
      (r) => {
        if (!live) return;
        setItems(r.items ?? []);
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
  }, [app.name, entity.name, sort, filter, cursor, expand, attempt]);

  const sortBy = (name: string) => {
    setSort((s) => nextSort(s, name));
    setCursors([""]);
  };
  const applyFilter = (text: string, model: FilterModel) => {
    setFilterModel(model);
    setFilter(text);
    setCursors([""]);
  };
  const nextPage = () => next && setCursors((c) => [...c, next]);
  const prevPage = () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c));

  // The grid is a @tanstack/react-table table: sorting is the server's (the
  // table only shows the state), rows are keyed by record id.
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
      enableSorting: !c.field || !UNSORTABLE.has(c.field.type),
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

  const open = (id: string) => navigate({ name: "record", app: app.name, entity: entity.name, id });

  return (
    <section className="page">
      <div className="page-head">
        <h1>{entityLabel(entity)}</h1>
        <div className="page-actions">
          <button type="button" className={"btn" + (filter ? " btn-active" : "")} aria-expanded={showFilter}
            data-testid="filter-toggle" onClick={() => setShowFilter((s) => !s)}>
            <Icon.filter /> {t("filter.title")}
          </button>
          <a className="btn btn-primary" href={href({ name: "new", app: app.name, entity: entity.name })} data-testid="new-record">
            <Icon.plus /> {t("list.new")}
          </a>
        </div>
      </div>
      {showFilter && <FilterBuilder fields={filterFields} value={filterModel} onApply={applyFilter} />}
      {!showFilter && filter && <code className="filter-summary" data-testid="filter-active">{filter}</code>}
      {error ? <ErrorBox error={error} testId="list-error" onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!items && !error && <Loading />}
      {items && (
        <div className={"table-wrap" + (loading ? " is-loading" : "")}>
          <table className="list">
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h) => {
                    const c = h.column.columnDef.meta as Column;
                    const dir = h.column.getIsSorted();
                    return (
                      <th key={h.id} aria-sort={dir === "asc" ? "ascending" : dir === "desc" ? "descending" : undefined}>
                        {h.column.getCanSort() ? (
                          <button type="button" className="th-sort" data-testid={`sort-${c.name}`}
                            title={t("list.sortBy", { field: c.label })} onClick={() => sortBy(c.name)}>
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
                      return (
                        <td key={x.id} data-label={c.label}>
                          {i === 0 ? (
                            <a href={href({ name: "record", app: app.name, entity: entity.name, id: r.id })}
                              onClick={(e) => e.stopPropagation()} title={t("list.open")}>
                              {cell(app, c, r, i18n)}
                            </a>
                          ) : cell(app, c, r, i18n)}
                        </td>
                      );
                    })}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {items.length === 0 && <p className="muted empty">{t("list.empty")}</p>}
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
    </section>
  );
}

function cell(app: AppDocument, c: Column, r: DataRecord, i18n: ReturnType<typeof useI18n>): string {
  if (c.field?.type === "ref") {
    const x = r.expand?.[c.name];
    if (x) return refLabel(app.entities.find((e) => e.name === c.field!.entity), x);
  }
  return c.field ? displayValue(c.field, r[c.name], i18n) : displaySystem(c.name, r[c.name], i18n);
}
