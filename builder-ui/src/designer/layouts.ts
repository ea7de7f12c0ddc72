// The document's "forms" (record form layouts and list views, per entity)
// and "roles" sections, as pure functions over the document, so every edit
// is testable without a screen.
import type {
  AppDocument, Entity, Field, FormLayout, FormSection, ListLayout, Role, RoleEntityRules, RoleOp, Scope, ScopeRule,
} from "../api";
import { SYSTEM_COLUMNS } from "../fields";
import { uniqueName } from "./model";

type Doc = { forms?: AppDocument["forms"]; roles?: Role[]; entities: { name: string; fields: Field[] }[] };

export const SCOPES: Scope[] = ["none", "own", "team", "all"];
export const ROLE_OPS: RoleOp[] = ["create", "read", "update", "delete"];
export const DEFAULT_ROLES = ["rep", "manager", "executive"] as const;
export const MAX_COLUMNS = 3;

// ---- lookups (also used by the runtime) ----

export function formLayoutOf(doc: Pick<AppDocument, "forms">, entity: string): FormLayout | undefined {
  return (doc.forms ?? []).find((f): f is FormLayout => f.entity === entity && f.kind === "form");
}

export function listViewOf(doc: Pick<AppDocument, "forms">, entity: string): ListLayout | undefined {
  return (doc.forms ?? []).find((f): f is ListLayout => f.entity === entity && f.kind === "list");
}

export function clampColumns(n: unknown): number {
  const v = typeof n === "number" && Number.isFinite(n) ? Math.round(n) : 2;
  return Math.max(1, Math.min(MAX_COLUMNS, v));
}

export interface ResolvedSection {
  title?: string;
  columns: number;
  fields: Field[];
}

// resolveSections lays the fields out by the layout: its sections (unknown
// or repeated names skipped, titled in lang when the section has a title in
// it), then a final untitled section with every field not placed, so
// nothing is lost. No layout: one untitled two-column section.
export function resolveSections(fields: Field[], layout: FormLayout | undefined, lang = ""): ResolvedSection[] {
  if (!layout) return [{ columns: 2, fields }];
  const byName = new Map(fields.map((f) => [f.name, f]));
  const used = new Set<string>();
  const out: ResolvedSection[] = [];
  for (const s of layout.sections ?? []) {
    const fs: Field[] = [];
    for (const n of s.fields ?? []) {
      const f = byName.get(n);
      if (f && !used.has(n)) {
        used.add(n);
        fs.push(f);
      }
    }
    out.push({ title: s.titles?.[lang] || s.title || undefined, columns: clampColumns(s.columns), fields: fs });
  }
  const rest = fields.filter((f) => !used.has(f.name));
  if (rest.length) out.push({ columns: 2, fields: rest });
  return out;
}

// ---- forms section edits ----

function withForms<D extends Doc>(doc: D, forms: NonNullable<AppDocument["forms"]>): D {
  const next = { ...doc, forms };
  if (forms.length === 0) delete (next as Doc).forms;
  return next;
}

// setFormLayout replaces (or with null removes) the entity's form layout.
export function setFormLayout<D extends Doc>(doc: D, entity: string, layout: FormLayout | null): D {
  const forms = (doc.forms ?? []).slice();
  const i = forms.findIndex((f) => f.entity === entity && f.kind === "form");
  if (layout === null) {
    if (i >= 0) forms.splice(i, 1);
  } else if (i >= 0) forms[i] = layout;
  else forms.push(layout);
  return withForms(doc, forms);
}

export function setListView<D extends Doc>(doc: D, entity: string, view: ListLayout | null): D {
  const forms = (doc.forms ?? []).slice();
  const i = forms.findIndex((f) => f.entity === entity && f.kind === "list");
  if (view === null) {
    if (i >= 0) forms.splice(i, 1);
  } else if (i >= 0) forms[i] = view;
  else forms.push(view);
  return withForms(doc, forms);
}

export function emptyLayout(entity: string): FormLayout {
  return { entity, kind: "form", sections: [] };
}

export function addSection(l: FormLayout, title = ""): FormLayout {
  const s: FormSection = { title, columns: 2, fields: [] };
  return { ...l, sections: [...l.sections, s] };
}

export function removeSection(l: FormLayout, si: number): FormLayout {
  return { ...l, sections: l.sections.filter((_, i) => i !== si) };
}

// moveSection moves section si by delta (-1 up, +1 down).
export function moveSection(l: FormLayout, si: number, delta: number): FormLayout {
  const to = si + delta;
  if (si < 0 || si >= l.sections.length || to < 0 || to >= l.sections.length) return l;
  const sections = l.sections.slice();
  const [s] = sections.splice(si, 1);
  sections.splice(to, 0, s);
  return { ...l, sections };
}

