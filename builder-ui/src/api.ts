// A small typed client over fetch for Forma's REST API (same origin).
// Every error answer has the shape
// {"error": {"code", "message", "details": [{"path", "message"}], "script"?}};
// it is thrown as an ApiError so screens can show code, message and details.

export const TOKEN_KEY = "forma.token";

export type FieldType =
  | "text" | "longtext" | "integer" | "decimal" | "boolean" | "date" | "datetime"
  | "select" | "multiselect" | "email" | "phone" | "url" | "ref" | "user" | "file"
  | "json" | "formula" | "rollup" | "autonumber";

export interface Field {
  id: string;
  name: string;
  label?: string;
  labels?: Record<string, string>;
  type: FieldType;
  required?: boolean;
  unique?: boolean;
  maxLength?: number;
  min?: number | string;
  max?: number | string;
  precision?: number;
  scale?: number;
  currency?: string; // ISO 4217, shown with decimals when the document sets it
  options?: string[];
  optionLabels?: Record<string, Record<string, string>>;
  default?: unknown;
  entity?: string;
  expr?: string;
  returns?: FieldType;
}

export interface Entity {
  id?: string;
  name: string;
  label?: string;
  labels?: Record<string, string>;
  fields: Field[];
}

// The document's "forms" section: per entity at most one record form layout
// and one list view.
export interface FormSection {
  title?: string;
  titles?: Record<string, string>; // title per language; title is the fallback
  columns?: number; // 1–3
  fields: string[];
}

export interface FormLayout {
  entity: string;
  kind: "form";
  sections: FormSection[];
}

export interface ListLayout {
  entity: string;
  kind: "list";
  columns?: string[];
  sort?: string;
  filter?: string;
}

export type Scope = "own" | "team" | "all" | "none";
export type ScopeRule = Scope | { scope: Scope; where?: string };
export type RoleOp = "create" | "read" | "update" | "delete";

export interface RoleEntityRules {
  create?: ScopeRule;
  read?: ScopeRule;
  update?: ScopeRule;
  delete?: ScopeRule;
  fields?: Record<string, "hidden" | "readonly">;
}

export interface Role {
  name: string;
  label?: string;
  entities?: Record<string, RoleEntityRules>;
}

export interface AppDocument {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  description?: string;
  version?: number;
  entities: Entity[];
  forms?: (FormLayout | ListLayout)[];
  roles?: Role[];
  // Lead-distribution rules (schema/assignments.go); the runtime reads their countdowns.
  assignments?: AssignmentRule[];
  // Duplicate rules (schema/matching.go): the duplicates view and the merge read them.
  matching?: MatchingRule[];
}

export interface MatchKey {
  fields: string[];
  normalize?: "text" | "phone" | "email" | "company";
  similarity?: number;
}

export interface MatchingRule {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  entity: string;
  keys: MatchKey[];
  onCreate?: "warn" | "refuse";
}

// The parts of an assignment rule the runtime screens read (the designer
// edits the whole rule: designer/assignments.ts).
export interface AssignmentRule {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  entity: string;
  field?: string;
  strategy: string;
  reassigners?: string[];
  pool?: { name: string };
  countdown?: { start?: string; until: string; within: string };
  [key: string]: unknown;
}

// One candidate of an assignment decision, with the statistics the rule declares.
export interface DecisionCandidate {
  user: string;
  name?: string;
  eligible: boolean;
  why?: string;
  stats?: Record<string, number | null>;
  score?: number | null;
  load: number;
}

// Decision: why a record went to whom (POST …/assign, GET …/assignments, the preview).
export interface Decision {
  id?: string;
  app?: string;
  entity?: string;
  recordId?: string;
  rule: string;
  variant?: string;
  strategy: string;
  winner?: string;
  winnerName?: string;
  previous?: string;
  pool?: string;
  fallback?: number | boolean;
  candidates?: DecisionCandidate[];
  reason: string;
  note?: string;
  path?: string;
  actor?: string;
  at?: string;
}

// A claim pool the signed-in user may take records from (GET /api/me/pools).
export interface MyPool {
  app: string;
  entity: string;
  rule: string;
  pool: string;
  label?: string;
  labels?: Record<string, string>;
  count: number;
  claimedToday: number;
  dailyLimit: number;
}

