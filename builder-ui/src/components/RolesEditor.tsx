// The designer's Roles tab: the document's roles (name, label), and for the
// selected one a matrix entity × create/read/update/delete of scopes (each
// with an optional condition) and per-entity field rules.
import { useState } from "react";
import type { AppDocument, Field, RoleOp, Scope } from "../api";
import { ExpressionEditor } from "./ExpressionEditor";
import {
  addRole, removeRole, ROLE_OPS, SCOPES, scopeOf, setFieldRule, setScope, updateRole,
} from "../designer/layouts";
import { NAME_RE, type DDoc, type DesignErrors } from "../designer/model";
import { fieldLabel } from "../fields";
import { useI18n, type MessageKey } from "../i18n";
import { Icon } from "./common";
import { ProblemList } from "./FormsEditor";

export function RolesEditor({ doc, onChange, errors }: { doc: DDoc; onChange: (d: DDoc) => void; errors: DesignErrors }) {
  const { t } = useI18n();
  const roles = doc.roles ?? [];
  const [sel, setSel] = useState(0);
  const ri = Math.min(sel, roles.length - 1);
  const role = ri >= 0 ? roles[ri] : undefined;
  const problems = Object.entries(errors.roles).flatMap(([i, msgs]) => msgs.map((m) => `${roles[Number(i)]?.name ?? "/roles/" + i}: ${m}`));

  const nameProblem = (n: string, i: number) =>
    !NAME_RE.test(n) ? t("design.nameRule") : roles.some((r, j) => j !== i && r.name === n) ? t("design.nameTaken") : null;

  return (
    <div className="roles-editor">
      <ProblemList items={problems} testId="roles-error" />
      {roles.length === 0
        ? <p className="alert alert-info" data-testid="roles-default-note">{t("roles.defaults")}</p>
        : <p className="muted small" data-testid="roles-note">{t("roles.definedNote")}</p>}
      <ul className="roles-list">
        {roles.map((r, i) => {
          const problem = nameProblem(r.name, i);
          const errs = errors.roles[i];
          return (
            <li key={i} className={"role-row" + (i === ri ? " active" : "") + (errs ? " has-error" : "")} data-testid={`role-${i}`}>
              <input type="radio" name="role-selected" checked={i === ri} aria-label={r.label || r.name} data-testid={`role-select-${i}`}
                onChange={() => setSel(i)} />
              <label className="field">
                <span className="field-label">{t("roles.name")}</span>
                <input className="mono" value={r.name} data-testid={`role-name-${i}`} spellCheck={false} autoCapitalize="off"
                  aria-invalid={!!problem || undefined} onFocus={() => setSel(i)}
                  onChange={(e) => onChange(updateRole(doc, i, { name: e.target.value }))} />
                {problem && <span className="field-error" data-testid={`role-name-error-${i}`}>{problem}</span>}
              </label>
              <label className="field">
                <span className="field-label">{t("roles.label")}</span>
                <input value={r.label ?? ""} data-testid={`role-label-${i}`} onFocus={() => setSel(i)}
                  onChange={(e) => onChange(updateRole(doc, i, { label: e.target.value }))} />
              </label>
              <button type="button" className="btn btn-icon btn-small" data-testid={`role-remove-${i}`} aria-label={t("roles.remove")}
                onClick={() => { onChange(removeRole(doc, i)); if (sel >= i && sel > 0) setSel(sel - 1); }}>
                <Icon.x />
              </button>
              {errs && <ul className="field-error role-errors" data-testid={`role-error-${i}`}>{errs.map((m, k) => <li key={k}>{m}</li>)}</ul>}
            </li>
          );
        })}
      </ul>
      <button type="button" className="btn" data-testid="role-add" onClick={() => { onChange(addRole(doc)); setSel(roles.length); }}>
        <Icon.plus /> {t("roles.add")}
      </button>

      {role && (
        doc.entities.length === 0 ? <p className="muted">{t("design.addEntityFirst")}</p> : (
          <div className="roles-matrix" data-testid="roles-matrix">
            <h2 className="panel-title">{role.label || role.name}</h2>
            <p className="muted small">{t("roles.matrixHint")}</p>
            <div className="table-wrap">
              <table className="matrix">
                <thead>
                  <tr>
                    <th>{t("roles.entity")}</th>
                    {ROLE_OPS.map((op) => <th key={op}>{t(`roles.op.${op}` as MessageKey)}</th>)}
                  </tr>
                </thead>
                <tbody>
                  {doc.entities.map((e) => (
                    <tr key={e.id ?? e.name}>
                      <th scope="row">{e.label || e.name} <span className="muted small mono">{e.name}</span></th>
                      {ROLE_OPS.map((op) => (
                        <ScopeCell key={op} doc={doc} fields={e.fields} entity={e.name} op={op} rule={scopeOf(role.entities?.[e.name]?.[op])}
                          onChange={(scope, where) => onChange(setScope(doc, ri, e.name, op, scope, where))} />
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <h2 className="panel-title">{t("roles.fieldRules")}</h2>
            {doc.entities.map((e) => {
              const rules = role.entities?.[e.name]?.fields ?? {};
              const names = [...e.fields.map((f) => f.name), ...(e.fields.some((f) => f.name === "owner") ? [] : ["owner"])];
              return (
                <fieldset key={e.id ?? e.name} className="config-group field-rules" data-testid={`fieldrules-${e.name}`}>
                  <legend>{e.label || e.name}</legend>
                  {names.map((n) => {
                    const f = e.fields.find((x) => x.name === n);
                    return (
                      <label key={n} className="inline-field">
                        <span>{f ? fieldLabel(f) : t("sys.owner")} <span className="muted small mono">{n}</span></span>
                        <select value={rules[n] ?? "visible"} data-testid={`fieldrule-${e.name}-${n}`}
                          onChange={(ev) => onChange(setFieldRule(doc, ri, e.name, n, ev.target.value as "visible" | "hidden" | "readonly"))}>
                          <option value="visible">{t("roles.rule.visible")}</option>
                          <option value="readonly">{t("roles.rule.readonly")}</option>
                          <option value="hidden">{t("roles.rule.hidden")}</option>
                        </select>
                      </label>
                    );
                  })}
                </fieldset>
              );
            })}
          </div>
        )
      )}
    </div>
  );
}

// ScopeCell keeps the condition being typed while the scope is "not set"
// out of the document (a condition needs a scope).
function ScopeCell({ doc, fields, entity, op, rule, onChange }: {
  doc: DDoc; fields: Field[]; entity: string; op: RoleOp; rule: { scope: Scope | ""; where: string }; onChange: (scope: Scope | "", where: string) => void;
}) {
  const { t } = useI18n();
  const opLabel = t(`roles.op.${op}` as MessageKey);
  return (
    <td className="scope-cell">
      <select value={rule.scope} data-testid={`scope-${entity}-${op}`} aria-label={t("roles.scopeAria", { entity, op: opLabel })}
        onChange={(e) => onChange(e.target.value as Scope | "", rule.where)}>
        <option value="">{t("roles.notSet")}</option>
        {SCOPES.map((s) => <option key={s} value={s}>{t(`roles.scope.${s}` as MessageKey)}</option>)}
      </select>
      <ExpressionEditor mode="filter" scope="role" draft compact rows={1} value={rule.where} placeholder={t("roles.where")}
        testId={`where-editor-${entity}-${op}`} inputTestId={`where-${entity}-${op}`} ariaLabel={t("roles.whereAria", { entity, op: opLabel })}
        disabled={!rule.scope} fields={fields} app={doc as unknown as AppDocument} entity={entity}
        onChange={(where) => onChange(rule.scope, where)} />
    </td>
  );
}
