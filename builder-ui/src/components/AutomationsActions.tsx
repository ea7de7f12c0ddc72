// The actions of an automation: an ordered list reordered by dragging
// (pointer, touch, keyboard — dnd.tsx) or with up/down buttons, each with
// the editor of its type (set fields, create a related record, notify,
// webhook, run a script function); with A/B on, two or more variants with
// weights (shown as percentages), each with its own list.
import { useRef, useState } from "react";
import type { AppDocument, Field } from "../api";
import { ACTION_TYPES, moveIn, nextVariantName, percentages, pluginInputText, pluginInputValue, ruleFields, withVariants, writableFields, type Action, type ActionType, type Automation, type Variant } from "../designer/automations";
import { actionChoices, actionLabel, initialValues, pluginLabel, schemaFields, useAppPlugins, type AppPlugin, type SchemaField } from "../plugins";
import { SchemaInput } from "./SchemaForm";
import type { DDoc, DEntity } from "../designer/model";
import { DndArea, DragRow, DropList, type DropAt } from "../dnd";
import { ExpressionEditor } from "./ExpressionEditor";
import { LabelsInputs, orNone } from "./LabelsInputs";
import { useI18n, type MessageKey } from "../i18n";
import { useNames } from "../names";
import { FieldProblems, fieldName, type ProblemsAt } from "./AutomationsEditor";
import { Icon } from "./common";
import { RefPicker, UserPicker } from "./RefPicker";
import { functionsOf } from "./ScriptEditor";
import { WebhookSecret } from "./WebhookSecret";

type Drag = { zone: string; index: number };

function newAction(type: ActionType, doc: DDoc, entity: DEntity | undefined, plugins: AppPlugin[] = [], choice = ""): Action {
  switch (type) {
    case "plugin": {
      const [plugin, action] = choice.split(":");
      const def = plugins.find((p) => p.name === plugin)?.actions?.find((a) => a.name === action);
      const input = initialValues(schemaFields(def?.input), {});
      return { type, plugin, action, input };
    }
    case "set": return { type, fields: {} };
    case "create": return { type, entity: doc.entities.find((e) => e.name !== entity?.name)?.name ?? entity?.name ?? "", fields: {} };
    case "notify": return { type, to: { owner: true }, message: "" };
    case "webhook": return { type, url: "https://" };
    case "script": return { type, function: functionsOf(doc.scripts ?? {})[0] ?? "" };
    case "assign": return { type, rule: rulesOf(doc, entity)[0]?.name ?? "" };
  }
}

export function ActionsEditor({ doc, a, entity, at, onChange }: {
  doc: DDoc; a: Automation; entity: DEntity | undefined; at: ProblemsAt; onChange: (a: Automation) => void;
}) {
  const { t } = useI18n();
  const ab = (a.variants?.length ?? 0) > 0;
  const variants = a.variants ?? [];
  const pct = percentages(variants);
  const setVariant = (i: number, v: Variant) => onChange({ ...a, variants: variants.map((x, j) => (j === i ? v : x)) });

  return (
    <section className="auto-section" data-testid="auto-actions">
      <div className="auto-section-head">
        <h3 className="panel-title">{t("auto.then")}</h3>
        <label className="check">
          <input type="checkbox" checked={ab} data-testid="auto-ab" onChange={(e) => onChange(withVariants(a, e.target.checked))} />
          {t("auto.ab")}
        </label>
      </div>
      <FieldProblems msgs={at("/actions")} />
      {!ab ? (
        <ActionList doc={doc} entity={entity} zone="actions" prefix="" actions={a.actions ?? []} at={at}
          onChange={(actions) => onChange({ ...a, actions })} />
      ) : (
        <>
          <p className="muted small">{t("auto.abHint")}</p>
          {variants.map((v, i) => (
            <div key={i} className="card auto-variant" data-testid={`auto-variant-${i}`}>
              <div className="auto-row">
                <label className="field auto-narrow">
                  <span className="field-label">{t("auto.variantName")}</span>
                  <input value={v.name} data-testid={`auto-variant-name-${i}`} onChange={(e) => setVariant(i, { ...v, name: e.target.value })} />
                  <FieldProblems msgs={at(`/variants/${i}/name`)} />
                </label>
                <label className="field auto-narrow">
                  <span className="field-label">{t("auto.weight")}</span>
                  <input type="number" min={0} value={v.weight} data-testid={`auto-weight-${i}`} aria-invalid={at(`/variants/${i}/weight`).length > 0 || undefined}
                    onChange={(e) => setVariant(i, { ...v, weight: Math.max(0, Math.floor(Number(e.target.value) || 0)) })} />
                  <FieldProblems msgs={at(`/variants/${i}/weight`)} testId={`auto-problem-weight-${i}`} />
                </label>
                <span className="auto-pct" data-testid={`auto-pct-${i}`}>{t("auto.share", { pct: pct[i] })}</span>
                {variants.length > 2 && (
                  <button type="button" className="btn btn-small btn-ghost" data-testid={`auto-variant-remove-${i}`}
                    onClick={() => onChange({ ...a, variants: variants.filter((_, j) => j !== i) })}>{t("auto.removeVariant")}</button>
                )}
              </div>
              <ActionList doc={doc} entity={entity} zone={`v${i}`} prefix={`/variants/${i}`} actions={v.actions} at={at}
                onChange={(actions) => setVariant(i, { ...v, actions })} />
            </div>
          ))}
          <button type="button" className="btn btn-small" data-testid="auto-variant-add"
            onClick={() => onChange({ ...a, variants: [...variants, { name: nextVariantName(variants), weight: 50, actions: [] }] })}>
            <Icon.plus /> {t("auto.addVariant")}
          </button>
        </>
      )}
    </section>
  );
}

