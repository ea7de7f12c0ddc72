// The designer's document model: pure functions over an app document, so
// every edit is testable without a screen. Keys the designer does not know
// (indexes, hooks, validations, roles, forms…) are carried through untouched.
import type { AppDocument, Entity, ErrorDetail, Field, FieldType } from "../api";

export const NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;

export const FIELD_TYPES: FieldType[] = [
  "text", "longtext", "integer", "decimal", "boolean", "date", "datetime", "select", "multiselect",
  "email", "phone", "url", "ref", "user", "file", "json", "formula", "rollup", "autonumber",
];
export const TEXT_LIKE: FieldType[] = ["text", "longtext", "email", "phone", "url"];
export const NUMERIC: FieldType[] = ["integer", "decimal"];
export const COMPUTED: FieldType[] = ["formula", "rollup", "autonumber"];
export const RETURN_TYPES: FieldType[] = ["text", "integer", "decimal", "boolean", "date", "datetime"];
export const ROLLUP_OPS = ["count", "sum", "min", "max", "avg"] as const;
export const ON_DELETE = ["restrict", "cascade", "setNull"] as const;

export interface Rollup {
  entity: string;
  via: string;
  op: (typeof ROLLUP_OPS)[number];
  field?: string;
  filter?: string;
}

// DField is a field as the designer edits it (the API type plus the keys
// that only the document carries).
export type DField = Field & { onDelete?: string; rollup?: Rollup; [key: string]: unknown };
export type DEntity = Omit<Entity, "fields"> & { fields: DField[]; [key: string]: unknown };
export type DDoc = Omit<AppDocument, "entities"> & { entities: DEntity[]; scripts?: Record<string, string>; [key: string]: unknown };

// newId: "f" (or another prefix) + 8 base36 characters; ids never change.
export function newId(prefix = "f", rand: () => number = Math.random): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += Math.floor(rand() * 36).toString(36);
  return prefix + s;
}

export function uniqueName(base: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  for (let i = 1; ; i++) {
    const n = `${base}_${i}`;
    if (!used.has(n)) return n;
  }
}

// Keys that belong to some field types only; the server refuses them on others.
const TYPE_KEYS: Record<string, FieldType[]> = {
  maxLength: TEXT_LIKE,
  min: NUMERIC,
  max: NUMERIC,
  precision: ["decimal"],
  scale: ["decimal"],
  options: ["select", "multiselect"],
  entity: ["ref"],
  onDelete: ["ref"],
  expr: ["formula"],
  rollup: ["rollup"],
  returns: ["formula", "rollup"],
};

// rollupCandidates: the entities with a ref field pointing at target, and those refs.
export function rollupCandidates(doc: DDoc, target: string): { entity: string; vias: string[] }[] {
  const out: { entity: string; vias: string[] }[] = [];
  for (const e of doc.entities) {
    const vias = e.fields.filter((f) => f.type === "ref" && f.entity === target).map((f) => f.name);
    if (vias.length) out.push({ entity: e.name, vias });
  }
  return out;
}

// withType turns f into a field of type t: keys that do not apply are
// dropped, the ones the type needs get a starting value.
export function withType(f: DField, t: FieldType, doc: DDoc, entity: string): DField {
  const g: DField = { ...f, type: t };
  for (const [k, types] of Object.entries(TYPE_KEYS)) {
    if (!types.includes(t)) delete g[k];
  }
  if (COMPUTED.includes(t)) {
    delete g.required;
    delete g.unique;
    delete g.default;
  }
  if (t === "select" || t === "multiselect") {
    if (!g.options?.length) g.options = ["option_1", "option_2"];
  }
  if (t === "ref" && !g.entity) g.entity = doc.entities[0]?.name ?? entity;
  if (t === "formula" && !g.expr) g.expr = "1";
  if (t === "rollup" && !g.rollup) {
    const c = rollupCandidates(doc, entity)[0];
    g.rollup = { entity: c?.entity ?? "", via: c?.vias[0] ?? "", op: "count" };
  }
  if (g.default !== undefined && f.type !== t) delete g.default;
  return g;
}

export function newField(doc: DDoc, entityIndex: number, type: FieldType, rand?: () => number): DField {
  const e = doc.entities[entityIndex];
  const ids = new Set(doc.entities.flatMap((x) => x.fields.map((f) => f.id)));
  let id = newId("f", rand);
  while (ids.has(id)) id = newId("f", rand);
  const name = uniqueName(type, e.fields.map((f) => f.name));
  return withType({ id, name, type }, type, doc, e.name);
}

function setEntity(doc: DDoc, ei: number, fn: (e: DEntity) => DEntity): DDoc {
  return { ...doc, entities: doc.entities.map((e, i) => (i === ei ? fn(e) : e)) };
}

export function insertField(doc: DDoc, ei: number, field: DField, at?: number): DDoc {
  return setEntity(doc, ei, (e) => {
    const fields = e.fields.slice();
    const i = at === undefined ? fields.length : Math.max(0, Math.min(at, fields.length));
    fields.splice(i, 0, field);
    return { ...e, fields };
  });
}

