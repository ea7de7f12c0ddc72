// The designer's Forms tab: an entity's record form layout — sections
// (title, 1–3 columns, order) holding the entity's fields — edited with
// drag and drop (pointer, touch or keyboard; or clicks and buttons), beside a live preview of the
// form as a chosen role sees it (the runtime's own form rendering).
import { useState } from "react";
import type { AppDocument, FormLayout } from "../api";
import {
  addSection, DEFAULT_ROLES, emptyLayout, fieldRulesFor, formLayoutOf, MAX_COLUMNS, moveSection, placeField, removeSection,
  setFormLayout, unplaced, unplaceField, updateSection,
} from "../designer/layouts";
import type { DDoc, DesignErrors } from "../designer/model";
import { fieldLabel } from "../fields";
import { useI18n } from "../i18n";
import { Icon } from "./common";
import { LabelsInputs, orNone } from "./LabelsInputs";
import { FormPreview } from "./RecordForm";
import { DndArea, DragRow, DropList, PaletteItem, type DropAt } from "../dnd";

// The preview's "admin" choice: no role name can look like this.
export const PREVIEW_ADMIN = "*admin";

// previewRoles: the roles the preview can take — the app's own, then the
// built-in ones it does not redefine (the server keeps rep, manager and
// executive for every app unless the app defines a role of that name).
export function previewRoles(doc: Pick<DDoc, "roles">): { name: string; label?: string }[] {
  const own = (doc.roles ?? []).filter((r) => r.name).map((r) => ({ name: r.name, label: r.label }));
  const builtIn = DEFAULT_ROLES.filter((name) => !own.some((r) => r.name === name)).map((name) => ({ name }));
  return [...own, ...builtIn];
}

export function EntityPicker({ doc, value, onChange, testId }: { doc: DDoc; value: number; onChange: (i: number) => void; testId: string }) {
  const { t } = useI18n();
  return (
    <label className="field entity-picker">
      <span className="field-label">{t("layout.entity")}</span>
      <select value={value} data-testid={testId} onChange={(e) => onChange(Number(e.target.value))}>
        {doc.entities.map((e, i) => <option key={e.id ?? e.name} value={i}>{e.label || e.name} ({e.name})</option>)}
      </select>
    </label>
  );
}

// formErrors: the server's problems with the doc's forms entries of a kind, as "entity: message".
export function formsErrors(doc: DDoc, errors: DesignErrors, kind: "form" | "list"): string[] {
  const out: string[] = [];
  for (const [i, msgs] of Object.entries(errors.forms)) {
    const f = doc.forms?.[Number(i)];
    if (f && f.kind !== kind) continue;
    for (const m of msgs) out.push(`${f?.entity ?? "/forms/" + i}: ${m}`);
  }
  return out;
}

export function ProblemList({ items, testId }: { items: string[]; testId: string }) {
  const { t } = useI18n();
  if (!items.length) return null;
  return (
    <div className="alert alert-error" role="alert" data-testid={testId}>
      <div>{t("design.serverProblems")}</div>
      <ul className="alert-details">{items.map((m, i) => <li key={i}>{m}</li>)}</ul>
    </div>
  );
}

