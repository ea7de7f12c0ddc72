// Field helpers shared by the list, the form and the history: labels,
// read-only rules, display, and conversions between API values and inputs.
import type { Entity, Field } from "./api";
import type { I18n, MessageKey } from "./i18n";
import { labelIn, optionLabel, type StateLike } from "./labels";

export const SYSTEM_COLUMNS = ["id", "created_at", "updated_at", "created_by", "owner", "version"] as const;

export function isSystem(name: string): boolean {
  return (SYSTEM_COLUMNS as readonly string[]).includes(name);
}

export function isComputed(f: Field): boolean {
  return f.type === "formula" || f.type === "rollup" || f.type === "autonumber";
}

// fieldLabel and entityLabel are labels in lang when given (labels[lang],
// else label, else the name).
export function fieldLabel(f: Field, lang?: string): string {
  return lang ? labelIn(f, lang) : f.label || f.name;
}

export function entityLabel(e: Entity, lang?: string): string {
  return lang ? labelIn(e, lang) : e.label || e.name;
}

export function columnLabel(name: string, fields: Field[], t: I18n["t"], lang?: string): string {
  const f = fields.find((x) => x.name === name);
  if (f) return fieldLabel(f, lang);
  if (isSystem(name)) return t(("sys." + name) as MessageKey);
  return name;
}

// The type a value is shown as (computed fields show what they return).
export function valueType(f: Field): Field["type"] {
  if (f.type === "formula" || f.type === "rollup") return f.returns ?? "decimal";
  return f.type;
}

// The first field a ref picker searches and labels a record with.
export function labelField(e: Entity | undefined): Field | undefined {
  if (!e) return undefined;
  return e.fields.find((f) => f.type === "text") ?? e.fields.find((f) => ["email", "phone", "url", "longtext"].includes(f.type));
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

// toLocalInput turns an RFC 3339 instant into a datetime-local input value
// in the user's time zone ("2026-11-21T09:30"; seconds only when set).
export function toLocalInput(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return "";
  let s = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.getSeconds()) s += ":" + pad(d.getSeconds());
  return s;
}

// fromLocalInput turns a datetime-local value (local time) into RFC 3339
// with the local offset: "2026-11-21T09:30:00+08:00".
export function fromLocalInput(local: string): string | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(local);
  if (!m) return null;
  const d = new Date(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0));
  if (isNaN(d.getTime())) return null;
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? "+" : "-";
  const a = Math.abs(off);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

