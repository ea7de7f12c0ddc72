// The flow editor's side panel: the selected state (name, labels, colour,
// final, initial) or transition (name, labels, from, to, roles, guard in
// the visual filter builder, evidence, fields to fill, comment, approval
// steps, hand-over receiver, actions on enter), with the server's problems
// at their inputs; with nothing selected, the plain outline of states and
// transitions, which also adds a transition without dragging (phones).
import { useState } from "react";
import type { ErrorDetail, Field } from "../api";
import {
  addState, addTransition, COLORS, initialState, removeState, removeTransition, renameState, shown, updateState, updateTransition,
  type ApprovalStep, type CommentRule, type EscalateThen, type Flow, type FlowTransition, type StepMode,
} from "../designer/flows";
import { NAME_RE, type DDoc, type DEntity } from "../designer/model";
import { filterableFields } from "../filter";
import { useI18n, type MessageKey } from "../i18n";
import { LabelsInputs, orNone } from "./LabelsInputs";
import { problemText } from "../problems";
import { ActionList } from "./AutomationsActions";
import { ConditionInput, FieldProblems, type ProblemsAt } from "./AutomationsEditor";
import { Icon } from "./common";
import type { Selection } from "./FlowsCanvas";


function problemsAt(list: ErrorDetail[], t: ReturnType<typeof useI18n>["t"], entity: DEntity | undefined): ProblemsAt {
  const label = (n: string) => entity?.fields.find((f) => f.name === n)?.label || n;
  return (path, deep = false) => list.filter((p) => p.path === path || (deep && p.path.startsWith(path + "/"))).map((p) => problemText(p, t, label));
}

export function FlowPanel({ doc, flow, entity, selection, problems, onChange, onSelect }: {
  doc: DDoc; flow: Flow; entity: DEntity | undefined; selection: Selection;
  problems: { states: Record<number, ErrorDetail[]>; transitions: Record<number, ErrorDetail[]> };
  onChange: (f: Flow) => void; onSelect: (s: Selection) => void;
}) {
  const { t } = useI18n();
  const back = (
    <button type="button" className="btn btn-small btn-ghost" data-testid="flow-panel-back" onClick={() => onSelect(null)}>
      <Icon.left /> {t("flow.outline")}
    </button>
  );
  if (selection?.kind === "state" && flow.states[selection.index]) {
    return (
      <div className="flow-panel" data-testid="flow-panel-state">
        {back}
        <StatePanel key={selection.index} flow={flow} index={selection.index} list={problems.states[selection.index] ?? []} entity={entity} onChange={onChange}
          onDelete={() => { onChange(removeState(flow, selection.index)); onSelect(null); }} />
      </div>
    );
  }
  if (selection?.kind === "transition" && flow.transitions[selection.index]) {
    return (
      <div className="flow-panel" data-testid="flow-panel-transition">
        {back}
        <TransitionPanel key={selection.index} doc={doc} flow={flow} index={selection.index} entity={entity} list={problems.transitions[selection.index] ?? []}
          onChange={onChange} onDelete={() => { onChange(removeTransition(flow, selection.index)); onSelect(null); }} />
      </div>
    );
  }
  return <Outline flow={flow} problems={problems} onChange={onChange} onSelect={onSelect} />;
}

