// The document's "flows" section (schema/flows.go is the format), pure:
// new flows, states and transitions, renames that keep the transitions
// pointing at their states, the canvas's nodes and edges (ids by index, so
// a rename keeps them), and where a server problem's JSON pointer belongs
// (/flows/0/states/1/name → node s1, /flows/0/transitions/2/guard → the
// edges of transition 2).
import type { ErrorDetail, Field } from "../api";
import { renameIdent, type Action, type Recipients } from "./automations";
import type { DDoc, DEntity } from "./model";

export type Labels = Record<string, string>;

export interface FlowState {
  name: string;
  label?: string;
  labels?: Labels;
  color?: string;
  final?: boolean;
  position?: { x: number; y: number };
}

export interface TransitionField {
  field: string;
  required?: boolean;
}

export interface Approvers {
  roles?: string[];
  fields?: string[];
  manager?: boolean;
  users?: string[];
}

export type StepMode = "any" | "all" | "quorum";
export type EscalateThen = "notify" | "next" | "reject";

export interface ApprovalStep {
  name: string;
  label?: string;
  labels?: Labels;
  approvers: Approvers;
  mode?: StepMode;
  quorum?: number;
  condition?: string;
  deadline?: string;
  escalate?: { then: EscalateThen; notify?: Recipients };
}

export type CommentRule = "none" | "optional" | "required";

export interface FlowTransition {
  name: string;
  label?: string;
  labels?: Labels;
  from?: string[];
  to: string;
  roles?: string[];
  guard?: string;
  guardMessage?: string;
  guardMessages?: Record<string, string>; // guardMessage per language
  evidence?: string[];
  fields?: TransitionField[];
  comment?: CommentRule;
  actions?: Action[];
  approval?: { steps: ApprovalStep[] };
  handover?: { receiver: string };
}

export interface Flow {
  name: string;
  label?: string;
  labels?: Labels;
  entity: string;
  field: string;
  initial?: string;
  states: FlowState[];
  transitions: FlowTransition[];
}

// Colours offered for states (and given in turn to new ones).
export const COLORS = ["#718096", "#3182ce", "#805ad5", "#d69e2e", "#dd6b20", "#2f855a", "#c53030", "#319795"];

export function flowList(doc: DDoc): Flow[] {
  return ((doc.flows as Flow[] | undefined) ?? []).map((f) => ({ ...f, states: f.states ?? [], transitions: f.transitions ?? [] }));
}

export function withFlows(doc: DDoc, list: Flow[]): DDoc {
  const next: DDoc = { ...doc, flows: list };
  if (list.length === 0) delete next.flows;
  return next;
}

export function uniqueIn(base: string, taken: string[]): string {
  if (!taken.includes(base)) return base;
  for (let i = 2; ; i++) if (!taken.includes(`${base}_${i}`)) return `${base}_${i}`;
}

export const selectFields = (e: DEntity | undefined): Field[] => (e?.fields ?? []).filter((f) => f.type === "select");

// The entities a new flow may govern: those with a select field and no flow yet.
export function flowableEntities(doc: DDoc): DEntity[] {
  const governed = new Set(flowList(doc).map((f) => f.entity));
  return doc.entities.filter((e) => selectFields(e).length > 0 && !governed.has(e.name));
}

// blankFlow governs entity by its first select field (a "stage" or "status"
// one when there is one), with no states yet: the editor offers the options.
export function blankFlow(doc: DDoc, entity: DEntity): Flow {
  const sel = selectFields(entity);
  const field = sel.find((f) => /stage|status|state/.test(f.name)) ?? sel[0];
  return { name: uniqueIn(`${entity.name}_flow`, flowList(doc).map((f) => f.name)), entity: entity.name, field: field?.name ?? "", states: [], transitions: [] };
}

// A new state's place: on a grid of four columns.
export function gridPosition(i: number): { x: number; y: number } {
  return { x: 40 + (i % 4) * 220, y: 40 + Math.floor(i / 4) * 140 };
}

export function addState(f: Flow, name: string, extra: Partial<FlowState> = {}): Flow {
  const n = uniqueIn(name, f.states.map((s) => s.name));
  const i = f.states.length;
  return { ...f, states: [...f.states, { name: n, color: COLORS[i % COLORS.length], position: gridPosition(i), ...extra }] };
}

