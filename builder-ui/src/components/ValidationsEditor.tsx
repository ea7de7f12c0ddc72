// ValidationsEditor: an entity's validation rules (each an expression that
// must be true for a record to be saved, the message shown when it is not
// (and its wording per language), and the field it marks), written in the
// expression editor.
import type { AppDocument } from "../api";
import { fieldLabel } from "../fields";
import type { DDoc } from "../designer/model";
import { useI18n } from "../i18n";
import { Icon } from "./common";
import { ExpressionEditor } from "./ExpressionEditor";
import { LabelsInputs, orNone } from "./LabelsInputs";

export interface Validation {
  expr: string;
  message: string;
  messages?: Record<string, string>; // message per language; message is the fallback
  field?: string;
}

export function ValidationsEditor({ doc, entityIndex, onChange }: { doc: DDoc; entityIndex: number; onChange: (d: DDoc) => void }) {
  const { t } = useI18n();
  const entity = doc.entities[entityIndex];
  const rules = (entity.validations as Validation[] | undefined) ?? [];
  const set = (next: Validation[]) => {
    const e = { ...entity };
    if (next.length) e.validations = next;
    else delete e.validations;
    onChange({ ...doc, entities: doc.entities.map((x, i) => (i === entityIndex ? e : x)) });
  };
  const patch = (i: number, p: Partial<Validation>) => set(rules.map((r, j) => {
    if (j !== i) return r;
    const n = { ...r, ...p };
    if (!n.field) delete n.field;
    if (!n.messages) delete n.messages;
    return n;
  }));
  return (
    <section className="config-group" data-testid="validations">
      <h2 className="panel-title">{t("rules.title")}</h2>
      <p className="muted small">{t("rules.hint")}</p>
      {rules.map((r, i) => (
        <fieldset key={i} className="config-group" data-testid={`rule-${i}`}>
          <legend className="field-label">{t("rules.rule", { n: i + 1 })}</legend>
          <ExpressionEditor mode="formula" draft label={t("rules.expr")} value={r.expr} rows={2} testId={`rule-expr-${i}`}
            placeholder="discount == null || discount <= 50" fields={entity.fields} app={doc as unknown as AppDocument} entity={entity.name}
            onChange={(expr) => patch(i, { expr })} />
          <label className="field">
            <span className="field-label">{t("rules.message")}</span>
            <input value={r.message} data-testid={`rule-message-${i}`} onChange={(e) => patch(i, { message: e.target.value })} />
          </label>
          <LabelsInputs labels={r.messages} prefix={`rule-message-${i}`} caption="labels.messageIn" onChange={(l) => patch(i, { messages: orNone(l) })} />
          <label className="field">
            <span className="field-label">{t("rules.field")}</span>
            <select value={r.field ?? ""} data-testid={`rule-field-${i}`} onChange={(e) => patch(i, { field: e.target.value })}>
              <option value="">{t("form.none")}</option>
              {entity.fields.map((f) => <option key={f.id} value={f.name}>{fieldLabel(f)}</option>)}
            </select>
          </label>
          <button type="button" className="btn btn-ghost btn-small" data-testid={`rule-remove-${i}`} onClick={() => set(rules.filter((_, j) => j !== i))}>
            {t("rules.remove")}
          </button>
        </fieldset>
      ))}
      <button type="button" className="btn" data-testid="rule-add" onClick={() => set([...rules, { expr: "", message: "" }])}>
        <Icon.plus /> {t("rules.add")}
      </button>
    </section>
  );
}
