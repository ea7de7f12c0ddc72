// The Connectors screen (#/connectors/{app}): for the platform admin the
// installed plugins (name, version, author, built-in or signed, the hosts
// they may call, who uses them), install from a .zip and remove; for an
// app (its designers) each plugin's configuration — enabled, the settings
// form its manifest's JSON Schema describes, secrets that are write-only
// (set / not set, replace, clear; a value is never shown), allow-private
// (platform admin only) — a "send test" per action and the recent calls.
// The server decides everything: its refusals (plugin_invalid with
// pointers, unsigned, tampered, in use) are shown as it words them.
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable, type Table as TanTable } from "@tanstack/react-table";
import { api, ApiError, type AppInfo, type ErrorDetail } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { href, navigate } from "../router";
import {
  actionLabel, compact, forgetAppPlugins, hostText, initialValues, missingRequired, pluginLabel, pluginsApi, schemaFields, secretChanges, useText,
  type AppPlugin, type CallInfo, type PluginAction, type PluginSummary, type TestResult,
} from "../plugins";
import { ErrorBox, Loading } from "./common";
import { DeleteDialog } from "./Dialog";
import { SchemaForm } from "./SchemaForm";

export function Connectors({ app, admin }: { app?: string; admin: boolean }) {
  const { t } = useI18n();
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  useEffect(() => {
    api.apps().then((r) => setApps(r.items ?? []), () => setApps([]));
  }, []);
  return (
    <section className="page connectors" data-testid="connectors-page">
      <div className="page-head">
        <h1>{t("plugins.title")}</h1>
        <label className="field-inline">
          <span className="muted small">{t("plugins.app")}</span>
          <select value={app ?? ""} data-testid="connectors-app" onChange={(e) => navigate({ name: "connectors", app: e.target.value || undefined })}>
            <option value="">{t("plugins.pickApp")}</option>
            {app && !apps?.some((a) => a.name === app) && <option value={app}>{app}</option>}
            {(apps ?? []).map((a) => <option key={a.name} value={a.name}>{a.label || a.name}</option>)}
          </select>
        </label>
      </div>
      <p className="muted">{t("plugins.intro")}</p>
      {admin && <Installed />}
      {app ? <AppPlugins key={app} app={app} admin={admin} /> : <p className="muted" data-testid="connectors-no-app">{t("plugins.pickAppHint")}</p>}
    </section>
  );
}

// ---- installed plugins (platform admin) ----