export function ActionList({ doc, entity, zone, prefix, actions, at, onChange }: {
  doc: DDoc; entity: DEntity | undefined; zone: string; prefix: string; actions: Action[]; at: ProblemsAt; onChange: (a: Action[]) => void;
}) {
  const { t, lang } = useI18n();
  // A built-in type, or "plugin:NAME:ACTION" for a plugin's action.
  const [adding, setAdding] = useState<string>("notify");
  const plugins = useAppPlugins(doc.name) ?? [];
  const choices = actionChoices(plugins, lang);
  const typeText = (x: Action) => (x.type === "plugin" ? pluginActionTitle(plugins, x, lang) : t(`auto.action.${x.type}` as MessageKey));
  const [dropAt, setDropAt] = useState<number | null>(null);
  const drop = (d: Drag, target: DropAt) => {
    if (d.zone !== zone || target.zone !== zone) return;
    const to = target.at ?? actions.length;
    if (to !== d.index && to !== d.index + 1) onChange(moveIn(actions, d.index, to));
  };
  return (
    <DndArea<Drag> onDrop={drop} onOver={(x) => setDropAt(x && x.zone === zone ? x.at ?? actions.length : null)}
      overlay={(d) => <span className="palette-item">{actions[d.index] ? typeText(actions[d.index]) : ""}</span>}>
      <DropList zone={zone} className="auto-actions" testId={`auto-actions-${zone}`} label={t("auto.then")}>
        {actions.length === 0 && <li className="muted small">{t("auto.noActions")}</li>}
        {actions.map((x, i) => {
          const p = `${prefix}/actions/${i}`;
          const bad = at(p, true).length > 0;
          return (
            <DragRow<Drag> key={i} id={`act:${zone}:${i}`} data={{ zone, index: i }} zone={zone} index={i} testId={`auto-action-${zone}-${i}`}
              className={"card auto-action" + (bad ? " has-error" : "") + (dropAt === i ? " drop-before" : "") + (dropAt === i + 1 && i === actions.length - 1 ? " drop-after" : "")}
              handleLabel={t("auto.dragAction", { n: i + 1 })}>
              <div className="auto-action-body">
                <div className="auto-action-head">
                  <strong data-testid={`auto-action-type-${zone}-${i}`}>{i + 1}. {typeText(x)}</strong>
                  <span className="row-actions">
                    <button type="button" className="btn btn-icon btn-small" disabled={i === 0} aria-label={t("auto.moveUp")}
                      data-testid={`auto-action-up-${zone}-${i}`} onClick={() => onChange(moveIn(actions, i, i - 1))}><Icon.up /></button>
                    <button type="button" className="btn btn-icon btn-small" disabled={i === actions.length - 1} aria-label={t("auto.moveDown")}
                      onClick={() => onChange(moveIn(actions, i, i + 2))}><Icon.down /></button>
                    <button type="button" className="btn btn-icon btn-small" aria-label={t("auto.removeAction")} data-testid={`auto-action-remove-${zone}-${i}`}
                      onClick={() => onChange(actions.filter((_, j) => j !== i))}><Icon.x /></button>
                  </span>
                </div>
                <FieldProblems msgs={[...at(p), ...at(p + "/type")]} />
                <ActionBody doc={doc} entity={entity} action={x} p={p} at={at} zone={`${zone}-${i}`}
                  onChange={(y) => onChange(actions.map((z, j) => (j === i ? y : z)))} />
              </div>
            </DragRow>
          );
        })}
      </DropList>
      <div className="auto-add-action">
        <select value={adding} aria-label={t("auto.actionType")} data-testid={`auto-action-type-${zone}`} onChange={(e) => setAdding(e.target.value)}>
          {ACTION_TYPES.map((ty) => <option key={ty} value={ty}>{t(`auto.action.${ty}` as MessageKey)}</option>)}
          {choices.length > 0 && (
            <optgroup label={t("auto.pluginActions")}>
              {choices.map((c) => <option key={`${c.plugin}:${c.action}`} value={`plugin:${c.plugin}:${c.action}`}>{c.label}</option>)}
            </optgroup>
          )}
        </select>
        <button type="button" className="btn btn-small" data-testid={`auto-action-add-${zone}`} onClick={() => onChange([...actions,
          adding.startsWith("plugin:") ? newAction("plugin", doc, entity, plugins, adding.slice(7)) : newAction(adding as ActionType, doc, entity)])}>
          <Icon.plus /> {t("auto.addAction")}
        </button>
      </div>
    </DndArea>
  );
}