export interface PlanStep {
  op: string;
  entity: string;
  field?: string;
  description: string;
  destructive?: boolean;
  path?: string;
}

export interface MigrationPlan {
  app?: string;
  fromVersion: number;
  toVersion: number;
  steps: PlanStep[] | null;
  refused?: ErrorDetail[] | null;
  destructive: boolean;
  warnings?: string[] | null;
}

export interface ApplyResult {
  app: string;
  version: number;
  dryRun: boolean;
  applied: boolean;
  plan: MigrationPlan;
}

export interface ScriptTestResult {
  ok: boolean;
  result?: unknown;
  record?: Record<string, unknown>;
  changes?: unknown;
  logs?: unknown[];
  error?: { code?: string; message?: string; details?: ErrorDetail[]; script?: ScriptInfo } | string | null;
}

export interface AppInfo {
  name: string;
  label?: string;
  version: number;
  createdAt?: string;
  updatedAt?: string;
}

export interface User {
  id: string;
  email: string;
  name?: string;
  roles?: string[];
  teamId?: string;
  admin?: boolean;
  profile?: UserProfile;
}

// A user's profile for assignment rules: skills, region and absence.
export interface UserProfile {
  skills?: string[];
  region?: string;
  away?: boolean;
  awayUntil?: string | null;
}

export interface LoginResult {
  token: string;
  expiresAt?: string;
  user?: User;
}

export type DataRecord = Record<string, unknown> & {
  id: string;
  version?: number;
  // With ?expand=ref1,ref2: the referenced records, by field name.
  expand?: Record<string, DataRecord | null>;
};

export interface Page<T> {
  items: T[];
  nextCursor?: string | null;
  // Asked for with count=exact|estimate: records in the whole list.
  count?: number;
  countExact?: boolean;
  // Asked for with totals=count,sum:amount,avg:amount: over the whole list.
  totals?: { count?: number; sum?: Record<string, string | number | null>; avg?: Record<string, string | number | null> };
}

// One proposal of the index advisor: the shape of a slow list (never its
// values) and the index that would serve it.
export interface IndexAdvice {
  id: string;
  entity: string;
  filter: string;
  sort: string;
  count: number;
  totalMs: number;
  maxMs: number;
  index: { fields: string[] };
  exists: boolean;
  // The plan now and with the proposed index (built for the EXPLAIN in a
  // transaction that is rolled back); measured says which: "explain",
  // "exists" (the app has it) or "estimated" (not built: a large table).
  effect: {
    dialect: string; sorts: boolean; matches: number; expect: string; now: string[];
    with?: string[]; sortsWith?: boolean; costNow?: number; costWith?: number; measured?: "explain" | "exists" | "estimated";
  };
}

export interface HistoryEntry {
  id: string;
  op: "create" | "update" | "delete" | string;
  path?: string;
  actor?: string;
  at: string;
  version?: number;
  changes: Record<string, { old?: unknown; new?: unknown }>;
}

export interface ErrorDetail {
  path: string;
  message: string;
}

export interface ScriptInfo {
  script?: string;
  function?: string;
  line?: number;
  column?: number;
  kind?: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: ErrorDetail[];
  readonly script?: ScriptInfo;
  readonly retryAfter?: number;

  constructor(status: number, code: string, message: string, details: ErrorDetail[] = [], script?: ScriptInfo, retryAfter?: number) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
    this.script = script;
    this.retryAfter = retryAfter;
  }
}

// Called on every 401 (except a failed login): the app goes back to login.
let unauthorizedHandler: (() => void) | null = null;
export function onUnauthorized(fn: (() => void) | null): void {
  unauthorizedHandler = fn;
}

// signedIn is the user the last api.me() answered, for screens that only
// need to know whether to offer admin actions (the server checks anyway).
let signedIn: User | null = null;
export const currentUser = (): User | null => signedIn;

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* storage unavailable: the session lasts as long as the page */
  }
}

export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? "?" + s : "";
}

const seg = encodeURIComponent;