// Outline lists the states and transitions as plain buttons and adds either without the canvas.
function Outline({ flow, problems, onChange, onSelect }: {
  flow: Flow; problems: { states: Record<number, ErrorDetail[]>; transitions: Record<number, ErrorDetail[]> };
  onChange: (f: Flow) => void; onSelect: (s: Selection) => void;
}) {
  const { t, lang } = useI18n();
  const [name, setName] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const fromName = from || flow.states[0]?.name || "";
  const toName = to || flow.states.find((s) => s.name !== fromName)?.name || "";
  const label = (n: string) => { const s = flow.states.find((x) => x.name === n); return s ? shown(s, lang) : n; };
  return (
    <div className="flow-panel" data-testid="flow-outline">
      <h3 className="panel-title">{t("flow.states")}</h3>
      <ul className="flow-outline-list">
        {flow.states.map((s, i) => (
          <li key={i}>
            <button type="button" className={"designer-item" + (problems.states[i] ? " has-error" : "")} data-testid={`flow-outline-state-${s.name}`}
              onClick={() => onSelect({ kind: "state", index: i })}>
              <span><span className="flow-node-dot" style={{ background: s.color || "#718096" }} aria-hidden="true" /> {shown(s, lang)}</span>
              <span className="muted small mono">{s.name}{s.final ? " · " + t("flow.finalTag") : ""}</span>
            </button>
          </li>
        ))}
      </ul>
      <form className="flow-add-row" onSubmit={(e) => {
        e.preventDefault();
        const n = name.trim();
        if (!n) return;
        onChange(addState(flow, n));
        setName("");
      }}>
        <input value={name} placeholder={t("flow.stateNamePlaceholder")} aria-label={t("flow.newState")} data-testid="flow-new-state"
          spellCheck={false} autoCapitalize="off" onChange={(e) => setName(e.target.value)} />
        <button type="submit" className="btn btn-small" data-testid="flow-add-state"><Icon.plus /> {t("flow.addState")}</button>
      </form>

      <h3 className="panel-title">{t("flow.transitions")}</h3>
      {flow.transitions.length === 0 && <p className="muted small">{t("flow.noTransitions")}</p>}
      <ul className="flow-outline-list">
        {flow.transitions.map((x, i) => (
          <li key={i}>
            <button type="button" className={"designer-item" + (problems.transitions[i] ? " has-error" : "")} data-testid={`flow-outline-transition-${x.name}`}
              onClick={() => onSelect({ kind: "transition", index: i })}>
              <span>{shown(x, lang)}</span>
              <span className="muted small">{(x.from?.length ? x.from.map(label).join(", ") : t("flow.anyState"))} → {label(x.to)}</span>
            </button>
          </li>
        ))}
      </ul>
      {flow.states.length >= 2 && (
        <div className="flow-add-row" data-testid="flow-add-transition-form">
          <label className="field">
            <span className="field-label small">{t("flow.from")}</span>
            <select value={fromName} data-testid="flow-add-from" onChange={(e) => setFrom(e.target.value)}>
              {flow.states.map((s) => <option key={s.name} value={s.name}>{shown(s, lang)}</option>)}
            </select>
          </label>
          <label className="field">
            <span className="field-label small">{t("flow.to")}</span>
            <select value={toName} data-testid="flow-add-to" onChange={(e) => setTo(e.target.value)}>
              {flow.states.map((s) => <option key={s.name} value={s.name}>{shown(s, lang)}</option>)}
            </select>
          </label>
          <button type="button" className="btn btn-small" data-testid="flow-add-transition" disabled={!fromName || !toName || fromName === toName}
            onClick={() => {
              const r = addTransition(flow, fromName, toName);
              onChange(r.flow);
              onSelect({ kind: "transition", index: r.index });
            }}>
            <Icon.plus /> {t("flow.addTransition")}
          </button>
        </div>
      )}
    </div>
  );
}

function Loose({ list, t }: { list: ErrorDetail[]; t: ReturnType<typeof useI18n>["t"] }) {
  if (!list.length) return null;
  return (
    <div className="alert alert-error" role="alert" data-testid="flow-panel-problems">
      <ul className="alert-details">{list.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, (n) => n)}</li>)}</ul>
    </div>
  );
}

