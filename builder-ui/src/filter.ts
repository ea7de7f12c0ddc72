// The visual filter builder's model and the generator that writes it as
// Forma's filter language (README "Filter language"):
//   amount >= 1000 && stage in ["won", "lost"] && title ~ "acme" && closed_at = null
import type { Field, FieldType } from "./api";
import type { MessageKey } from "./i18n";

export type Op = "=" | "!=" | ">" | ">=" | "<" | "<=" | "~" | "!~" | "in" | "empty" | "notEmpty";

export interface Condition {
  field: string;
  op: Op;
  // Text as typed (numbers, dates, strings; a comma-separated list for "in"),
  // or the chosen options of a select for "in".
  value: string | string[];
}

export type Join = "and" | "or";

export interface FilterModel {
  join: Join;
  conditions: Condition[];
}

// The type a field filters as: computed fields filter as what they return.
export function filterType(f: Field): FieldType {
  if (f.type === "formula" || f.type === "rollup") {
    if (f.type === "rollup" && !f.returns) return "decimal";
    return f.returns ?? "decimal";
  }
  return f.type;
}

const num: Op[] = ["=", "!=", ">", ">=", "<", "<=", "in", "empty", "notEmpty"];
const text: Op[] = ["~", "!~", "=", "!=", "in", "empty", "notEmpty"];

export function operatorsFor(f: Field): Op[] {
  switch (filterType(f)) {
    case "text": case "longtext": case "email": case "phone": case "url": case "file":
      return text;
    case "integer": case "decimal": case "autonumber":
      return num;
    case "date": case "datetime":
      return ["=", "!=", ">", ">=", "<", "<=", "empty", "notEmpty"];
    case "boolean":
      return ["=", "!=", "empty", "notEmpty"];
    case "select":
      return ["=", "!=", "in", "empty", "notEmpty"];
    case "multiselect":
      return ["~", "!~", "empty", "notEmpty"];
    case "ref": case "user":
      return ["=", "!=", "in", "empty", "notEmpty"];
    default: // json
      return ["empty", "notEmpty"];
  }
}

export function operatorLabel(f: Field, op: Op): MessageKey {
  const t = filterType(f);
  const dated = t === "date" || t === "datetime";
  switch (op) {
    case "=": return "op.eq";
    case "!=": return "op.ne";
    case ">": return dated ? "op.after" : "op.gt";
    case ">=": return dated ? "op.onOrAfter" : "op.ge";
    case "<": return dated ? "op.before" : "op.lt";
    case "<=": return dated ? "op.onOrBefore" : "op.le";
    case "~": return t === "multiselect" ? "op.hasOption" : "op.contains";
    case "!~": return t === "multiselect" ? "op.lacksOption" : "op.notContains";
    case "in": return "op.in";
    case "empty": return "op.empty";
    case "notEmpty": return "op.notEmpty";
  }
}

// quote writes s as a double-quoted filter string: backslashes and quotes are
// escaped, and so are control characters (which the lexer would otherwise
// keep raw, but which are easier to read escaped).
export function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    switch (ch) {
      case "\\": out += "\\\\"; break;
      case '"': out += '\\"'; break;
      case "\n": out += "\\n"; break;
      case "\r": out += "\\r"; break;
      case "\t": out += "\\t"; break;
      default: {
        const c = ch.codePointAt(0)!;
        out += c < 0x20 || c === 0x7f ? "\\u" + c.toString(16).padStart(4, "0") : ch;
      }
    }
  }
  return out + '"';
}

const numberRe = /^-?(\d+(\.\d*)?|\.\d+)$/;
const dateRe = /^\d{4}-\d{2}-\d{2}$/;

export type ConditionProblem = "incomplete" | "invalidNumber";

// literal writes one value for a field, or returns a problem.
function literal(f: Field, raw: string): string | ConditionProblem {
  const t = filterType(f);
  const v = raw.trim();
  switch (t) {
    case "integer": case "decimal": case "autonumber": {
      if (v === "") return "incomplete";
      const n = v.replace(/,/g, "");
      if (!numberRe.test(n)) return "invalidNumber";
      return n.startsWith(".") ? "0" + n : n.startsWith("-.") ? "-0" + n.slice(1) : n;
    }
    case "boolean":
      if (v === "true" || v === "false") return v;
      return "incomplete";
    case "date":
      return dateRe.test(v) ? quote(v) : "incomplete";
    case "datetime":
      return v === "" ? "incomplete" : quote(v);
    case "user": case "ref":
      if (v === "") return "incomplete";
      return v === "@me" && t === "user" ? "@me" : quote(v);
    default:
      // Text values keep their spaces: "acme " is not "acme".
      return raw === "" ? "incomplete" : quote(raw);
  }
}

// splitList splits a typed "in" list on commas; empty items are dropped.
export function splitList(s: string): string[] {
  return s.split(",").map((x) => x.trim()).filter((x) => x !== "");
}

export interface ConditionResult {
  text?: string;
  problem?: ConditionProblem;
}

export function conditionText(fields: Field[], c: Condition): ConditionResult {
  const f = fields.find((x) => x.name === c.field);
  if (!f) return { problem: "incomplete" };
  if (!operatorsFor(f).includes(c.op)) return { problem: "incomplete" };
  if (c.op === "empty") return { text: `${f.name} = null` };
  if (c.op === "notEmpty") return { text: `${f.name} != null` };
  if (c.op === "in") {
    const items = Array.isArray(c.value) ? c.value : splitList(c.value);
    if (items.length === 0) return { problem: "incomplete" };
    const lits: string[] = [];
    for (const it of items) {
      const l = literal(f, it);
      if (l === "incomplete" || l === "invalidNumber") return { problem: l };
      lits.push(l);
    }
    return { text: `${f.name} in [${lits.join(", ")}]` };
  }
  const raw = Array.isArray(c.value) ? (c.value[0] ?? "") : c.value;
  const l = literal(f, raw);
  if (l === "incomplete" || l === "invalidNumber") return { problem: l };
  return { text: `${f.name} ${c.op} ${l}` };
}

// filterText joins the complete conditions with && or ||; incomplete ones
// are left out (the builder marks them). No conditions → "".
export function filterText(fields: Field[], model: FilterModel): string {
  const parts: string[] = [];
  for (const c of model.conditions) {
    const r = conditionText(fields, c);
    if (r.text) parts.push(r.text);
  }
  return parts.join(model.join === "or" ? " || " : " && ");
}

// defaultCondition picks a sensible first operator for a field.
export function defaultCondition(f: Field): Condition {
  const op = operatorsFor(f)[0];
  return { field: f.name, op, value: filterType(f) === "boolean" ? "true" : "" };
}

// Fields that can be filtered on, including the system columns.
export function filterableFields(fields: Field[]): Field[] {
  return [...fields, ...systemFields()];
}

export function systemFields(): Field[] {
  return [
    { id: "_id", name: "id", type: "text" },
    { id: "_created_at", name: "created_at", type: "datetime" },
    { id: "_updated_at", name: "updated_at", type: "datetime" },
    { id: "_created_by", name: "created_by", type: "user" },
    { id: "_owner", name: "owner", type: "user" },
  ];
}