function ActionBody({ doc, entity, action, p, at, zone, onChange }: {
  doc: DDoc; entity: DEntity | undefined; action: Action; p: string; at: ProblemsAt; zone: string; onChange: (a: Action) => void;
}) {
  const { t } = useI18n();
  switch (action.type) {
    case "set":
      return <FieldRows doc={doc} source={entity} target={entity} fields={action.fields ?? {}} p={p} at={at} zone={zone} mode="set"
        onChange={(fields) => onChange({ ...action, fields })} />;
    case "create": {
      const target = doc.entities.find((e) => e.name === action.entity);
      return (
        <>
          <label className="field">
            <span className="field-label">{t("auto.createEntity")}</span>
            <select value={action.entity ?? ""} data-testid={`auto-create-entity-${zone}`} aria-invalid={at(p + "/entity").length > 0 || undefined}
              onChange={(e) => onChange({ ...action, entity: e.target.value, fields: {} })}>
              {!target && <option value={action.entity ?? ""}>{action.entity || "—"}</option>}
              {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
            </select>
            <FieldProblems msgs={at(p + "/entity")} testId={`auto-problem-entity-${zone}`} />
          </label>
          <FieldRows doc={doc} source={entity} target={target} fields={action.fields ?? {}} p={p} at={at} zone={zone} mode="create"
            onChange={(fields) => onChange({ ...action, fields })} />
        </>
      );
    }
    case "notify":
      return <NotifyEditor doc={doc} entity={entity} action={action} p={p} at={at} zone={zone} onChange={onChange} />;
    case "webhook":
      return (
        <>
          <label className="field">
            <span className="field-label">{t("auto.url")}</span>
            <input type="url" className="mono" value={action.url ?? ""} data-testid={`auto-url-${zone}`} placeholder="https://hooks.example.com/forma"
              aria-invalid={at(p + "/url").length > 0 || undefined} onChange={(e) => onChange({ ...action, url: e.target.value })} />
            <FieldProblems msgs={at(p + "/url")} testId={`auto-problem-url-${zone}`} />
          </label>
          <p className="muted small">{t("auto.webhookHint")}</p>
          {/* The webhook helper's component: the app's signing secret (shown on demand, audited), rotate, how to verify. */}
          <div className="auto-webhook-secret" data-testid="webhook-secret-slot"><WebhookSecret app={doc.name} /></div>
        </>
      );
    case "script": {
      const fns = functionsOf(doc.scripts ?? {});
      return (
        <label className="field">
          <span className="field-label">{t("auto.function")}</span>
          <select value={action.function ?? ""} data-testid={`auto-function-${zone}`} aria-invalid={at(p + "/function").length > 0 || undefined}
            onChange={(e) => onChange({ ...action, function: e.target.value })}>
            <option value="" />
            {action.function && !fns.includes(action.function) && <option value={action.function}>{action.function}</option>}
            {fns.map((f) => <option key={f} value={f}>{f}</option>)}
          </select>
          {fns.length === 0 && <span className="muted small">{t("auto.noFunctions")}</span>}
          <FieldProblems msgs={at(p + "/function")} testId={`auto-problem-function-${zone}`} />
        </label>
      );
    }
    case "plugin":
      return <PluginActionEditor doc={doc} entity={entity} action={action} p={p} at={at} zone={zone} onChange={onChange} />;
    case "assign": {
      const rules = rulesOf(doc, entity);
      return (
        <>
          <label className="field">
            <span className="field-label">{t("auto.assignRule")}</span>
            <select value={action.rule ?? ""} data-testid={`auto-assign-rule-${zone}`} aria-invalid={at(p + "/rule").length > 0 || undefined}
              onChange={(e) => onChange({ ...action, rule: e.target.value })}>
              <option value="" />
              {action.rule && !rules.some((r) => r.name === action.rule) && <option value={action.rule}>{action.rule}</option>}
              {rules.map((r) => <option key={r.name} value={r.name}>{r.label || r.name}</option>)}
            </select>
            {rules.length === 0 && <span className="muted small">{t("auto.noAssignRules")}</span>}
            <FieldProblems msgs={at(p + "/rule")} testId={`auto-problem-rule-${zone}`} />
          </label>
          <label className="check">
            <input type="checkbox" checked={!!action.reassign} data-testid={`auto-assign-reassign-${zone}`}
              onChange={(e) => { const { reassign: _r, ...rest } = action; void _r; onChange(e.target.checked ? { ...rest, reassign: true } : rest); }} />
            <span>{t("auto.assignReassign")}</span>
          </label>
        </>
      );
    }
  }
}

// The assignment rules of the document on the entity (the "assign" action names one).
function rulesOf(doc: DDoc, entity: DEntity | undefined): { name: string; label?: string }[] {
  return ((doc.assignments as { name: string; label?: string; entity: string }[] | undefined) ?? []).filter((r) => r.entity === entity?.name);
}

type Mode = "value" | "expr" | "template" | "this";

function modeOf(v: unknown): Mode {
  if (v && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.expr === "string") return o.expr === "id" ? "this" : "expr";
    if (typeof o.template === "string") return "template";
  }
  return "value";
}

