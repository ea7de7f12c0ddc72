// The designer's Connectors tab: the app's inbound endpoints — per
// connector its name, the plugin trigger that reads a submission, the
// entity it writes, the mapping rows (entity field ← item property, the
// trigger's output properties offered), fixed defaults, the match field
// (update instead of create), the honeypot field, the rate limit and the
// role the write is made as. For a connector the published app has, its
// endpoint: the URL, the token (copy, rotate) and the ready HTML snippet.
// Problems the server finds on publish show at their pointer.
import { useEffect, useMemo, useState } from "react";
import { api, ApiError, type ErrorDetail, type Field } from "../api";
import { automationsWithProblems, problemsOf } from "../designer/automations";
import {
  blankConnector, cleanConnector, CONNECTOR_NAME_RE, connectorsOf, DEFAULT_RATE, defaultEntity, defaultText, guessMapping, HONEYPOT_RE, itemProps, MAX_RATE,
  targetFields, typedDefault, withConnectors, type Connector,
} from "../designer/connectors";
import type { DDoc, DEntity } from "../designer/model";
import { useI18n } from "../i18n";
import { problemText } from "../problems";
import { href } from "../router";
import { actionLabel, endpointURL, pluginLabel, pluginsApi, useAppPlugins, type AppPlugin, type Endpoint } from "../plugins";
import { FieldProblems, type ProblemsAt } from "./AutomationsEditor";
import { ErrorBox, Icon } from "./common";
import { DeleteDialog } from "./Dialog";

const shownLabel = (c: Connector, lang: string) => c.labels?.[lang] || c.label || c.name;

// triggerProps: the properties of the items c's trigger produces (for the entity e).
function triggerProps(plugins: AppPlugin[] | null, c: Connector, e: DEntity | undefined): string[] {
  const p = plugins?.find((x) => x.name === c.plugin);
  const tr = p?.triggers?.find((x) => x.name === c.trigger);
  return itemProps(tr?.output, e);
}