export function updateSection(l: FormLayout, si: number, patch: Partial<FormSection>): FormLayout {
  return {
    ...l,
    sections: l.sections.map((s, i) => {
      if (i !== si) return s;
      const n = { ...s, ...patch };
      if (patch.columns !== undefined) n.columns = clampColumns(patch.columns);
      return n;
    }),
  };
}

// placeField puts field name into section si so it lands before the field
// that was at position at (at ≥ length: the end); a field already placed
// anywhere is moved (a field appears at most once).
export function placeField(l: FormLayout, name: string, si: number, at?: number): FormLayout {
  if (si < 0 || si >= l.sections.length) return l;
  let dest = at ?? l.sections[si].fields.length;
  const sections = l.sections.map((s, i) => {
    const from = s.fields.indexOf(name);
    if (from < 0) return s;
    if (i === si && from < dest) dest -= 1;
    return { ...s, fields: s.fields.filter((f) => f !== name) };
  });
  const target = sections[si];
  const fields = target.fields.slice();
  fields.splice(Math.max(0, Math.min(dest, fields.length)), 0, name);
  sections[si] = { ...target, fields };
  return { ...l, sections };
}

export function unplaceField(l: FormLayout, name: string): FormLayout {
  return { ...l, sections: l.sections.map((s) => (s.fields.includes(name) ? { ...s, fields: s.fields.filter((f) => f !== name) } : s)) };
}

// The entity's fields not placed in any section, in the entity's order.
export function unplaced(entity: { fields: Field[] }, l: FormLayout | undefined): Field[] {
  const used = new Set((l?.sections ?? []).flatMap((s) => s.fields));
  return entity.fields.filter((f) => !used.has(f.name));
}

// ---- list view ----

export const LIST_SYSTEM_COLUMNS: string[] = [...SYSTEM_COLUMNS];

// defaultListColumns: what the runtime shows without a list view.
export function defaultListColumns(entity: Entity | { fields: Field[] }): string[] {
  return [...entity.fields.filter((f) => f.type !== "json" && f.type !== "longtext").slice(0, 6).map((f) => f.name), "created_at"];
}

export function parseSort(sort: string | undefined): { field: string; desc: boolean }[] {
  return (sort ?? "").split(",").map((s) => s.trim()).filter(Boolean)
    .map((s) => (s.startsWith("-") ? { field: s.slice(1), desc: true } : { field: s.replace(/^\+/, ""), desc: false }));
}

export function sortText(keys: { field: string; desc: boolean }[]): string {
  return keys.filter((k) => k.field).map((k) => (k.desc ? "-" : "") + k.field).join(",");
}

// withPrimarySort sets the first sort key (field "" removes every key).
export function withPrimarySort(sort: string | undefined, field: string, desc: boolean): string {
  if (!field) return "";
  const rest = parseSort(sort).slice(1).filter((k) => k.field !== field);
  return sortText([{ field, desc }, ...rest]);
}

// patchList edits a list view (created from the automatic defaults when
// the entity has none); empty sort and filter keys are dropped.
export function patchList<D extends Doc>(doc: D, entity: string, patch: Partial<Omit<ListLayout, "entity" | "kind">>): D {
  const e = doc.entities.find((x) => x.name === entity);
  const cur: ListLayout = listViewOf(doc, entity) ?? { entity, kind: "list", columns: e ? defaultListColumns(e) : [] };
  const next: ListLayout = { ...cur, ...patch };
  if (!next.sort) delete next.sort;
  if (!next.filter) delete next.filter;
  return setListView(doc, entity, next);
}

export function toggleColumn(cols: string[], name: string, on: boolean): string[] {
  if (on) return cols.includes(name) ? cols : [...cols, name];
  return cols.filter((c) => c !== name);
}

export function moveColumn(cols: string[], name: string, delta: number): string[] {
  const i = cols.indexOf(name);
  const to = i + delta;
  if (i < 0 || to < 0 || to >= cols.length) return cols;
  const out = cols.slice();
  out.splice(i, 1);
  out.splice(to, 0, name);
  return out;
}

// ---- roles ----

export function addRole<D extends Doc>(doc: D): D {
  const name = uniqueName("role", (doc.roles ?? []).map((r) => r.name));
  return { ...doc, roles: [...(doc.roles ?? []), { name, entities: {} }] };
}

export function removeRole<D extends Doc>(doc: D, ri: number): D {
  const roles = (doc.roles ?? []).filter((_, i) => i !== ri);
  const next = { ...doc, roles };
  if (roles.length === 0) delete (next as Doc).roles;
  return next;
}

export function updateRole<D extends Doc>(doc: D, ri: number, patch: Partial<Role>): D {
  return {
    ...doc,
    roles: (doc.roles ?? []).map((r, i) => {
      if (i !== ri) return r;
      const n = { ...r, ...patch };
      if (patch.label === "") delete n.label;
      return n;
    }),
  };
}

