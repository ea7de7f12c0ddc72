// The document's "connectors" section (schema.Connector, CONTRACT-17.md):
// an app's inbound endpoints — a plugin's trigger whose items are written
// to an entity through a mapping (entity field ← item property), with
// fixed defaults, a match field (update instead of create), a honeypot
// field, a rate limit and the role the write is made as. Pure.
import type { Field } from "../api";
import { writableFields } from "./automations";
import type { DDoc, DEntity } from "./model";

export const CONNECTOR_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
export const HONEYPOT_RE = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;
export const DEFAULT_RATE = 30;
export const MAX_RATE = 10000;

export interface Connector {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  enabled?: boolean;
  plugin: string;
  trigger: string;
  entity: string;
  mapping: Record<string, string>;
  defaults?: Record<string, unknown>;
  match?: string;
  honeypot?: string;
  rateLimit?: number;
  role?: string;
  [key: string]: unknown;
}

export function connectorsOf(doc: DDoc): Connector[] {
  return (doc.connectors as Connector[] | undefined) ?? [];
}

export function withConnectors(doc: DDoc, list: Connector[]): DDoc {
  const next: DDoc = { ...doc, connectors: list };
  if (list.length === 0) delete next.connectors;
  return next;
}

// targetFields: what a mapping or a default may write (the entity's own
// writable fields; never system or computed ones — the server agrees).
export function targetFields(e: DEntity | undefined): Field[] {
  return writableFields(e);
}

// TEXT_TYPES are the fields an open item (a web form's fields, all text) fills by name.
const TEXT_TYPES = new Set(["text", "longtext", "email", "phone", "url"]);

// itemProps names the properties a trigger's items carry: its output
// schema's properties, or — for an open object of strings such as a web
// form's fields — the entity's text fields by their names.
export function itemProps(output: { properties?: Record<string, unknown>; additionalProperties?: unknown } | undefined, e: DEntity | undefined): string[] {
  const named = Object.keys(output?.properties ?? {});
  if (named.length > 0 || !output?.additionalProperties) return named;
  return targetFields(e).filter((f) => TEXT_TYPES.has(f.type)).map((f) => f.name);
}

// guessMapping maps each property of the trigger's output to the field
// of the same name, when the entity has one.
export function guessMapping(e: DEntity | undefined, props: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of targetFields(e)) if (props.includes(f.name)) out[f.name] = f.name;
  return out;
}

// defaultEntity: where a new endpoint writes — leads when the app has them.
export function defaultEntity(doc: DDoc): DEntity | undefined {
  return doc.entities.find((x) => x.name === "lead") ?? doc.entities[0];
}

export function blankConnector(doc: DDoc, plugin = "", trigger = "", props: string[] = []): Connector {
  const taken = connectorsOf(doc).map((c) => c.name);
  let name = "website";
  for (let i = 2; taken.includes(name); i++) name = `website-${i}`;
  const e = defaultEntity(doc);
  return { name, enabled: true, plugin, trigger, entity: e?.name ?? "", mapping: guessMapping(e, props), honeypot: "company_url" };
}

// cleanConnector drops what the document should not carry: empty
// optional keys, mappings without a property, the default rate.
export function cleanConnector(c: Connector): Connector {
  const out: Connector = { ...c, mapping: Object.fromEntries(Object.entries(c.mapping ?? {}).filter(([k, v]) => k && v)) };
  for (const k of ["label", "match", "honeypot", "role"] as const) if (!out[k]) delete out[k];
  if (!out.rateLimit) delete out.rateLimit;
  if (out.enabled !== false) delete out.enabled;
  if (out.defaults && Object.keys(out.defaults).length === 0) delete out.defaults;
  return out;
}

// renameEntityInConnectors and renameFieldInConnectors follow the model's renames.
export function renameEntityInConnectors(doc: DDoc, from: string, to: string): DDoc {
  const list = connectorsOf(doc);
  if (!list.some((c) => c.entity === from)) return doc;
  return withConnectors(doc, list.map((c) => (c.entity === from ? { ...c, entity: to } : c)));
}

export function renameFieldInConnectors(doc: DDoc, entity: string, from: string, to: string): DDoc {
  const list = connectorsOf(doc);
  if (!list.some((c) => c.entity === entity)) return doc;
  const ren = <T,>(m: Record<string, T> | undefined) => (m ? Object.fromEntries(Object.entries(m).map(([k, v]) => [k === from ? to : k, v])) : m);
  return withConnectors(doc, list.map((c) => {
    if (c.entity !== entity) return c;
    const n: Connector = { ...c, mapping: ren(c.mapping)! };
    if (c.defaults) n.defaults = ren(c.defaults);
    if (c.match === from) n.match = to;
    return n;
  }));
}

// typedDefault turns a default's text into the field's JSON value.
export function typedDefault(f: Field | undefined, raw: string): unknown {
  switch (f?.type) {
    case "integer": case "decimal": {
      const n = Number(raw);
      return raw.trim() === "" || Number.isNaN(n) ? raw : n;
    }
    case "boolean": return raw === "true";
    case "multiselect": return raw.split(",").map((x) => x.trim()).filter(Boolean);
    default: return raw;
  }
}

export function defaultText(v: unknown): string {
  if (Array.isArray(v)) return v.join(", ");
  return v === null || v === undefined ? "" : String(v);
}
