// The document's "automations" section (schema/automations.go is the
// format), pure: new rules and the ready examples, the trigger's sentence,
// cron presets, timer offsets, typed trigger values, moving actions, A/B
// variants, and where a server problem's JSON pointer belongs.
import type { ErrorDetail, Field } from "../api";
import { systemFields } from "../filter";
import type { DDoc, DEntity } from "./model";

export type TriggerType = "created" | "updated" | "fieldChanged" | "deleted" | "transition" | "schedule" | "timer";
export const TRIGGER_TYPES: TriggerType[] = ["created", "updated", "fieldChanged", "deleted", "transition", "schedule", "timer"];
export type ActionType = "set" | "create" | "notify" | "webhook" | "script" | "assign" | "plugin";
// The built-in action types; plugin actions are offered per installed plugin ("WeCom: send").
export const ACTION_TYPES: ActionType[] = ["set", "create", "notify", "webhook", "script", "assign"];

export interface Trigger {
  type: TriggerType;
  field?: string;
  from?: unknown;
  to?: unknown;
  flow?: string;
  transition?: string;
  cron?: string;
  timeZone?: string;
  filter?: string;
  offset?: string;
  unless?: string;
}

export interface Recipients {
  owner?: boolean;
  manager?: boolean;
  roles?: string[];
  fields?: string[];
  users?: string[];
}

// A value of a set or create action: a JSON value, an expression or a template.
export type ActionValue = unknown;

export interface Action {
  type: ActionType;
  entity?: string;
  fields?: Record<string, ActionValue>;
  to?: Recipients;
  message?: string;
  messages?: Record<string, string>; // notify: message per language, each a template
  url?: string;
  function?: string;
  // assign: the assignment rule (of the same entity); reassign: to someone other than the owner.
  rule?: string;
  reassign?: boolean;
  // plugin: the plugin, its action and the action's input (each value as in
  // fields: a literal, {"template": "… {{field}} …"} or {"expr": "…"}).
  plugin?: string;
  action?: string;
  input?: Record<string, ActionValue>;
}

export interface Variant {
  name: string;
  weight: number;
  actions: Action[];
}

export interface Automation {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  enabled?: boolean;
  entity: string;
  role?: string;
  trigger: Trigger;
  condition?: string;
  actions?: Action[];
  variants?: Variant[];
  [key: string]: unknown;
}

export function automationsOf(doc: DDoc): Automation[] {
  return (doc.automations as Automation[] | undefined) ?? [];
}

export function withAutomations(doc: DDoc, list: Automation[]): DDoc {
  const next: DDoc = { ...doc, automations: list };
  if (list.length === 0) delete next.automations;
  return next;
}

export const isEnabled = (a: Automation) => a.enabled !== false;

export function uniqueAutomationName(base: string, taken: string[]): string {
  if (!taken.includes(base)) return base;
  for (let i = 2; ; i++) if (!taken.includes(`${base}_${i}`)) return `${base}_${i}`;
}

// blank is a rule on the first entity, run when a record is created, with one notify-the-owner action.
export function blankAutomation(doc: DDoc): Automation {
  const taken = automationsOf(doc).map((a) => a.name);
  let n = 1;
  while (taken.includes(`automation_${n}`)) n++;
  return {
    name: `automation_${n}`, enabled: true, entity: doc.entities[0]?.name ?? "", trigger: { type: "created" },
    actions: [{ type: "notify", to: { owner: true }, message: "" }],
  };
}

export type ExampleKey = "gradeExpo" | "silence" | "mondayStale" | "notifyWon";
export const EXAMPLES: ExampleKey[] = ["gradeExpo", "silence", "mondayStale", "notifyWon"];

const has = (e: DEntity | undefined, type: string[], prefer: string[] = []): Field | undefined =>
  prefer.map((p) => e?.fields.find((f) => f.name === p && type.includes(f.type))).find(Boolean) ?? e?.fields.find((f) => type.includes(f.type));