function StatePanel({ flow, index, list, entity, onChange, onDelete }: {
  flow: Flow; index: number; list: ErrorDetail[]; entity: DEntity | undefined; onChange: (f: Flow) => void; onDelete: () => void;
}) {
  const { t } = useI18n();
  const s = flow.states[index];
  const at = problemsAt(list, t, entity);
  const taken = flow.states.some((x, j) => j !== index && x.name === s.name);
  const set = (p: Partial<typeof s>) => onChange(updateState(flow, index, p));
  const isInitial = initialState(flow) === s.name;
  return (
    <>
      <h3 className="panel-title">{t("flow.state")}</h3>
      <Loose list={list} t={t} />
      <label className="field">
        <span className="field-label">{t("flow.stateName")}</span>
        <input className="mono" value={s.name} data-testid="flow-state-name" spellCheck={false} autoCapitalize="off"
          aria-invalid={taken || at("/name").length > 0 || undefined} onChange={(e) => onChange(renameState(flow, index, e.target.value))} />
        <span className="muted small">{t("flow.stateNameHint")}</span>
        {taken && <span className="field-error">{t("flow.stateTaken")}</span>}
        <FieldProblems msgs={at("/name")} testId="flow-problem-state-name" />
      </label>
      <label className="field">
        <span className="field-label">{t("flow.label")}</span>
        <input value={s.label ?? ""} data-testid="flow-state-label" onChange={(e) => set({ label: e.target.value })} />
        <FieldProblems msgs={at("/label")} />
      </label>
      <LabelsInputs labels={s.labels} prefix="flow-state" onChange={(labels) => set({ labels })} />
      <div className="field">
        <span className="field-label">{t("flow.color")}</span>
        <div className="flow-colors" role="radiogroup" aria-label={t("flow.color")}>
          {COLORS.map((c) => (
            <button key={c} type="button" role="radio" aria-checked={s.color === c} className={"flow-swatch" + (s.color === c ? " active" : "")}
              style={{ background: c }} aria-label={c} data-testid={`flow-color-${c.slice(1)}`} onClick={() => set({ color: c })} />
          ))}
          <input type="color" value={s.color || "#718096"} aria-label={t("flow.customColor")} data-testid="flow-state-color" onChange={(e) => set({ color: e.target.value })} />
        </div>
        <FieldProblems msgs={at("/color")} />
      </div>
      <label className="check">
        <input type="checkbox" checked={!!s.final} data-testid="flow-state-final" onChange={(e) => set({ final: e.target.checked })} />
        {t("flow.final")}
      </label>
      <FieldProblems msgs={at("/final")} />
      <label className="check">
        <input type="checkbox" checked={isInitial} disabled={isInitial && !flow.initial} data-testid="flow-state-initial"
          onChange={(e) => onChange({ ...flow, initial: e.target.checked ? s.name : undefined })} />
        {t("flow.initial")}
      </label>
      <div className="flow-panel-actions">
        <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="flow-state-delete" onClick={onDelete}>{t("flow.deleteState")}</button>
      </div>
    </>
  );
}

function Checks({ items, chosen, testId, onChange }: {
  items: { value: string; label: string }[]; chosen: string[]; testId: string; onChange: (v: string[]) => void;
}) {
  const { t } = useI18n();
  if (!items.length) return <p className="muted small">{t("flow.nothingToChoose")}</p>;
  return (
    <div className="checks flow-checks" data-testid={testId}>
      {items.map((it) => (
        <label key={it.value} className="check">
          <input type="checkbox" checked={chosen.includes(it.value)} data-testid={`${testId}-${it.value}`}
            onChange={(e) => onChange(e.target.checked ? items.map((x) => x.value).filter((v) => v === it.value || chosen.includes(v)) : chosen.filter((v) => v !== it.value))} />
          {it.label}
        </label>
      ))}
    </div>
  );
}

const fieldItems = (fs: Field[]) => fs.map((f) => ({ value: f.name, label: f.label || f.name }));

