// The document's "assignments" section (schema/assignments.go is the
// format), pure: a new rule, dropping empty keys, the statistics a score
// expression may read, durations ("4h", "90m", "1d") and the countdown
// of a record (time left = start + within − now).
import type { AssignmentRule, DataRecord, Field } from "../api";
import type { DDoc, DEntity } from "./model";
import { uniqueAutomationName } from "./automations";

export type Strategy = "roundRobin" | "leastLoad" | "score";
export const STRATEGIES: Strategy[] = ["roundRobin", "leastLoad", "score"];

export type StatKind = "openLoad" | "winRate" | "medianResponse" | "fieldMatch" | "skillsMatch";
export const STAT_KINDS: StatKind[] = ["openLoad", "winRate", "medianResponse", "fieldMatch", "skillsMatch"];

export type StepDo = "remind" | "notifyManager" | "reassign";
export const STEP_DOS: StepDo[] = ["remind", "notifyManager", "reassign"];

export interface Candidates {
  roles?: string[];
  teams?: string[];
  users?: string[];
  condition?: string;
}

export interface Statistic {
  name: string;
  kind: StatKind;
  entity?: string;
  won?: string;
  closed?: string;
  by?: string;
  byField?: string;
  date?: string;
  days?: number;
  from?: string;
  to?: string;
  field?: string;
  attribute?: string;
  default?: number;
}

export interface WorkingHours {
  timeZone?: string;
  days?: number[];
  from: string;
  to: string;
}

export interface Pool {
  name: string;
  eligible?: Candidates;
  dailyLimit?: number;
  deadline?: string;
  timeZone?: string;
}

export interface CountdownStep {
  after: string;
  do: StepDo;
  message?: string;
  messages?: Record<string, string>; // message per language
}

export interface Countdown {
  start?: string;
  until: string;
  within: string;
  steps?: CountdownStep[];
}

export interface AssignmentVariant {
  name: string;
  weight: number;
  strategy: Strategy;
  score?: string;
}

export interface Assignment {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  entity: string;
  field?: string;
  candidates: Candidates;
  strategy: Strategy;
  open?: string;
  capacity?: number;
  score?: string;
  statistics?: Statistic[];
  workingHours?: WorkingHours;
  fallbacks?: Candidates[];
  reassigners?: string[];
  pool?: Pool;
  countdown?: Countdown;
  variants?: AssignmentVariant[];
  [key: string]: unknown;
}

export function assignmentsOf(doc: DDoc): Assignment[] {
  return (doc.assignments as Assignment[] | undefined) ?? [];
}

export function withAssignments(doc: DDoc, list: Assignment[]): DDoc {
  const next: DDoc = { ...doc, assignments: list };
  if (list.length === 0) delete next.assignments;
  return next;
}

const nextName = (base: string, taken: string[]) => {
  let n = 1;
  while (taken.includes(`${base}_${n}`)) n++;
  return `${base}_${n}`;
};

// blankAssignment: round-robin over every user holding the app's first role, on the first entity.
export function blankAssignment(doc: DDoc): Assignment {
  const taken = assignmentsOf(doc).map((a) => a.name);
  const role = (doc.roles ?? [])[0]?.name;
  return {
    name: nextName("assignment", taken),
    entity: doc.entities[0]?.name ?? "", candidates: role ? { roles: [role] } : {}, strategy: "roundRobin",
  };
}

// newStatistic: a statistic of the kind with a name not yet declared.
export function newStatistic(kind: StatKind, taken: string[]): Statistic {
  const base = { openLoad: "load", winRate: "win_rate", medianResponse: "response_hours", fieldMatch: "region_match", skillsMatch: "skills_match" }[kind];
  const name = uniqueAutomationName(base, taken);
  switch (kind) {
    case "winRate": return { name, kind, days: 90 };
    case "medianResponse": return { name, kind, days: 90 };
    case "fieldMatch": return { name, kind, attribute: "region" };
    default: return { name, kind };
  }
}

// The keys each statistic kind reads; a kind change drops the others.
export const STAT_KEYS: Record<StatKind, (keyof Statistic)[]> = {
  openLoad: [],
  winRate: ["entity", "won", "closed", "by", "byField", "date", "days"],
  medianResponse: ["from", "to", "days", "date"],
  fieldMatch: ["field", "attribute"],
  skillsMatch: ["field"],
};

export function setStatKind(s: Statistic, kind: StatKind): Statistic {
  const out: Statistic = { name: s.name, kind };
  for (const k of STAT_KEYS[kind]) if (s[k] !== undefined) (out as unknown as Record<string, unknown>)[k] = s[k];
  if (s.default !== undefined) out.default = s.default;
  if (kind === "fieldMatch" && !out.attribute) out.attribute = "region";
  return out;
}

const emptyCandidates = (c: Candidates | undefined) => !c || (!c.roles?.length && !c.teams?.length && !c.users?.length && !c.condition);

function cleanCandidates(c: Candidates): Candidates {
  const out: Candidates = {};
  if (c.roles?.length) out.roles = c.roles;
  if (c.teams?.length) out.teams = c.teams;
  if (c.users?.length) out.users = c.users;
  if (c.condition) out.condition = c.condition;
  return out;
}