const pickEntity = (doc: DDoc, names: string[]) =>
  names.map((n) => doc.entities.find((e) => e.name === n)).find(Boolean) ?? doc.entities[0];

// example builds one of PRODUCT.md's cases over the document's own entities
// and fields (by the usual names when they exist, the first fitting field
// otherwise), so it is valid as far as the document allows.
export function example(doc: DDoc, key: ExampleKey, label: string, tz: string): Automation {
  const taken = automationsOf(doc).map((a) => a.name);
  const title = (e: DEntity | undefined) => has(e, ["text"], ["title", "name"])?.name ?? "id";
  switch (key) {
    case "gradeExpo": {
      const e = pickEntity(doc, ["lead", "customer"]);
      const source = has(e, ["select", "text"], ["source"]);
      const grade = has(e, ["select", "text"], ["grade"]);
      const score = has(e, ["integer", "decimal"], ["score"]);
      const budget = has(e, ["integer", "decimal"], ["budget", "amount"]);
      const fields: Record<string, unknown> = {};
      if (grade && grade !== source) fields[grade.name] = grade.options?.[0] ?? "A";
      if (score && budget && score !== budget) fields[score.name] = { expr: `${budget.name} / 1000` };
      const actions: Action[] = [];
      if (Object.keys(fields).length) actions.push({ type: "set", fields });
      actions.push({ type: "notify", to: { owner: true }, message: `New expo lead {{${title(e)}}}` });
      return {
        name: uniqueAutomationName("grade_expo", taken), label, enabled: true, entity: e?.name ?? "", trigger: { type: "created" },
        condition: source ? `${source.name} = "${source.options?.find((o) => o.includes("expo")) ?? "expo"}"` : undefined, actions,
      };
    }
    case "silence": {
      const e = pickEntity(doc, ["quote"]);
      const opened = has(e, ["datetime", "date"], ["opened_at"]);
      const replied = has(e, ["datetime", "date"], ["replied_at"]);
      return {
        name: uniqueAutomationName("silence_alert", taken), label, enabled: true, entity: e?.name ?? "",
        trigger: { type: "timer", field: opened?.name ?? "created_at", offset: "72h", ...(replied && replied !== opened ? { unless: `${replied.name} != null` } : {}) },
        actions: [{ type: "notify", to: { manager: true }, message: `{{${title(e)}}}: no reply for 72 hours` }],
      };
    }
    case "mondayStale": {
      const e = pickEntity(doc, ["opportunity", "deal"]);
      const stage = has(e, ["select"], ["stage", "status"]);
      const won = stage?.options?.find((o) => /won|win|赢/.test(o));
      return {
        name: uniqueAutomationName("monday_stale", taken), label, enabled: true, entity: e?.name ?? "",
        trigger: { type: "schedule", cron: "0 9 * * 1", timeZone: tz, ...(stage && won ? { filter: `${stage.name} != "${won}"` } : {}) },
        actions: [{ type: "notify", to: { owner: true }, message: `{{${title(e)}}} has not moved for two weeks` }],
      };
    }
    case "notifyWon": {
      const e = pickEntity(doc, ["opportunity", "deal", "quote"]);
      const stage = has(e, ["select"], ["stage", "status"]);
      const won = stage?.options?.find((o) => /won|win|赢/.test(o)) ?? stage?.options?.[0];
      return {
        name: uniqueAutomationName("notify_won", taken), label, enabled: true, entity: e?.name ?? "",
        trigger: stage ? { type: "fieldChanged", field: stage.name, ...(won ? { to: won } : {}) } : { type: "updated" },
        actions: [{ type: "notify", to: { owner: true, manager: true }, message: `Won {{${title(e)}}}` }],
      };
    }
  }
}

// Fields a rule can name: the entity's own and the system columns.
export function ruleFields(e: DEntity | undefined): Field[] {
  return [...(e?.fields ?? []), ...systemFields()];
}

