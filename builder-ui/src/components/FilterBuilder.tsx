import { useMemo, useState } from "react";
import type { AppDocument, Field } from "../api";
import { fieldLabel, fromLocalInput, toLocalInput } from "../fields";
import {
  conditionText, defaultCondition, filterText, filterType, operatorLabel, operatorsFor,
  type Condition, type FilterModel, type Join, type Op,
} from "../filter";
import { optionLabel } from "../labels";
import { useI18n, type MessageKey } from "../i18n";
import { Icon } from "./common";
import { RefPicker, UserPicker } from "./RefPicker";

export const emptyFilter: FilterModel = { join: "and", conditions: [] };

interface Props {
  fields: Field[];
  // With the app, a reference is picked by its record and a user by name
  // (the filter compares ids: store = "<id>", owner = "<id>" or @me).
  app?: AppDocument;
  value?: FilterModel;
  onApply: (text: string, model: FilterModel) => void;
}

// FilterBuilder edits rows of [field][operator][value] joined by AND or OR,
// and shows the filter-language text it writes.
export function FilterBuilder({ fields, app, value, onApply }: Props) {
  const { t } = useI18n();
  const [model, setModel] = useState<FilterModel>(value ?? emptyFilter);
  const text = useMemo(() => filterText(fields, model), [fields, model]);

  const update = (i: number, c: Condition) =>
    setModel((m) => ({ ...m, conditions: m.conditions.map((x, j) => (j === i ? c : x)) }));
  const remove = (i: number) => setModel((m) => ({ ...m, conditions: m.conditions.filter((_, j) => j !== i) }));
  const add = () => fields[0] && setModel((m) => ({ ...m, conditions: [...m.conditions, defaultCondition(fields[0])] }));
  const setJoin = (join: Join) => setModel((m) => ({ ...m, join }));

  return (
    <form className="filter" data-testid="filter-builder" onSubmit={(e) => { e.preventDefault(); onApply(text, model); }}>
      {model.conditions.length > 1 && (
        <label className="filter-join">
          <span>{t("filter.join")}</span>
          <select value={model.join} data-testid="filter-join" onChange={(e) => setJoin(e.target.value as Join)}>
            <option value="and">{t("filter.all")}</option>
            <option value="or">{t("filter.any")}</option>
          </select>
        </label>
      )}
      {model.conditions.map((c, i) => (
        <ConditionRow key={i} fields={fields} app={app} cond={c} onChange={(nc) => update(i, nc)} onRemove={() => remove(i)} />
      ))}
      <div className="filter-actions">
        <button type="button" className="btn" data-testid="filter-add" onClick={add}><Icon.plus /> {t("filter.add")}</button>
        {model.conditions.length > 0 && (
          <button type="button" className="btn btn-ghost" data-testid="filter-clear"
            onClick={() => { setModel(emptyFilter); onApply("", emptyFilter); }}>
            {t("filter.clear")}
          </button>
        )}
        <button type="submit" className="btn btn-primary" data-testid="filter-apply">{t("filter.apply")}</button>
      </div>
      <div className="filter-text">
        <span className="muted small">{t("filter.generated")}</span>
        <code data-testid="filter-text">{text || t("filter.none")}</code>
      </div>
    </form>
  );
}