// displayValue shows a value; a select's or multiselect's options by their
// label in i18n.lang (optionLabels, else the flow states' labels, else the value).
export function displayValue(f: Field | undefined, v: unknown, i18n: Pick<I18n, "t" | "date" | "dateTime"> & { lang?: string }, states?: StateLike[]): string {
  if (v === null || v === undefined || v === "") return i18n.t("common.empty");
  const type = f ? valueType(f) : undefined;
  switch (type) {
    case "decimal":
      return typeof v === "number" || typeof v === "string" ? formatMoney(v, f?.scale ?? 2, i18n.lang ?? "en", f?.currency) : String(v);
    case "integer":
      // An integer is money only with a currency; otherwise (a year, a code) it stays as written.
      return f?.currency && (typeof v === "number" || typeof v === "string") ? formatMoney(v, 0, i18n.lang ?? "en", f.currency) : String(v);
    case "boolean":
      return v ? i18n.t("common.yes") : i18n.t("common.no");
    case "date":
      return typeof v === "string" ? i18n.date(v) : String(v);
    case "datetime":
      return typeof v === "string" ? i18n.dateTime(v) : String(v);
    case "select":
      return i18n.lang ? optionLabel(f, v, i18n.lang, states) : String(v);
    case "multiselect":
      if (!i18n.lang) return Array.isArray(v) ? v.join(", ") : String(v);
      return Array.isArray(v) ? v.map((o) => optionLabel(f, o, i18n.lang!, states)).join(", ") : optionLabel(f, v, i18n.lang, states);
    case "json":
      return JSON.stringify(v);
  }
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// formatDecimal shows a decimal with its scale's places ("3000.50"); the API
// sends decimals as exact JSON numbers, which JavaScript reads as floats.
export function formatDecimal(v: number | string, scale: number): string {
  const n = typeof v === "number" ? v : Number(v);
  if (!Number.isFinite(n) || Math.abs(n) >= 1e21) return String(v);
  return n.toFixed(Math.min(Math.max(scale, 0), 20));
}

// formatMoney shows a decimal with thousands separators and its scale's
// places in the user's language ("3,000.50"), with the field's currency
// when it has one ("¥3,000.50"). The value is formatted from its decimal
// text, so large exact values keep their digits.
export function formatMoney(v: number | string, scale: number, lang: string, currency?: string): string {
  const digits = Math.min(Math.max(scale, 0), 20);
  const text = typeof v === "number" ? String(v) : v.trim();
  if (!/^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(text)) return String(v);
  try {
    const nf = new Intl.NumberFormat(lang, {
      minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: true,
      ...(currency ? { style: "currency", currency } : {}),
    });
    return nf.format(text as unknown as number); // a decimal string is formatted exactly
  } catch {
    return formatDecimal(v, scale);
  }
}

// currencySign is how the user's language writes a currency's sign
// ("¥", "US$", "€"), for the prefix of a money input; the code itself when
// the browser does not know it.
export function currencySign(lang: string, currency: string): string {
  try {
    const part = new Intl.NumberFormat(lang, { style: "currency", currency }).formatToParts(0).find((p) => p.type === "currency");
    return part?.value ?? currency;
  } catch {
    return currency;
  }
}

export function displaySystem(name: string, v: unknown, i18n: Pick<I18n, "t" | "date" | "dateTime">): string {
  if (v === null || v === undefined || v === "") return i18n.t("common.empty");
  if ((name === "created_at" || name === "updated_at") && typeof v === "string") return i18n.dateTime(v);
  return String(v);
}

// Form state per field: what the input holds.
export type InputValue = string | boolean | string[];

export function toInput(f: Field, v: unknown): InputValue {
  switch (f.type) {
    case "boolean":
      return v === true;
    case "multiselect":
      return Array.isArray(v) ? v.map(String) : [];
    case "datetime":
      return typeof v === "string" ? toLocalInput(v) : "";
    case "json":
      return v === undefined || v === null ? "" : JSON.stringify(v, null, 2);
    case "decimal":
      return typeof v === "number" || typeof v === "string" ? formatDecimal(v, f.scale ?? 2) : "";
    default:
      return v === undefined || v === null ? "" : String(v);
  }
}

export type Converted = { value: unknown } | { error: MessageKey };

// fromInput turns an input's state into the JSON value sent to the API.
// Empty inputs are null; decimals are sent as strings (exact).
export function fromInput(f: Field, iv: InputValue): Converted {
  switch (f.type) {
    case "boolean":
      return { value: iv === true };
    case "multiselect":
      return { value: Array.isArray(iv) ? iv : [] };
    case "integer": {
      const s = String(iv).trim();
      if (s === "") return { value: null };
      if (!/^-?\d+$/.test(s)) return { error: "form.invalidNumber" };
      const n = Number(s);
      return Number.isSafeInteger(n) ? { value: n } : { value: s };
    }
    case "decimal": {
      const s = String(iv).trim();
      if (s === "") return { value: null };
      if (!/^-?(\d+(\.\d*)?|\.\d+)$/.test(s)) return { error: "form.invalidNumber" };
      return { value: s };
    }
    case "datetime": {
      const s = String(iv);
      if (s === "") return { value: null };
      const r = fromLocalInput(s);
      return r ? { value: r } : { error: "form.invalidDate" };
    }
    case "json": {
      const s = String(iv).trim();
      if (s === "") return { value: null };
      try {
        return { value: JSON.parse(s) };
      } catch {
        return { error: "form.invalidJson" };
      }
    }
    default: {
      const s = String(iv);
      return { value: s === "" ? null : s };
    }
  }
}

export function sameInput(a: InputValue, b: InputValue): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}