export function ConnectorsEditor({ doc, onChange, problems, stored }: { doc: DDoc; onChange: (d: DDoc) => void; problems?: ErrorDetail[]; stored: boolean }) {
  const { t, lang } = useI18n();
  const list = connectorsOf(doc);
  const plugins = useAppPlugins(doc.name);
  const [sel, setSel] = useState(0);
  const [deleting, setDeleting] = useState<number | null>(null);
  // The connectors of the published version: only they have an endpoint.
  const [published, setPublished] = useState<Set<string>>(new Set());
  useEffect(() => {
    if (!stored) return;
    let live = true;
    api.app(doc.name).then((d) => live && setPublished(new Set(((d as unknown as DDoc).connectors as Connector[] | undefined ?? []).map((c) => c.name))), () => undefined);
    return () => {
      live = false;
    };
  }, [doc.name, doc.version, stored]);
  const bad = useMemo(() => automationsWithProblems(problems ?? [], "connectors"), [problems]);
  useEffect(() => {
    const first = [...bad][0];
    if (first !== undefined) setSel(first);
  }, [bad]);
  const ci = Math.min(sel, list.length - 1);
  const c = ci >= 0 ? list[ci] : undefined;
  const setList = (l: Connector[]) => onChange(withConnectors(doc, l));
  const withTriggers = (plugins ?? []).filter((p) => (p.triggers ?? []).length > 0);

  function add() {
    const p = withTriggers.find((x) => x.name === "webform") ?? withTriggers[0];
    const tr = p?.triggers?.[0];
    const e = defaultEntity(doc);
    const blank = blankConnector(doc, p?.name ?? "", tr?.name ?? "", itemProps(tr?.output, e));
    setList([...list, cleanConnector(blank)]);
    setSel(list.length);
  }

  return (
    <div className="auto-editor" data-testid="conn-editor">
      <aside className="designer-col auto-list" aria-label={t("conn.title")}>
        <h2 className="panel-title">{t("conn.title")}</h2>
        <p className="muted small">{t("conn.intro")}</p>
        {list.length === 0 && <p className="muted small" data-testid="conn-none">{t("conn.none")}</p>}
        <ul className="designer-list">
          {list.map((x, i) => (
            <li key={i}>
              <button type="button" className={"designer-item" + (i === ci ? " active" : "") + (bad.has(i) ? " has-error" : "")}
                aria-current={i === ci || undefined} data-testid={`conn-item-${x.name}`} onClick={() => setSel(i)}>
                <span>{shownLabel(x, lang)}</span>
                <span className="muted small">{doc.entities.find((e) => e.name === x.entity)?.label || x.entity}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-block" data-testid="conn-add" disabled={doc.entities.length === 0} onClick={add}>
          <Icon.plus /> {t("conn.add")}
        </button>
        {plugins && withTriggers.length === 0 && (
          <p className="muted small" data-testid="conn-no-plugins">{t("conn.noPlugins")} <a href={href({ name: "connectors", app: doc.name })}>{t("plugins.title")}</a></p>
        )}
      </aside>
      <div className="designer-col auto-main">
        {c ? (
          <ConnectorForm key={ci} doc={doc} c={c} index={ci} plugins={plugins} problems={problemsOf(problems ?? [], ci, "connectors")}
            published={published.has(c.name)} onChange={(x) => setList(list.map((y, j) => (j === ci ? cleanConnector(x) : y)))}
            onDelete={() => setDeleting(ci)} />
        ) : <p className="muted">{t("conn.pickOrAdd")}</p>}
      </div>
      {deleting !== null && list[deleting] && (
        <DeleteDialog title={t("conn.deleteTitle")} testId="conn-delete-dialog" confirmTestId="conn-delete-confirm" confirm={t("conn.delete")}
          cancel={t("common.cancel")} text={t("conn.deleteConfirm", { name: shownLabel(list[deleting], lang) })} onClose={() => setDeleting(null)}
          onConfirm={() => { setList(list.filter((_, j) => j !== deleting)); setSel(Math.max(0, deleting - 1)); setDeleting(null); }} />
      )}
    </div>
  );
}

function ConnectorForm({ doc, c, index, plugins, problems, published, onChange, onDelete }: {
  doc: DDoc; c: Connector; index: number; plugins: AppPlugin[] | null; problems: ErrorDetail[]; published: boolean;
  onChange: (c: Connector) => void; onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const entity = doc.entities.find((e) => e.name === c.entity);
  const targets = targetFields(entity);
  const label = (name: string) => {
    const f = entity?.fields.find((x) => x.name === name);
    return f ? f.label || f.name : name;
  };
  const at: ProblemsAt = (path, deep = false) => problems
    .filter((p) => p.path === path || (deep && p.path.startsWith(path + "/")))
    .map((p) => problemText(p, t, label));
  const placed = (p: string) => /^\/(name|label|plugin|trigger|entity|match|honeypot|rateLimit|role|enabled)$/.test(p) || /^\/(mapping|defaults)(\/.*)?$/.test(p);
  const loose = problems.filter((p) => !placed(p.path));
  const taken = connectorsOf(doc).some((x, i) => i !== index && x.name === c.name);
  const set = (p: Partial<Connector>) => onChange({ ...c, ...p });
  const plugin = plugins?.find((p) => p.name === c.plugin);
  const triggers = plugin?.triggers ?? [];
  const props = triggerProps(plugins, c, entity);
  const mapped = Object.keys(c.mapping ?? {});
  const freeTargets = targets.filter((f) => !mapped.includes(f.name));
  const defaults = c.defaults ?? {};
  const freeDefaults = targets.filter((f) => !(f.name in defaults));
  const listId = `conn-props-${index}`;

  return (
    <div className="auto-rule" data-testid="conn-form">
      <div className="auto-rule-head">
        <h2 className="panel-title">{shownLabel(c, lang)}</h2>
        <span className="row-actions">
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="conn-delete" onClick={onDelete}>{t("conn.delete")}</button>
        </span>
      </div>
      {loose.length > 0 && (
        <div className="alert alert-error" role="alert" data-testid="conn-problems">
          <ul className="alert-details">{loose.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, label)}</li>)}</ul>
        </div>
      )}
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("auto.label")}</span>
          <input value={c.label ?? ""} data-testid="conn-label" onChange={(e) => set({ label: e.target.value })} />
          <FieldProblems msgs={at("/label")} />
        </label>
        <label className="field">
          <span className="field-label">{t("auto.name")}</span>
          <input className="mono" value={c.name} data-testid="conn-name" spellCheck={false} autoCapitalize="off"
            aria-invalid={!CONNECTOR_NAME_RE.test(c.name) || taken || at("/name").length > 0 || undefined} onChange={(e) => set({ name: e.target.value })} />
          {!CONNECTOR_NAME_RE.test(c.name) && <span className="field-error">{t("conn.nameRule")}</span>}
          {taken && <span className="field-error">{t("conn.nameTaken")}</span>}
          <span className="muted small">{t("conn.nameHint", { app: doc.name })}</span>
          <FieldProblems msgs={at("/name")} testId="conn-problem-name" />
        </label>
        <label className="check">
          <input type="checkbox" checked={c.enabled !== false} data-testid="conn-enabled" onChange={(e) => set({ enabled: e.target.checked })} />
          {t("conn.enabled")}
        </label>
      </div>
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("conn.plugin")}</span>
          <select value={c.plugin} data-testid="conn-plugin" aria-invalid={at("/plugin").length > 0 || undefined}
            onChange={(e) => {
              const p = plugins?.find((x) => x.name === e.target.value);
              const tr = p?.triggers?.[0];
              set({ plugin: e.target.value, trigger: tr?.name ?? "", mapping: { ...guessMapping(entity, itemProps(tr?.output, entity)), ...c.mapping } });
            }}>
            {!plugin && <option value={c.plugin}>{c.plugin || "—"}</option>}
            {(plugins ?? []).filter((p) => (p.triggers ?? []).length > 0).map((p) => (
              <option key={p.name} value={p.name}>{pluginLabel(p, lang)}{p.config?.enabled ? "" : ` (${t("plugins.off")})`}</option>
            ))}
          </select>
          {plugin && !plugin.config?.enabled && (
            <span className="muted small" data-testid="conn-plugin-off">{t("conn.pluginOff")} <a href={href({ name: "connectors", app: doc.name })}>{t("plugins.title")}</a></span>
          )}
          <FieldProblems msgs={at("/plugin")} testId="conn-problem-plugin" />
        </label>
        <label className="field">
          <span className="field-label">{t("conn.trigger")}</span>
          <select value={c.trigger} data-testid="conn-trigger" aria-invalid={at("/trigger").length > 0 || undefined} onChange={(e) => set({ trigger: e.target.value })}>
            {!triggers.some((x) => x.name === c.trigger) && <option value={c.trigger}>{c.trigger || "—"}</option>}
            {triggers.map((x) => <option key={x.name} value={x.name}>{actionLabel(x, lang)}</option>)}
          </select>
          <FieldProblems msgs={at("/trigger")} testId="conn-problem-trigger" />
        </label>
        <label className="field">
          <span className="field-label">{t("auto.entity")}</span>
          <select value={c.entity} data-testid="conn-entity" aria-invalid={at("/entity").length > 0 || undefined}
            onChange={(e) => {
              const ne = doc.entities.find((x) => x.name === e.target.value);
              set({ entity: e.target.value, mapping: guessMapping(ne, triggerProps(plugins, c, ne)), defaults: undefined, match: undefined });
            }}>
            {!entity && <option value={c.entity}>{c.entity || "—"}</option>}
            {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
          </select>
          <FieldProblems msgs={at("/entity")} testId="conn-problem-entity" />
        </label>
      </div>

      <section className="auto-section" data-testid="conn-mapping">
        <h3 className="panel-title">{t("conn.mapping")}</h3>
        <p className="muted small">{t("conn.mappingHint")}</p>
        <datalist id={listId}>{props.map((p) => <option key={p} value={p} />)}</datalist>
        <FieldProblems msgs={at("/mapping")} testId="conn-problem-mapping" />
        {mapped.map((n) => {
          const f = targets.find((x) => x.name === n);
          return (
            <div key={n} className="auto-field-row" data-testid={`conn-map-${n}`}>
              <select value={n} aria-label={t("conn.field")} data-testid={`conn-map-field-${n}`}
                onChange={(e) => set({ mapping: Object.fromEntries(Object.entries(c.mapping).map(([k, v]) => [k === n ? e.target.value : k, v])) })}>
                <option value={n}>{f ? f.label || f.name : n}</option>
                {freeTargets.map((x) => <option key={x.name} value={x.name}>{x.label || x.name}</option>)}
              </select>
              <span aria-hidden="true">←</span>
              <input className="mono" list={listId} value={c.mapping[n]} aria-label={t("conn.property")} data-testid={`conn-map-prop-${n}`}
                onChange={(e) => set({ mapping: { ...c.mapping, [n]: e.target.value } })} />
              <button type="button" className="btn btn-icon btn-small" aria-label={t("conn.removeRow")} data-testid={`conn-map-remove-${n}`}
                onClick={() => set({ mapping: Object.fromEntries(Object.entries(c.mapping).filter(([k]) => k !== n)) })}><Icon.x /></button>
              <FieldProblems msgs={at(`/mapping/${n}`, true)} testId={`conn-problem-map-${n}`} />
            </div>
          );
        })}
        {freeTargets.length > 0 && (
          <select value="" aria-label={t("conn.addMapping")} data-testid="conn-map-add"
            onChange={(e) => e.target.value && set({ mapping: { ...c.mapping, [e.target.value]: props.includes(e.target.value) ? e.target.value : "" } })}>
            <option value="">{t("conn.addMapping")}</option>
            {freeTargets.map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
          </select>
        )}
      </section>

      <section className="auto-section" data-testid="conn-defaults">
        <h3 className="panel-title">{t("conn.defaults")}</h3>
        <p className="muted small">{t("conn.defaultsHint")}</p>
        {Object.entries(defaults).map(([n, v]) => {
          const f = targets.find((x) => x.name === n);
          const setD = (nv: unknown) => set({ defaults: { ...defaults, [n]: nv } });
          return (
            <div key={n} className="auto-field-row" data-testid={`conn-default-${n}`}>
              <span className="field-label">{f ? f.label || f.name : n}</span>
              <DefaultInput field={f} value={v} testId={`conn-default-value-${n}`} onChange={setD} />
              <button type="button" className="btn btn-icon btn-small" aria-label={t("conn.removeRow")}
                onClick={() => set({ defaults: Object.fromEntries(Object.entries(defaults).filter(([k]) => k !== n)) })}><Icon.x /></button>
              <FieldProblems msgs={at(`/defaults/${n}`, true)} testId={`conn-problem-default-${n}`} />
            </div>
          );
        })}
        <FieldProblems msgs={at("/defaults")} />
        {freeDefaults.length > 0 && (
          <select value="" aria-label={t("conn.addDefault")} data-testid="conn-default-add"
            onChange={(e) => {
              const f = targets.find((x) => x.name === e.target.value);
              if (f) set({ defaults: { ...defaults, [f.name]: f.type === "select" ? f.options?.[0] ?? "" : f.type === "boolean" ? true : "" } });
            }}>
            <option value="">{t("conn.addDefault")}</option>
            {freeDefaults.map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
          </select>
        )}
      </section>

      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("conn.match")}</span>
          <select value={c.match ?? ""} data-testid="conn-match" aria-invalid={at("/match").length > 0 || undefined} onChange={(e) => set({ match: e.target.value })}>
            <option value="">{t("conn.matchNone")}</option>
            {c.match && !targets.some((f) => f.name === c.match) && <option value={c.match}>{c.match}</option>}
            {targets.filter((f) => f.unique || f.name === c.match).map((f) => <option key={f.name} value={f.name}>{f.label || f.name}</option>)}
          </select>
          <span className="muted small">{targets.some((f) => f.unique) ? t("conn.matchHint") : t("conn.matchNoUnique")}</span>
          <FieldProblems msgs={at("/match")} testId="conn-problem-match" />
        </label>
        <label className="field">
          <span className="field-label">{t("conn.honeypot")}</span>
          <input className="mono" value={c.honeypot ?? ""} data-testid="conn-honeypot" placeholder="company_url"
            aria-invalid={(!!c.honeypot && !HONEYPOT_RE.test(c.honeypot)) || at("/honeypot").length > 0 || undefined}
            onChange={(e) => set({ honeypot: e.target.value })} />
          <span className="muted small">{t("conn.honeypotHint")}</span>
          <FieldProblems msgs={at("/honeypot")} testId="conn-problem-honeypot" />
        </label>
      </div>
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("conn.rateLimit")}</span>
          <input type="number" min={0} max={MAX_RATE} value={c.rateLimit ?? ""} placeholder={String(DEFAULT_RATE)} data-testid="conn-rate"
            aria-invalid={at("/rateLimit").length > 0 || undefined}
            onChange={(e) => set({ rateLimit: e.target.value === "" ? undefined : Math.max(0, Math.min(MAX_RATE, Math.floor(Number(e.target.value) || 0))) })} />
          <span className="muted small">{t("conn.rateHint", { n: DEFAULT_RATE })}</span>
          <FieldProblems msgs={at("/rateLimit")} testId="conn-problem-rate" />
        </label>
        <label className="field">
          <span className="field-label">{t("conn.role")}</span>
          <select value={c.role ?? ""} data-testid="conn-role" aria-invalid={at("/role").length > 0 || undefined} onChange={(e) => set({ role: e.target.value })}>
            <option value="">{t("conn.roleNone")}</option>
            {c.role && !(doc.roles ?? []).some((r) => r.name === c.role) && <option value={c.role}>{c.role}</option>}
            {(doc.roles ?? []).map((r) => <option key={r.name} value={r.name}>{r.label || r.name}</option>)}
          </select>
          <span className="muted small">{t("conn.roleHint")}</span>
          <FieldProblems msgs={at("/role")} testId="conn-problem-role" />
        </label>
      </div>

      {published ? <EndpointPanel app={doc.name} connector={c.name} /> : (
        <p className="muted small" data-testid="conn-unpublished">{t("conn.publishFirst")}</p>
      )}
    </div>
  );
}