export async function request<T>(method: string, path: string, body?: unknown, opts: { auth?: boolean } = {}): Promise<T> {
  // X-Forma-Client: the record history says "web" for changes made here.
  const headers: Record<string, string> = { Accept: "application/json", "X-Forma-Client": "web" };
  // The UI's language (I18nProvider keeps it on <html lang>): the server
  // words the designer's messages (validations, guards, notifications) in it.
  const lang = typeof document !== "undefined" ? document.documentElement.lang : "";
  if (lang) headers["Accept-Language"] = lang;
  const token = getToken();
  if (token && opts.auth !== false) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "network", e instanceof Error ? e.message : String(e));
  }
  const text = await res.text();
  if (!res.ok) {
    throw errorAnswer(res.status, res.statusText, text, res.headers.get("Retry-After"), opts.auth !== false);
  }
  return parseJSON(text) as T;
}

function parseJSON(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// errorAnswer is the ApiError of an error answer; a 401 to a signed-in
// call signs out (the app goes back to login).
export function errorAnswer(status: number, statusText: string, text: string, retryAfter: string | null, signedInCall = true): ApiError {
  const err = (parseJSON(text) as { error?: { code?: string; message?: string; details?: ErrorDetail[]; script?: ScriptInfo } } | undefined)?.error;
  const apiErr = new ApiError(
    status,
    err?.code ?? "http_" + status,
    err?.message ?? statusText ?? "",
    Array.isArray(err?.details) ? err!.details : [],
    err?.script,
    retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined,
  );
  if (status === 401 && signedInCall) {
    setToken(null);
    unauthorizedHandler?.();
  }
  return apiErr;
}

// Admin: users (with active), teams (nested by parentId), the audit log.
export interface AdminUser extends User {
  active: boolean;
  createdAt?: string;
}

export interface Team {
  id: string;
  name: string;
  parentId?: string;
  // The user who manages the team: automations notify them ("the owner's
  // manager") about the records of the team's members.
  managerId?: string;
  createdAt?: string;
}

// One in-app notification of the signed-in user (GET /api/me/notifications).
export interface Notification {
  id: string;
  app: string;
  entity: string;
  recordId: string;
  automation: string;
  message: string;
  createdAt: string;
  readAt: string | null;
}

export interface NotificationPage {
  items: Notification[];
  unread: number;
  nextCursor?: string | null;
}

export interface AuditRecord {
  id?: string;
  at: string;
  actor?: string;
  action: string;
  target?: string;
  detail?: unknown;
  ip?: string;
}

// Jobs: the durable job queue as the admin sees it (GET /api/admin/jobs).
export const JOB_STATES = ["queued", "scheduled", "running", "retryable", "completed", "discarded", "cancelled"] as const;

export interface JobAttemptError {
  attempt: number;
  at: string;
  error: string;
}

export interface Job {
  id: number;
  kind: string;
  state: string;
  queue?: string;
  attempt: number;
  maxAttempts: number;
  createdAt: string;
  nextRunAt?: string;
  attemptedAt?: string;
  finalizedAt?: string;
  lastError?: string;
  errors: JobAttemptError[];
  args: unknown;
}

export interface JobPage {
  items: Job[];
  nextCursor?: string;
  counts: Record<string, number>;
}

// DirectoryUser is what any signed-in user may know of a colleague.
export interface DirectoryUser {
  id: string;
  name?: string;
  email: string;
  teamId?: string;
}

// Dashboards (GET /api/dash/{app}): the document's "dashboards" section.
export type WidgetType = "kpi" | "line" | "bar" | "pie" | "funnel" | "table" | "pivot";

export interface DashQuery {
  entity: string;
  measures: { name: string; label?: string; labels?: Record<string, string>; expr: string; unit?: string }[];
  dimensions?: { name?: string; label?: string; labels?: Record<string, string>; field: string; bucket?: string }[];
  filter?: string;
  period?: { field: string; param?: string; preset?: string };
  sort?: string;
  limit?: number;
  other?: boolean;
  timeZone?: string;
}

export interface Widget {
  id: string;
  type: WidgetType;
  title?: string;
  titles?: Record<string, string>;
  layout: { x: number; y: number; w: number; h: number };
  query: DashQuery;
  stacked?: boolean;
  horizontal?: boolean;
  compare?: string;
  target?: number;
  totals?: boolean;
}

export interface DashboardDef {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  columns?: number;
  timeZone?: string;
  params?: { name: string; label?: string; labels?: Record<string, string>; type: "daterange" | "ref" | "user"; entity?: string; default?: string }[];
  widgets: Widget[];
}

// A widget's answer: dimension keys (and labels for refs and users), measure
// values, and for every row the records filter listing its records (drill).
export interface DashRow {
  keys: (string | number | boolean | null)[];
  labels?: string[];
  values: (number | string | null)[];
  other?: boolean;
  drill: string | null;
}

export interface DashResult {
  id?: string;
  type?: WidgetType;
  title?: string;
  titles?: Record<string, string>;
  columns: { name: string; label?: string; labels?: Record<string, string>; kind: "dimension" | "measure"; type?: string; bucket?: string; unit?: string; currency?: string }[];
  rows: DashRow[];
  pivot?: { rows: unknown[]; cols: unknown[]; rowLabels?: string[]; colLabels?: string[]; rowTotals: DashRow[]; colTotals: DashRow[]; total: DashRow };
  kpi?: { previous?: (number | null)[]; previousDrill?: string; change?: (number | null)[]; percent?: (number | null)[]; target?: number; progress?: number };
  period?: { from: string; to: string; timeZone: string };
  sqlMs: number;
  cached: boolean;
  error?: { status: number; code: string; message: string };
}

export interface DashboardResult {
  name: string;
  label?: string;
  labels?: Record<string, string>;
  params: Record<string, string>;
  widgets: DashResult[];
}

// Automations (issue 12): the run log, the dry run and the A/B results of
// one automation of an app (CONTRACT-12.md).
export interface AutomationStep {
  index: number;
  type: string;
  status: "pending" | "running" | "succeeded" | "failed" | "skipped" | string;
  detail?: string;
  attempts?: number;
  at?: string;
}

export interface AutomationRun {
  id: string;
  at: string;
  finishedAt?: string | null;
  recordId: string;
  entity: string;
  occurrence?: string;
  variant?: string;
  status: "running" | "succeeded" | "failed" | "stopped" | "cancelled" | string;
  message?: string;
  depth?: number;
  steps: AutomationStep[] | null;
}

export interface AutomationTestAction {
  index: number;
  type: string;
  ok: boolean;
  error?: string;
  effect?: {
    changes?: Record<string, unknown>;
    entity?: string;
    record?: Record<string, unknown>;
    users?: { id: string; name?: string; email?: string }[];
    message?: string;
    url?: string;
    body?: unknown;
  };
}

export interface AutomationTestResult {
  matched: boolean;
  reason?: string;
  variant?: string;
  actions: AutomationTestAction[] | null;
}

export interface VariantStats {
  name: string;
  weight: number;
  records: number;
  reached: number;
  rate: number;
  z?: number;
  p?: number;
  significant?: boolean;
}

export interface VariantsResult {
  goal: string;
  test: string;
  alpha: number;
  variants: VariantStats[];
}

// A template of GET /api/meta/templates: labels and descriptions by
// language ("zh-CN", "en"), its picture as a data: URL, and whether an app
// of its app name exists.
export interface TemplateInfo {
  name: string;
  app: string;
  labels?: Record<string, string>;
  descriptions?: Record<string, string>;
  picture?: string;
  installed: boolean;
}

// The body of POST /api/meta/templates/{name}/install (strict: no other keys).
// app: install under another name; upgrade: apply over the installed app
// through the migration plan (its data is kept); sample: sample rows (0–20,000).
export interface TemplateInstall {
  app?: string;
  upgrade?: boolean;
  sample?: number;
  seed?: number;
}

export interface TemplateInstallResult {
  app: string;
  version: number;
  plan?: MigrationPlan;
  sample?: Record<string, number>;
  users?: number;
}

export const api = {
  async login(email: string, password: string): Promise<LoginResult> {
    const r = await request<LoginResult>("POST", "/api/auth/login", { email, password }, { auth: false });
    setToken(r.token);
    return r;
  },
  // setup turns the one-time token `forma serve` printed into the first admin.
  setup: (body: { token: string; email: string; password: string; name?: string }) =>
    request<unknown>("POST", "/api/auth/setup", body, { auth: false }),
  async logout(): Promise<void> {
    try {
      await request<unknown>("POST", "/api/auth/logout", undefined, { auth: true });
    } finally {
      setToken(null);
    }
  },
  // GET /api/auth/me answers the user, or {user} on some versions: both are read.
  async me(): Promise<User> {
    const r = await request<User | { user: User }>("GET", "/api/auth/me");
    signedIn = r && typeof r === "object" && "user" in r && r.user ? r.user : (r as User);
    return signedIn;
  },
  applyApp: (doc: unknown, opts: { dryRun?: boolean; allowDestructive?: boolean } = {}) =>
    request<ApplyResult>("POST", "/api/meta/apps" + query({ dryRun: opts.dryRun ? 1 : undefined, allowDestructive: opts.allowDestructive ? 1 : undefined }), doc),
  testScript: (app: string, body: { entity: string; hook?: string; formula?: string; record: Record<string, unknown>; previous?: Record<string, unknown> }) =>
    request<ScriptTestResult>("POST", `/api/meta/apps/${seg(app)}/scripts/test`, body),
  // Bulk edit and delete as one job (src/bulk.ts types them).
  startBulk: (app: string, entity: string, body: unknown) =>
    request<{ job: number; count: number }>("POST", `/api/data/${seg(app)}/${seg(entity)}/bulk`, body),
  bulkStatus: (app: string, entity: string, job: number) =>
    request<unknown>("GET", `/api/data/${seg(app)}/${seg(entity)}/bulk/${job}`),
  // The formula and condition editor's live check (src/expr.ts types it).
  checkExpression: (app: string, body: unknown) =>
    request<unknown>("POST", `/api/meta/apps/${seg(app)}/expressions/check`, body),
  apps: () => request<Page<AppInfo>>("GET", "/api/meta/apps"),
  // The template gallery (admins): list, and install one (with sample data, or as an upgrade).
  templates: () => request<{ items: TemplateInfo[] }>("GET", "/api/meta/templates"),
  installTemplate: (name: string, body: TemplateInstall) =>
    request<TemplateInstallResult>("POST", `/api/meta/templates/${seg(name)}/install`, body),
  app: (app: string) => request<AppDocument>("GET", `/api/meta/apps/${seg(app)}`),
  dashboards: (app: string) => request<{ items: DashboardDef[] }>("GET", `/api/dash/${seg(app)}`),
  dashboard: (app: string, name: string, params: Record<string, string>) =>
    request<DashboardResult>("GET", `/api/dash/${seg(app)}/${seg(name)}` + query(params)),
  adhoc: (app: string, q: DashQuery, type?: WidgetType) => request<DashResult>("POST", `/api/query/${seg(app)}`, { query: q, type }),
  advice: (app: string) => request<{ items: IndexAdvice[] }>("GET", `/api/meta/apps/${seg(app)}/advice`),
  applyAdvice: (app: string, id: string) => request<ApplyResult>("POST", `/api/meta/apps/${seg(app)}/advice/${seg(id)}/apply`),
  list: (app: string, entity: string, p: { sort?: string; filter?: string; limit?: number; cursor?: string; expand?: string; count?: "exact" | "estimate"; totals?: string; pool?: string } = {}) =>
    request<Page<DataRecord>>("GET", `/api/data/${seg(app)}/${seg(entity)}` + query(p)),
  get: (app: string, entity: string, id: string) =>
    request<DataRecord>("GET", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}`),
  create: (app: string, entity: string, values: Record<string, unknown>) =>
    request<DataRecord>("POST", `/api/data/${seg(app)}/${seg(entity)}`, values),
  update: (app: string, entity: string, id: string, values: Record<string, unknown>) =>
    request<DataRecord>("PATCH", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}`, values),
  remove: (app: string, entity: string, id: string) =>
    request<unknown>("DELETE", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}`),
  // Active colleagues, for user fields: by name or email (q), or one by id.
  directory: (p: { q?: string; id?: string; limit?: number }) =>
    request<{ items: DirectoryUser[] }>("GET", "/api/directory/users" + query(p)),
  // Admin area (admins only; the server checks).
  users: () => request<{ items: AdminUser[] }>("GET", "/api/admin/users"),
  // inviteUser creates a user without a password: the answer carries the
  // one-time reset token with which they choose one.
  inviteUser: (body: { email: string; name?: string; roles?: string[]; teamId?: string }) =>
    request<{ user: AdminUser; resetToken: string }>("POST", "/api/admin/users", body),
  updateUser: (id: string, body: { name?: string; roles?: string[]; teamId?: string; active?: boolean; profile?: UserProfile }) =>
    request<AdminUser>("PATCH", `/api/admin/users/${seg(id)}`, body),
  resetUserPassword: (id: string) => request<{ resetToken: string }>("POST", `/api/admin/users/${seg(id)}/reset-password`),
  // completeReset sets a password with a reset token (no login).
  completeReset: (token: string, password: string) =>
    request<{ user: User }>("POST", "/api/auth/reset-password", { token, password }, { auth: false }),
  teams: () => request<{ items: Team[] }>("GET", "/api/admin/teams"),
  createTeam: (body: { name: string; parentId?: string; managerId?: string }) => request<Team>("POST", "/api/admin/teams", body),
  // managerId null clears the team's manager.
  updateTeam: (id: string, body: { name?: string; parentId?: string; managerId?: string | null }) => request<Team>("PATCH", `/api/admin/teams/${seg(id)}`, body),
  notifications: (p: { unread?: boolean; limit?: number; cursor?: string } = {}) =>
    request<NotificationPage>("GET", "/api/me/notifications" + query({ unread: p.unread ? 1 : undefined, limit: p.limit, cursor: p.cursor })),
  readNotification: (id: string) => request<{ unread: number }>("POST", `/api/me/notifications/${seg(id)}/read`),
  readAllNotifications: () => request<{ marked: number; unread: number }>("POST", "/api/me/notifications/read-all"),
  deleteTeam: (id: string) => request<unknown>("DELETE", `/api/admin/teams/${seg(id)}`),
  audit: (p: { action?: string; limit?: number; cursor?: string } = {}) =>
    request<{ items: AuditRecord[]; nextCursor?: string | null }>("GET", "/api/admin/audit" + query(p)),
  jobs: (p: { state?: string; kind?: string; limit?: number; cursor?: string } = {}) =>
    request<JobPage>("GET", "/api/admin/jobs" + query(p)),
  retryJob: (id: number) => request<Job>("POST", `/api/admin/jobs/${id}/retry`),
  cancelJob: (id: number) => request<Job>("POST", `/api/admin/jobs/${id}/cancel`),
  // An app's webhook signing secret (app admins; reading it is audited),
  // and rotating it (the answer is the new one).
  webhookSecret: (app: string) => request<{ secret: string }>("GET", `/api/meta/apps/${seg(app)}/webhook-secret`),
  rotateWebhookSecret: (app: string) => request<{ secret: string }>("POST", `/api/meta/apps/${seg(app)}/webhook-secret/rotate`),
  // Whether an app's webhooks may reach private and loopback addresses
  // (platform admins; audited).
  webhookSettings: (app: string) => request<{ allowPrivate: boolean }>("GET", `/api/admin/apps/${seg(app)}/webhooks`),
  setWebhookSettings: (app: string, allowPrivate: boolean) =>
    request<{ allowPrivate: boolean }>("PUT", `/api/admin/apps/${seg(app)}/webhooks`, { allowPrivate }),
  history: (app: string, entity: string, id: string, p: { limit?: number; cursor?: string } = {}) =>
    request<Page<HistoryEntry>>("GET", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/history` + query(p)),
  automationRuns: (app: string, name: string, p: { limit?: number; cursor?: string; record?: string } = {}) =>
    request<Page<AutomationRun>>("GET", `/api/meta/apps/${seg(app)}/automations/${seg(name)}/runs` + query(p)),
  // testAutomation is the dry run: nothing is written or sent.
  testAutomation: (app: string, name: string, body: { id: string; automation?: unknown }) =>
    request<AutomationTestResult>("POST", `/api/meta/apps/${seg(app)}/automations/${seg(name)}/test`, body),
  automationVariants: (app: string, name: string, goal: string) =>
    request<VariantsResult>("GET", `/api/meta/apps/${seg(app)}/automations/${seg(name)}/variants` + query({ goal })),
  // Assignment rules: the preview scores the candidates for a record (rule: the designer's draft; nothing written).
  previewAssignment: (app: string, name: string, body: { id: string; rule?: unknown }) =>
    request<Decision>("POST", `/api/meta/apps/${seg(app)}/assignments/${seg(name)}/preview`, body),
  assignmentVariants: (app: string, name: string, goal: string) =>
    request<VariantsResult>("GET", `/api/meta/apps/${seg(app)}/assignments/${seg(name)}/variants` + query({ goal })),
  assignments: (app: string, entity: string, id: string) =>
    request<{ items: Decision[] }>("GET", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/assignments`),
  // assign reassigns a record by hand: to a user, or by a rule; the reason is required.
  assign: (app: string, entity: string, id: string, body: { to?: string; rule?: string; reason: string; version?: number }) =>
    request<{ record: DataRecord; assignment: Decision }>("POST", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/assign`, body),
  claim: (app: string, entity: string, id: string) =>
    request<{ record: DataRecord }>("POST", `/api/data/${seg(app)}/${seg(entity)}/${seg(id)}/claim`),
  myPools: () => request<{ items: MyPool[] }>("GET", "/api/me/pools"),
  setAvailability: (away: boolean, awayUntil?: string | null) =>
    request<User>("PUT", "/api/me/availability", { away, awayUntil: awayUntil ?? null }),
};