function TransitionPanel({ doc, flow, index, entity, list, onChange, onDelete }: {
  doc: DDoc; flow: Flow; index: number; entity: DEntity | undefined; list: ErrorDetail[]; onChange: (f: Flow) => void; onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const tr = flow.transitions[index];
  const at = problemsAt(list, t, entity);
  const set = (p: Partial<FlowTransition>) => onChange(updateTransition(flow, index, p));
  const taken = flow.transitions.some((x, j) => j !== index && x.name === tr.name);
  const fields = entity?.fields ?? [];
  const fillable = fields.filter((f) => f.name !== flow.field && !["formula", "rollup", "autonumber"].includes(f.type));
  const userFields = fields.filter((f) => f.type === "user");
  const chosenFields = tr.fields ?? [];
  const states = flow.states.map((s) => ({ value: s.name, label: shown(s, lang) }));
  const steps = tr.approval?.steps ?? [];
  const setSteps = (st: ApprovalStep[]) => set({ approval: st.length ? { steps: st } : undefined });

  return (
    <>
      <h3 className="panel-title">{t("flow.transition")}</h3>
      <Loose list={list} t={t} />
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("flow.label")}</span>
          <input value={tr.label ?? ""} data-testid="flow-tr-label" onChange={(e) => set({ label: e.target.value })} />
          <FieldProblems msgs={at("/label")} />
        </label>
        <label className="field">
          <span className="field-label">{t("flow.name")}</span>
          <input className="mono" value={tr.name} data-testid="flow-tr-name" spellCheck={false} autoCapitalize="off"
            aria-invalid={taken || !NAME_RE.test(tr.name) || at("/name").length > 0 || undefined} onChange={(e) => set({ name: e.target.value })} />
          {!NAME_RE.test(tr.name) && <span className="field-error">{t("design.nameRule")}</span>}
          {taken && <span className="field-error">{t("flow.transitionTaken")}</span>}
          <FieldProblems msgs={at("/name")} testId="flow-problem-tr-name" />
        </label>
      </div>
      <LabelsInputs labels={tr.labels} prefix="flow-tr" onChange={(labels) => set({ labels })} />
      <div className="field">
        <span className="field-label">{t("flow.from")}</span>
        <span className="muted small">{t("flow.fromHint")}</span>
        <Checks items={states.filter((s) => s.value !== tr.to)} chosen={tr.from ?? []} testId="flow-tr-from" onChange={(from) => set({ from })} />
        <FieldProblems msgs={at("/from", true)} testId="flow-problem-tr-from" />
      </div>
      <label className="field">
        <span className="field-label">{t("flow.to")}</span>
        <select value={tr.to} data-testid="flow-tr-to" aria-invalid={at("/to").length > 0 || undefined} onChange={(e) => set({ to: e.target.value })}>
          {!flow.states.some((s) => s.name === tr.to) && <option value={tr.to}>{tr.to || "—"}</option>}
          {states.map((s) => <option key={s.value} value={s.value}>{s.label}</option>)}
        </select>
        <FieldProblems msgs={at("/to")} testId="flow-problem-tr-to" />
      </label>
      <div className="field">
        <span className="field-label">{t("flow.roles")}</span>
        <span className="muted small">{t("flow.rolesHint")}</span>
        <Checks items={(doc.roles ?? []).map((r) => ({ value: r.name, label: r.label || r.name }))} chosen={tr.roles ?? []} testId="flow-tr-roles"
          onChange={(roles) => set({ roles })} />
        <FieldProblems msgs={at("/roles", true)} testId="flow-problem-tr-roles" />
      </div>
      <section className="auto-section">
        <h4 className="panel-title">{t("flow.guard")}</h4>
        <p className="muted small">{t("flow.guardHint")}</p>
        <ConditionInput fields={filterableFields(fields)} doc={doc} value={tr.guard ?? ""} testId="flow-tr-guard" problems={at("/guard")}
          onChange={(g) => set({ guard: g || undefined })} />
        <label className="field">
          <span className="field-label">{t("flow.guardMessage")}</span>
          <input value={tr.guardMessage ?? ""} data-testid="flow-tr-guard-message" onChange={(e) => set({ guardMessage: e.target.value })} />
        </label>
        <LabelsInputs labels={tr.guardMessages} prefix="flow-tr-guard-message" caption="labels.messageIn"
          onChange={(l) => set({ guardMessages: orNone(l) })} />
        <FieldProblems msgs={at("/guardMessages", true)} testId="flow-problem-tr-guard-messages" />
      </section>
      <div className="field">
        <span className="field-label">{t("flow.evidence")}</span>
        <span className="muted small">{t("flow.evidenceHint")}</span>
        <Checks items={fieldItems(fillable)} chosen={tr.evidence ?? []} testId="flow-tr-evidence" onChange={(evidence) => set({ evidence })} />
        <FieldProblems msgs={at("/evidence", true)} testId="flow-problem-tr-evidence" />
      </div>
      <div className="field">
        <span className="field-label">{t("flow.fields")}</span>
        <span className="muted small">{t("flow.fieldsHint")}</span>
        <div className="flow-checks" data-testid="flow-tr-fields">
          {fillable.map((f) => {
            const c = chosenFields.find((x) => x.field === f.name);
            return (
              <div key={f.name} className="flow-field-row">
                <label className="check">
                  <input type="checkbox" checked={!!c} data-testid={`flow-tr-fields-${f.name}`}
                    onChange={(e) => set({ fields: e.target.checked ? [...chosenFields, { field: f.name }] : chosenFields.filter((x) => x.field !== f.name) })} />
                  {f.label || f.name}
                </label>
                {c && (
                  <label className="check small">
                    <input type="checkbox" checked={!!c.required} data-testid={`flow-tr-fields-required-${f.name}`}
                      onChange={(e) => set({ fields: chosenFields.map((x) => (x.field === f.name ? (e.target.checked ? { ...x, required: true } : { field: x.field }) : x)) })} />
                    {t("flow.required")}
                  </label>
                )}
              </div>
            );
          })}
        </div>
        <FieldProblems msgs={at("/fields", true)} testId="flow-problem-tr-fields" />
      </div>
      <label className="field">
        <span className="field-label">{t("flow.comment")}</span>
        <select value={tr.comment ?? "optional"} data-testid="flow-tr-comment" onChange={(e) => set({ comment: e.target.value === "optional" ? undefined : (e.target.value as CommentRule) })}>
          {(["none", "optional", "required"] as const).map((c) => <option key={c} value={c}>{t(`flow.comment.${c}` as MessageKey)}</option>)}
        </select>
        <FieldProblems msgs={at("/comment")} />
      </label>

      <section className="auto-section" data-testid="flow-tr-approval">
        <div className="auto-section-head">
          <h4 className="panel-title">{t("flow.approval")}</h4>
          <label className="check">
            <input type="checkbox" checked={steps.length > 0} data-testid="flow-tr-approval-on"
              onChange={(e) => setSteps(e.target.checked ? [{ name: "step_1", approvers: { manager: true }, mode: "any" }] : [])} />
            {t("flow.needsApproval")}
          </label>
        </div>
        <FieldProblems msgs={at("/approval")} />
        {steps.map((st, i) => (
          <StepEditor key={i} doc={doc} fields={fields} userFields={userFields} step={st} index={i} count={steps.length} at={at}
            onChange={(x) => setSteps(steps.map((y, j) => (j === i ? x : y)))} onRemove={() => setSteps(steps.filter((_, j) => j !== i))}
            onMove={(d) => { const n = steps.slice(); const [x] = n.splice(i, 1); n.splice(i + d, 0, x); setSteps(n); }} />
        ))}
        {steps.length > 0 && (
          <button type="button" className="btn btn-small" data-testid="flow-step-add"
            onClick={() => setSteps([...steps, { name: `step_${steps.length + 1}`, approvers: {}, mode: "any" }])}>
            <Icon.plus /> {t("flow.addStep")}
          </button>
        )}
      </section>

      <section className="auto-section" data-testid="flow-tr-handover">
        <div className="auto-section-head">
          <h4 className="panel-title">{t("flow.handover")}</h4>
          <label className="check">
            <input type="checkbox" checked={!!tr.handover} data-testid="flow-tr-handover-on" disabled={!tr.handover && userFields.length === 0}
              onChange={(e) => set({ handover: e.target.checked ? { receiver: userFields[0]?.name ?? "" } : undefined })} />
            {t("flow.handoverOn")}
          </label>
        </div>
        <p className="muted small">{userFields.length ? t("flow.handoverHint") : t("flow.handoverNeedsUser")}</p>
        {tr.handover && (
          <label className="field">
            <span className="field-label">{t("flow.receiver")}</span>
            <select value={tr.handover.receiver} data-testid="flow-tr-receiver" aria-invalid={at("/handover/receiver").length > 0 || undefined}
              onChange={(e) => set({ handover: { receiver: e.target.value } })}>
              {!userFields.some((f) => f.name === tr.handover?.receiver) && <option value={tr.handover.receiver}>{tr.handover.receiver || "—"}</option>}
              {userFields.map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
            </select>
            <FieldProblems msgs={at("/handover", true)} />
          </label>
        )}
      </section>

      <section className="auto-section" data-testid="flow-tr-actions">
        <h4 className="panel-title">{t("flow.actions")}</h4>
        <p className="muted small">{t("flow.actionsHint")}</p>
        <ActionList doc={doc} entity={entity} zone={`flow-${index}`} prefix="" actions={tr.actions ?? []} at={at}
          onChange={(actions) => set({ actions })} />
      </section>
      <div className="flow-panel-actions">
        <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="flow-tr-delete" onClick={onDelete}>{t("flow.deleteTransition")}</button>
      </div>
    </>
  );
}

function StepEditor({ doc, fields, userFields, step, index, count, at, onChange, onRemove, onMove }: {
  doc: DDoc; fields: Field[]; userFields: Field[]; step: ApprovalStep; index: number; count: number; at: ProblemsAt;
  onChange: (s: ApprovalStep) => void; onRemove: () => void; onMove: (d: number) => void;
}) {
  const { t } = useI18n();
  const p = `/approval/steps/${index}`;
  const ap = step.approvers ?? {};
  const setAp = (x: Partial<typeof ap>) => {
    const next = { ...ap, ...x };
    for (const k of Object.keys(next) as (keyof typeof next)[]) if (!next[k] || (Array.isArray(next[k]) && !(next[k] as unknown[]).length)) delete next[k];
    onChange({ ...step, approvers: next });
  };
  const [users, setUsers] = useState((ap.users ?? []).join(", "));
  const then = step.escalate?.then ?? "";
  return (
    <div className={"card flow-step" + (at(p, true).length ? " has-error" : "")} data-testid={`flow-step-${index}`}>
      <div className="auto-action-head">
        <strong>{t("flow.stepN", { n: index + 1 })}</strong>
        <span className="row-actions">
          <button type="button" className="btn btn-icon btn-small" disabled={index === 0} aria-label={t("auto.moveUp")} onClick={() => onMove(-1)}><Icon.up /></button>
          <button type="button" className="btn btn-icon btn-small" disabled={index === count - 1} aria-label={t("auto.moveDown")} onClick={() => onMove(1)}><Icon.down /></button>
          <button type="button" className="btn btn-icon btn-small" aria-label={t("flow.removeStep")} data-testid={`flow-step-remove-${index}`} onClick={onRemove}><Icon.x /></button>
        </span>
      </div>
      <FieldProblems msgs={at(p)} />
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("flow.name")}</span>
          <input className="mono" value={step.name} data-testid={`flow-step-name-${index}`} onChange={(e) => onChange({ ...step, name: e.target.value })} />
          <FieldProblems msgs={at(p + "/name")} />
        </label>
        <label className="field">
          <span className="field-label">{t("flow.label")}</span>
          <input value={step.label ?? ""} data-testid={`flow-step-label-${index}`} onChange={(e) => onChange({ ...step, label: e.target.value || undefined })} />
        </label>
      </div>
      <LabelsInputs labels={step.labels} prefix={`flow-step-${index}`} onChange={(labels) => onChange({ ...step, labels })} />
      <div className="field">
        <span className="field-label">{t("flow.approverRoles")}</span>
        <Checks items={(doc.roles ?? []).map((r) => ({ value: r.name, label: r.label || r.name }))} chosen={ap.roles ?? []} testId={`flow-step-roles-${index}`}
          onChange={(roles) => setAp({ roles })} />
        <FieldProblems msgs={at(p + "/approvers/roles", true)} testId={`flow-problem-step-roles-${index}`} />
      </div>
      <div className="field">
        <span className="field-label">{t("flow.approverFields")}</span>
        <Checks items={fieldItems(userFields)} chosen={ap.fields ?? []} testId={`flow-step-fields-${index}`} onChange={(fs) => setAp({ fields: fs })} />
        <FieldProblems msgs={at(p + "/approvers/fields", true)} />
      </div>
      <label className="check">
        <input type="checkbox" checked={!!ap.manager} data-testid={`flow-step-manager-${index}`} onChange={(e) => setAp({ manager: e.target.checked })} />
        {t("flow.approverManager")}
      </label>
      <label className="field">
        <span className="field-label">{t("flow.approverUsers")}</span>
        <input value={users} data-testid={`flow-step-users-${index}`} placeholder="ana@example.com, …" spellCheck={false} autoCapitalize="off"
          onChange={(e) => setUsers(e.target.value)}
          onBlur={() => setAp({ users: users.split(/[,\s]+/).map((x) => x.trim()).filter(Boolean) })} />
        <FieldProblems msgs={[...at(p + "/approvers"), ...at(p + "/approvers/users", true)]} />
      </label>
      <div className="auto-row">
        <label className="field auto-narrow">
          <span className="field-label">{t("flow.mode")}</span>
          <select value={step.mode ?? "any"} data-testid={`flow-step-mode-${index}`}
            onChange={(e) => { const m = e.target.value as StepMode; onChange({ ...step, mode: m, quorum: m === "quorum" ? step.quorum || 2 : undefined }); }}>
            {(["any", "all", "quorum"] as const).map((m) => <option key={m} value={m}>{t(`flow.mode.${m}` as MessageKey)}</option>)}
          </select>
        </label>
        {step.mode === "quorum" && (
          <label className="field auto-narrow">
            <span className="field-label">{t("flow.quorum")}</span>
            <input type="number" min={1} value={step.quorum ?? 2} data-testid={`flow-step-quorum-${index}`}
              onChange={(e) => onChange({ ...step, quorum: Math.max(1, Math.floor(Number(e.target.value) || 1)) })} />
            <FieldProblems msgs={at(p + "/quorum")} />
          </label>
        )}
        <label className="field auto-narrow">
          <span className="field-label">{t("flow.deadline")}</span>
          <input className="mono" value={step.deadline ?? ""} placeholder="24h" data-testid={`flow-step-deadline-${index}`}
            onChange={(e) => onChange({ ...step, deadline: e.target.value || undefined })} />
          <FieldProblems msgs={at(p + "/deadline")} testId={`flow-problem-step-deadline-${index}`} />
        </label>
        <label className="field auto-narrow">
          <span className="field-label">{t("flow.escalate")}</span>
          <select value={then} data-testid={`flow-step-escalate-${index}`}
            onChange={(e) => onChange({ ...step, escalate: e.target.value ? { then: e.target.value as EscalateThen } : undefined })}>
            <option value="">{t("flow.escalate.none")}</option>
            {(["notify", "next", "reject"] as const).map((x) => <option key={x} value={x}>{t(`flow.escalate.${x}` as MessageKey)}</option>)}
          </select>
          <FieldProblems msgs={at(p + "/escalate", true)} />
        </label>
      </div>
      <div className="auto-subsection">
        <span className="field-label">{t("flow.stepCondition")}</span>
        <ConditionInput fields={filterableFields(fields)} doc={doc} value={step.condition ?? ""} testId={`flow-step-condition-${index}`}
          problems={at(p + "/condition")} onChange={(c) => onChange({ ...step, condition: c || undefined })} />
      </div>
    </div>
  );
}
