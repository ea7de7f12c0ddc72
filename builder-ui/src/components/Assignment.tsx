// Lead distribution at run time: the first-contact countdown (a badge on
// the record and a column on lists, from the rule's countdown metadata:
// time left = start + within − now, ticking each minute, red when past,
// "contacted" once the until field is set), the record's Assignment panel
// (the latest decisions: winner, strategy, reason, candidates) with the
// Reassign dialog (to a user or by a rule, a reason required), the claim
// pool page (GET …?pool=NAME, a Claim button per row), and the user's
// Away toggle (PUT /api/me/availability).
import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { createColumnHelper, getCoreRowModel, useReactTable } from "@tanstack/react-table";
import { api, ApiError, currentUser, type AppDocument, type AssignmentRule, type DataRecord, type Decision, type Entity, type MyPool, type User } from "../api";
import { countdownOf, countdownRule, hm } from "../designer/assignments";
import { listViewOf } from "../designer/layouts";
import { useI18n, type MessageKey } from "../i18n";
import { labelIn } from "../labels";
import { href } from "../router";
import { ErrorBox, errorText, Loading } from "./common";
import { Dialog } from "./Dialog";
import { cellText, listColumns } from "./ListView";
import { UserPicker } from "./RefPicker";

export const TICK_MS = 60_000;

// useNow is the time, renewed each minute (the countdowns tick with it); every 0: not renewed.
export function useNow(every = TICK_MS): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (every <= 0) return;
    setNow(Date.now());
    const id = setInterval(() => setNow(Date.now()), every);
    return () => clearInterval(id);
  }, [every]);
  return now;
}

export function CountdownBadge({ rule, record, now, testId = "countdown" }: {
  rule: AssignmentRule; record: DataRecord; now: number; testId?: string;
}) {
  const { t } = useI18n();
  if (!rule.countdown) return null;
  const s = countdownOf(rule.countdown, record, now);
  if (s.kind === "none") return null;
  const [cls, text] = s.kind === "done" ? ["tag-ok", t("asg.cd.done")]
    : s.kind === "left" ? ["cd-left", t("asg.cd.left", { time: hm(s.ms) })]
      : ["cd-late", t("asg.cd.late", { time: hm(s.ms) })];
  return <span className={"tag countdown " + cls} data-testid={testId} data-state={s.kind} title={t("asg.countdown")}>{text}</span>;
}

// canReassign: admins, holders of a role the rules name as reassigners (or a manager role), and
// whoever the log shows candidates to — the server shows them only to those who may reassign
// the record (a member's document does not carry the rules' reassigners); the server decides (403).
function canReassign(me: User | null, rules: AssignmentRule[], decisions: Decision[] | null): boolean {
  if (!me) return false;
  if (me.admin) return true;
  const roles = me.roles ?? [];
  return roles.includes("manager") || rules.some((r) => (r.reassigners ?? []).some((x) => roles.includes(x))) ||
    (decisions ?? []).some((d) => d.candidates !== undefined);
}

