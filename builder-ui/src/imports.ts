// Data in bulk (issue 16): imports (preview, dry run, run, progress, the
// bad rows as CSV), exports and duplicates with merge, typed over the API
// (CONTRACT-16.md). Uploads are multipart through XMLHttpRequest (upload
// progress, as files.ts); downloads are fetched with the bearer token and
// saved through an object URL, since a link cannot carry the token.
import { ApiError, errorAnswer, request, type AppDocument, type DataRecord, type Entity, type User } from "./api";
import { browserTimeZone } from "./designer/automations";
import { authHeaders, sendForm } from "./files";

const seg = encodeURIComponent;
const base = (app: string, entity: string) => `/api/data/${seg(app)}/${seg(entity)}`;

// CellProblem: why one cell (or a whole row, column "") was refused.
export interface CellProblem {
  row: number;
  column?: string;
  field?: string;
  value?: string;
  reason: string;
  code?: string;
}

export interface ColumnMap {
  index: number;
  header: string;
  field?: string;
  by?: string;
}

export interface Mapping {
  columns: ColumnMap[];
  unknown: string[] | null;
  missing: string[] | null;
}

export interface ImportOptions {
  map?: Record<string, string>;
  upsertBy?: string;
  skipBadRows?: boolean;
  dryRun?: boolean;
  timeZone?: string;
  encoding?: string;
  delimiter?: string;
  sheet?: string;
}

export interface PreviewRow {
  row: number;
  values: Record<string, unknown> | null;
  problems: CellProblem[] | null;
}

export interface Preview {
  format: string;
  encoding?: string;
  delimiter?: string;
  sheet?: string;
  headers: string[];
  mapping: Mapping;
  rows: PreviewRow[];
  fields: { name: string; label?: string; type: string; required?: boolean }[];
}

export interface ImportDuplicate {
  row: number;
  matches: string[];
  rule: string;
}

export interface ImportStatus {
  id: string;
  app?: string;
  entity?: string;
  status: "queued" | "running" | "done" | "failed";
  dryRun?: boolean;
  rows: number;
  processed: number;
  created: number;
  updated: number;
  skipped: number;
  bad: number;
  duplicates?: ImportDuplicate[] | null;
  errors?: CellProblem[] | null;
  errorCount?: number;
  startedAt?: string | null;
  finishedAt?: string | null;
  rowsPerSecond?: number;
  message?: string;
}

// postForm sends file and options as multipart; onProgress gets the fraction sent.
function postForm<T>(path: string, file: Blob, name: string, options: ImportOptions, onProgress?: (f: number) => void): Promise<T> {
  const form = new FormData();
  form.append("file", file, name);
  form.append("options", JSON.stringify(options));
  return sendForm<T>(path, form, onProgress);
}

export const previewImport = (app: string, entity: string, file: File, options: ImportOptions, onProgress?: (f: number) => void) =>
  postForm<Preview>(`${base(app, entity)}/imports/preview`, file, file.name, options, onProgress);

export const startImport = (app: string, entity: string, file: File, options: ImportOptions, onProgress?: (f: number) => void) =>
  postForm<{ id: string; status: string }>(`${base(app, entity)}/imports`, file, file.name, options, onProgress);

export const importStatus = (app: string, entity: string, id: string) =>
  request<ImportStatus>("GET", `${base(app, entity)}/imports/${seg(id)}`);

export const errorsCsvPath = (app: string, entity: string, id: string) => `${base(app, entity)}/imports/${seg(id)}/errors.csv`;

// download fetches path with the token and saves it under the server's
// file name (Content-Disposition), else fallback.
export async function download(path: string, fallback: string): Promise<void> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { ...authHeaders(), Accept: "*/*" } });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  if (!res.ok) throw errorAnswer(res.status, res.statusText, await res.text(), res.headers.get("Retry-After"));
  const name = dispositionName(res.headers.get("Content-Disposition")) || fallback;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// dispositionName reads filename*=UTF-8''… or filename="…".