function dropEmpty<T extends object>(o: T): T {
  const out = { ...o } as Record<string, unknown>;
  for (const k of Object.keys(out)) if (out[k] === undefined || out[k] === "" || (Array.isArray(out[k]) && (out[k] as unknown[]).length === 0)) delete out[k];
  return out as T;
}

// clean drops empty optional keys, so the document carries only what was set.
export function cleanAssignment(a: Assignment): Assignment {
  const out = dropEmpty({ ...a, candidates: cleanCandidates(a.candidates ?? {}) }) as Assignment;
  if (!out.candidates) out.candidates = {};
  if (!out.capacity) delete out.capacity;
  if (out.statistics) out.statistics = out.statistics.map((s) => dropEmpty(s));
  if (out.fallbacks) out.fallbacks = out.fallbacks.map(cleanCandidates);
  if (out.pool) {
    const p = dropEmpty({ ...out.pool });
    if (p.eligible && emptyCandidates(p.eligible)) delete p.eligible;
    else if (p.eligible) p.eligible = cleanCandidates(p.eligible);
    if (!p.dailyLimit) delete p.dailyLimit;
    out.pool = p;
  }
  if (out.countdown) {
    const c = dropEmpty({ ...out.countdown });
    if (c.steps) c.steps = c.steps.map((s) => dropEmpty(s));
    out.countdown = c;
  }
  if (out.workingHours) out.workingHours = dropEmpty({ ...out.workingHours });
  for (const k of ["label", "field", "open", "score"] as const) if (!out[k]) delete out[k];
  return out;
}

// The names a score expression reads: the declared statistics.
export function statisticFields(a: Assignment): Field[] {
  return (a.statistics ?? []).filter((s) => s.name).map((s) => ({ id: "stat_" + s.name, name: s.name, label: s.name, type: "decimal" }));
}

// Where a problem's pointer belongs; anything else is listed at the top.
const PLACED = [
  /^\/(name|label|entity|field|strategy|open|capacity|score|reassigners)$/,
  /^\/candidates(\/(roles|teams|users|condition))?(\/\d+)?$/,
  /^\/statistics\/\d+(\/\w+)?$/,
  /^\/workingHours(\/\w+)?(\/\d+)?$/,
  /^\/fallbacks\/\d+(\/\w+)?(\/\d+)?$/,
  /^\/pool(\/(name|dailyLimit|deadline|timeZone|eligible))?(\/.*)?$/,
  /^\/countdown(\/(start|until|within))?$/,
  /^\/countdown\/steps\/\d+(\/(after|do|message))?$/,
  /^\/countdown\/steps\/\d+\/messages(\/.*)?$/,
  /^\/variants\/\d+(\/(name|weight|strategy|score))?$/,
];

export function isPlacedAssignment(path: string): boolean {
  return PLACED.some((re) => re.test(path));
}

// parseDuration reads "4h", "90m", "1d", "1h30m", "45s" (Go durations plus days) as milliseconds; null when it cannot.
export function parseDuration(s: string | undefined): number | null {
  if (!s) return null;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let read = 0;
  const t = s.trim();
  while ((m = re.exec(t))) {
    const n = Number(m[1]);
    total += n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
    read = re.lastIndex;
  }
  return read === t.length && read > 0 ? total : null;
}

export type CountdownState =
  | { kind: "none" } // no start value
  | { kind: "done"; at: string } // first contact recorded
  | { kind: "left"; ms: number } // time left (positive)
  | { kind: "late"; ms: number }; // past by ms

// countdownOf: the countdown of a record under a rule's countdown settings at now.
export function countdownOf(cd: { start?: string; until: string; within: string }, r: DataRecord, now: number): CountdownState {
  const until = r[cd.until];
  if (typeof until === "string" && until) return { kind: "done", at: until };
  const startV = r[cd.start || "created_at"];
  const start = typeof startV === "string" ? Date.parse(startV) : NaN;
  const within = parseDuration(cd.within);
  if (Number.isNaN(start) || within === null) return { kind: "none" };
  const left = start + within - now;
  return left >= 0 ? { kind: "left", ms: left } : { kind: "late", ms: -left };
}

// hm: a span as hours and minutes ("3h 05m"; "12m" under an hour; days beyond 48 h).
export function hm(ms: number): string {
  const mins = Math.floor(ms / 60_000);
  const h = Math.floor(mins / 60);
  const m = mins % 60;
  if (h >= 48) return `${Math.floor(h / 24)}d ${h % 24}h`;
  return h > 0 ? `${h}h ${String(m).padStart(2, "0")}m` : `${m}m`;
}

// The countdown rule of an entity: the first rule on it that has one.
export function countdownRule<T extends AssignmentRule>(rules: T[] | undefined, entity: string): T | undefined {
  return (rules ?? []).find((r) => r.entity === entity && r.countdown?.until && r.countdown?.within);
}

// Fields a rule reads, by type.
export const userFields = (e: DEntity | undefined) => (e?.fields ?? []).filter((f) => f.type === "user");
export const datetimeFields = (e: DEntity | undefined) => (e?.fields ?? []).filter((f) => f.type === "datetime" || f.type === "date");