// FieldRows: the fields a set or create action writes, one row each:
// the field by label, then a value typed by the field, an expression
// ("calculate"), a template with {{field}} chips, or — for a ref to the
// triggering entity — "this record" ({"expr": "id"}).
function FieldRows({ doc, source, target, fields, p, at, zone, mode, onChange }: {
  doc: DDoc; source: DEntity | undefined; target: DEntity | undefined; fields: Record<string, unknown>; p: string; at: ProblemsAt; zone: string;
  mode: "set" | "create"; onChange: (f: Record<string, unknown>) => void;
}) {
  const { t } = useI18n();
  const writable = writableFields(target);
  const names = Object.keys(fields);
  const free = writable.filter((f) => !names.includes(f.name));
  const rename = (from: string, to: string) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) out[k === from ? to : k] = k === from ? defaultValue(writable.find((f) => f.name === to)) : v;
    onChange(out);
  };
  return (
    <div className="auto-fields" data-testid={`auto-fields-${zone}`}>
      {names.map((n) => {
        const f = writable.find((x) => x.name === n);
        const v = fields[n];
        const m = modeOf(v);
        const selfRef = f?.type === "ref" && f.entity === source?.name && mode === "create";
        const setV = (nv: unknown) => onChange({ ...fields, [n]: nv });
        const probs = at(`${p}/fields/${n}`, true);
        return (
          <div key={n} className="auto-field-row" data-testid={`auto-field-${zone}-${n}`}>
            <select value={n} aria-label={t("auto.field")} data-testid={`auto-field-name-${zone}-${n}`} onChange={(e) => rename(n, e.target.value)}>
              {!f && <option value={n}>{n}</option>}
              {f && <option value={n}>{f.label || f.name}</option>}
              {free.map((x) => <option key={x.name} value={x.name}>{x.label || x.name}</option>)}
            </select>
            <select value={m} aria-label={t("auto.valueKind")} data-testid={`auto-field-mode-${zone}-${n}`}
              onChange={(e) => {
                const k = e.target.value as Mode;
                setV(k === "expr" ? { expr: "" } : k === "template" ? { template: "" } : k === "this" ? { expr: "id" } : defaultValue(f));
              }}>
              <option value="value">{t("auto.mode.value")}</option>
              <option value="expr">{t("auto.mode.expr")}</option>
              {mode === "create" && <option value="template">{t("auto.mode.template")}</option>}
              {selfRef && <option value="this">{t("auto.mode.this")}</option>}
            </select>
            {m === "value" ? (
              <ValueInput doc={doc} field={f} value={v} testId={`auto-field-value-${zone}-${n}`} onChange={setV} />
            ) : m === "expr" ? (
              <ExpressionEditor mode="formula" draft compact rows={1} fields={(source?.fields ?? []) as Field[]} app={doc as never} entity={source?.name}
                value={(v as { expr: string }).expr} placeholder="budget / 1000" ariaLabel={t("auto.mode.expr")}
                testId={`auto-field-exprbox-${zone}-${n}`} inputTestId={`auto-field-expr-${zone}-${n}`} onChange={(x) => setV({ expr: x })} />
            ) : m === "template" ? (
              <TemplateInput entity={source} value={(v as { template: string }).template} testId={`auto-field-template-${zone}-${n}`}
                onChange={(s) => setV({ template: s })} />
            ) : (
              <span className="tag" data-testid={`auto-field-this-${zone}-${n}`}>{t("auto.thisRecord")}</span>
            )}
            <button type="button" className="btn btn-icon btn-small" aria-label={t("auto.removeField")}
              onClick={() => onChange(Object.fromEntries(Object.entries(fields).filter(([k]) => k !== n)))}><Icon.x /></button>
            <FieldProblems msgs={probs} testId={`auto-problem-field-${zone}-${n}`} />
          </div>
        );
      })}
      <FieldProblems msgs={at(`${p}/fields`)} />
      {free.length > 0 && (
        <select value="" aria-label={t("auto.addField")} data-testid={`auto-field-add-${zone}`}
          onChange={(e) => {
            const f = writable.find((x) => x.name === e.target.value);
            if (!f) return;
            const selfRef = f.type === "ref" && f.entity === source?.name && mode === "create";
            onChange({ ...fields, [f.name]: selfRef ? { expr: "id" } : defaultValue(f) });
          }}>
          <option value="">{t("auto.addField")}</option>
          {free.map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
        </select>
      )}
    </div>
  );
}