// AssignmentBar: on a record of an entity that assignment rules distribute.
export function AssignmentBar({ app, entity, id, record, onChanged }: {
  app: AppDocument; entity: Entity; id: string; record: DataRecord; onChanged: () => void;
}) {
  const { t } = useI18n();
  const rules = useMemo(() => (app.assignments ?? []).filter((r) => r.entity === entity.name), [app, entity.name]);
  const cd = countdownRule(rules, entity.name);
  const now = useNow();
  const [decisions, setDecisions] = useState<Decision[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState(false);
  const [done, setDone] = useState<string | null>(null);
  const load = useCallback(() => {
    let live = true;
    api.assignments(app.name, entity.name, id).then((r) => live && setDecisions(r.items ?? []), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [app.name, entity.name, id]);
  useEffect(() => (rules.length ? load() : undefined), [load, rules.length, record.version]);
  if (rules.length === 0) return null;
  const latest = decisions?.slice(0, 5) ?? [];
  return (
    <section className="card asg-panel" data-testid="asg-panel" aria-label={t("asg.panelTitle")}>
      <div className="asg-panel-head">
        <h2 className="panel-title">{t("asg.panelTitle")}</h2>
        {cd && <CountdownBadge rule={cd} record={record} now={now} />}
        {canReassign(currentUser(), rules, decisions) && (
          <button type="button" className="btn btn-small" data-testid="asg-reassign" onClick={() => { setOpen(true); setDone(null); }}>{t("asg.reassign")}</button>
        )}
      </div>
      {done && <div className="alert alert-ok" role="status" data-testid="asg-reassigned">{done}</div>}
      {error ? <ErrorBox error={error} /> : null}
      {decisions && latest.length === 0 && <p className="muted small" data-testid="asg-no-decisions">{t("asg.noDecisions")}</p>}
      <ol className="asg-decisions">
        {latest.map((d, i) => (
          <li key={d.id ?? i} data-testid="asg-decision">
            <div>
              <strong>{d.winner ? t("asg.goesTo", { name: d.winnerName || d.winner }) : d.pool ? t("asg.toPool", { pool: d.pool }) : t("asg.nobody")}</strong>
              {" · "}<span className="muted small">{t(`asg.strategy.${d.strategy}` as MessageKey)}{d.variant ? " · " + t("asg.variantOf", { name: d.variant }) : ""}</span>
              {d.at && <span className="muted small"> · {new Date(d.at).toLocaleString()}</span>}
            </div>
            <div className="small" data-testid="asg-decision-reason">{d.reason}{d.note ? " — " + d.note : ""}</div>
            {i === 0 && d.candidates?.length ? (
              <details>
                <summary className="small">{t("asg.showCandidates")}</summary>
                <DecisionTable d={d} testId="asg-decision-candidates" />
              </details>
            ) : null}
          </li>
        ))}
      </ol>
      {open && (
        <ReassignDialog app={app} entity={entity} id={id} record={record} rules={rules} onClose={() => setOpen(false)}
          onDone={(d) => { setOpen(false); setDone(d.winner ? t("asg.goesTo", { name: d.winnerName || d.winner }) : d.reason); load(); onChanged(); }} />
      )}
    </section>
  );
}

function ReassignDialog({ app, entity, id, record, rules, onClose, onDone }: {
  app: AppDocument; entity: Entity; id: string; record: DataRecord; rules: AssignmentRule[]; onClose: () => void; onDone: (d: Decision) => void;
}) {
  const { t } = useI18n();
  const [mode, setMode] = useState<"user" | "rule">("user");
  const [to, setTo] = useState("");
  const [rule, setRule] = useState(rules[0]?.name ?? "");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const ready = reason.trim() !== "" && (mode === "rule" ? !!rule : !!to);
  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!ready) return;
    setBusy(true);
    setProblem(null);
    setError(null);
    try {
      const r = await api.assign(app.name, entity.name, id, {
        ...(mode === "user" ? { to } : { rule }), reason: reason.trim(), version: typeof record.version === "number" ? record.version : undefined,
      });
      onDone(r.assignment);
    } catch (err) {
      if (err instanceof ApiError && err.status === 403) setProblem(t("asg.reassignForbidden"));
      else if (err instanceof ApiError && err.status === 409) setProblem(t("asg.reassignStale"));
      else if (err instanceof ApiError && err.status === 422) setProblem(err.details[0]?.message || err.message || errorText(err, t));
      else setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Dialog title={t("asg.reassignTitle")} testId="asg-reassign-dialog" onClose={onClose}>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <div className="auto-choices" role="radiogroup" aria-label={t("asg.reassignTo")}>
          <label className={"auto-choice" + (mode === "user" ? " active" : "")}>
            <input type="radio" name="asg-mode" checked={mode === "user"} data-testid="asg-reassign-mode-user" onChange={() => setMode("user")} />
            <span>{t("asg.reassignToUser")}</span>
          </label>
          <label className={"auto-choice" + (mode === "rule" ? " active" : "")}>
            <input type="radio" name="asg-mode" checked={mode === "rule"} data-testid="asg-reassign-mode-rule" onChange={() => setMode("rule")} />
            <span>{t("asg.reassignByRule")}</span>
          </label>
        </div>
        {mode === "user" ? (
          <div className="field">
            <span className="field-label">{t("asg.reassignUser")}</span>
            <UserPicker value={to} onChange={setTo} testId="asg-reassign-user" />
          </div>
        ) : (
          <label className="field">
            <span className="field-label">{t("asg.reassignRule")}</span>
            <select value={rule} data-testid="asg-reassign-rule" onChange={(e) => setRule(e.target.value)}>
              {rules.map((r) => <option key={r.name} value={r.name}>{r.label || r.name}</option>)}
            </select>
          </label>
        )}
        <label className="field">
          <span className="field-label">{t("asg.reason")} *</span>
          <textarea value={reason} maxLength={1000} rows={3} required data-testid="asg-reassign-reason" onChange={(e) => setReason(e.target.value)} />
          <span className="muted small">{t("asg.reasonHint")}</span>
        </label>
        {problem && <div className="field-error" role="alert" data-testid="asg-reassign-problem">{problem}</div>}
        {error ? <ErrorBox error={error} /> : null}
        <div className="dialog-footer">
          <button type="button" className="btn" onClick={onClose}>{t("common.cancel")}</button>
          <button type="submit" className="btn btn-primary" disabled={!ready || busy} data-testid="asg-reassign-submit">{t("asg.reassign")}</button>
        </div>
      </form>
    </Dialog>
  );
}

// useMyPools: the pools the signed-in user may claim from (none on any error).
export function useMyPools(app?: string): MyPool[] {
  const [pools, setPools] = useState<MyPool[]>([]);
  useEffect(() => {
    let live = true;
    api.myPools().then((r) => live && setPools((r.items ?? []).filter((p) => !app || p.app === app)), () => live && setPools([]));
    return () => {
      live = false;
    };
  }, [app]);
  return pools;
}

// PoolPage: the unclaimed records of one pool, a Claim button per row.
export function PoolPage({ app, entity, pool }: { app: AppDocument; entity: Entity; pool: string }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [items, setItems] = useState<DataRecord[] | null>(null);
  const [info, setInfo] = useState<MyPool | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [msg, setMsg] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  const rule = countdownRule(app.assignments, entity.name);
  const now = useNow();
  useEffect(() => {
    let live = true;
    setError(null);
    api.list(app.name, entity.name, { pool, limit: 100 }).then((r) => live && setItems(r.items ?? []), (e) => live && setError(e));
    api.myPools().then((r) => live && setInfo((r.items ?? []).find((p) => p.app === app.name && p.entity === entity.name && p.pool === pool) ?? null), () => undefined);
    return () => {
      live = false;
    };
  }, [app.name, entity.name, pool, attempt]);

  const columns = useMemo(() => listColumns(entity, t, listViewOf(app, entity.name)?.columns, lang), [app, entity, t, lang]);
  const colDefs = useMemo(() => {
    const h = createColumnHelper<DataRecord>();
    return columns.map((c) => h.accessor((r) => r[c.name], { id: c.name, header: c.label, meta: c }));
  }, [columns]);
  const table = useReactTable({ data: items ?? [], columns: colDefs, getCoreRowModel: getCoreRowModel(), getRowId: (r) => r.id });

  async function claim(id: string) {
    setBusy(id);
    setMsg(null);
    try {
      await api.claim(app.name, entity.name, id);
      setMsg({ ok: true, text: t("pool.claimed") });
    } catch (e) {
      const text = e instanceof ApiError && e.status === 409 ? t("pool.taken")
        : e instanceof ApiError && e.status === 429 ? t("pool.limit")
          : e instanceof ApiError && e.status === 404 ? t("pool.gone") : errorText(e, t);
      setMsg({ ok: false, text });
    } finally {
      setBusy(null);
      setAttempt((n) => n + 1);
    }
  }

  const title = labelIn({ name: pool, label: info?.label, labels: info?.labels }, lang);
  return (
    <section className="page" data-testid="pool-page">
      <div className="page-head">
        <h1>{t("pool.title", { pool: title })}</h1>
        {info && (
          <span className="muted small" data-testid="pool-quota">
            {info.dailyLimit > 0 ? t("pool.quota", { n: info.claimedToday, limit: info.dailyLimit }) : t("pool.quotaNone", { n: info.claimedToday })}
          </span>
        )}
      </div>
      {msg && <div className={"alert " + (msg.ok ? "alert-ok" : "alert-warn")} role={msg.ok ? "status" : "alert"} data-testid="pool-message">{msg.text}</div>}
      {error ? <ErrorBox error={error} onRetry={() => setAttempt((n) => n + 1)} /> : null}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p className="muted" data-testid="pool-empty">{t("pool.empty")}</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h) => <th key={h.id}>{String(h.column.columnDef.header)}</th>)}
                  {rule && <th>{t("asg.countdownCol")}</th>}
                  <th />
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((row) => (
                <tr key={row.id} data-testid="pool-row" data-id={row.id}>
                  {row.getVisibleCells().map((x) => {
                    const c = x.column.columnDef.meta as ReturnType<typeof listColumns>[number];
                    return <td key={x.id} data-label={c.label}>{cellText(app, c, row.original, i18n)}</td>;
                  })}
                  {rule && <td><CountdownBadge rule={rule} record={row.original} now={now} testId="pool-countdown" /></td>}
                  <td className="row-actions-cell">
                    <button type="button" className="btn btn-small btn-primary" data-testid="pool-claim" disabled={busy !== null}
                      onClick={() => void claim(row.id)}>{busy === row.id ? t("pool.claiming") : t("pool.claim")}</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

// PoolLinks: the sidebar's pools of this app, with how many records wait.
export function PoolLinks({ app, current }: { app: string; current?: string }) {
  const { t, lang } = useI18n();
  const pools = useMyPools(app);
  if (pools.length === 0) return null;
  return (
    <>
      <div className="sidebar-title">{t("pool.nav")}</div>
      <ul>
        {pools.map((p) => (
          <li key={p.entity + "/" + p.pool}>
            <a href={href({ name: "pool", app: p.app, entity: p.entity, pool: p.pool })} data-testid={`pool-link-${p.pool}`}
              className={current === p.pool ? "active" : undefined} aria-current={current === p.pool ? "page" : undefined}>
              {labelIn({ name: p.pool, label: p.label, labels: p.labels }, lang)} <span className="badge" data-testid={`pool-count-${p.pool}`}>{p.count}</span>
            </a>
          </li>
        ))}
      </ul>
    </>
  );
}

// DecisionTable: the candidates of a decision, the winner highlighted.
export function DecisionTable({ d, testId = "asg-candidates-table" }: { d: Decision; testId?: string }) {
  const { t } = useI18n();
  const cands = d.candidates ?? [];
  const stats = [...new Set(cands.flatMap((c) => Object.keys(c.stats ?? {})))];
  const num = (v: number | null | undefined) => (v === null || v === undefined ? "—" : Number.isInteger(v) ? String(v) : v.toFixed(2));
  if (cands.length === 0) return null;
  return (
    <div className="table-wrap">
      <table className="table" data-testid={testId}>
        <thead>
          <tr>
            <th>{t("asg.candidate")}</th><th>{t("asg.eligible")}</th>
            {stats.map((s) => <th key={s} className="mono">{s}</th>)}
            <th>{t("asg.scoreCol")}</th><th>{t("asg.load")}</th>
          </tr>
        </thead>
        <tbody>
          {cands.map((c) => {
            const win = c.user === d.winner;
            return (
              <tr key={c.user} className={win ? "asg-winner" : undefined} data-testid={win ? "asg-winner-row" : "asg-candidate-row"} aria-current={win || undefined}>
                <td>{c.name || c.user}{win && <span className="tag tag-ok">{t("asg.winner")}</span>}</td>
                <td>{c.eligible ? t("common.yes") : <span className="muted">{t("common.no")}{c.why ? " · " + c.why : ""}</span>}</td>
                {stats.map((s) => <td key={s}>{num(c.stats?.[s])}</td>)}
                <td>{num(c.score)}</td>
                <td>{c.load}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
