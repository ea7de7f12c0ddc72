// Problems the server returns carry a stable code and params (field,
// limit, value …) besides their English message: problemText words them in
// the user's language with the field's label. Unknown codes, and rules whose
// message the designer wrote, keep the server's message.
import type { ErrorDetail } from "./api";
import type { I18n, MessageKey } from "./i18n";

export interface Problem extends ErrorDetail {
  code?: string;
  params?: Record<string, unknown>;
}

const CODES = ["required", "type", "max_length", "min", "max", "scale", "digits", "out_of_range", "option", "format",
  "invalid_text", "invalid_id", "ref_missing", "unknown_field", "read_only", "duplicate_value", "formula"] as const;

export function problemText(p: Problem, t: I18n["t"], label: (field: string) => string): string {
  const code = p.code as (typeof CODES)[number] | undefined;
  if (!code || !CODES.includes(code)) return p.message;
  const params = p.params ?? {};
  const field = typeof params.field === "string" ? label(params.field) : "";
  const limit = params.limit === undefined ? "" : String(params.limit);
  const options = Array.isArray(params.options) ? params.options.join(", ") : "";
  return t(("problem." + code) as MessageKey, { field, limit, options, format: String(params.format ?? "") });
}
