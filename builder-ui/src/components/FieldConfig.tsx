// The designer's config panel for one field: label, name, flags and the
// options of its type. Edits go straight into the document.
import { useEffect, useState } from "react";
import type { AppDocument, FieldType } from "../api";
import { ExpressionEditor } from "./ExpressionEditor";
import { useI18n } from "../i18n";
import { nameFromLabel, uniqueName, usePinyin } from "../designer/naming";
import {
  COMPUTED, FIELD_TYPES, formatDefault, NAME_RE, NUMERIC, ON_DELETE, parseDefault, RETURN_TYPES, ROLLUP_OPS, rollupCandidates,
  TEXT_LIKE, type DDoc, type DField, type Rollup,
} from "../designer/model";

// CURRENCIES are offered for money fields; a document may name any other
// ISO 4217 code (the server checks it), which is then offered too.
export const CURRENCIES = ["CNY", "USD", "EUR", "HKD", "TWD", "JPY", "KRW", "SGD", "GBP", "AUD", "CAD", "CHF"];

// CurrencySelect makes a number money: its currency, named in the user's language.
function CurrencySelect({ value, onChange }: { value: string | undefined; onChange: (c: string | undefined) => void }) {
  const { t, lang } = useI18n();
  const name = (c: string) => {
    try {
      return `${new Intl.DisplayNames(lang, { type: "currency" }).of(c) ?? c} (${c})`;
    } catch {
      return c;
    }
  };
  const codes = value && !CURRENCIES.includes(value) ? [value, ...CURRENCIES] : CURRENCIES;
  return (
    <label className="field">
      <span className="field-label">{t("design.currency")}</span>
      <select value={value ?? ""} data-testid="config-currency" onChange={(e) => onChange(e.target.value || undefined)}>
        <option value="">{t("design.currencyNone")}</option>
        {codes.map((c) => <option key={c} value={c}>{name(c)}</option>)}
      </select>
    </label>
  );
}

function NumInput({ value, onChange, testId, label, integer }: {
  value: number | string | undefined; onChange: (n: number | undefined) => void; testId: string; label: string; integer?: boolean;
}) {
  const { t } = useI18n();
  const [text, setText] = useState(value === undefined ? "" : String(value));
  useEffect(() => {
    setText((cur) => (cur.trim() === "" ? value === undefined : Number(cur) === Number(value)) ? cur : value === undefined ? "" : String(value));
  }, [value]);
  const n = Number(text);
  const bad = text.trim() !== "" && (!isFinite(n) || (integer && !Number.isInteger(n)));
  return (
    <label className="field">
      <span className="field-label">{label}</span>
      <input inputMode={integer ? "numeric" : "decimal"} value={text} data-testid={testId} aria-invalid={bad || undefined}
        onChange={(e) => {
          const v = e.target.value;
          setText(v);
          const m = Number(v);
          if (v.trim() === "") onChange(undefined);
          else if (isFinite(m) && (!integer || Number.isInteger(m))) onChange(m);
        }} />
      {bad && <span className="field-error">{t("form.invalidNumber")}</span>}
    </label>
  );
}

function OptionsEditor({ options, onChange }: { options: string[] | undefined; onChange: (o: string[] | undefined) => void }) {
  const { t } = useI18n();
  const [text, setText] = useState((options ?? []).join("\n"));
  useEffect(() => {
    setText((cur) => (parse(cur).join("\n") === (options ?? []).join("\n") ? cur : (options ?? []).join("\n")));
  }, [options]);
  function parse(s: string) {
    return s.split("\n").map((l) => l.trim()).filter(Boolean);
  }
  const list = parse(text);
  const dup = list.find((o, i) => list.indexOf(o) !== i);
  return (
    <label className="field">
      <span className="field-label">{t("design.options")}</span>
      <textarea rows={5} value={text} data-testid="config-options" onChange={(e) => {
        setText(e.target.value);
        const o = parse(e.target.value);
        onChange(o.length ? o : undefined);
      }} />
      <span className="muted small">{t("design.optionsHint")}</span>
      {dup && <span className="field-error">{t("design.optionDuplicate", { option: dup })}</span>}
    </label>
  );
}