export function dateFields(e: DEntity | undefined): Field[] {
  return ruleFields(e).filter((f) => f.type === "date" || f.type === "datetime");
}

// Writable fields: what set and create write (not computed).
export function writableFields(e: DEntity | undefined): Field[] {
  return (e?.fields ?? []).filter((f) => !["formula", "rollup", "autonumber"].includes(f.type));
}

// Cron presets: every day at, every Monday (any weekday) at, first day of month at.
export type CronPreset = { kind: "daily"; time: string } | { kind: "weekly"; day: number; time: string } | { kind: "monthly"; time: string } | { kind: "custom" };

export function cronOf(p: CronPreset): string {
  if (p.kind === "custom") return "";
  const [h, m] = p.time.split(":").map((x) => Number(x) || 0);
  if (p.kind === "daily") return `${m} ${h} * * *`;
  if (p.kind === "weekly") return `${m} ${h} * * ${p.day}`;
  return `${m} ${h} 1 * *`;
}

export function presetOf(cron: string | undefined): CronPreset {
  const m = /^(\d{1,2}) (\d{1,2}) (\*|1) \* (\*|[0-6])$/.exec((cron ?? "").trim());
  if (!m || Number(m[1]) > 59 || Number(m[2]) > 23) return { kind: "custom" };
  const time = `${m[2].padStart(2, "0")}:${m[1].padStart(2, "0")}`;
  if (m[3] === "1" && m[4] === "*") return { kind: "monthly", time };
  if (m[3] === "*" && m[4] === "*") return { kind: "daily", time };
  if (m[3] === "*") return { kind: "weekly", day: Number(m[4]), time };
  return { kind: "custom" };
}

// Timer offsets: amount + unit, before (negative) or after.
export type Unit = "m" | "h" | "d";
export interface Offset {
  amount: number;
  unit: Unit;
  before: boolean;
}

export function offsetText(o: Offset): string {
  return (o.before ? "-" : "") + Math.max(0, Math.floor(o.amount)) + o.unit;
}

// parseOffset reads "72h", "-30m", "3d"; null for anything else ("1d12h"), edited as text.
export function parseOffset(s: string | undefined): Offset | null {
  const m = /^(-?)(\d+)([mhd])$/.exec((s ?? "").trim());
  return m ? { amount: Number(m[2]), unit: m[3] as Unit, before: m[1] === "-" } : null;
}

// A trigger's from/to value from what was typed, by the field's type
// (undefined: any value).
export function typedValue(f: Field | undefined, raw: string): unknown {
  if (raw === "") return undefined;
  if (raw === "\u0000null") return null;
  switch (f?.type) {
    case "integer": case "decimal": {
      const n = Number(raw.replace(/,/g, ""));
      return raw.trim() !== "" && isFinite(n) ? n : raw;
    }
    case "boolean":
      return raw === "true";
    default:
      return raw;
  }
}

export function valueText(v: unknown): string {
  if (v === undefined) return "";
  if (v === null) return "\u0000null";
  return typeof v === "string" ? v : JSON.stringify(v);
}

// moveIn moves the item at from so it lands before the item that was at to (a drop between rows).
export function moveIn<T>(list: T[], from: number, to: number): T[] {
  const out = list.slice();
  if (from < 0 || from >= out.length) return out;
  const [x] = out.splice(from, 1);
  out.splice(Math.max(0, Math.min(to > from ? to - 1 : to, out.length)), 0, x);
  return out;
}

// Turning A/B on copies the actions into variants A and B at 50/50; off keeps the first variant's actions.
export function withVariants(a: Automation, on: boolean): Automation {
  const next = { ...a };
  if (on) {
    const acts = a.actions ?? [];
    next.variants = [{ name: "A", weight: 50, actions: acts }, { name: "B", weight: 50, actions: structuredClone(acts) }];
    delete next.actions;
  } else {
    next.actions = a.variants?.[0]?.actions ?? [];
    delete next.variants;
  }
  return next;
}

