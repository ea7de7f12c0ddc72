// The pieces of the formula and condition editor that are not React: what
// the formula and filter languages offer (helpers, operators), the word
// being typed at the cursor, the suggestions for it, and the server's check.
import { api } from "./api";

export type ExprMode = "formula" | "filter";

// One entry of the editor's function list: the helper (or operator), how it
// is called, an example, and what the editor inserts. Its one-line
// description is the message "expr.fn.<key>" in each language.
export interface FnDoc {
  key: string;
  sig: string;
  example: string;
  insert: string;
}

const fn = (name: string, args: string, example: string): FnDoc => ({ key: name, sig: `${name}(${args})`, example, insert: name + "(" });

// The helpers of engine/script's library (README "Helpers"), which formulas
// and validation rules call.
export const FORMULA_FUNCTIONS: FnDoc[] = [
  fn("round", "x, digits", "round(amount * 1.13, 2)"),
  fn("floor", "x, digits", "floor(amount, 0)"),
  fn("ceil", "x, digits", "ceil(qty / 12)"),
  fn("abs", "x", "abs(balance)"),
  fn("min", "a, b, …", "min(discount, 30)"),
  fn("max", "a, b, …", "max(amount - paid, 0)"),
  fn("sum", "a, b, …", "sum(q1, q2, q3, q4)"),
  fn("coalesce", "a, b, …", "coalesce(discount, 0)"),
  fn("percent", "part, whole, digits", "percent(won, total)"),
  fn("concat", "a, b, …", "concat(city, \" · \", name)"),
  fn("upper", "text", "upper(code)"),
  fn("lower", "text", "lower(email)"),
  fn("trim", "text", "trim(name)"),
  fn("len", "x", "len(notes)"),
  fn("left", "text, n", "left(phone, 3)"),
  fn("right", "text, n", "right(phone, 4)"),
  fn("padLeft", "text, n, char", "padLeft(number, 6, \"0\")"),
  fn("contains", "text, part", "contains(name, \"静安\")"),
  fn("startsWith", "text, part", "startsWith(code, \"SH\")"),
  fn("endsWith", "text, part", "endsWith(email, \".cn\")"),
  fn("isBlank", "x", "isBlank(phone)"),
  fn("today", "", "today()"),
  fn("now", "", "now()"),
  fn("addDays", "date, n", "addDays(signed_on, 30)"),
  fn("addMonths", "date, n", "addMonths(start, 12)"),
  fn("daysBetween", "a, b", "daysBetween(created_at, today())"),
  fn("year", "date", "year(close_date)"),
  fn("month", "date", "month(close_date)"),
  fn("day", "date", "day(close_date)"),
  fn("weekday", "date", "weekday(visit_on)"),
  fn("startOfMonth", "date", "startOfMonth(today())"),
  fn("endOfMonth", "date", "endOfMonth(close_date)"),
  fn("dateOf", "datetime", "dateOf(created_at)"),
];

const op = (key: string, sig: string, example: string, insert = sig): FnDoc => ({ key, sig, example, insert });

// Formula operators beside the helpers (a formula is a JavaScript expression).
export const FORMULA_OPERATORS: FnDoc[] = [
  op("arith", "+ - * /", "qty * price", " * "),
  op("eq", "==  !=", "stage == \"won\"", " == "),
  op("cmp", ">  >=  <  <=", "amount >= 1000", " >= "),
  op("and", "&&", "paid && shipped", " && "),
  op("or", "||", "vip || amount > 10000", " || "),
  op("if", "? :", "amount > 1000 ? \"big\" : \"small\"", " ? "),
  op("null", "null", "discount == null", "null"),
];

// The filter language's operators (engine/filter): it has no functions.
export const FILTER_OPERATORS: FnDoc[] = [
  op("f_eq", "=", "stage = \"won\"", " = "),
  op("f_ne", "!=", "stage != \"lost\"", " != "),
  op("f_cmp", ">  >=  <  <=", "amount >= 1000", " >= "),
  op("f_contains", "~", "name ~ \"静安\"", " ~ "),
  op("f_notcontains", "!~", "name !~ \"test\"", " !~ "),
  op("f_in", "in [ ]", "stage in [\"won\", \"lost\"]", " in []"),
  op("f_and", "&&", "amount > 0 && stage = \"won\"", " && "),
  op("f_or", "||", "stage = \"won\" || stage = \"lost\"", " || "),
  op("f_not", "!", "!(stage = \"lost\")", "!("),
  op("f_null", "null", "closed_on = null", "null"),
  op("f_me", "@me", "owner = @me", "@me"),
];

// A field the editor offers: its API name (what is inserted) and what the
// user reads (its label, "Account › Tier" for a field of a reference).
export interface Offer {
  insert: string;
  label: string;
  type: string;
  kind: "field" | "function";
}

// labelIn (a label in the user's language) lives in labels.ts.
export { labelIn } from "./labels";

// wordAt finds the word being typed before the cursor: letters of any
// script, digits, _ $ and dots (ref.field). Inside a string literal there is
// none (a value is being typed, not a name).
export function wordAt(text: string, cursor: number): { start: number; word: string } | null {
  const before = text.slice(0, cursor);
  let quote = "";
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
  }
  if (quote) return null;
  const m = /[\p{L}\p{N}_$.]+$/u.exec(before);
  if (!m || /^\p{N}/u.test(m[0])) return null;
  return { start: cursor - m[0].length, word: m[0] };
}

// suggest ranks the offers for a typed word: names and labels that start
// with it first, then those that contain it; case does not matter.
export function suggest(offers: Offer[], word: string, limit = 8): Offer[] {
  const w = word.toLowerCase();
  if (!w) return [];
  const score = (o: Offer): number => {
    const n = o.insert.toLowerCase(), l = o.label.toLowerCase();
    if (n === w) return -1; // typed in full: nothing to offer
    if (n.startsWith(w) || l.startsWith(w)) return 0;
    if (l.includes(w) || n.includes(w)) return 1;
    return 2;
  };
  return offers.map((o) => [score(o), o] as const).filter(([s]) => s >= 0 && s < 2)
    .sort((a, b) => a[0] - b[0]).slice(0, limit).map(([, o]) => o);
}

// utf16Index converts the server's offset (Unicode code points) to an
// index into a JavaScript string.
export function utf16Index(text: string, codePoints: number): number {
  let i = 0;
  for (let n = 0; n < codePoints && i < text.length; n++) {
    const c = text.charCodeAt(i);
    i += c >= 0xd800 && c < 0xdc00 && i + 1 < text.length ? 2 : 1;
  }
  return i;
}

// The answer of POST /api/meta/apps/{app}/expressions/check.
export interface ExprProblem {
  code: string;
  message: string;
  params?: Record<string, unknown>;
  offset: number;
  length: number;
}

export interface ExprResult {
  ok: boolean;
  problems: ExprProblem[];
  fields: string[];
  preview?: { value?: unknown; matches?: boolean; count?: number; error?: string };
}

export interface ExprCheckBody {
  entity: string;
  mode: ExprMode;
  expr: string;
  scope?: "list" | "document" | "role";
  field?: string;
  draft?: boolean;
  recordId?: string;
  count?: boolean;
}

export function checkExpression(app: string, body: ExprCheckBody): Promise<ExprResult> {
  return api.checkExpression(app, body) as Promise<ExprResult>;
}