// statesFromOptions adds a state for every option of the flow's select field
// that is not one yet (the options are the states the engine accepts).
export function statesFromOptions(f: Flow, options: string[]): Flow {
  let out = f;
  for (const o of options) if (!out.states.some((s) => s.name === o)) out = addState(out, o);
  return out;
}

// Options of the select field that are no state yet.
export function missingOptions(f: Flow, options: string[] | undefined): string[] {
  return (options ?? []).filter((o) => !f.states.some((s) => s.name === o));
}

// addTransition connects from → to (a drag from one state onto another);
// the name is "from_to_to", made unique. Returns the flow and the new index.
export function addTransition(f: Flow, from: string, to: string): { flow: Flow; index: number } {
  const name = uniqueIn(`${from}_to_${to}`.replace(/[^A-Za-z0-9_]/g, "_").replace(/^([^A-Za-z])/, "t_$1"), f.transitions.map((t) => t.name));
  return { flow: { ...f, transitions: [...f.transitions, { name, from: [from], to }] }, index: f.transitions.length };
}

export function updateState(f: Flow, i: number, patch: Partial<FlowState>): Flow {
  return { ...f, states: f.states.map((s, j) => (j === i ? dropEmpty({ ...s, ...patch }) : s)) };
}

export function updateTransition(f: Flow, i: number, patch: Partial<FlowTransition>): Flow {
  return { ...f, transitions: f.transitions.map((t, j) => (j === i ? dropEmpty({ ...t, ...patch }) : t)) };
}

// renameState renames state i and every transition's from/to and the initial state with it.
export function renameState(f: Flow, i: number, to: string): Flow {
  const from = f.states[i]?.name;
  if (from === undefined || from === to) return f;
  const swap = (s: string) => (s === from ? to : s);
  return {
    ...f,
    ...(f.initial === from ? { initial: to } : {}),
    states: f.states.map((s, j) => (j === i ? { ...s, name: to } : s)),
    transitions: f.transitions.map((t) => ({ ...t, to: swap(t.to), ...(t.from ? { from: t.from.map(swap) } : {}) })),
  };
}

// removeState drops state i and the transitions into it; a transition that
// left only from it goes too (an empty from would mean "from any state").
export function removeState(f: Flow, i: number): Flow {
  const name = f.states[i]?.name;
  const transitions = f.transitions
    .filter((t) => t.to !== name && !(t.from && t.from.length > 0 && t.from.every((s) => s === name)))
    .map((t) => (t.from?.includes(name) ? { ...t, from: t.from.filter((s) => s !== name) } : t));
  const out: Flow = { ...f, states: f.states.filter((_, j) => j !== i), transitions };
  if (out.initial === name) delete out.initial;
  return out;
}

export function removeTransition(f: Flow, i: number): Flow {
  return { ...f, transitions: f.transitions.filter((_, j) => j !== i) };
}

// dropEmpty removes keys left empty, so the document carries only what was set.
function dropEmpty<T extends object>(o: T): T {
  const out = { ...o } as Record<string, unknown>;
  for (const [k, v] of Object.entries(out)) {
    if (v === undefined || v === "" || v === false || (Array.isArray(v) && v.length === 0 && k !== "from" && k !== "steps")) delete out[k];
    else if (v && typeof v === "object" && !Array.isArray(v) && k === "labels" && Object.values(v).every((x) => !x)) delete out[k];
  }
  return out as T;
}

// initialState is the state a created record starts in.
export const initialState = (f: Flow): string => f.initial || f.states[0]?.name || "";

// sourcesOf: the states a transition leaves (every non-final state but its target when from is empty).
export function sourcesOf(f: Flow, t: FlowTransition): string[] {
  if (t.from && t.from.length > 0) return t.from;
  return f.states.filter((s) => !s.final && s.name !== t.to).map((s) => s.name);
}

// ---- canvas ids ----

export const nodeId = (i: number) => `s${i}`;
export const edgeId = (ti: number, from: string) => `t${ti}:${from}`;
export function stateIndexOf(id: string): number {
  return /^s\d+$/.test(id) ? Number(id.slice(1)) : -1;
}
export function transitionIndexOf(id: string): number {
  const m = /^t(\d+):/.exec(id);
  return m ? Number(m[1]) : -1;
}

export interface EdgeSpec {
  id: string;
  ti: number;
  source: string;
  target: string;
  any: boolean; // from is empty: drawn from every non-final state
}