function ConditionRow({ fields, app, cond, onChange, onRemove }: {
  fields: Field[]; app?: AppDocument; cond: Condition; onChange: (c: Condition) => void; onRemove: () => void;
}) {
  const { t, lang } = useI18n();
  const field = fields.find((f) => f.name === cond.field) ?? fields[0];
  const ops = operatorsFor(field);
  const problem = conditionText(fields, cond).problem;

  const setField = (name: string) => {
    const f = fields.find((x) => x.name === name);
    if (f) onChange(defaultCondition(f));
  };
  const setOp = (op: Op) => {
    let v = cond.value;
    if (op === "in" && !Array.isArray(v) && filterType(field) === "select") v = v ? [v] : [];
    if (op !== "in" && Array.isArray(v)) v = v[0] ?? "";
    onChange({ ...cond, op, value: v });
  };

  return (
    <div className="filter-row" data-testid="filter-row">
      <select aria-label={t("filter.field")} value={field.name} data-testid="filter-field" onChange={(e) => setField(e.target.value)}>
        {fields.map((f) => <option key={f.name} value={f.name}>{f.id.startsWith("_") ? t(("sys." + f.name) as MessageKey) : fieldLabel(f, lang)}</option>)}
      </select>
      <select aria-label={t("filter.operator")} value={cond.op} data-testid="filter-op" onChange={(e) => setOp(e.target.value as Op)}>
        {ops.map((op) => <option key={op} value={op}>{t(operatorLabel(field, op))}</option>)}
      </select>
      {cond.op !== "empty" && cond.op !== "notEmpty" && (
        <ValueInput field={field} cond={cond} app={app} onChange={(value) => onChange({ ...cond, value })} />
      )}
      <button type="button" className="btn btn-icon" aria-label={t("filter.remove")} data-testid="filter-remove" onClick={onRemove}>
        <Icon.x />
      </button>
      {problem && (cond.value !== "" || problem === "invalidNumber") && (
        <div className="filter-problem small">{t(problem === "invalidNumber" ? "filter.invalidNumber" : "filter.incomplete")}</div>
      )}
    </div>
  );
}

function ValueInput({ field, cond, app, onChange }: { field: Field; cond: Condition; app?: AppDocument; onChange: (v: string | string[]) => void }) {
  const { t, lang } = useI18n();
  const type = filterType(field);
  const label = t("filter.value");
  const str = Array.isArray(cond.value) ? cond.value.join(", ") : cond.value;
  const single = cond.op === "=" || cond.op === "!=";

  if (app && single && type === "user") {
    return (
      <span className="filter-pick">
        <UserPicker value={str === "@me" ? "" : str} onChange={onChange} testId="filter-value-pick" />
        <button type="button" className={"btn btn-small" + (str === "@me" ? " btn-active" : "")} data-testid="filter-value-me"
          onClick={() => onChange("@me")}>{t("filter.me")}</button>
      </span>
    );
  }
  if (app && single && type === "ref") {
    return <RefPicker app={app} target={app.entities.find((e) => e.name === field.entity)} value={str} onChange={onChange} testId="filter-value-pick" />;
  }

  if ((type === "select" || type === "multiselect") && field.options?.length) {
    if (cond.op === "in") {
      const chosen = Array.isArray(cond.value) ? cond.value : [];
      return (
        <fieldset className="filter-options" data-testid="filter-value" aria-label={label}>
          {field.options.map((o) => (
            <label key={o} className="check">
              <input type="checkbox" checked={chosen.includes(o)}
                onChange={(e) => onChange(e.target.checked ? [...chosen, o] : chosen.filter((x) => x !== o))} />
              {optionLabel(field, o, lang)}
            </label>
          ))}
        </fieldset>
      );
    }
    return (
      <select aria-label={label} value={str} data-testid="filter-value" onChange={(e) => onChange(e.target.value)}>
        <option value="" />
        {field.options.map((o) => <option key={o} value={o}>{optionLabel(field, o, lang)}</option>)}
      </select>
    );
  }
  if (type === "boolean") {
    return (
      <select aria-label={label} value={str} data-testid="filter-value" onChange={(e) => onChange(e.target.value)}>
        <option value="true">{t("common.yes")}</option>
        <option value="false">{t("common.no")}</option>
      </select>
    );
  }
  if (type === "date") {
    return <input type="date" aria-label={label} value={str} data-testid="filter-value" onChange={(e) => onChange(e.target.value)} />;
  }
  if (type === "datetime") {
    return (
      <input type="datetime-local" aria-label={label} value={toLocalInput(str)} data-testid="filter-value"
        onChange={(e) => onChange(fromLocalInput(e.target.value) ?? "")} />
    );
  }
  const numeric = type === "integer" || type === "decimal" || type === "autonumber";
  return (
    <input type="text" aria-label={label} value={str} data-testid="filter-value"
      inputMode={numeric && cond.op !== "in" ? "decimal" : undefined}
      placeholder={cond.op === "in" ? t("filter.listHint") : type === "user" ? "@me" : ""}
      onChange={(e) => onChange(e.target.value)} />
  );
}