// watchDashboard follows GET /api/dash/{app}/{name}/events (server-sent
// events, read through fetch so the token travels in the Authorization
// header) and calls onChange with the widgets to reload. It reconnects
// after a dropped stream until signal aborts.
export async function watchDashboard(app: string, name: string, onChange: (widgets: string[]) => void, signal: AbortSignal): Promise<void> {
  while (!signal.aborted) {
    try {
      const token = getToken();
      const res = await fetch(`/api/dash/${seg(app)}/${seg(name)}/events`, {
        headers: token ? { Authorization: "Bearer " + token } : {}, signal,
      });
      const reader = res.ok ? res.body?.getReader() : undefined;
      if (!reader) return; // no stream (an error answer, or a test's mock)
      const dec = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        let end;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const event = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = event.split("\n").find((l) => l.startsWith("data: "));
          if (data) {
            try {
              onChange((JSON.parse(data.slice(6)) as { widgets: string[] }).widgets ?? []);
            } catch {
              /* not ours */
            }
          }
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

// watchUnread follows GET /api/me/notifications/stream (server-sent events
// read through fetch, so the token travels in the Authorization header as
// for the dashboards) and calls onUnread with the unread count at connect
// and at every change. A dropped stream or a server restart reconnects,
// waiting longer after each failure (1 s doubling to 30 s); a 401 or 403
// ends it, as does signal.
export async function watchUnread(onUnread: (n: number) => void, signal: AbortSignal, retryMs = 1000): Promise<void> {
  let wait = retryMs;
  while (!signal.aborted) {
    try {
      const token = getToken();
      const res = await fetch("/api/me/notifications/stream", {
        headers: token ? { Authorization: "Bearer " + token, Accept: "text/event-stream" } : { Accept: "text/event-stream" }, signal,
      });
      if (res.status === 401 || res.status === 403) return;
      const reader = res.ok ? res.body?.getReader() : undefined;
      if (reader) {
        const dec = new TextDecoder();
        let buf = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf += dec.decode(value, { stream: true }).replace(/\r\n?/g, "\n");
          let end;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            const event = buf.slice(0, end).split("\n");
            buf = buf.slice(end + 2);
            if (!event.includes("event: unread")) continue;
            const data = event.find((l) => l.startsWith("data: "));
            try {
              const n = (JSON.parse(data?.slice(6) ?? "") as { unread?: unknown }).unread;
              if (typeof n === "number") {
                onUnread(n);
                wait = retryMs; // a working stream resets the back-off
              }
            } catch {
              /* not ours */
            }
          }
        }
      }
    } catch {
      if (signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 30 * retryMs);
  }
}
