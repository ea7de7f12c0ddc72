// Connector plugins (issue 17, CONTRACT-17.md): the admin API (installed
// plugins, install from a .zip, remove), an app's configuration of a plugin
// (enabled, settings, write-only secrets, allow-private), the "send test"
// call, the recent calls and a connector's endpoint (URL, token, snippet);
// plus the pure parts of the screens: the form a JSON Schema describes,
// the values it yields, and a plugin's or action's shown name.
import { useEffect, useState } from "react";
import { request, type ErrorDetail } from "./api";
import { sendForm } from "./files";

export type Labels = Record<string, string>;

// A JSON Schema as plugins declare them: objects of simple properties.
export interface JSONSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  items?: JSONSchema;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  format?: string;
  minimum?: number;
  maximum?: number;
  [key: string]: unknown;
}

export interface PluginAction {
  name: string;
  title?: string;
  labels?: Labels;
  description?: string;
  input?: JSONSchema;
  output?: JSONSchema;
}

export interface PluginTrigger {
  name: string;
  title?: string;
  labels?: Labels;
  description?: string;
  output?: JSONSchema;
}

export type Host = string | { setting: string };

export interface PluginUse {
  app: string;
  automation?: string;
  connector?: string;
}

export interface PluginSummary {
  name: string;
  version: string;
  author: string;
  description: string;
  labels?: Labels;
  hosts: Host[] | null;
  settings?: JSONSchema;
  secrets?: JSONSchema;
  actions: PluginAction[] | null;
  triggers: PluginTrigger[] | null;
  builtin: boolean;
  signer?: string;
  sha256: string;
  installedAt: string;
  usedBy?: PluginUse[] | null;
}

export interface AppConfig {
  app: string;
  plugin: string;
  enabled: boolean;
  settings: Record<string, unknown>;
  secretsSet: Record<string, boolean>;
  allowPrivate: boolean;
  updatedAt: string;
  updatedBy?: string;
}

export type AppPlugin = Omit<PluginSummary, "usedBy"> & { config: AppConfig };

// ConfigInput is a PUT: a secret's string sets it, null clears it, an
// absent name keeps it; allowPrivate counts from a platform admin only.
export interface ConfigInput {
  enabled?: boolean;
  settings?: Record<string, unknown>;
  secrets?: Record<string, string | null>;
  allowPrivate?: boolean;
}

export interface TestResult {
  ok: boolean;
  output?: Record<string, unknown> | null;
  error?: { kind: string; message: string; details?: ErrorDetail[] } | null;
  durationMs: number;
  logs?: string[] | null;
}

export interface CallInfo {
  id: string;
  app: string;
  plugin: string;
  kind: string;
  name: string;
  automation?: string;
  connector?: string;
  status: string;
  error?: string;
  requests: number;
  durationMs: number;
  at: string;
  logs?: string[] | null;
}

export interface Endpoint {
  app: string;
  name: string;
  path: string;
  token: string;
  snippet: string;
}

const seg = encodeURIComponent;
const meta = (app: string) => `/api/meta/apps/${seg(app)}`;

export const pluginsApi = {
  installed: () => request<{ items: PluginSummary[] | null }>("GET", "/api/admin/plugins"),
  install: (file: Blob, name: string, allowUnsigned: boolean, onProgress?: (f: number) => void) => {
    const form = new FormData();
    form.append("file", file, name);
    return sendForm<PluginSummary>("/api/admin/plugins" + (allowUnsigned ? "?allowUnsigned=1" : ""), form, onProgress);
  },
  remove: (name: string) => request<void>("DELETE", `/api/admin/plugins/${seg(name)}`),
  ofApp: (app: string) => request<{ items: AppPlugin[] | null }>("GET", `${meta(app)}/plugins`),
  config: (app: string, name: string) => request<AppConfig>("GET", `${meta(app)}/plugins/${seg(name)}`),
  configure: (app: string, name: string, body: ConfigInput) => request<AppConfig>("PUT", `${meta(app)}/plugins/${seg(name)}`, body),
  test: (app: string, name: string, action: string, input: Record<string, unknown>) =>
    request<TestResult>("POST", `${meta(app)}/plugins/${seg(name)}/test`, { action, input }),
  calls: (app: string, name: string, limit = 50) => request<{ items: CallInfo[] | null }>("GET", `${meta(app)}/plugins/${seg(name)}/calls?limit=${limit}`),
  endpoint: (app: string, connector: string) => request<Endpoint>("GET", `${meta(app)}/connectors/${seg(connector)}`),
  rotateToken: (app: string, connector: string) => request<Endpoint>("POST", `${meta(app)}/connectors/${seg(connector)}/token`),
};

// The name shown: the label in the user's language, else the title, else the name.
export function pluginLabel(p: { name: string; labels?: Labels }, lang: string): string {
  return p.labels?.[lang] || p.labels?.en || p.name;
}

export function actionLabel(a: { name: string; title?: string; labels?: Labels }, lang: string): string {
  return a.labels?.[lang] || a.title || a.labels?.en || a.name;
}

// endpointURL is the connector's full address as a website calls it.
export function endpointURL(e: Endpoint, origin = window.location.origin): string {
  return /^https?:\/\//.test(e.path) ? e.path : origin + e.path;
}

// ---- forms from JSON Schema ----

