// Bulk changes and list totals: the API's bulk job (POST …/bulk, GET
// …/bulk/{job}) and the list's ?totals= figures, typed for the list view.
import { api, type Field, type Page } from "./api";
import { valueType } from "./fields";

export interface BulkResult {
  ok: boolean;
  changed: number;
  failed?: { id?: string; status: number; code: string; message: string; details?: { path: string; message: string }[] };
}

export interface BulkStatus {
  job: number;
  state: "queued" | "running" | "retrying" | "completed" | "failed";
  op: "update" | "delete";
  total?: number;
  done?: number;
  result?: BulkResult;
  error?: string;
}

export interface BulkBody {
  ids?: string[];
  filter?: string;
  set?: Record<string, unknown>;
  delete?: boolean;
  expected: number;
}

export const startBulk = (app: string, entity: string, body: BulkBody) => api.startBulk(app, entity, body);
export const bulkStatus = (app: string, entity: string, job: number) => api.bulkStatus(app, entity, job) as Promise<BulkStatus>;

// The fields a bulk edit sets: plain stored fields an input can hold.
const BULK_TYPES = new Set(["text", "longtext", "email", "phone", "url", "integer", "decimal", "select", "date", "datetime", "boolean"]);
export function bulkFields(fields: Field[]): Field[] {
  return fields.filter((f) => BULK_TYPES.has(f.type));
}

// Numeric columns get a sum and an average in the totals row (formulas and
// rollups by what they return). The API takes at most 20 totals: the count
// and two for each of the first nine.
export function numericFields(fields: Field[]): Field[] {
  return fields.filter((f) => valueType(f) === "integer" || valueType(f) === "decimal").slice(0, 9);
}

export function totalsSpec(fields: Field[]): string {
  return ["count", ...numericFields(fields).flatMap((f) => [`sum:${f.name}`, `avg:${f.name}`])].join(",");
}

export interface Totals {
  count: number;
  sum: Record<string, string | number | null>;
  avg: Record<string, string | number | null>;
}

// pageTotals reads the totals a list page carries (null when it has none).
export function pageTotals(p: Page<unknown>): Totals | null {
  const t = p.totals;
  if (!t) return null;
  return { count: Number(t.count ?? p.count ?? 0), sum: t.sum ?? {}, avg: t.avg ?? {} };
}