function DefaultInput({ field, value, onChange, testId }: { field: Field | undefined; value: unknown; onChange: (v: unknown) => void; testId: string }) {
  const { t } = useI18n();
  switch (field?.type) {
    case "select":
      return (
        <select value={defaultText(value)} data-testid={testId} aria-label={t("conn.value")} onChange={(e) => onChange(e.target.value)}>
          {!(field.options ?? []).includes(defaultText(value)) && <option value={defaultText(value)}>{defaultText(value)}</option>}
          {(field.options ?? []).map((o) => <option key={o} value={o}>{o}</option>)}
        </select>
      );
    case "boolean":
      return (
        <select value={String(value === true)} data-testid={testId} aria-label={t("conn.value")} onChange={(e) => onChange(e.target.value === "true")}>
          <option value="true">{t("common.yes")}</option>
          <option value="false">{t("common.no")}</option>
        </select>
      );
    default:
      return <input value={defaultText(value)} data-testid={testId} aria-label={t("conn.value")} type={field?.type === "integer" || field?.type === "decimal" ? "number" : "text"}
        onChange={(e) => onChange(typedDefault(field, e.target.value))} />;
  }
}

// EndpointPanel: the published connector's URL, token (copy, rotate) and snippet.
function EndpointPanel({ app, connector }: { app: string; connector: string }) {
  const { t } = useI18n();
  const [ep, setEp] = useState<Endpoint | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [rotating, setRotating] = useState(false);
  const [rotated, setRotated] = useState(false);
  useEffect(() => {
    let live = true;
    setEp(null);
    setError(null);
    pluginsApi.endpoint(app, connector).then((e) => live && setEp(e), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [app, connector]);
  async function rotate() {
    setRotating(false);
    setError(null);
    try {
      setEp(await pluginsApi.rotateToken(app, connector));
      setRotated(true);
    } catch (e) {
      setError(e);
    }
  }
  return (
    <section className="auto-section" data-testid="conn-endpoint">
      <h3 className="panel-title">{t("conn.endpoint")}</h3>
      {error ? (error instanceof ApiError && error.status === 404
        ? <p className="muted small" data-testid="conn-endpoint-missing">{t("conn.publishFirst")}</p>
        : <ErrorBox error={error} testId="conn-endpoint-error" />) : null}
      {ep && (
        <>
          <label className="field">
            <span className="field-label">{t("conn.url")}</span>
            <Copyable value={endpointURL(ep)} testId="conn-endpoint-url" />
          </label>
          <label className="field">
            <span className="field-label">{t("conn.token")}</span>
            <Copyable value={ep.token} testId="conn-endpoint-token" mono />
            <span className="muted small">{t("conn.tokenHint")}</span>
          </label>
          <div className="row-actions">
            {!rotating ? (
              <button type="button" className="btn btn-small" data-testid="conn-rotate" onClick={() => setRotating(true)}>{t("conn.rotate")}</button>
            ) : (
              <>
                <span className="small">{t("conn.rotateConfirm")}</span>
                <button type="button" className="btn btn-small btn-danger" data-testid="conn-rotate-confirm" onClick={() => void rotate()}>{t("conn.rotate")}</button>
                <button type="button" className="btn btn-small btn-ghost" onClick={() => setRotating(false)}>{t("common.cancel")}</button>
              </>
            )}
            {rotated && <span className="muted small" role="status" data-testid="conn-rotated">{t("conn.rotated")}</span>}
          </div>
          <label className="field">
            <span className="field-label">{t("conn.snippet")}</span>
            <Copyable value={ep.snippet} testId="conn-snippet" multiline />
            <span className="muted small">{t("conn.snippetHint")}</span>
          </label>
        </>
      )}
    </section>
  );
}

function Copyable({ value, testId, multiline, mono }: { value: string; testId: string; multiline?: boolean; mono?: boolean }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState(false);
  useEffect(() => setCopied(false), [value]);
  return (
    <div className="copy-link">
      {multiline
        ? <textarea readOnly className="mono small" rows={8} value={value} data-testid={testId} onFocus={(e) => e.target.select()} />
        : <input readOnly className={mono ? "mono" : undefined} value={value} data-testid={testId} onFocus={(e) => e.target.select()} />}
      <button type="button" className="btn btn-small" data-testid={`${testId}-copy`} onClick={() => {
        void navigator.clipboard?.writeText(value).then(() => setCopied(true), () => undefined);
      }}>{copied ? t("admin.copied") : t("admin.copy")}</button>
    </div>
  );
}