function setRoleEntity<D extends Doc>(doc: D, ri: number, entity: string, fn: (e: RoleEntityRules) => RoleEntityRules): D {
  return {
    ...doc,
    roles: (doc.roles ?? []).map((r, i) => {
      if (i !== ri) return r;
      const entities = { ...(r.entities ?? {}) };
      const e = fn({ ...(entities[entity] ?? {}) });
      if (Object.keys(e).length === 0) delete entities[entity];
      else entities[entity] = e;
      return { ...r, entities };
    }),
  };
}

export function scopeOf(rule: ScopeRule | undefined): { scope: Scope | ""; where: string } {
  if (!rule) return { scope: "", where: "" };
  if (typeof rule === "string") return { scope: rule, where: "" };
  return { scope: rule.scope, where: rule.where ?? "" };
}

// setScope writes one cell of the matrix: "" (not set) removes the key, a
// scope without a condition is the short string, with one {scope, where}.
export function setScope<D extends Doc>(doc: D, ri: number, entity: string, op: RoleOp, scope: Scope | "", where = ""): D {
  return setRoleEntity(doc, ri, entity, (e) => {
    if (!scope) delete e[op];
    else e[op] = where.trim() ? { scope, where } : scope;
    return e;
  });
}

// setFieldRule: "visible" removes the field's rule.
export function setFieldRule<D extends Doc>(doc: D, ri: number, entity: string, field: string, rule: "visible" | "hidden" | "readonly"): D {
  return setRoleEntity(doc, ri, entity, (e) => {
    const fields = { ...(e.fields ?? {}) };
    if (rule === "visible") delete fields[field];
    else fields[field] = rule;
    if (Object.keys(fields).length) e.fields = fields;
    else delete e.fields;
    return e;
  });
}

// fieldRulesFor: the rules a role puts on an entity's fields (the default
// roles have none).
export function fieldRulesFor(doc: Pick<AppDocument, "roles">, role: string, entity: string): Record<string, "hidden" | "readonly"> {
  const r = (doc.roles ?? []).find((x) => x.name === role);
  return r?.entities?.[entity]?.fields ?? {};
}

// ---- keeping references in step with the data model ----

// renameEntityRefs follows an entity rename in forms and roles.
export function renameEntityRefs<D extends Doc>(doc: D, from: string, to: string): D {
  if (from === to) return doc;
  const next = { ...doc };
  if (doc.forms) next.forms = doc.forms.map((f) => (f.entity === from ? { ...f, entity: to } : f));
  if (doc.roles) {
    next.roles = doc.roles.map((r) => {
      if (!r.entities || !(from in r.entities)) return r;
      const entities: Record<string, RoleEntityRules> = {};
      for (const [k, v] of Object.entries(r.entities)) entities[k === from ? to : k] = v;
      return { ...r, entities };
    });
  }
  return next;
}

// dropEntityRefs removes a deleted entity's forms and role rules.
export function dropEntityRefs<D extends Doc>(doc: D, entity: string): D {
  let next = { ...doc };
  if (doc.forms) next = withForms(next, doc.forms.filter((f) => f.entity !== entity));
  if (doc.roles) {
    next.roles = doc.roles.map((r) => {
      if (!r.entities || !(entity in r.entities)) return r;
      const entities = { ...r.entities };
      delete entities[entity];
      return { ...r, entities };
    });
  }
  return next;
}

// renameFieldRefs follows a field rename (to = null: the field is gone) in
// the entity's form layout, list view and role field rules.
export function renameFieldRefs<D extends Doc>(doc: D, entity: string, from: string, to: string | null): D {
  if (from === to) return doc;
  const sub = (xs: string[]) => (to === null ? xs.filter((x) => x !== from) : xs.map((x) => (x === from ? to : x)));
  const next = { ...doc };
  if (doc.forms) {
    next.forms = doc.forms.map((f) => {
      if (f.entity !== entity) return f;
      if (f.kind === "form") return { ...f, sections: f.sections.map((s) => ({ ...s, fields: sub(s.fields) })) };
      const g: ListLayout = { ...f };
      if (f.columns) g.columns = sub(f.columns);
      if (f.sort) {
        const keys = parseSort(f.sort).filter((k) => to !== null || k.field !== from).map((k) => (k.field === from ? { ...k, field: to! } : k));
        g.sort = sortText(keys);
        if (!g.sort) delete g.sort;
      }
      return g;
    });
  }
  if (doc.roles) {
    next.roles = doc.roles.map((r) => {
      const rules = r.entities?.[entity]?.fields;
      if (!rules || !(from in rules)) return r;
      const fields: Record<string, "hidden" | "readonly"> = {};
      for (const [k, v] of Object.entries(rules)) {
        if (k !== from) fields[k] = v;
        else if (to !== null) fields[to] = v;
      }
      const e: RoleEntityRules = { ...r.entities![entity], fields };
      if (Object.keys(fields).length === 0) delete e.fields;
      return { ...r, entities: { ...r.entities, [entity]: e } };
    });
  }
  return next;
}