export type FieldKind = "string" | "text" | "number" | "integer" | "boolean" | "enum" | "strings" | "json";

export interface SchemaField {
  name: string;
  kind: FieldKind;
  title: string;
  description?: string;
  required: boolean;
  options?: string[];
  default?: unknown;
  secretLike?: boolean;
}

function typeOf(s: JSONSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((x) => x !== "null");
  return s.type;
}

// schemaFields lists an object schema's properties as form fields, in
// their declared order: string (long text for format "textarea" or a
// description that asks for several lines is not guessed: format only),
// number, integer, boolean, enum (of strings, numbers), array of strings;
// anything else is edited as JSON.
export function schemaFields(schema: JSONSchema | null | undefined): SchemaField[] {
  const props = schema?.properties ?? {};
  const required = new Set(schema?.required ?? []);
  return Object.entries(props).map(([name, s]) => {
    const ty = typeOf(s);
    let kind: FieldKind;
    if (Array.isArray(s.enum) && s.enum.length > 0) kind = "enum";
    else if (ty === "string") kind = s.format === "textarea" || s.format === "html" ? "text" : "string";
    else if (ty === "number") kind = "number";
    else if (ty === "integer") kind = "integer";
    else if (ty === "boolean") kind = "boolean";
    else if (ty === "array" && typeOf(s.items ?? {}) === "string") kind = "strings";
    else kind = "json";
    const f: SchemaField = { name, kind, title: s.title || name, required: required.has(name) };
    if (s.description) f.description = s.description;
    if (kind === "enum") f.options = s.enum!.map((x) => String(x));
    if (s.default !== undefined) f.default = s.default;
    return f;
  });
}

// initialValues: the given values, and each absent property's default.
export function initialValues(fields: SchemaField[], given: Record<string, unknown> | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(given ?? {}) };
  for (const f of fields) if (out[f.name] === undefined && f.default !== undefined) out[f.name] = f.default;
  return out;
}

// enumValue maps an option's text back to the enum's own value (a number stays a number).
export function enumValue(schema: JSONSchema | undefined, text: string): unknown {
  return schema?.enum?.find((x) => String(x) === text) ?? text;
}

// missingRequired names the required fields without a value.
export function missingRequired(fields: SchemaField[], values: Record<string, unknown>): string[] {
  return fields.filter((f) => f.required).filter((f) => {
    const v = values[f.name];
    return v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);
  }).map((f) => f.name);
}

// compact drops empty values ("" and null, unless the field is required:
// the server then says what is missing) so a cleared optional setting is
// absent rather than an empty string the schema may refuse.
export function compact(fields: SchemaField[], values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if ((v === "" || v === null || v === undefined) && !fields.find((f) => f.name === k)?.required) continue;
    out[k] = v;
  }
  return out;
}

// secretChanges is the secrets part of a PUT: new values typed (set),
// names to clear (null); names untouched are absent (kept).
export function secretChanges(typed: Record<string, string>, cleared: Set<string>): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  for (const n of cleared) out[n] = null;
  for (const [n, v] of Object.entries(typed)) if (v !== "") out[n] = v;
  return Object.keys(out).length ? out : undefined;
}

// hostText shows a manifest's host entry.
export function hostText(h: Host): string {
  return typeof h === "string" ? h : `{${h.setting}}`;
}

// usedByText: "crm/notify_won, crm/connector website".
export function useText(u: PluginUse): string {
  return u.automation ? `${u.app}/${u.automation}` : `${u.app}/${u.connector ?? ""}`;
}

// ---- an app's plugins for the designer (cached per app for the page's life) ----

const appPluginsCache = new Map<string, Promise<AppPlugin[]>>();
// The answers already in, so a screen opened later shows them at once.
const appPluginsKnown = new Map<string, AppPlugin[]>();

// loadAppPlugins: the installed plugins with the app's configuration; a
// draft app (404) or a refusal has none. again drops the cached answer.
export function loadAppPlugins(app: string, again = false): Promise<AppPlugin[]> {
  let p = appPluginsCache.get(app);
  if (!p || again) {
    p = pluginsApi.ofApp(app).then((r) => r.items ?? [], () => []).then((l) => {
      appPluginsKnown.set(app, l);
      return l;
    });
    appPluginsCache.set(app, p);
  }
  return p;
}

// forgetAppPlugins drops every cached answer (after a configuration changes; tests).
export function forgetAppPlugins(): void {
  appPluginsCache.clear();
  appPluginsKnown.clear();
}

export function useAppPlugins(app: string): AppPlugin[] | null {
  const [list, setList] = useState<AppPlugin[] | null>(() => appPluginsKnown.get(app) ?? null);
  useEffect(() => {
    let live = true;
    void loadAppPlugins(app).then((l) => live && setList(l));
    return () => {
      live = false;
    };
  }, [app]);
  return list;
}

// actionChoices are the plugin actions an automation may add: of the
// installed plugins enabled in the app, "WeCom: send" each.
export function actionChoices(list: AppPlugin[], lang: string): { plugin: string; action: string; label: string }[] {
  return list.filter((p) => p.config?.enabled).flatMap((p) => (p.actions ?? []).map((a) => ({
    plugin: p.name, action: a.name, label: `${pluginLabel(p, lang)}: ${actionLabel(a, lang)}`,
  })));
}