export function FormsEditor({ doc, onChange, errors }: { doc: DDoc; onChange: (d: DDoc) => void; errors: DesignErrors }) {
  const { t } = useI18n();
  const [ei, setEi] = useState(0);
  const [previewRole, setPreviewRole] = useState("rep");
  const [dropAt, setDropAt] = useState<{ si: number; at: number } | null>(null);
  const entity = doc.entities[Math.min(ei, doc.entities.length - 1)];
  const problems = formsErrors(doc, errors, "form");

  if (!entity) return <div className="layout-editor"><ProblemList items={problems} testId="forms-error" /><p className="muted">{t("design.addEntityFirst")}</p></div>;

  const layout = formLayoutOf(doc, entity.name);
  const setLayout = (l: FormLayout | null) => onChange(setFormLayout(doc, entity.name, l));
  const base = () => layout ?? emptyLayout(entity.name);
  const names = new Set(entity.fields.map((f) => f.name));
  const byName = (n: string) => entity.fields.find((f) => f.name === n);

  function addToLast(name: string) {
    let l = base();
    if (l.sections.length === 0) l = addSection(l);
    setLayout(placeField(l, name, l.sections.length - 1));
  }

  // A drop zone per section ("s0", "s1"…); a placed field's upper half
  // drops before it, its lower half after it, the empty part at the end.
  const sectionOf = (zone: string) => Number(zone.slice(1));
  function over(at: DropAt | null) {
    if (!at) return setDropAt(null);
    const si = sectionOf(at.zone);
    setDropAt({ si, at: at.at ?? base().sections[si]?.fields.length ?? 0 });
  }
  function drop(name: string, target: DropAt) {
    if (!names.has(name)) return;
    const l = base();
    const si = sectionOf(target.zone);
    setLayout(placeField(l, name, si, target.at ?? l.sections[si]?.fields.length ?? 0));
  }

  const roles = previewRoles(doc);
  // "rep" by default; a role that is gone falls back to the first one.
  const role = previewRole === PREVIEW_ADMIN || roles.some((r) => r.name === previewRole) ? previewRole : roles[0]?.name ?? PREVIEW_ADMIN;
  const rules = role === PREVIEW_ADMIN ? {} : fieldRulesFor(doc, role, entity.name);

  const free = unplaced(entity, layout);
  const appDoc = doc as unknown as AppDocument;

  return (
    <div className="layout-editor">
      <ProblemList items={problems} testId="forms-error" />
      <div className="layout-toolbar">
        <EntityPicker doc={doc} value={ei} onChange={(i) => { setEi(i); setDropAt(null); }} testId="forms-entity" />
        {layout && (
          <button type="button" className="btn btn-small btn-ghost" data-testid="form-reset" onClick={() => setLayout(null)}>
            {t("layout.reset")}
          </button>
        )}
      </div>
      <div className="layout-grid">
        <DndArea<string> onDrop={drop} onOver={over} overlay={(n) => <span className="palette-item">{byName(n) ? fieldLabel(byName(n)!) : n}</span>}>
        <div className="layout-edit">
          {!layout && <p className="muted small" data-testid="form-auto">{t("layout.auto")}</p>}
          <div className="palette layout-palette" aria-label={t("layout.palette")}>
            <span className="muted small palette-hint">{free.length ? t("layout.paletteHint") : t("layout.allPlaced")}</span>
            {free.map((f) => (
              <PaletteItem key={f.name} id={"form-palette:" + f.name} data={f.name} className="palette-item" testId={`form-palette-${f.name}`}
                onClick={() => addToLast(f.name)}>
                {fieldLabel(f)}
              </PaletteItem>
            ))}
          </div>
          {(layout?.sections ?? []).map((s, si) => (
            <div key={si} className="layout-section" data-testid={`section-${si}`}>
              <div className="layout-section-head">
                <input aria-label={t("layout.sectionTitle")} placeholder={t("layout.sectionN", { n: si + 1 })} value={s.title ?? ""}
                  data-testid={`section-title-${si}`} onChange={(e) => setLayout(updateSection(base(), si, { title: e.target.value }))} />
                <label className="inline-field">
                  <span className="small muted">{t("layout.columns")}</span>
                  <select value={s.columns ?? 2} data-testid={`section-columns-${si}`}
                    onChange={(e) => setLayout(updateSection(base(), si, { columns: Number(e.target.value) }))}>
                    {Array.from({ length: MAX_COLUMNS }, (_, k) => <option key={k} value={k + 1}>{k + 1}</option>)}
                  </select>
                </label>
                <span className="row-actions">
                  <button type="button" className="btn btn-icon btn-small" data-testid={`section-up-${si}`} disabled={si === 0}
                    aria-label={t("layout.sectionUp")} onClick={() => setLayout(moveSection(base(), si, -1))}><Icon.up /></button>
                  <button type="button" className="btn btn-icon btn-small" data-testid={`section-down-${si}`} disabled={si === layout!.sections.length - 1}
                    aria-label={t("layout.sectionDown")} onClick={() => setLayout(moveSection(base(), si, 1))}><Icon.down /></button>
                  <button type="button" className="btn btn-icon btn-small" data-testid={`section-remove-${si}`}
                    aria-label={t("layout.removeSection")} onClick={() => setLayout(removeSection(base(), si))}><Icon.x /></button>
                </span>
              </div>
              <LabelsInputs labels={s.titles} prefix={`section-title-${si}`} caption="labels.titleIn"
                onChange={(l) => setLayout(updateSection(base(), si, { titles: orNone(l) }))} />
              <DropList zone={"s" + si} className={"layout-drop" + (dropAt?.si === si ? " dragging" : "")} testId={`section-drop-${si}`}>
                {s.fields.length === 0 && <li className="muted small dropzone-empty">{t("layout.dropHere")}</li>}
                {s.fields.map((n, j) => {
                  const f = byName(n);
                  const cls = ["layout-field"];
                  if (!f) cls.push("has-error");
                  if (dropAt?.si === si && dropAt.at === j) cls.push("drop-before");
                  if (dropAt?.si === si && dropAt.at === j + 1 && j === s.fields.length - 1) cls.push("drop-after");
                  return (
                    <DragRow key={n} id={"placed:" + n} data={n} zone={"s" + si} index={j} className={cls.join(" ")} testId={`placed-${n}`}
                      handleLabel={t("layout.dragField", { field: f ? fieldLabel(f) : n })}>
                      <span className="layout-field-label">{f ? fieldLabel(f) : n}</span>
                      <span className="muted small mono">{n}</span>
                      <button type="button" className="btn btn-icon btn-small" data-testid={`placed-remove-${n}`}
                        aria-label={t("layout.removeField", { field: n })} onClick={() => setLayout(unplaceField(base(), n))}><Icon.x /></button>
                    </DragRow>
                  );
                })}
              </DropList>
            </div>
          ))}
          <button type="button" className="btn" data-testid="section-add" onClick={() => setLayout(addSection(base()))}>
            <Icon.plus /> {t("layout.addSection")}
          </button>
          {layout && free.length > 0 && <p className="muted small">{t("layout.restNote")}</p>}
        </div>
        </DndArea>
        <div className="layout-preview" data-testid="form-preview" aria-label={t("layout.preview")}>
          <h2 className="panel-title">{t("layout.preview")}</h2>
          <label className="inline-field preview-role">
            <span className="small muted">{t("layout.previewRole")}</span>
            <select value={role} data-testid="preview-role" onChange={(e) => setPreviewRole(e.target.value)}>
              {roles.map((r) => <option key={r.name} value={r.name}>{r.label ? `${r.label} (${r.name})` : r.name}</option>)}
              <option value={PREVIEW_ADMIN}>{t("layout.previewAdmin")}</option>
            </select>
          </label>
          <p className="muted small">{t("layout.previewNote")}</p>
          <FormPreview key={entity.name} app={appDoc} entity={entity} layout={layout} rules={rules} />
        </div>
      </div>
    </div>
  );
}