function defaultValue(f: Field | undefined): unknown {
  switch (f?.type) {
    case "boolean": return true;
    case "select": return f.options?.[0] ?? "";
    case "integer": case "decimal": return 0;
    case "multiselect": return [];
    default: return "";
  }
}

// ValueInput writes a JSON value as the field's type takes it.
function ValueInput({ doc, field, value, onChange, testId }: { doc: DDoc; field: Field | undefined; value: unknown; onChange: (v: unknown) => void; testId: string }) {
  const { t } = useI18n();
  const s = value === null || value === undefined ? "" : String(value);
  switch (field?.type) {
    case "select":
      return (
        <select value={s} data-testid={testId} aria-label={t("filter.value")} onChange={(e) => onChange(e.target.value)}>
          {(field.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      );
    case "multiselect": {
      const chosen = Array.isArray(value) ? (value as string[]) : [];
      return (
        <fieldset className="filter-options" data-testid={testId} aria-label={t("filter.value")}>
          {(field.options ?? []).map((o) => (
            <label key={o} className="check">
              <input type="checkbox" checked={chosen.includes(o)} onChange={(e) => onChange(e.target.checked ? [...chosen, o] : chosen.filter((x) => x !== o))} />
              {o}
            </label>
          ))}
        </fieldset>
      );
    }
    case "boolean":
      return (
        <select value={String(value === true)} data-testid={testId} aria-label={t("filter.value")} onChange={(e) => onChange(e.target.value === "true")}>
          <option value="true">{t("common.yes")}</option>
          <option value="false">{t("common.no")}</option>
        </select>
      );
    case "integer": case "decimal":
      return <input type="number" value={s} data-testid={testId} aria-label={t("filter.value")}
        onChange={(e) => onChange(e.target.value === "" ? null : Number(e.target.value))} />;
    case "date":
      return <input type="date" value={s} data-testid={testId} aria-label={t("filter.value")} onChange={(e) => onChange(e.target.value || null)} />;
    case "user":
      return <UserPicker value={s} onChange={(id) => onChange(id || null)} testId={testId} />;
    case "ref":
      return <RefPicker app={doc as unknown as AppDocument} target={doc.entities.find((e) => e.name === field.entity) as never} value={s}
        onChange={(id) => onChange(id || null)} testId={testId} />;
    default:
      return <input value={s} data-testid={testId} aria-label={t("filter.value")} onChange={(e) => onChange(e.target.value)} />;
  }
}

// TemplateInput: text with {{field}} placeholders, a field picked by label
// inserted at the cursor; below, the text with each placeholder as a chip.
export function TemplateInput({ entity, value, onChange, testId, multiline }: {
  entity: DEntity | undefined; value: string; onChange: (s: string) => void; testId: string; multiline?: boolean;
}) {
  const { t } = useI18n();
  const ref = useRef<HTMLTextAreaElement & HTMLInputElement>(null);
  const fields = ruleFields(entity).filter((f) => f.type !== "json");
  const label = (n: string) => {
    const f = fields.find((x) => x.name === n);
    return f ? fieldName(t as (k: MessageKey) => string, f) : n;
  };
  const insert = (name: string) => {
    const el = ref.current;
    const at = el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? at;
    onChange(value.slice(0, at) + `{{${name}}}` + value.slice(end));
  };
  const parts = value.split(/(\{\{\s*[\w.]+\s*\}\})/);
  const Tag = multiline ? "textarea" : "input";
  return (
    <div className="auto-template">
      <Tag ref={ref} value={value} data-testid={testId} rows={multiline ? 3 : undefined} onChange={(e) => onChange(e.target.value)} aria-label={t("auto.template")} />
      <select value="" aria-label={t("auto.insertField")} data-testid={testId + "-insert"} onChange={(e) => e.target.value && insert(e.target.value)}>
        <option value="">{t("auto.insertField")}</option>
        {fields.map((f) => <option key={f.name} value={f.name}>{fieldName(t as (k: MessageKey) => string, f)}</option>)}
      </select>
      {value.includes("{{") && (
        <div className="auto-template-preview small" data-testid={testId + "-preview"}>
          {parts.map((x, i) => {
            const m = /^\{\{\s*([\w.]+)\s*\}\}$/.exec(x);
            return m ? <span key={i} className="chip">{label(m[1])}</span> : <span key={i}>{x}</span>;
          })}
        </div>
      )}
    </div>
  );
}

function NotifyEditor({ doc, entity, action, p, at, zone, onChange }: {
  doc: DDoc; entity: DEntity | undefined; action: Action; p: string; at: ProblemsAt; zone: string; onChange: (a: Action) => void;
}) {
  const { t } = useI18n();
  const to = action.to ?? {};
  const setTo = (patch: Partial<typeof to>) => {
    const n = { ...to, ...patch };
    for (const k of Object.keys(n) as (keyof typeof n)[]) {
      const v = n[k];
      if (v === false || v === undefined || (Array.isArray(v) && v.length === 0)) delete n[k];
    }
    onChange({ ...action, to: n });
  };
  const toggle = (list: string[] | undefined, x: string, on: boolean) => (on ? [...(list ?? []), x] : (list ?? []).filter((y) => y !== x));
  const userFields = (entity?.fields ?? []).filter((f) => f.type === "user");
  const names = useNames(doc as unknown as AppDocument, (to.users ?? []).map((id) => ({ kind: "user" as const, id })));
  const [picking, setPicking] = useState("");
  return (
    <div className="auto-notify" data-testid={`auto-notify-${zone}`}>
      <fieldset className="auto-recipients" aria-invalid={at(p + "/to", true).length > 0 || undefined}>
        <legend className="field-label">{t("auto.recipients")}</legend>
        <label className="check">
          <input type="checkbox" checked={!!to.owner} data-testid={`auto-to-owner-${zone}`} onChange={(e) => setTo({ owner: e.target.checked })} /> {t("auto.to.owner")}
        </label>
        <label className="check">
          <input type="checkbox" checked={!!to.manager} data-testid={`auto-to-manager-${zone}`} onChange={(e) => setTo({ manager: e.target.checked })} /> {t("auto.to.manager")}
        </label>
        {(doc.roles ?? []).length > 0 && (
          <div className="auto-checks">
            <span className="muted small">{t("auto.to.roles")}</span>
            {(doc.roles ?? []).map((r) => (
              <label key={r.name} className="check">
                <input type="checkbox" checked={(to.roles ?? []).includes(r.name)} data-testid={`auto-to-role-${zone}-${r.name}`}
                  onChange={(e) => setTo({ roles: toggle(to.roles, r.name, e.target.checked) })} /> {r.label || r.name}
              </label>
            ))}
          </div>
        )}
        {userFields.length > 0 && (
          <div className="auto-checks">
            <span className="muted small">{t("auto.to.fields")}</span>
            {userFields.map((f) => (
              <label key={f.name} className="check">
                <input type="checkbox" checked={(to.fields ?? []).includes(f.name)} data-testid={`auto-to-field-${zone}-${f.name}`}
                  onChange={(e) => setTo({ fields: toggle(to.fields, f.name, e.target.checked) })} /> {f.label || f.name}
              </label>
            ))}
          </div>
        )}
        <div className="auto-checks">
          <span className="muted small">{t("auto.to.users")}</span>
          {(to.users ?? []).map((id) => (
            <span key={id} className="chip" data-testid={`auto-to-user-${zone}`}>
              {names({ kind: "user", id })}
              <button type="button" className="btn btn-icon btn-small" aria-label={t("auto.removeUser")}
                onClick={() => setTo({ users: toggle(to.users, id, false) })}><Icon.x /></button>
            </span>
          ))}
          <UserPicker value={picking} testId={`auto-to-users-${zone}`}
            onChange={(id) => {
              if (id && !(to.users ?? []).includes(id)) setTo({ users: [...(to.users ?? []), id] });
              setPicking("");
            }} />
        </div>
        <FieldProblems msgs={at(p + "/to", true)} testId={`auto-problem-to-${zone}`} />
      </fieldset>
      <label className="field">
        <span className="field-label">{t("auto.message")}</span>
        <TemplateInput entity={entity} value={action.message ?? ""} testId={`auto-message-${zone}`} multiline onChange={(message) => onChange({ ...action, message })} />
        <FieldProblems msgs={at(p + "/message")} testId={`auto-problem-message-${zone}`} />
      </label>
      <LabelsInputs labels={action.messages} prefix={`auto-message-${zone}`} caption="labels.messageIn"
        onChange={(l) => onChange({ ...action, messages: orNone(l) })} />
      <FieldProblems msgs={at(p + "/messages", true)} testId={`auto-problem-messages-${zone}`} />
    </div>
  );
}

// pluginActionTitle: "WeCom: send", or the names when the plugin is not installed.
function pluginActionTitle(plugins: AppPlugin[], x: Action, lang: string): string {
  const p = plugins.find((y) => y.name === x.plugin);
  const a = p?.actions?.find((y) => y.name === x.action);
  return `${p ? pluginLabel(p, lang) : x.plugin ?? ""}: ${a ? actionLabel(a, lang) : x.action ?? ""}`;
}

// PluginActionEditor: the input of a plugin action, one row per property
// of the action's input schema — a value typed by the property (text takes
// {{field}} placeholders: a template), or an expression over the record.
function PluginActionEditor({ doc, entity, action, p, at, zone, onChange }: {
  doc: DDoc; entity: DEntity | undefined; action: Action; p: string; at: ProblemsAt; zone: string; onChange: (a: Action) => void;
}) {
  const { t } = useI18n();
  const plugins = useAppPlugins(doc.name);
  const plugin = plugins?.find((x) => x.name === action.plugin);
  const def = plugin?.actions?.find((x) => x.name === action.action);
  const fields = schemaFields(def?.input);
  const input = action.input ?? {};
  const extra = Object.keys(input).filter((k) => !fields.some((f) => f.name === k));
  const setIn = (name: string, v: unknown) => {
    const next = { ...input };
    if (v === undefined || v === "") delete next[name];
    else next[name] = v;
    onChange({ ...action, input: next });
  };
  return (
    <div className="auto-plugin" data-testid={`auto-plugin-${zone}`}>
      {plugins && !def && <p className="field-error" data-testid={`auto-plugin-missing-${zone}`}>{t("auto.pluginMissing", { plugin: action.plugin ?? "", action: action.action ?? "" })}</p>}
      {plugin && !plugin.config?.enabled && <p className="muted small" data-testid={`auto-plugin-off-${zone}`}>{t("auto.pluginOff")}</p>}
      {def?.description && <p className="muted small">{def.description}</p>}
      <FieldProblems msgs={[...at(p + "/plugin"), ...at(p + "/action"), ...at(p + "/input")]} testId={`auto-problem-plugin-${zone}`} />
      {fields.map((f) => (
        <PluginInputRow key={f.name} doc={doc} entity={entity} field={f} schema={def?.input?.properties?.[f.name]} value={input[f.name]}
          testId={`auto-plugin-input-${zone}-${f.name}`} msgs={at(`${p}/input/${f.name}`, true)} onChange={(v) => setIn(f.name, v)} />
      ))}
      {extra.map((k) => (
        <div key={k} className="auto-field-row">
          <span className="mono small">{k}</span>
          <span className="muted small">{JSON.stringify(input[k])}</span>
          <button type="button" className="btn btn-icon btn-small" aria-label={t("auto.removeField")} onClick={() => setIn(k, undefined)}><Icon.x /></button>
          <FieldProblems msgs={at(`${p}/input/${k}`, true)} />
        </div>
      ))}
    </div>
  );
}

function PluginInputRow({ doc, entity, field, schema, value, testId, msgs, onChange }: {
  doc: DDoc; entity: DEntity | undefined; field: SchemaField; schema: Parameters<typeof SchemaInput>[0]["schema"]; value: unknown; testId: string;
  msgs: string[]; onChange: (v: unknown) => void;
}) {
  const { t } = useI18n();
  const isExpr = !!value && typeof value === "object" && !Array.isArray(value) && typeof (value as { expr?: unknown }).expr === "string";
  const textual = field.kind === "string" || field.kind === "text";
  return (
    <div className="field auto-plugin-input" data-testid={testId}>
      <span className="field-label">{field.title}{field.required && " *"}</span>
      <div className="auto-field-row">
        <select value={isExpr ? "expr" : "value"} aria-label={t("auto.valueKind")} data-testid={`${testId}-mode`}
          onChange={(e) => onChange(e.target.value === "expr" ? { expr: "" } : undefined)}>
          <option value="value">{t(textual ? "auto.mode.textOrTemplate" : "auto.mode.value")}</option>
          <option value="expr">{t("auto.mode.expr")}</option>
        </select>
        {isExpr ? (
          <ExpressionEditor mode="formula" draft compact rows={1} fields={(entity?.fields ?? []) as Field[]} app={doc as never} entity={entity?.name}
            value={(value as { expr: string }).expr} ariaLabel={t("auto.mode.expr")} testId={`${testId}-exprbox`} inputTestId={`${testId}-expr`}
            onChange={(x) => onChange({ expr: x })} />
        ) : textual ? (
          <TemplateInput entity={entity} value={pluginInputText(value)} testId={`${testId}-value`} multiline={field.kind === "text"}
            onChange={(s) => onChange(s === "" ? undefined : pluginInputValue(s))} />
        ) : (
          <SchemaInput field={field} schema={schema} value={value} testId={`${testId}-value`} invalid={msgs.length > 0} onChange={onChange} />
        )}
      </div>
      {field.description && <span className="muted small">{field.description}</span>}
      <FieldProblems msgs={msgs} testId={`${testId}-problem`} />
    </div>
  );
}