export function percentages<T extends { weight: number }>(vs: T[]): number[] {
  const sum = vs.reduce((s, v) => s + Math.max(0, v.weight || 0), 0);
  return vs.map((v) => (sum > 0 ? Math.round((Math.max(0, v.weight || 0) * 1000) / sum) / 10 : 0));
}

export function nextVariantName<T extends { name: string }>(vs: T[]): string {
  for (let i = 0; ; i++) {
    const n = i < 26 ? String.fromCharCode(65 + i) : "V" + i;
    if (!vs.some((v) => v.name === n)) return n;
  }
}

// clean drops empty optional keys, so the document carries only what was set.
export function clean(a: Automation): Automation {
  const out: Automation = { ...a, trigger: { ...a.trigger } };
  for (const k of ["label", "role", "condition"] as const) if (!out[k]) delete out[k];
  const t = out.trigger as unknown as Record<string, unknown>;
  for (const k of Object.keys(t)) if (t[k] === undefined || t[k] === "") delete t[k];
  return out;
}

// Keys a trigger type carries; a type change drops the others.
const TRIGGER_KEYS: Record<TriggerType, (keyof Trigger)[]> = {
  created: [], updated: [], deleted: [],
  fieldChanged: ["field", "from", "to"],
  transition: ["flow", "transition"],
  schedule: ["cron", "timeZone", "filter"],
  timer: ["field", "offset", "unless"],
};