function Installed() {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [items, setItems] = useState<PluginSummary[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState<PluginSummary | null>(null);
  const [removeError, setRemoveError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const load = useCallback(() => {
    setError(null);
    pluginsApi.installed().then((r) => setItems(r.items ?? []), setError);
  }, []);
  useEffect(load, [load]);

  const columns = useMemo(() => {
    const h = createColumnHelper<PluginSummary>();
    return [
      h.accessor("name", { header: t("plugins.col.name"), cell: (c) => (
        <span><strong>{pluginLabel(c.row.original, lang)}</strong> <span className="muted small mono">{c.row.original.name}</span>
          {c.row.original.description && <span className="muted small block">{c.row.original.description}</span>}</span>
      ) }),
      h.accessor("version", { header: t("plugins.col.version"), cell: (c) => <span className="mono">{c.getValue()}</span> }),
      h.accessor("author", { header: t("plugins.col.author") }),
      h.display({ id: "trust", header: t("plugins.col.trust"), cell: (c) => {
        const p = c.row.original;
        return p.builtin ? <span className="tag" data-testid="plugin-builtin">{t("plugins.builtin")}</span>
          : p.signer ? <span className="tag" title={p.signer}>{t("plugins.signed", { key: p.signer })}</span>
            : <span className="tag cd-late">{t("plugins.unsigned")}</span>;
      } }),
      h.display({ id: "hosts", header: t("plugins.col.hosts"), cell: (c) => (
        <span className="mono small">{(c.row.original.hosts ?? []).map(hostText).join(", ") || "—"}</span>
      ) }),
      h.display({ id: "usedBy", header: t("plugins.col.usedBy"), cell: (c) => (
        <span className="small" data-testid="plugin-usedby">{(c.row.original.usedBy ?? []).map(useText).join(", ") || "—"}</span>
      ) }),
      h.display({ id: "actions", header: "", cell: (c) => c.row.original.builtin ? null : (
        <button type="button" className="btn btn-small btn-ghost danger-text" data-testid={`plugin-remove-${c.row.original.name}`}
          onClick={() => { setRemoveError(null); setRemoving(c.row.original); }}>{t("plugins.remove")}</button>
      ) }),
    ];
  }, [t, lang]);
  const table = useReactTable({ data: items ?? [], columns, getCoreRowModel: getCoreRowModel(), getRowId: (r) => r.name });

  async function remove(p: PluginSummary) {
    try {
      await pluginsApi.remove(p.name);
      setRemoving(null);
      setNotice(t("plugins.removed", { name: p.name }));
      load();
    } catch (e) {
      setRemoving(null);
      setRemoveError(e);
    }
  }

  return (
    <section className="card connectors-installed" data-testid="plugins-installed">
      <h2 className="panel-title">{t("plugins.installed")}</h2>
      {error ? <ErrorBox error={error} onRetry={load} /> : null}
      {!items && !error && <Loading />}
      {items && (
        <Table table={table} testId="plugins-table" rowTestId={(id) => `plugin-row-${id}`} />
      )}
      {notice && <div className="alert alert-ok" role="status" data-testid="plugins-notice">{notice}</div>}
      {removeError ? <PluginErrorBox error={removeError} testId="plugin-remove-error" /> : null}
      <Install onInstalled={(p) => { setNotice(t("plugins.installedOk", { name: p.name, version: p.version })); load(); }} />
      {removing && (
        <DeleteDialog title={t("plugins.removeTitle")} testId="plugin-remove-dialog" confirmTestId="plugin-remove-confirm" confirm={t("plugins.remove")}
          cancel={t("common.cancel")} text={t("plugins.removeConfirm", { name: removing.name })} onClose={() => setRemoving(null)}
          onConfirm={() => void remove(removing)} />
      )}
    </section>
  );
}

function Install({ onInstalled }: { onInstalled: (p: PluginSummary) => void }) {
  const { t } = useI18n();
  const [file, setFile] = useState<File | null>(null);
  const [unsigned, setUnsigned] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const input = useRef<HTMLInputElement>(null);
  async function install() {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const p = await pluginsApi.install(file, file.name, unsigned);
      setFile(null);
      if (input.current) input.current.value = "";
      onInstalled(p);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div className="connectors-install" data-testid="plugin-install">
      <h3 className="panel-title">{t("plugins.install")}</h3>
      <p className="muted small">{t("plugins.installHint")}</p>
      <div className="connectors-install-row">
        <input ref={input} type="file" accept=".zip,application/zip" data-testid="plugin-file" aria-label={t("plugins.file")}
          onChange={(e) => { setFile(e.target.files?.[0] ?? null); setError(null); }} />
        <label className="check">
          <input type="checkbox" checked={unsigned} data-testid="plugin-allow-unsigned" onChange={(e) => setUnsigned(e.target.checked)} />
          {t("plugins.allowUnsigned")}
        </label>
        <button type="button" className="btn btn-primary btn-small" disabled={!file || busy} data-testid="plugin-install-submit" onClick={() => void install()}>
          {busy ? t("plugins.installing") : t("plugins.installButton")}
        </button>
      </div>
      {error ? <PluginErrorBox error={error} testId="plugin-install-error" /> : null}
    </div>
  );
}

// PluginErrorBox: the server's refusal in words (unsigned, tampered,
// untrusted, invalid with every pointer, in use naming who uses it).
export function PluginErrorBox({ error, testId }: { error: unknown; testId: string }) {
  const { t } = useI18n();
  const known = error instanceof ApiError && PLUGIN_CODES.includes(error.code);
  const details = error instanceof ApiError ? error.details : [];
  if (!known) return <ErrorBox error={error} testId={testId} />;
  const e = error as ApiError;
  return (
    <div className="alert alert-error" role="alert" data-testid={testId} data-code={e.code}>
      <div><strong>{t(`plugins.error.${e.code}` as MessageKey)}</strong></div>
      {e.message && <div className="small" data-testid={`${testId}-message`}>{e.message}</div>}
      {details.length > 0 && (
        <ul className="alert-details" data-testid={`${testId}-details`}>
          {details.map((d, i) => <li key={i}><code>{d.path || "/"}</code> {d.message}</li>)}
        </ul>
      )}
    </div>
  );
}

export const PLUGIN_CODES = ["plugin_invalid", "plugin_unsigned", "plugin_signature", "plugin_untrusted", "plugin_in_use", "plugin_builtin", "plugin_disabled"];

// ---- one app's plugins ----

function AppPlugins({ app, admin }: { app: string; admin: boolean }) {
  const { t, lang } = useI18n();
  const [items, setItems] = useState<AppPlugin[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [sel, setSel] = useState<string>("");
  const load = useCallback(() => {
    setError(null);
    pluginsApi.ofApp(app).then((r) => {
      const list = r.items ?? [];
      setItems(list);
      setSel((s) => (list.some((p) => p.name === s) ? s : list[0]?.name ?? ""));
    }, setError);
  }, [app]);
  useEffect(load, [load]);
  if (error) return <ErrorBox error={error} onRetry={load} />;
  if (!items) return <Loading />;
  const p = items.find((x) => x.name === sel);
  return (
    <section className="connectors-app" data-testid="connectors-app-plugins">
      <h2 className="panel-title">{t("plugins.inApp", { app })}</h2>
      {items.length === 0 && <p className="muted" data-testid="connectors-none">{t("plugins.none")}</p>}
      <div className="auto-editor">
        <aside className="designer-col auto-list">
          <ul className="designer-list">
            {items.map((x) => (
              <li key={x.name}>
                <button type="button" className={"designer-item" + (x.name === sel ? " active" : "")} aria-current={x.name === sel || undefined}
                  data-testid={`connector-item-${x.name}`} onClick={() => setSel(x.name)}>
                  <span>{pluginLabel(x, lang)}</span>
                  <span className={"tag small" + (x.config?.enabled ? "" : " muted")} data-testid={`connector-state-${x.name}`}>
                    {x.config?.enabled ? t("plugins.on") : t("plugins.off")}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        </aside>
        <div className="designer-col auto-main">
          {p && <PluginConfig key={p.name} app={app} plugin={p} admin={admin} onSaved={() => { forgetAppPlugins(); load(); }} />}
        </div>
      </div>
    </section>
  );
}

function PluginConfig({ app, plugin, admin, onSaved }: { app: string; plugin: AppPlugin; admin: boolean; onSaved: () => void }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const cfg = plugin.config;
  const sFields = useMemo(() => schemaFields(plugin.settings), [plugin.settings]);
  const secretNames = useMemo(() => schemaFields(plugin.secrets), [plugin.secrets]);
  const [enabled, setEnabled] = useState(!!cfg?.enabled);
  const [settings, setSettings] = useState<Record<string, unknown>>(() => initialValues(sFields, cfg?.settings));
  const [typed, setTyped] = useState<Record<string, string>>({});
  const [cleared, setCleared] = useState<Set<string>>(new Set());
  const [allowPrivate, setAllowPrivate] = useState(!!cfg?.allowPrivate);
  const [secretsSet, setSecretsSet] = useState<Record<string, boolean>>(cfg?.secretsSet ?? {});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [callsKey, setCallsKey] = useState(0);
  const details: ErrorDetail[] = error instanceof ApiError ? error.details : [];
  const at = (prefix: string) => (name: string) => details.filter((d) => d.path === `${prefix}/${name}` || d.path.startsWith(`${prefix}/${name}/`)).map((d) => d.message);
  const missing = enabled ? missingRequired(sFields, settings) : [];

  async function save() {
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const body = { enabled, settings: compact(sFields, settings), secrets: secretChanges(typed, cleared), ...(admin ? { allowPrivate } : {}) };
      const next = await pluginsApi.configure(app, plugin.name, body);
      setTyped({});
      setCleared(new Set());
      setSecretsSet(next.secretsSet ?? {});
      setEnabled(next.enabled);
      setAllowPrivate(next.allowPrivate);
      setSaved(true);
      onSaved();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="auto-rule" data-testid={`connector-config-${plugin.name}`}>
      <div className="auto-rule-head">
        <h2 className="panel-title">{pluginLabel(plugin, lang)} <span className="muted small mono">{plugin.name} {plugin.version}</span></h2>
      </div>
      {plugin.description && <p className="muted small">{plugin.description}</p>}
      <label className="check">
        <input type="checkbox" checked={enabled} data-testid="connector-enabled" onChange={(e) => { setEnabled(e.target.checked); setSaved(false); }} />
        {t("plugins.enabled")}
      </label>
      <section className="auto-section">
        <h3 className="panel-title">{t("plugins.settings")}</h3>
        <SchemaForm schema={plugin.settings} fields={sFields} values={settings} testId="connector-setting" problems={at("/settings")}
          onChange={(v) => { setSettings(v); setSaved(false); }} />
        {missing.length > 0 && <p className="muted small" data-testid="connector-missing">{t("plugins.missing", { names: missing.join(", ") })}</p>}
      </section>
      <section className="auto-section" data-testid="connector-secrets">
        <h3 className="panel-title">{t("plugins.secrets")}</h3>
        <p className="muted small">{t("plugins.secretsHint")}</p>
        {secretNames.length === 0 && <p className="muted small">{t("plugins.noSecrets")}</p>}
        {secretNames.map((s) => {
          const isSet = !!secretsSet[s.name] && !cleared.has(s.name);
          const msgs = at("/secrets")(s.name);
          return (
            <div key={s.name} className="field secret-row" data-testid={`connector-secret-${s.name}`}>
              <span className="field-label">{s.title}{s.required && " *"}</span>
              <span className={"tag" + (isSet ? "" : " cd-late")} data-testid={`connector-secret-${s.name}-state`}>
                {cleared.has(s.name) ? t("plugins.secretClearing") : isSet ? t("plugins.secretSet") : t("plugins.secretNotSet")}
              </span>
              <input type="password" autoComplete="new-password" value={typed[s.name] ?? ""} data-testid={`connector-secret-${s.name}-input`}
                placeholder={isSet ? t("plugins.secretReplace") : t("plugins.secretEnter")} aria-label={s.title} aria-invalid={msgs.length > 0 || undefined}
                onChange={(e) => { setTyped({ ...typed, [s.name]: e.target.value }); setSaved(false); }} />
              {secretsSet[s.name] && !cleared.has(s.name) && (
                <button type="button" className="btn btn-small btn-ghost" data-testid={`connector-secret-${s.name}-clear`}
                  onClick={() => { setCleared(new Set([...cleared, s.name])); const n = { ...typed }; delete n[s.name]; setTyped(n); setSaved(false); }}>
                  {t("plugins.secretClear")}
                </button>
              )}
              {s.description && <span className="muted small">{s.description}</span>}
              {msgs.map((m, i) => <span key={i} className="field-error">{m}</span>)}
            </div>
          );
        })}
      </section>
      {admin && (
        <label className="check" data-testid="connector-allow-private-row">
          <input type="checkbox" checked={allowPrivate} data-testid="connector-allow-private" onChange={(e) => { setAllowPrivate(e.target.checked); setSaved(false); }} />
          {t("plugins.allowPrivate")}
          <span className="muted small"> {t("plugins.allowPrivateHint")}</span>
        </label>
      )}
      {!admin && cfg?.allowPrivate && <p className="muted small">{t("plugins.allowPrivateOn")}</p>}
      {error ? <PluginErrorBox error={error} testId="connector-save-error" /> : null}
      {saved && <div className="alert alert-ok" role="status" data-testid="connector-saved">{t("plugins.saved")}</div>}
      <div className="row-actions">
        <button type="button" className="btn btn-primary" disabled={busy} data-testid="connector-save" onClick={() => void save()}>
          {busy ? t("plugins.saving") : t("plugins.save")}
        </button>
      </div>
      {(plugin.actions ?? []).length > 0 && (
        <section className="auto-section" data-testid="connector-tests">
          <h3 className="panel-title">{t("plugins.test")}</h3>
          <p className="muted small">{t("plugins.testHint")}</p>
          {(plugin.actions ?? []).map((a) => (
            <TestAction key={a.name} app={app} plugin={plugin.name} action={a} onDone={() => setCallsKey((k) => k + 1)} />
          ))}
        </section>
      )}
      {(plugin.triggers ?? []).length > 0 && (
        <p className="muted small" data-testid="connector-triggers">
          {t("plugins.triggers", { names: (plugin.triggers ?? []).map((x) => actionLabel(x, lang)).join(", ") })}
        </p>
      )}
      <Calls key={callsKey} app={app} plugin={plugin.name} />
    </div>
  );
}

function TestAction({ app, plugin, action, onDone }: { app: string; plugin: string; action: PluginAction; onDone: () => void }) {
  const { t, lang } = useI18n();
  const fields = useMemo(() => schemaFields(action.input), [action.input]);
  const [input, setInput] = useState<Record<string, unknown>>(() => initialValues(fields, {}));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<TestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  async function send() {
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      setResult(await pluginsApi.test(app, plugin, action.name, compact(fields, input)));
      onDone();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return (
    <details className="card connector-test" data-testid={`connector-test-${action.name}`}>
      <summary><strong>{actionLabel(action, lang)}</strong> {action.description && <span className="muted small">{action.description}</span>}</summary>
      <SchemaForm schema={action.input} fields={fields} values={input} testId={`connector-test-${action.name}-input`} onChange={setInput} />
      <button type="button" className="btn btn-small" disabled={busy} data-testid={`connector-test-${action.name}-send`} onClick={() => void send()}>
        {busy ? t("plugins.sending") : t("plugins.sendTest")}
      </button>
      {error ? <PluginErrorBox error={error} testId={`connector-test-${action.name}-error`} /> : null}
      {result && (
        <div className={"alert " + (result.ok ? "alert-ok" : "alert-error")} role="status" data-testid={`connector-test-${action.name}-result`}
          data-ok={result.ok ? "true" : "false"}>
          <div>
            <strong>{result.ok ? t("plugins.testOk") : t("plugins.testFailed", { kind: result.error?.kind ?? "" })}</strong>{" "}
            <span className="muted small" data-testid={`connector-test-${action.name}-duration`}>{t("plugins.duration", { ms: result.durationMs })}</span>
          </div>
          {!result.ok && result.error && <div data-testid={`connector-test-${action.name}-errmsg`}>{result.error.message}</div>}
          {result.ok && result.output && <pre className="mono small" data-testid={`connector-test-${action.name}-output`}>{JSON.stringify(result.output, null, 2)}</pre>}
          {(result.logs ?? []).length > 0 && (
            <>
              <div className="muted small">{t("plugins.logs")}</div>
              <pre className="mono small" data-testid={`connector-test-${action.name}-logs`}>{(result.logs ?? []).join("\n")}</pre>
            </>
          )}
        </div>
      )}
    </details>
  );
}

const STATUS_CLASS: Record<string, string> = { ok: "", error: " cd-late", refused: " cd-late", timeout: " cd-late" };

function Calls({ app, plugin }: { app: string; plugin: string }) {
  const i18n = useI18n();
  const { t } = i18n;
  const [items, setItems] = useState<CallInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = useCallback(() => {
    setError(null);
    pluginsApi.calls(app, plugin).then((r) => setItems(r.items ?? []), setError);
  }, [app, plugin]);
  useEffect(load, [load]);
  const columns = useMemo(() => {
    const h = createColumnHelper<CallInfo>();
    return [
      h.accessor("at", { header: t("plugins.call.at"), cell: (c) => i18n.dateTime(c.getValue()) }),
      h.accessor("status", { header: t("plugins.call.status"), cell: (c) => (
        <span className={"tag" + (STATUS_CLASS[c.getValue()] ?? "")} data-testid="call-status">{statusText(t, c.getValue())}</span>
      ) }),
      h.display({ id: "what", header: t("plugins.call.what"), cell: (c) => {
        const x = c.row.original;
        return <span className="small">{kindText(t, x.kind)} · <span className="mono">{x.name}</span>{x.automation ? ` · ${x.automation}` : x.connector ? ` · ${x.connector}` : ""}</span>;
      } }),
      h.accessor("durationMs", { header: t("plugins.call.duration"), cell: (c) => t("plugins.duration", { ms: c.getValue() }) }),
      h.accessor("requests", { header: t("plugins.call.requests") }),
      h.accessor("error", { header: t("plugins.call.error"), cell: (c) => <span className="small" data-testid="call-error">{c.getValue() ?? ""}</span> }),
    ];
  }, [t, i18n]);
  const table = useReactTable({ data: items ?? [], columns, getCoreRowModel: getCoreRowModel(), getRowId: (r) => r.id });
  return (
    <section className="auto-section" data-testid="connector-calls">
      <div className="auto-section-head">
        <h3 className="panel-title">{t("plugins.calls")}</h3>
        <button type="button" className="btn btn-small btn-ghost" data-testid="connector-calls-refresh" onClick={load}>{t("plugins.refresh")}</button>
      </div>
      {error ? <ErrorBox error={error} onRetry={load} /> : null}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p className="muted small" data-testid="connector-calls-none">{t("plugins.noCalls")}</p>}
      {items && items.length > 0 && (
        <Table table={table} testId="connector-calls-table" rowTestId={() => "call-row"} />
      )}
    </section>
  );
}

// headerText: a column's header as the phone's stacked rows label a cell.
const headerText = (h: unknown) => (typeof h === "string" ? h : "");

// Table renders a @tanstack/react-table table as the app's lists look.
function Table<T>({ table, testId, rowTestId }: { table: TanTable<T>; testId: string; rowTestId: (id: string) => string }) {
  return (
    <div className="table-wrap">
      <table className="list" data-testid={testId}>
        <thead>
          {table.getHeaderGroups().map((hg) => (
            <tr key={hg.id}>{hg.headers.map((x) => <th key={x.id}>{flexRender(x.column.columnDef.header, x.getContext())}</th>)}</tr>
          ))}
        </thead>
        <tbody>
          {table.getRowModel().rows.map((row) => (
            <tr key={row.id} data-testid={rowTestId(row.id)}>
              {row.getVisibleCells().map((x) => <td key={x.id} data-label={headerText(x.column.columnDef.header)}>{flexRender(x.column.columnDef.cell, x.getContext())}</td>)}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const STATUSES = ["ok", "error", "refused", "timeout"];
const KINDS = ["action", "trigger", "test"];
const statusText = (t: (k: MessageKey) => string, s: string) => (STATUSES.includes(s) ? t(`plugins.status.${s}` as MessageKey) : s);
const kindText = (t: (k: MessageKey) => string, s: string) => (KINDS.includes(s) ? t(`plugins.kind.${s}` as MessageKey) : s);

// ConnectorsLink: where the designer and the admin area lead.
export function connectorsHref(app?: string): string {
  return href({ name: "connectors", app });
}