// moveField moves the field at from so it lands before the field that was at
// position to (to = length: the end), as a drop between rows does.
export function moveField(doc: DDoc, ei: number, from: number, to: number): DDoc {
  return setEntity(doc, ei, (e) => {
    const fields = e.fields.slice();
    if (from < 0 || from >= fields.length) return e;
    const [f] = fields.splice(from, 1);
    const dest = Math.max(0, Math.min(to > from ? to - 1 : to, fields.length));
    fields.splice(dest, 0, f);
    return { ...e, fields };
  });
}

export function updateField(doc: DDoc, ei: number, id: string, patch: Partial<DField>): DDoc {
  return setEntity(doc, ei, (e) => ({
    ...e,
    fields: e.fields.map((f) => {
      if (f.id !== id) return f;
      const g: DField = { ...f, ...patch };
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || (k !== "default" && (v === "" || v === false))) delete g[k];
      }
      return g;
    }),
  }));
}

// setFieldType changes a field's type (keeping its id, so data migrates).
export function setFieldType(doc: DDoc, ei: number, id: string, t: FieldType): DDoc {
  const e = doc.entities[ei];
  return setEntity(doc, ei, (x) => ({ ...x, fields: x.fields.map((f) => (f.id === id ? withType(f, t, doc, e.name) : f)) }));
}

export function removeField(doc: DDoc, ei: number, id: string): DDoc {
  return setEntity(doc, ei, (e) => ({ ...e, fields: e.fields.filter((f) => f.id !== id) }));
}

export function updateEntity(doc: DDoc, ei: number, patch: Partial<DEntity>): DDoc {
  return setEntity(doc, ei, (e) => {
    const g: DEntity = { ...e, ...patch };
    if (patch.label === "") delete g.label;
    return g;
  });
}

export function addEntity(doc: DDoc, name: string, label: string, rand?: () => number): DDoc {
  const e: DEntity = { id: newId("e", rand), name, fields: [] };
  if (label) e.label = label;
  return { ...doc, entities: [...doc.entities, e] };
}

export function removeEntity(doc: DDoc, ei: number): DDoc {
  return { ...doc, entities: doc.entities.filter((_, i) => i !== ei) };
}

// Errors from a 422's details (or a plan's refusals), by where they belong.
export interface DesignErrors {
  fields: Record<string, string[]>; // key: fieldKey(entityIndex, fieldId)
  entities: Record<number, string[]>;
  // /forms/{i}… and /roles/{i}… (also listed in general, at the top).
  forms: Record<number, string[]>;
  roles: Record<number, string[]>;
  general: string[];
}

export const fieldKey = (ei: number, id: string) => `${ei}/${id}`;
export const noErrors = (): DesignErrors => ({ fields: {}, entities: {}, forms: {}, roles: {}, general: [] });

// mapErrors places each JSON pointer of details on the document that was sent:
// /entities/{i}/fields/{j}[/...] on that field (by its id), /entities/{i}/...
// on the entity, anything else at the top (/forms/{i}… and /roles/{i}… are
// also kept by index, for the Forms, List view and Roles tabs). text words
// each problem (problemText in the user's language; by default the server's message).
export function mapErrors(details: ErrorDetail[], doc: DDoc, text: (d: ErrorDetail) => string = (d) => d.message): DesignErrors {
  const out = noErrors();
  for (const d of details) {
    const m = /^\/entities\/(\d+)(?:\/fields\/(\d+))?(?:\/|$)/.exec(d.path ?? "");
    const ei = m ? Number(m[1]) : -1;
    const e = m ? doc.entities[ei] : undefined;
    if (e && m![2] !== undefined && e.fields[Number(m![2])]) {
      const k = fieldKey(ei, e.fields[Number(m![2])].id);
      (out.fields[k] ??= []).push(text(d));
    } else if (e) {
      (out.entities[ei] ??= []).push(text(d));
    } else {
      out.general.push(d.path ? `${d.path}: ${text(d)}` : text(d));
      const s = /^\/(forms|roles)\/(\d+)(?:\/|$)/.exec(d.path ?? "");
      if (s) (out[s[1] as "forms" | "roles"][Number(s[2])] ??= []).push(text(d));
    }
  }
  return out;
}

export function hasErrors(e: DesignErrors): boolean {
  return e.general.length > 0 || Object.keys(e.fields).length > 0 || Object.keys(e.entities).length > 0;
}

// parseDefault turns the default editor's text into the JSON value for type t
// (undefined: no default; null: not valid).
export function parseDefault(text: string, t: FieldType): unknown {
  if (text === "") return undefined;
  switch (t) {
    case "integer":
    case "decimal": {
      const n = Number(text);
      return text.trim() !== "" && isFinite(n) ? n : null;
    }
    case "boolean":
      return text === "true" ? true : text === "false" ? false : null;
    case "multiselect":
    case "json":
      try {
        return JSON.parse(text);
      } catch {
        return null;
      }
    default:
      return text;
  }
}

export function formatDefault(v: unknown, t: FieldType): string {
  if (v === undefined || v === null) return "";
  if (t === "multiselect" || t === "json") return JSON.stringify(v);
  return String(v);
}