function DefaultEditor({ field, onChange }: { field: DField; onChange: (v: unknown) => void }) {
  const { t } = useI18n();
  const [text, setText] = useState(formatDefault(field.default, field.type));
  useEffect(() => {
    setText((cur) => (JSON.stringify(parseDefault(cur, field.type)) === JSON.stringify(field.default) ? cur : formatDefault(field.default, field.type)));
  }, [field.default, field.type]);
  const label = <span className="field-label">{t("design.default")}</span>;
  if (field.type === "boolean" || field.type === "select") {
    const opts = field.type === "boolean" ? ["true", "false"] : field.options ?? [];
    return (
      <label className="field">
        {label}
        <select value={formatDefault(field.default, field.type)} data-testid="config-default"
          onChange={(e) => onChange(parseDefault(e.target.value, field.type))}>
          <option value="">{t("form.none")}</option>
          {opts.map((o) => <option key={o} value={o}>{field.type === "boolean" ? t(o === "true" ? "common.yes" : "common.no") : o}</option>)}
        </select>
      </label>
    );
  }
  const bad = text !== "" && parseDefault(text, field.type) === null;
  return (
    <label className="field">
      {label}
      <input value={text} data-testid="config-default" aria-invalid={bad || undefined}
        placeholder={field.type === "multiselect" ? '["a", "b"]' : field.type === "date" ? "2026-01-31" : undefined}
        onChange={(e) => {
          setText(e.target.value);
          const v = parseDefault(e.target.value, field.type);
          if (v !== null) onChange(v);
        }} />
      {bad && <span className="field-error">{t("design.defaultInvalid")}</span>}
    </label>
  );
}