export function setTriggerType(t: Trigger, type: TriggerType, defaults: Partial<Trigger>): Trigger {
  const out: Trigger = { type };
  for (const k of TRIGGER_KEYS[type]) {
    const v = t[k] ?? defaults[k];
    if (v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  }
  return out;
}

// The document's flows (the "flows" section is raw JSON until flows land): names and labels.
export function flowsOf(doc: DDoc): { name: string; label: string; entity?: string; transitions: string[] }[] {
  const raw = (doc.flows as unknown[] | undefined) ?? [];
  return raw.flatMap((f) => {
    const o = f as { name?: string; label?: string; entity?: string; transitions?: { name?: string }[] };
    if (!o || typeof o.name !== "string") return [];
    return [{ name: o.name, label: o.label || o.name, entity: o.entity, transitions: (o.transitions ?? []).map((t) => t?.name ?? "").filter(Boolean) }];
  });
}

// Problems of automation i (or item i of another section, such as
// "assignments") by their pointer inside it ("/trigger/field",
// "/actions/0/entity"), ~1 and ~0 unescaped.
export function problemsOf(details: ErrorDetail[], i: number, section = "automations"): ErrorDetail[] {
  const prefix = `/${section}/${i}`;
  return details.filter((d) => d.path === prefix || d.path?.startsWith(prefix + "/"))
    .map((d) => ({ ...d, path: d.path.slice(prefix.length).replace(/~1/g, "/").replace(/~0/g, "~") }));
}

export function automationsWithProblems(details: ErrorDetail[], section = "automations"): Set<number> {
  const out = new Set<number>();
  const re = new RegExp(`^/${section}/(\\d+)(?:/|$)`);
  for (const d of details) {
    const m = re.exec(d.path ?? "");
    if (m) out.add(Number(m[1]));
  }
  return out;
}

// Pointers an input of the editor shows; anything else is listed at the top.
const PLACED = [
  /^\/(name|label|entity|role|condition)$/,
  /^\/trigger\/(type|field|from|to|flow|transition|cron|timeZone|filter|offset|unless)$/,
  /^(\/variants\/\d+)?\/actions\/\d+(\/(type|entity|message|url|function|rule|reassign))?$/,
  /^(\/variants\/\d+)?\/actions\/\d+\/(fields|to|messages)(\/.*)?$/,
  /^\/variants\/\d+\/(name|weight)$/,
];

export function isPlaced(path: string): boolean {
  return PLACED.some((re) => re.test(path));
}

// browserTimeZone is the user's zone (e.g. Asia/Shanghai), UTC when unknown.
export function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

const COMMON_ZONES = ["UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo", "Europe/London",
  "Europe/Berlin", "America/New_York", "America/Los_Angeles"];

export function timeZones(current?: string): string[] {
  let all: string[] = [];
  try {
    all = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  } catch {
    all = [];
  }
  const set = new Set([...COMMON_ZONES, ...all, browserTimeZone(), ...(current ? [current] : [])]);
  return [...set];
}

// parseFilterText reads back the filter text the visual builder writes
// (field op value, all joined by && or all by ||), so a saved condition
// opens in the builder; null for anything else (kept as text).
export function parseFilterText(fields: Field[], text: string): { join: "and" | "or"; conditions: { field: string; op: string; value: string | string[] }[] } | null {
  const s = text.trim();
  if (!s) return { join: "and", conditions: [] };
  const str = String.raw`"(?:[^"\\]|\\.)*"`;
  const re = new RegExp(String.raw`\s*(?:(&&|\|\|)|([A-Za-z_][\w.]*)\s*(!=|>=|<=|!~|=|>|<|~|in(?=[\s\[]))\s*(${str}|-?\d+(?:\.\d+)?|true|false|null|@me|\[(?:[^\]"]|${str})*\]))\s*`, "y");
  const conditions: { field: string; op: string; value: string | string[] }[] = [];
  let join: "and" | "or" | null = null;
  let expectCond = true;
  re.lastIndex = 0;
  while (re.lastIndex < s.length) {
    const m = re.exec(s);
    if (!m) return null;
    if (m[1]) {
      if (expectCond) return null;
      const j = m[1] === "&&" ? "and" : "or";
      if (join && join !== j) return null;
      join = j;
      expectCond = true;
      continue;
    }
    if (!expectCond) return null;
    const f = fields.find((x) => x.name === m[2]);
    if (!f) return null;
    const lit = m[4];
    let op = m[3];
    let value: string | string[] = "";
    try {
      if (lit === "null") {
        if (op !== "=" && op !== "!=") return null;
        op = op === "=" ? "empty" : "notEmpty";
      } else if (lit.startsWith("[")) {
        const items = (JSON.parse(lit) as unknown[]).map((x) => String(x));
        value = f.type === "select" ? items : items.join(", ");
      } else if (lit.startsWith('"')) {
        value = JSON.parse(lit) as string;
      } else value = lit;
    } catch {
      return null;
    }
    conditions.push({ field: f.name, op, value });
    expectCond = false;
  }
  if (expectCond && conditions.length) return null;
  return { join: join ?? "and", conditions };
}

// ---- keeping automations in step with the data model ----

// renameIdent renames the field `from` in filter or expression text (outside
// string literals; previous.FROM too).
export function renameIdent(text: string, from: string, to: string): string {
  const word = new RegExp(String.raw`(^|[^\w.]|previous\.)${from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\w])`, "g");
  return text.split(/("(?:[^"\\]|\\.)*")/).map((part, i) => (i % 2 ? part : part.replace(word, (_m, pre: string) => pre + to))).join("");
}

function renameTemplate(text: string, from: string, to: string): string {
  return text.replace(new RegExp(String.raw`\{\{\s*${from.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\s*\}\}`, "g"), `{{${to}}}`);
}

function mapActions(a: Automation, fn: (x: Action) => Action): Automation {
  const out = { ...a };
  if (a.actions) out.actions = a.actions.map(fn);
  if (a.variants) out.variants = a.variants.map((v) => ({ ...v, actions: v.actions.map(fn) }));
  return out;
}

// renameEntityInAutomations follows an entity rename: the rules on it and the records they create.
export function renameEntityInAutomations(doc: DDoc, from: string, to: string): DDoc {
  const list = automationsOf(doc);
  if (from === to || list.length === 0) return doc;
  return withAutomations(doc, list.map((a) => mapActions(a.entity === from ? { ...a, entity: to } : a,
    (x) => (x.type === "create" && x.entity === from ? { ...x, entity: to } : x))));
}

// renameFlowInAutomations follows a flow's rename, and a rename of one of
// its transitions (transition from → to; both undefined for the flow's
// own rename), into the transition triggers that name them.
export function renameFlowInAutomations(doc: DDoc, flow: { from: string; to: string }, transition?: { from: string; to: string }): DDoc {
  const list = automationsOf(doc);
  if (list.length === 0 || (flow.from === flow.to && (!transition || transition.from === transition.to))) return doc;
  let changed = false;
  const next = list.map((a) => {
    const tr = a.trigger;
    if (tr.type !== "transition" || tr.flow !== flow.from) return a;
    const name = transition && tr.transition === transition.from ? transition.to : tr.transition;
    changed = true;
    return { ...a, trigger: { ...tr, flow: flow.to, ...(name !== undefined ? { transition: name } : {}) } };
  });
  return changed ? withAutomations(doc, next) : doc;
}

// renameFieldInAutomations follows a field rename of entity: triggers,
// conditions, filters, the fields set or created, user-field recipients,
// templates and expressions.
export function renameFieldInAutomations(doc: DDoc, entity: string, from: string, to: string): DDoc {
  const list = automationsOf(doc);
  if (from === to || list.length === 0) return doc;
  const keys = (f: Record<string, unknown> | undefined) => (f ? Object.fromEntries(Object.entries(f).map(([k, v]) => [k === from ? to : k, v])) : f);
  const values = (f: Record<string, unknown> | undefined) => (f ? Object.fromEntries(Object.entries(f).map(([k, v]) => {
    const o = v as { expr?: unknown; template?: unknown } | null;
    if (o && typeof o === "object" && typeof o.expr === "string") return [k, { expr: renameIdent(o.expr, from, to) }];
    if (o && typeof o === "object" && typeof o.template === "string") return [k, { template: renameTemplate(o.template, from, to) }];
    return [k, v];
  })) : f);
  return withAutomations(doc, list.map((a) => {
    let b = a;
    if (a.entity === entity) {
      const tr = { ...a.trigger };
      if (tr.field === from) tr.field = to;
      for (const k of ["filter", "unless"] as const) if (tr[k]) tr[k] = renameIdent(tr[k]!, from, to);
      b = { ...a, trigger: tr, ...(a.condition ? { condition: renameIdent(a.condition, from, to) } : {}) };
      b = mapActions(b, (x) => {
        const y = { ...x };
        if (x.type === "set") y.fields = keys(values(x.fields));
        if (x.type === "create") y.fields = values(x.fields);
        if (x.message) y.message = renameTemplate(x.message, from, to);
        if (x.to?.fields) y.to = { ...x.to, fields: x.to.fields.map((f) => (f === from ? to : f)) };
        return y;
      });
    }
    return mapActions(b, (x) => (x.type === "create" && x.entity === entity ? { ...x, fields: keys(x.fields) } : x));
  }));
}

// pluginInputValue is how an input typed as text is stored: with a
// {{field}} placeholder it is a template, else the literal text.
export function pluginInputValue(text: string): ActionValue {
  return /\{\{\s*[\w.]+\s*\}\}/.test(text) ? { template: text } : text;
}

// pluginInputText is the text an input shows for a literal or a template.
export function pluginInputText(v: ActionValue): string {
  if (v && typeof v === "object" && !Array.isArray(v) && typeof (v as { template?: unknown }).template === "string") return (v as { template: string }).template;
  return v === undefined || v === null ? "" : typeof v === "string" ? v : String(v);
}
