// The designer's Flows tab: the document's flows on the left (add one for
// an entity with a select field, delete), the selected flow's settings
// (label, name, entity, state field, initial state; states made from the
// field's options), its canvas (FlowsCanvas.tsx) and the side panel for the
// selected state or transition (FlowsPanel.tsx). Problems the server finds
// on publish show on the node or edge their JSON pointer names and in the
// panel. Publishing is the designer's: draft, plan, apply.
import { useEffect, useMemo, useState } from "react";
import type { ErrorDetail } from "../api";
import {
  addTransition, blankFlow, flowableEntities, flowList, flowsWithProblems, missingOptions, problemsByElement, problemsOfFlow, removeState,
  selectFields, shown, sourcesOf, statesFromOptions, transitionIndexOf, updateState, withFlows, type Flow,
} from "../designer/flows";
import { renameFlowInAutomations } from "../designer/automations";
import { NAME_RE, type DDoc } from "../designer/model";
import { useI18n } from "../i18n";
import { problemText } from "../problems";
import { FieldProblems } from "./AutomationsEditor";
import { Icon } from "./common";
import { Dialog } from "./Dialog";
import { FlowCanvas, type Selection } from "./FlowsCanvas";
import { FlowPanel } from "./FlowsPanel";

export function FlowsEditor({ doc, onChange, problems }: { doc: DDoc; onChange: (d: DDoc) => void; problems?: ErrorDetail[] }) {
  const { t, lang } = useI18n();
  const list = flowList(doc);
  const [sel, setSel] = useState(0);
  const [selection, setSelection] = useState<Selection>(null);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const bad = useMemo(() => flowsWithProblems(problems ?? []), [problems]);
  const fi = Math.min(sel, list.length - 1);
  const flow = fi >= 0 ? list[fi] : undefined;

  // Open the first flow in trouble, and its first state or transition in trouble, when problems arrive.
  useEffect(() => {
    const first = [...bad][0];
    if (first === undefined) return;
    setSel(first);
    const p = problemsOfFlow(problems ?? [], first);
    const s = Object.keys(p.states)[0];
    const tr = Object.keys(p.transitions)[0];
    setSelection(s !== undefined ? { kind: "state", index: Number(s) } : tr !== undefined ? { kind: "transition", index: Number(tr) } : null);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bad]);

  const setList = (l: Flow[]) => onChange(withFlows(doc, l));
  // A renamed flow or transition carries into the automations whose
  // transition trigger names it (edits arrive a keystroke at a time).
  const setFlow = (f: Flow) => {
    const before = list[fi];
    let next = withFlows(doc, list.map((x, j) => (j === fi ? f : x)));
    if (before) {
      const moved = before.transitions.length === f.transitions.length
        ? before.transitions.map((t, j) => ({ from: t.name, to: f.transitions[j].name })).find((r) => r.from !== r.to)
        : undefined;
      next = renameFlowInAutomations(next, { from: before.name, to: f.name }, moved);
    }
    onChange(next);
  };

  return (
    <div className="flow-editor" data-testid="flow-editor">
      <aside className="designer-col flow-list" aria-label={t("flow.title")}>
        <h2 className="panel-title">{t("flow.title")}</h2>
        {list.length === 0 && <p className="muted small" data-testid="flow-none">{t("flow.none")}</p>}
        <ul className="designer-list">
          {list.map((f, i) => (
            <li key={i}>
              <button type="button" className={"designer-item" + (i === fi ? " active" : "") + (bad.has(i) ? " has-error" : "")}
                aria-current={i === fi || undefined} data-testid={`flow-item-${f.name}`} onClick={() => { setSel(i); setSelection(null); }}>
                <span>{shown(f, lang)}</span>
                <span className="muted small">{doc.entities.find((e) => e.name === f.entity)?.label || f.entity}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-block" data-testid="flow-add" disabled={flowableEntities(doc).length === 0} onClick={() => setAdding(true)}>
          <Icon.plus /> {t("flow.add")}
        </button>
        {flowableEntities(doc).length === 0 && <p className="muted small">{t("flow.needsSelect")}</p>}
      </aside>
      {flow ? (
        <FlowMain key={fi} doc={doc} flow={flow} index={fi} problems={problems ?? []} selection={selection} onSelect={setSelection}
          onChange={setFlow} onDelete={() => setDeleting(true)} />
      ) : (
        <div className="designer-col"><p className="muted">{t("flow.pickOrAdd")}</p></div>
      )}
      {adding && (
        <AddFlowDialog doc={doc} onCancel={() => setAdding(false)} onAdd={(f) => {
          setList([...list, f]);
          setSel(list.length);
          setSelection(null);
          setAdding(false);
        }} />
      )}
      {deleting && flow && (
        <Dialog title={t("flow.deleteTitle")} testId="flow-delete-dialog" onClose={() => setDeleting(false)}
          footer={<>
            <button type="button" className="btn" onClick={() => setDeleting(false)}>{t("common.cancel")}</button>
            <button type="button" className="btn btn-danger" data-testid="flow-delete-confirm"
              onClick={() => { setList(list.filter((_, j) => j !== fi)); setSel(Math.max(0, fi - 1)); setSelection(null); setDeleting(false); }}>
              {t("flow.delete")}
            </button>
          </>}>
          <p>{t("flow.deleteConfirm", { name: shown(flow, lang) })}</p>
        </Dialog>
      )}
    </div>
  );
}

function AddFlowDialog({ doc, onAdd, onCancel }: { doc: DDoc; onAdd: (f: Flow) => void; onCancel: () => void }) {
  const { t } = useI18n();
  const options = flowableEntities(doc);
  const [entity, setEntity] = useState(options[0]?.name ?? "");
  const e = doc.entities.find((x) => x.name === entity);
  return (
    <Dialog title={t("flow.add")} testId="flow-add-dialog" onClose={onCancel}
      footer={<>
        <button type="button" className="btn" onClick={onCancel}>{t("common.cancel")}</button>
        <button type="button" className="btn btn-primary" data-testid="flow-add-save" disabled={!e} onClick={() => e && onAdd(blankFlow(doc, e))}>{t("flow.create")}</button>
      </>}>
      <label className="field">
        <span className="field-label">{t("flow.entity")}</span>
        <select value={entity} data-testid="flow-add-entity" onChange={(ev) => setEntity(ev.target.value)}>
          {options.map((x) => <option key={x.name} value={x.name}>{x.label || x.name}</option>)}
        </select>
        <span className="muted small">{t("flow.entityHint")}</span>
      </label>
    </Dialog>
  );
}

function FlowMain({ doc, flow, index, problems, selection, onSelect, onChange, onDelete }: {
  doc: DDoc; flow: Flow; index: number; problems: ErrorDetail[]; selection: Selection; onSelect: (s: Selection) => void;
  onChange: (f: Flow) => void; onDelete: () => void;
}) {
  const { t } = useI18n();
  const entity = doc.entities.find((e) => e.name === flow.entity);
  const selField = entity?.fields.find((f) => f.name === flow.field);
  const missing = missingOptions(flow, selField?.options);
  const fp = useMemo(() => problemsOfFlow(problems, index), [problems, index]);
  const onCanvas = useMemo(() => problemsByElement(flow, fp), [flow, fp]);
  const label = (n: string) => entity?.fields.find((f) => f.name === n)?.label || n;
  const at = (p: string) => fp.flow.filter((d) => d.path === p).map((d) => problemText(d, t, label));
  const loose = fp.flow.filter((d) => !["/name", "/label", "/entity", "/field", "/initial"].includes(d.path));
  const taken = flowList(doc).some((f, j) => j !== index && f.name === flow.name);

  function removeEdges(ids: string[]) {
    let f = flow;
    // Highest transition first, so indexes stay right.
    const byT = new Map<number, string[]>();
    for (const id of ids) {
      const ti = transitionIndexOf(id);
      if (ti >= 0) byT.set(ti, [...(byT.get(ti) ?? []), id.slice(id.indexOf(":") + 1)]);
    }
    for (const ti of [...byT.keys()].sort((a, b) => b - a)) {
      const tr = f.transitions[ti];
      const left = sourcesOf(f, tr).filter((s) => !byT.get(ti)!.includes(s));
      f = left.length === 0 ? { ...f, transitions: f.transitions.filter((_, j) => j !== ti) }
        : { ...f, transitions: f.transitions.map((x, j) => (j === ti ? { ...x, from: left } : x)) };
    }
    return f;
  }

  return (
    <div className="designer-col flow-main">
      <div className="flow-settings">
        <div className="auto-row">
          <label className="field">
            <span className="field-label">{t("flow.label")}</span>
            <input value={flow.label ?? ""} data-testid="flow-label" onChange={(e) => onChange({ ...flow, label: e.target.value || undefined })} />
            <FieldProblems msgs={at("/label")} />
          </label>
          <label className="field">
            <span className="field-label">{t("flow.name")}</span>
            <input className="mono" value={flow.name} data-testid="flow-name" spellCheck={false} autoCapitalize="off"
              aria-invalid={taken || !NAME_RE.test(flow.name) || at("/name").length > 0 || undefined} onChange={(e) => onChange({ ...flow, name: e.target.value })} />
            {!NAME_RE.test(flow.name) && <span className="field-error">{t("design.nameRule")}</span>}
            {taken && <span className="field-error">{t("flow.flowTaken")}</span>}
            <FieldProblems msgs={at("/name")} testId="flow-problem-name" />
          </label>
          <label className="field">
            <span className="field-label">{t("flow.entity")}</span>
            <select value={flow.entity} data-testid="flow-entity" aria-invalid={at("/entity").length > 0 || undefined}
              onChange={(e) => {
                const ent = doc.entities.find((x) => x.name === e.target.value);
                onChange({ ...flow, entity: e.target.value, field: selectFields(ent)[0]?.name ?? "" });
              }}>
              {!entity && <option value={flow.entity}>{flow.entity || "—"}</option>}
              {doc.entities.filter((e) => e.name === flow.entity || selectFields(e).length > 0).map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
            </select>
            <FieldProblems msgs={at("/entity")} testId="flow-problem-entity" />
          </label>
          <label className="field">
            <span className="field-label">{t("flow.field")}</span>
            <select value={flow.field} data-testid="flow-field" aria-invalid={at("/field").length > 0 || undefined} onChange={(e) => onChange({ ...flow, field: e.target.value })}>
              {!selField && <option value={flow.field}>{flow.field || "—"}</option>}
              {selectFields(entity).map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
            </select>
            <FieldProblems msgs={at("/field")} testId="flow-problem-field" />
          </label>
        </div>
        {missing.length > 0 && (
          <div className="alert alert-info flow-missing" data-testid="flow-missing-options">
            <span>{t("flow.missingOptions", { options: missing.join(", ") })}</span>
            <button type="button" className="btn btn-small" data-testid="flow-states-from-options" onClick={() => onChange(statesFromOptions(flow, missing))}>
              {t("flow.statesFromOptions")}
            </button>
          </div>
        )}
        {loose.length > 0 && (
          <div className="alert alert-error" role="alert" data-testid="flow-problems">
            <ul className="alert-details">{loose.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, label)}</li>)}</ul>
          </div>
        )}
        <div className="flow-head-actions">
          <span className="muted small">{t("flow.canvasHint")}</span>
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="flow-delete" onClick={onDelete}>{t("flow.delete")}</button>
        </div>
      </div>
      <div className="flow-work">
        <FlowCanvas flow={flow} selection={selection} problems={onCanvas} onSelect={onSelect}
          onConnect={(from, to) => { const r = addTransition(flow, from, to); onChange(r.flow); onSelect({ kind: "transition", index: r.index }); }}
          onMove={(moved) => {
            let f = flow;
            for (const [i, p] of moved) if (f.states[i] && (f.states[i].position?.x !== p.x || f.states[i].position?.y !== p.y)) f = updateState(f, i, { position: p });
            if (f !== flow) onChange(f);
          }}
          onDelete={(states, edges) => {
            let f = removeEdges(edges);
            for (const i of [...states].filter((i) => i >= 0).sort((a, b) => b - a)) f = removeState(f, i);
            onChange(f);
            onSelect(null);
          }} />
        <aside className="flow-side" aria-label={t("flow.panel")}>
          <FlowPanel doc={doc} flow={flow} entity={entity} selection={selection} problems={fp} onChange={onChange} onSelect={onSelect} />
        </aside>
      </div>
    </div>
  );
}