// edgesOf: one edge per (transition, from-state) whose states exist.
export function edgesOf(f: Flow): EdgeSpec[] {
  const idx = new Map(f.states.map((s, i) => [s.name, i]));
  const out: EdgeSpec[] = [];
  f.transitions.forEach((t, ti) => {
    const target = idx.get(t.to);
    if (target === undefined) return;
    for (const s of sourcesOf(f, t)) {
      const source = idx.get(s);
      if (source !== undefined) out.push({ id: edgeId(ti, s), ti, source: nodeId(source), target: nodeId(target), any: !t.from?.length });
    }
  });
  return out;
}

// ---- server problems ----

const unescape = (p: string) => p.replace(/~1/g, "/").replace(/~0/g, "~");

export interface FlowProblems {
  // Pointers inside the flow itself ("/entity", "/field", "/name", "").
  flow: ErrorDetail[];
  // By state / transition index, paths relative to it ("/name", "/guard", "/approval/steps/0/approvers/roles/0").
  states: Record<number, ErrorDetail[]>;
  transitions: Record<number, ErrorDetail[]>;
}

export function problemsOfFlow(details: ErrorDetail[], fi: number): FlowProblems {
  const out: FlowProblems = { flow: [], states: {}, transitions: {} };
  const prefix = `/flows/${fi}`;
  for (const d of details) {
    const p = d.path ?? "";
    if (p !== prefix && !p.startsWith(prefix + "/")) continue;
    const rest = p.slice(prefix.length);
    const m = /^\/(states|transitions)\/(\d+)(\/.*)?$/.exec(rest);
    if (m) {
      const bucket = m[1] === "states" ? out.states : out.transitions;
      (bucket[Number(m[2])] ??= []).push({ ...d, path: unescape(m[3] ?? "") });
    } else out.flow.push({ ...d, path: unescape(rest) });
  }
  return out;
}

// problemsByElement maps problems onto the canvas: node ids (states) and
// edge ids (every edge of a transition), each with its messages.
export function problemsByElement(f: Flow, p: FlowProblems): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [i, list] of Object.entries(p.states)) out.set(nodeId(Number(i)), list.map((d) => d.message));
  for (const e of edgesOf(f)) {
    const list = p.transitions[e.ti];
    if (list) out.set(e.id, list.map((d) => d.message));
  }
  return out;
}

export function flowsWithProblems(details: ErrorDetail[]): Set<number> {
  const out = new Set<number>();
  for (const d of details) {
    const m = /^\/flows\/(\d+)(?:\/|$)/.exec(d.path ?? "");
    if (m) out.add(Number(m[1]));
  }
  return out;
}

// shown: a label in the user's language, the label, the name.
export function shown(x: { name: string; label?: string; labels?: Labels }, lang: string): string {
  return x.labels?.[lang] || x.label || x.name;
}

// ---- keeping flows in step with the data model ----

export function renameEntityInFlows(doc: DDoc, from: string, to: string): DDoc {
  const list = flowList(doc);
  if (from === to || !list.some((f) => f.entity === from)) return doc;
  return withFlows(doc, list.map((f) => (f.entity === from ? { ...f, entity: to } : f)));
}

// renameFieldInFlows follows a field rename of entity: the state field,
// evidence, fields to fill, the hand-over receiver, approvers' user fields,
// and guards and step conditions (filter text).
export function renameFieldInFlows(doc: DDoc, entity: string, from: string, to: string): DDoc {
  const list = flowList(doc);
  if (from === to || !list.some((f) => f.entity === entity)) return doc;
  const one = (n: string) => (n === from ? to : n);
  const text = (s: string | undefined) => (s ? renameIdent(s, from, to) : s);
  return withFlows(doc, list.map((f) => (f.entity !== entity ? f : {
    ...f,
    field: one(f.field),
    transitions: f.transitions.map((t) => dropEmpty({
      ...t,
      guard: text(t.guard),
      evidence: t.evidence?.map(one),
      fields: t.fields?.map((x) => ({ ...x, field: one(x.field) })),
      handover: t.handover ? { receiver: one(t.handover.receiver) } : undefined,
      approval: t.approval ? { steps: t.approval.steps.map((st) => dropEmpty({
        ...st, condition: text(st.condition), approvers: { ...st.approvers, ...(st.approvers?.fields ? { fields: st.approvers.fields.map(one) } : {}) },
      })) } : undefined,
    })),
  })));
}