export function FieldConfig({ doc, entityIndex, field, errors, onChange, onType, onDelete, published }: {
  doc: DDoc;
  published?: boolean; // the field is in the published version: its name stays unless edited
  entityIndex: number;
  field: DField;
  errors: string[];
  onChange: (patch: Partial<DField>) => void;
  onType: (t: FieldType) => void;
  onDelete: () => void;
}) {
  const { t } = useI18n();
  const pinyinReady = usePinyin();
  const entity = doc.entities[entityIndex];
  const nameTaken = entity.fields.some((f) => f.id !== field.id && f.name === field.name);
  const badName = !NAME_RE.test(field.name);
  const computed = COMPUTED.includes(field.type);
  // Until it is published or typed by hand, a field's name follows its label
  // (pinyin for Chinese), numbered when another field has it.
  const taken = (n: string) => entity.fields.some((f) => f.id !== field.id && f.name === n);
  const derived = (label: string) => {
    const n = nameFromLabel(label);
    return n ? uniqueName(n, taken) : "";
  };
  const follows = !published && (/^[a-z]+_\d+$/.test(field.name) || field.name === derived(field.label ?? ""));
  // A label typed before pinyin-pro arrived is spelled again once it has.
  useEffect(() => {
    if (pinyinReady && follows && field.label) {
      const n = derived(field.label);
      if (n && n !== field.name) onChange({ name: n });
    }
    // only when pinyin arrives
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pinyinReady]);
  const setLabel = (label: string) => {
    const n = follows ? derived(label) : "";
    onChange(n ? { label, name: n } : { label });
  };
  const rollup: Rollup = field.rollup ?? { entity: "", via: "", op: "count" };
  const candidates = rollupCandidates(doc, entity.name);
  const rollEntity = doc.entities.find((e) => e.name === rollup.entity);
  const vias = candidates.find((c) => c.entity === rollup.entity)?.vias ?? [];
  const setRollup = (p: Partial<Rollup>) => {
    const r: Rollup = { ...rollup, ...p };
    if (!r.field) delete r.field;
    if (!r.filter) delete r.filter;
    onChange({ rollup: r });
  };

  return (
    <div className="field-config" data-testid="field-config">
      <h2 className="panel-title">{t("design.fieldSettings")}</h2>
      {errors.length > 0 && (
        <div className="alert alert-error" role="alert" data-testid="config-error">
          <ul className="alert-details">{errors.map((m, i) => <li key={i}>{m}</li>)}</ul>
        </div>
      )}
      <label className="field">
        <span className="field-label">{t("design.label")}</span>
        <input value={field.label ?? ""} data-testid="config-label" onChange={(e) => setLabel(e.target.value)} />
        {follows && field.label && <span className="muted small" data-testid="config-name-preview">{t("design.nameFromLabel", { name: field.name })}</span>}
      </label>
      <label className="field">
        <span className="field-label">{t("design.name")}</span>
        <input className="mono" value={field.name} data-testid="config-name" aria-invalid={badName || nameTaken || undefined}
          spellCheck={false} autoCapitalize="off" onChange={(e) => onChange({ name: e.target.value })} />
        {badName && <span className="field-error">{t("design.nameRule")}</span>}
        {nameTaken && <span className="field-error">{t("design.nameTaken")}</span>}
        <span className="muted small">{t("design.idNote", { id: field.id })}</span>
      </label>
      <label className="field">
        <span className="field-label">{t("design.type")}</span>
        <select value={field.type} data-testid="config-type" onChange={(e) => onType(e.target.value as FieldType)}>
          {FIELD_TYPES.map((ty) => <option key={ty} value={ty}>{t(`type.${ty}`)}</option>)}
        </select>
      </label>
      {!computed && (
        <div className="checks">
          <label className="check">
            <input type="checkbox" checked={!!field.required} data-testid="config-required" onChange={(e) => onChange({ required: e.target.checked })} />
            {t("design.required")}
          </label>
          <label className="check">
            <input type="checkbox" checked={!!field.unique} data-testid="config-unique" onChange={(e) => onChange({ unique: e.target.checked })} />
            {t("design.unique")}
          </label>
        </div>
      )}
      {TEXT_LIKE.includes(field.type) && (
        <NumInput label={t("design.maxLength")} value={field.maxLength} integer testId="config-maxLength" onChange={(n) => onChange({ maxLength: n })} />
      )}
      {NUMERIC.includes(field.type) && (
        <div className="config-pair">
          <NumInput label={t("design.min")} value={field.min} integer={field.type === "integer"} testId="config-min" onChange={(n) => onChange({ min: n })} />
          <NumInput label={t("design.max")} value={field.max} integer={field.type === "integer"} testId="config-max" onChange={(n) => onChange({ max: n })} />
        </div>
      )}
      {field.type === "decimal" && (
        <div className="config-pair">
          <NumInput label={t("design.precision")} value={field.precision} integer testId="config-precision" onChange={(n) => onChange({ precision: n })} />
          <NumInput label={t("design.scale")} value={field.scale} integer testId="config-scale" onChange={(n) => onChange({ scale: n })} />
        </div>
      )}
      {(field.type === "select" || field.type === "multiselect") && (
        <OptionsEditor options={field.options} onChange={(o) => onChange({ options: o })} />
      )}
      {field.type === "ref" && (
        <>
          <label className="field">
            <span className="field-label">{t("design.refEntity")}</span>
            <select value={field.entity ?? ""} data-testid="config-entity" onChange={(e) => onChange({ entity: e.target.value })}>
              {!field.entity && <option value="">{t("form.none")}</option>}
              {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label ? `${e.label} (${e.name})` : e.name}</option>)}
            </select>
          </label>
          <label className="field">
            <span className="field-label">{t("design.onDelete")}</span>
            <select value={field.onDelete ?? ""} data-testid="config-onDelete" onChange={(e) => onChange({ onDelete: e.target.value || undefined })}>
              <option value="">{t("design.onDeleteDefault")}</option>
              {ON_DELETE.map((o) => <option key={o} value={o}>{t(`design.onDelete.${o}`)}</option>)}
            </select>
          </label>
        </>
      )}
      {field.type === "formula" && (
        <div className="field">
          <ExpressionEditor mode="formula" label={t("design.expr")} value={field.expr ?? ""} rows={4} testId="config-expr-editor"
            inputTestId="config-expr" placeholder="amount * probability / 100" fields={entity.fields.filter((f) => f.id !== field.id)}
            app={doc as unknown as AppDocument} entity={entity.name} field={field.name} draft onChange={(expr) => onChange({ expr })} />
        </div>
      )}
      {field.type === "rollup" && (
        <fieldset className="config-group">
          <legend className="field-label">{t("design.rollup")}</legend>
          <label className="field">
            <span className="field-label">{t("design.rollupEntity")}</span>
            <select value={rollup.entity} data-testid="config-rollup-entity"
              onChange={(e) => setRollup({ entity: e.target.value, via: candidates.find((c) => c.entity === e.target.value)?.vias[0] ?? "", field: undefined })}>
              <option value="">{t("form.none")}</option>
              {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
            </select>
          </label>
          <label className="field">
            <span className="field-label">{t("design.rollupVia")}</span>
            <select value={rollup.via} data-testid="config-rollup-via" onChange={(e) => setRollup({ via: e.target.value })}>
              <option value="">{t("form.none")}</option>
              {vias.map((v) => <option key={v} value={v}>{v}</option>)}
            </select>
            {rollup.entity && vias.length === 0 && <span className="muted small">{t("design.rollupNoVia", { entity: rollup.entity, target: entity.name })}</span>}
          </label>
          <label className="field">
            <span className="field-label">{t("design.rollupOp")}</span>
            <select value={rollup.op} data-testid="config-rollup-op" onChange={(e) => setRollup({ op: e.target.value as Rollup["op"] })}>
              {ROLLUP_OPS.map((o) => <option key={o} value={o}>{t(`design.op.${o}`)}</option>)}
            </select>
          </label>
          {rollup.op !== "count" && (
            <label className="field">
              <span className="field-label">{t("design.rollupField")}</span>
              <select value={rollup.field ?? ""} data-testid="config-rollup-field" onChange={(e) => setRollup({ field: e.target.value })}>
                <option value="">{t("form.none")}</option>
                {rollEntity?.fields.map((f) => <option key={f.id} value={f.name}>{f.name}</option>)}
              </select>
            </label>
          )}
          <div className="field">
            <ExpressionEditor mode="filter" scope="document" draft label={t("design.rollupFilter")} value={rollup.filter ?? ""} rows={1}
              testId="config-rollup-filter-editor" inputTestId="config-rollup-filter" placeholder="qty > 0" fields={rollEntity?.fields ?? []}
              app={doc as unknown as AppDocument} entity={rollEntity?.name} onChange={(filter) => setRollup({ filter })} />
          </div>
        </fieldset>
      )}
      {(field.type === "formula" || field.type === "rollup") && (
        <label className="field">
          <span className="field-label">{t("design.returns")}</span>
          <select value={field.returns ?? ""} data-testid="config-returns" onChange={(e) => onChange({ returns: (e.target.value || undefined) as FieldType | undefined })}>
            <option value="">{t("design.returnsDefault")}</option>
            {RETURN_TYPES.map((r) => <option key={r} value={r}>{t(`type.${r}`)}</option>)}
          </select>
        </label>
      )}
      {(NUMERIC.includes(field.type) || (computed && (field.returns === undefined || NUMERIC.includes(field.returns)))) && (
        <CurrencySelect value={field.currency} onChange={(c) => onChange({ currency: c })} />
      )}
      {!computed && (
        <DefaultEditor field={field} onChange={(v) => onChange({ default: v })} />
      )}
      <div className="form-actions">
        <button type="button" className="btn btn-danger" data-testid="field-delete" onClick={onDelete}>{t("design.deleteField")}</button>
      </div>
    </div>
  );
}
