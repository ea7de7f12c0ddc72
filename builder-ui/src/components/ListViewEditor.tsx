// The designer's List view tab: per entity, the list's columns (chosen and
// ordered), its default sort and its default filter (built with the
// FilterBuilder, which writes the filter text), with a preview of the headers.
import { useState } from "react";
import { DndArea, DragRow, DropList, type DropAt } from "../dnd";
import type { AppDocument, Field } from "../api";
import { ExpressionEditor } from "./ExpressionEditor";
import {
  defaultListColumns, LIST_SYSTEM_COLUMNS, listViewOf, moveColumn, parseSort, patchList, setListView, toggleColumn,
  withPrimarySort,
} from "../designer/layouts";
import type { DDoc, DesignErrors } from "../designer/model";
import { columnLabel } from "../fields";
import { filterableFields } from "../filter";
import { useI18n } from "../i18n";
import { Icon } from "./common";
import { FilterBuilder } from "./FilterBuilder";
import { IndexPanel } from "./IndexAdvice";
import { EntityPicker, formsErrors, ProblemList } from "./FormsEditor";

const UNSORTABLE = new Set(["json", "multiselect"]);

export function ListViewEditor({ doc, onChange, errors, stored = false, dirty = false, onApplied = () => {} }: {
  doc: DDoc; onChange: (d: DDoc) => void; errors: DesignErrors;
  // stored: the app is published (its tables exist); dirty: unpublished
  // edits, which applying advice (a new version) would overtake.
  stored?: boolean; dirty?: boolean; onApplied?: () => void;
}) {
  const { t } = useI18n();
  const [ei, setEi] = useState(0);
  const entity = doc.entities[Math.min(ei, doc.entities.length - 1)];
  const problems = formsErrors(doc, errors, "list");

  if (!entity) return <div className="layout-editor"><ProblemList items={problems} testId="listview-error" /><p className="muted">{t("design.addEntityFirst")}</p></div>;

  const view = listViewOf(doc, entity.name);
  const cols = view?.columns ?? defaultListColumns(entity);
  const fields = entity.fields as Field[];
  const candidates = [...fields.map((f) => f.name), ...LIST_SYSTEM_COLUMNS.filter((c) => !fields.some((f) => f.name === c))];
  // Chosen columns first, in their order, then the rest.
  const ordered = [...cols.filter((c) => candidates.includes(c)), ...candidates.filter((c) => !cols.includes(c))];
  const label = (n: string) => columnLabel(n, fields, t);
  const setCols = (next: string[]) => onChange(patchList(doc, entity.name, { columns: next }));

  const sortKeys = parseSort(view?.sort);
  const primary = sortKeys[0];
  const sortable = [
    ...fields.filter((f) => !UNSORTABLE.has(f.type)).map((f) => f.name),
    ...LIST_SYSTEM_COLUMNS.filter((c) => !fields.some((f) => f.name === c)),
  ];

  // A chosen column is dragged by its handle to before or after another
  // (chosen columns come first, so a row's index is its place in cols).
  function drop(name: string, target: DropAt) {
    const from = cols.indexOf(name);
    if (from < 0) return;
    const at = Math.min(target.at ?? cols.length, cols.length);
    if (at === from || at === from + 1) return;
    const next = cols.filter((c) => c !== name);
    next.splice(at > from ? at - 1 : at, 0, name);
    setCols(next);
  }

  return (
    <div className="layout-editor">
      <ProblemList items={problems} testId="listview-error" />
      <div className="layout-toolbar">
        <EntityPicker doc={doc} value={ei} onChange={setEi} testId="list-entity" />
        {view && (
          <button type="button" className="btn btn-small btn-ghost" data-testid="list-reset" onClick={() => onChange(setListView(doc, entity.name, null))}>
            {t("listView.reset")}
          </button>
        )}
      </div>
      {!view && <p className="muted small" data-testid="list-auto">{t("listView.none")}</p>}
      <div className="layout-grid">
        <div className="layout-edit">
          <h2 className="panel-title">{t("listView.columns")}</h2>
          <DndArea<string> onDrop={drop} overlay={(n) => <span className="palette-item">{label(n)}</span>}>
          <DropList zone="cols" className="list-columns" testId="list-columns">
            {ordered.map((n) => {
              const on = cols.includes(n);
              const i = cols.indexOf(n);
              return (
                <DragRow key={n} id={"col:" + n} data={n} zone="cols" index={on ? i : cols.length} disabled={!on}
                  className={"list-column" + (on ? " on" : "")} testId={`list-column-${n}`} handleLabel={t("layout.dragField", { field: label(n) })}>
                  <label className="check">
                    <input type="checkbox" checked={on} data-testid={`list-col-${n}`} onChange={(e) => setCols(toggleColumn(cols, n, e.target.checked))} />
                    {label(n)} <span className="muted small mono">{n}</span>
                    {!fields.some((f) => f.name === n) && <span className="tag">{t("listView.system")}</span>}
                  </label>
                  {on && (
                    <span className="row-actions">
                      <button type="button" className="btn btn-icon btn-small" data-testid={`list-col-up-${n}`} disabled={i === 0}
                        aria-label={t("listView.columnUp", { field: n })} onClick={() => setCols(moveColumn(cols, n, -1))}><Icon.up /></button>
                      <button type="button" className="btn btn-icon btn-small" data-testid={`list-col-down-${n}`} disabled={i === cols.length - 1}
                        aria-label={t("listView.columnDown", { field: n })} onClick={() => setCols(moveColumn(cols, n, 1))}><Icon.down /></button>
                    </span>
                  )}
                </DragRow>
              );
            })}
          </DropList>
          </DndArea>

          <h2 className="panel-title">{t("listView.sort")}</h2>
          <div className="config-pair">
            <select aria-label={t("listView.sort")} value={primary?.field ?? ""} data-testid="list-sort-field"
              onChange={(e) => onChange(patchList(doc, entity.name, { sort: withPrimarySort(view?.sort, e.target.value, primary?.desc ?? false) }))}>
              <option value="">{t("listView.sortNone")}</option>
              {sortable.map((n) => <option key={n} value={n}>{label(n)}</option>)}
              {primary && !sortable.includes(primary.field) && <option value={primary.field}>{primary.field}</option>}
            </select>
            <select aria-label={t("listView.sort")} value={primary?.desc ? "desc" : "asc"} data-testid="list-sort-dir" disabled={!primary}
              onChange={(e) => primary && onChange(patchList(doc, entity.name, { sort: withPrimarySort(view?.sort, primary.field, e.target.value === "desc") }))}>
              <option value="asc">{t("listView.asc")}</option>
              <option value="desc">{t("listView.desc")}</option>
            </select>
          </div>
          {sortKeys.length > 1 && <code className="small" data-testid="list-sort-text">{view?.sort}</code>}

          <h2 className="panel-title">{t("listView.filter")}</h2>
          <p className="muted small">{t("listView.filterHint")}</p>
          <div className="field">
            <ExpressionEditor mode="filter" scope="document" draft label={t("listView.filterText")} value={view?.filter ?? ""} rows={1}
              testId="list-filter-editor" inputTestId="list-filter-text" fields={fields} app={doc as unknown as AppDocument} entity={entity.name}
              onChange={(filter) => onChange(patchList(doc, entity.name, { filter }))} />
          </div>
          <FilterBuilder key={entity.name} fields={filterableFields(fields)}
            onApply={(text) => onChange(patchList(doc, entity.name, { filter: text }))} />
          {stored && (
            <IndexPanel key={"indexes-" + entity.name} app={doc.name} entity={entity.name} fields={fields} columns={cols}
              indexes={(entity as { indexes?: { fields: string[] }[] }).indexes ?? []} sort={view?.sort}
              canApply={!dirty} onApplied={onApplied} />
          )}
        </div>
        <div className="layout-preview">
          <h2 className="panel-title">{t("listView.preview")}</h2>
          {cols.length === 0 && <p className="muted small">{t("listView.noColumns")}</p>}
          <div className="table-wrap">
            <table className="list" data-testid="list-preview">
              <thead>
                <tr>{cols.map((n) => <th key={n} data-testid={`list-preview-col-${n}`}>{label(n)}</th>)}</tr>
              </thead>
            </table>
          </div>
        </div>
      </div>
    </div>
  );
}
