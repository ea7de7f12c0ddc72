// Problems the server returns carry a stable code and params (field,
// limit, value …) besides their English message: problemText words them in
// the user's language with the field's label. The codes are the records
// service's (engine/records/codes.go) and the app checks' (schema/codes.go,
// whose Codes lists them all). Unknown codes, and rules whose message the
// designer wrote, keep the server's message.
import type { ErrorDetail } from "./api";
import type { I18n, MessageKey } from "./i18n";

export interface Problem extends ErrorDetail {
  code?: string;
  params?: Record<string, unknown>;
}

export const CODES = [
  // A record's values (the records service).
  "required", "type", "max_length", "min", "max", "scale", "digits", "out_of_range", "option", "format",
  "invalid_text", "invalid_id", "ref_missing", "unknown_field", "read_only", "duplicate_value", "formula",
  // An app document (schema.Check, the publish checks, the API's own checks).
  "unknown_entity", "unknown_role", "unknown_script", "unknown_param", "unknown_value", "duplicate_name",
  "duplicate_id", "duplicate_item", "invalid_name", "id_format", "name_too_long", "not_applicable", "computed",
  "range", "min_length", "min_items", "max_items", "precision", "number", "invalid_json", "expression",
  "ref_depth", "not_a_ref", "rollup", "returns", "cycle", "reader_rollup", "on_delete", "hook", "system_field",
  "placed_twice", "layout", "validation", "automation", "not_writable", "recipient", "dashboard", "group_by",
  "reserved_param", "admin_role", "id_not_hideable", "pattern", "dotted_name", "ref_target_unreadable",
  "ref_target_partly_readable", "clock_variable", "choose_one", "script", "url", "totals", "same_user",
  "inactive_user", "destructive", "unique_conflict", "conversion", "table_exists", "currency", "flow",
  "assignment", "unknown_assignment", "duplicate", "matching",
  // A plugin's manifest (schema/plugins_check.go).
  "host", "json_schema",
  // An app's connectors and plugin actions (schema/connectors_check.go, engine/plugin CheckApp).
  "connector", "unknown_plugin", "unknown_plugin_action", "plugin_input",
  // Template installs (engine/api/templates.go).
  "app_exists", "template_not_found", "no_sample_recipe", "sample_failed",
] as const;

// str is a param as text: lists joined, nothing as "".
function str(v: unknown): string {
  if (v === undefined || v === null) return "";
  if (Array.isArray(v)) return v.map(str).join(", ");
  return String(v);
}

export function problemText(p: Problem, t: I18n["t"], label: (field: string) => string): string {
  const code = p.code as (typeof CODES)[number] | undefined;
  if (!code || !CODES.includes(code)) return p.message;
  const params = p.params ?? {};
  const vars: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) vars[k] = str(v);
  // The subject: the field's label, else the key the problem is about, else "this value".
  vars.field = typeof params.field === "string" ? label(params.field)
    : typeof params.key === "string" ? params.key : t("problem.this");
  if (typeof params.target === "string") vars.target = params.target;
  vars.limit = str(params.limit);
  vars.options = str(params.options);
  vars.format = str(params.format ?? params.type);
  vars.message = p.message;
  return t(("problem." + code) as MessageKey, vars);
}
