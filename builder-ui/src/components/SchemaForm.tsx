// A form generated from a plugin's JSON Schema (its settings, or an
// action's input): one input per property by its type — text, number,
// integer, a yes/no box, a select for an enum, a list of texts (one per
// line) for an array of strings, JSON for anything else — with the
// schema's title, description and required mark. Problems the server
// placed at a property's pointer show under it.
import { useState } from "react";
import { useI18n } from "../i18n";
import { enumValue, type JSONSchema, type SchemaField } from "../plugins";

export function SchemaForm({ schema, fields, values, onChange, testId, problems }: {
  schema: JSONSchema | undefined; fields: SchemaField[]; values: Record<string, unknown>; onChange: (v: Record<string, unknown>) => void;
  testId: string; problems?: (name: string) => string[];
}) {
  const { t } = useI18n();
  if (fields.length === 0) return <p className="muted small" data-testid={`${testId}-empty`}>{t("plugins.noFields")}</p>;
  return (
    <div className="schema-form" data-testid={testId}>
      {fields.map((f) => {
        const msgs = problems?.(f.name) ?? [];
        return (
          <label key={f.name} className="field">
            <span className="field-label">{f.title}{f.required && <span className="req" aria-label={t("plugins.required")}> *</span>}</span>
            <SchemaInput field={f} schema={schema?.properties?.[f.name]} value={values[f.name]} testId={`${testId}-${f.name}`}
              invalid={msgs.length > 0} onChange={(v) => onChange({ ...values, [f.name]: v })} />
            {f.description && <span className="muted small">{f.description}</span>}
            {msgs.map((m, i) => <span key={i} className="field-error" data-testid={`${testId}-${f.name}-problem`}>{m}</span>)}
          </label>
        );
      })}
    </div>
  );
}

export function SchemaInput({ field, schema, value, onChange, testId, invalid }: {
  field: SchemaField; schema: JSONSchema | undefined; value: unknown; onChange: (v: unknown) => void; testId: string; invalid?: boolean;
}) {
  const { t } = useI18n();
  const s = value === undefined || value === null ? "" : typeof value === "string" ? value : field.kind === "json" ? JSON.stringify(value) : String(value);
  const aria = { "aria-invalid": invalid || undefined, "aria-required": field.required || undefined };
  switch (field.kind) {
    case "boolean":
      return <input type="checkbox" checked={value === true} data-testid={testId} {...aria} onChange={(e) => onChange(e.target.checked)} />;
    case "enum":
      return (
        <select value={s} data-testid={testId} {...aria} onChange={(e) => onChange(e.target.value === "" ? undefined : enumValue(schema, e.target.value))}>
          {(!field.required || s === "") && <option value="">{field.required ? t("plugins.choose") : "—"}</option>}
          {(field.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      );
    case "number": case "integer":
      return <input type="number" step={field.kind === "integer" ? 1 : "any"} value={s} data-testid={testId} {...aria}
        onChange={(e) => onChange(e.target.value === "" ? undefined : field.kind === "integer" ? Math.trunc(Number(e.target.value)) : Number(e.target.value))} />;
    case "strings":
      return <StringsInput value={Array.isArray(value) ? value.map(String) : []} testId={testId} invalid={invalid} onChange={onChange} />;
    case "text":
      return <textarea rows={4} value={s} data-testid={testId} {...aria} onChange={(e) => onChange(e.target.value)} />;
    case "json":
      return <JSONInput value={value} testId={testId} invalid={invalid} onChange={onChange} />;
    default:
      return <input value={s} data-testid={testId} {...aria} onChange={(e) => onChange(e.target.value)} />;
  }
}

// StringsInput: one text per line (empty lines dropped).
function StringsInput({ value, onChange, testId, invalid }: { value: string[]; onChange: (v: unknown) => void; testId: string; invalid?: boolean }) {
  const { t } = useI18n();
  const [text, setText] = useState(value.join("\n"));
  return (
    <>
      <textarea rows={Math.max(2, Math.min(6, value.length + 1))} value={text} data-testid={testId} aria-invalid={invalid || undefined}
        onChange={(e) => {
          setText(e.target.value);
          onChange(e.target.value.split("\n").map((x) => x.trim()).filter(Boolean));
        }} />
      <span className="muted small">{t("plugins.onePerLine")}</span>
    </>
  );
}

// JSONInput keeps the text while it does not parse (and says so).
function JSONInput({ value, onChange, testId, invalid }: { value: unknown; onChange: (v: unknown) => void; testId: string; invalid?: boolean }) {
  const { t } = useI18n();
  const [text, setText] = useState(value === undefined ? "" : JSON.stringify(value, null, 2));
  const [bad, setBad] = useState(false);
  return (
    <>
      <textarea className="mono" rows={3} value={text} data-testid={testId} aria-invalid={invalid || bad || undefined}
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === "") {
            setBad(false);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setBad(false);
          } catch {
            setBad(true);
          }
        }} />
      {bad && <span className="field-error">{t("plugins.badJSON")}</span>}
    </>
  );
}