export function dispositionName(h: string | null): string {
  if (!h) return "";
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(h);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch {
      /* fall through */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(h);
  return plain ? plain[1].trim() : "";
}

// exportPath: the list's export with its filter, sort and visible columns,
// labels and dates in the browser's time zone.
export function exportPath(app: string, entity: string, p: { format: "csv" | "xlsx"; filter?: string; sort?: string; fields: string[]; tz?: string }): string {
  const q = new URLSearchParams();
  q.set("format", p.format);
  if (p.filter) q.set("filter", p.filter);
  if (p.sort) q.set("sort", p.sort);
  if (p.fields.length) q.set("fields", p.fields.join(","));
  q.set("labels", "1");
  q.set("tz", p.tz ?? browserTimeZone());
  return `${base(app, entity)}/export?${q.toString()}`;
}

// mapOf: the explicit map the options send, from the columns' choices ("" ignores).
export function mapOf(columns: ColumnMap[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of columns) out[c.header] = c.field ?? "";
  return out;
}

// missingFields: required fields no column fills under the choices.
export function missingFields(fields: Preview["fields"], columns: ColumnMap[]): string[] {
  const filled = new Set(columns.map((c) => c.field).filter(Boolean));
  return fields.filter((f) => f.required && !filled.has(f.name)).map((f) => f.name);
}

// secondsLeft: the time an import still needs at its pace (null when unknown).
export function secondsLeft(s: Pick<ImportStatus, "rows" | "processed" | "rowsPerSecond">): number | null {
  if (!s.rows || !s.rowsPerSecond || s.rowsPerSecond <= 0) return null;
  return Math.max(0, Math.ceil((s.rows - s.processed) / s.rowsPerSecond));
}

export function durationText(sec: number): string {
  const m = Math.floor(sec / 60);
  const s = sec % 60;
  return m > 0 ? `${m}:${String(s).padStart(2, "0")}` : `${s}s`;
}

// mayCreate: whether to offer an import (the server decides: 403). Admins,
// apps without roles, and users holding a role whose create scope is not
// "none" on the entity.
export function mayCreate(me: User | null, app: AppDocument, entity: Entity): boolean {
  if (!me || me.admin || !app.roles?.length) return true;
  const mine = app.roles.filter((r) => (me.roles ?? []).includes(r.name));
  return mine.some((r) => {
    const c = r.entities?.[entity.name]?.create;
    if (!c) return false;
    return (typeof c === "string" ? c : c.scope) !== "none";
  });
}

// Duplicates and merge.
export interface DuplicateGroup {
  rule: string;
  records: DataRecord[];
}

export interface DuplicateMatch {
  rule: string;
  record: DataRecord;
  score?: number;
}

export const duplicateGroups = (app: string, entity: string, p: { rule?: string; limit?: number } = {}) => {
  const q = new URLSearchParams();
  if (p.rule) q.set("rule", p.rule);
  if (p.limit) q.set("limit", String(p.limit));
  const s = q.toString();
  return request<{ items: DuplicateGroup[] | null }>("GET", `${base(app, entity)}/duplicates${s ? "?" + s : ""}`);
};

export const recordDuplicates = (app: string, entity: string, id: string) =>
  request<{ items: DuplicateMatch[] | null }>("GET", `${base(app, entity)}/${seg(id)}/duplicates`);

export interface MergeBody {
  duplicate: string;
  fields: Record<string, "survivor" | "duplicate">;
  version?: number;
}

export const mergeRecords = (app: string, entity: string, survivor: string, body: MergeBody) =>
  request<{ record: DataRecord }>("POST", `${base(app, entity)}/${seg(survivor)}/merge`, body);

// The probable duplicates a create answered (_duplicates), kept for the
// record page the form goes to next.
const created = new Map<string, { rule: string; id: string }[]>();
export function rememberCreated(id: string, dups: unknown): void {
  if (Array.isArray(dups) && dups.length) created.set(id, dups as { rule: string; id: string }[]);
}
export function createdDuplicates(id: string): { rule: string; id: string }[] {
  return created.get(id) ?? [];
}
