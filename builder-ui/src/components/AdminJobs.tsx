// The Admin area's Jobs tab: the durable job queue (GET /api/admin/jobs).
// The counts by state are the filter chips; the state and kind filters live
// in the URL (#/admin/jobs?state=retryable&kind=…) so a reload or a shared
// link shows the same list. Retry and Cancel are confirmed in the row and
// the server decides (its refusal is shown on the row); the list and counts
// are fetched again after either.
import { Fragment, useCallback, useEffect, useState } from "react";
import { useSearchParams } from "react-router";
import { api, JOB_STATES, type Job } from "../api";
import { useI18n, type MessageKey } from "../i18n";
import { ErrorBox, errorText, Loading } from "./common";

const PAGE = 50;
const ERROR_PREVIEW = 80;

// States a job can be retried from (run again now) and cancelled from, as
// the server allows them: a running job is not retried, a finished one is
// not cancelled.
const RETRYABLE = new Set(["scheduled", "retryable", "discarded", "cancelled"]);
const CANCELLABLE = new Set(["queued", "scheduled", "running", "retryable", "pending"]);

export function Jobs() {
  const i18n = useI18n();
  const { t } = i18n;
  const [params, setParams] = useSearchParams();
  const state = params.get("state") ?? "";
  const kind = params.get("kind") ?? "";
  const [kindText, setKindText] = useState(kind);
  const [items, setItems] = useState<Job[] | null>(null);
  const [counts, setCounts] = useState<Record<string, number>>({});
  const [next, setNext] = useState<string | undefined>();
  const [error, setError] = useState<unknown>(null);
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [confirm, setConfirm] = useState<{ id: number; action: "retry" | "cancel" } | null>(null);
  const [rowError, setRowError] = useState<{ id: number; message: string } | null>(null);

  const fetchPage = useCallback((cursor?: string) => {
    setError(null);
    api.jobs({ state: state || undefined, kind: kind || undefined, limit: PAGE, cursor }).then((r) => {
      setItems((old) => (cursor && old ? [...old, ...(r.items ?? [])] : r.items ?? []));
      setNext(r.nextCursor || undefined);
      setCounts(r.counts ?? {});
    }, setError);
  }, [state, kind]);
  useEffect(() => fetchPage(), [fetchPage]);
  useEffect(() => setKindText(kind), [kind]);

  const setFilter = (key: "state" | "kind", value: string) => {
    const p = new URLSearchParams(params);
    if (value) p.set(key, value);
    else p.delete(key);
    setParams(p);
  };
  const applyKind = () => {
    if (kindText.trim() !== kind) setFilter("kind", kindText.trim());
  };
  const toggle = (id: number) => setOpen((s) => {
    const n = new Set(s);
    if (n.has(id)) n.delete(id);
    else n.add(id);
    return n;
  });

  async function act(job: Job, action: "retry" | "cancel") {
    setConfirm(null);
    setRowError(null);
    try {
      await (action === "retry" ? api.retryJob(job.id) : api.cancelJob(job.id));
      fetchPage();
    } catch (e) {
      setRowError({ id: job.id, message: errorText(e, t) });
    }
  }

  const total = JOB_STATES.reduce((n, s) => n + (counts[s] ?? 0), 0);
  const stateLabel = (s: string) => ((JOB_STATES as readonly string[]).includes(s) ? t(`jobs.state.${s}` as MessageKey) : s);
  const when = (j: Job) => {
    if (j.nextRunAt) return t("jobs.runsAt", { time: i18n.dateTime(j.nextRunAt) });
    if (j.finalizedAt) return t("jobs.finishedAt", { time: i18n.dateTime(j.finalizedAt) });
    if (j.attemptedAt) return t("jobs.startedAt", { time: i18n.dateTime(j.attemptedAt) });
    return "—";
  };

  return (
    <div>
      <nav className="tabs job-states" aria-label={t("jobs.byState")} data-testid="job-states">
        <button type="button" className={"btn btn-small" + (state === "" ? " btn-active" : "")} aria-pressed={state === ""}
          data-testid="job-state-all" onClick={() => setFilter("state", "")}>
          {t("jobs.all")} <span className="count">{total}</span>
        </button>
        {JOB_STATES.map((s) => (
          <button key={s} type="button" className={"btn btn-small" + (state === s ? " btn-active" : "")} aria-pressed={state === s}
            data-testid={`job-state-${s}`} onClick={() => setFilter("state", s)}>
            {stateLabel(s)} <span className="count" data-testid={`job-count-${s}`}>{counts[s] ?? 0}</span>
          </button>
        ))}
      </nav>
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); applyKind(); }}>
        <label className="inline-field">
          <span className="small muted">{t("jobs.kind")}</span>
          <input value={kindText} placeholder={t("jobs.anyKind")} data-testid="job-kind" onChange={(e) => setKindText(e.target.value)} onBlur={applyKind} />
        </label>
        <button type="button" className="btn btn-small" data-testid="job-refresh" onClick={() => fetchPage()}>{t("jobs.refresh")}</button>
      </form>
      {error ? <ErrorBox error={error} testId="jobs-error" onRetry={() => fetchPage()} /> : null}
      {!items && !error && <Loading />}
      {items && items.length === 0 && <p className="muted" data-testid="jobs-empty">{t("jobs.empty")}</p>}
      {items && items.length > 0 && (
        <div className="table-wrap">
          <table className="list jobs">
            <thead>
              <tr>
                <th>ID</th><th>{t("jobs.kind")}</th><th>{t("jobs.state")}</th><th>{t("jobs.attempt")}</th>
                <th>{t("jobs.lastError")}</th><th>{t("jobs.when")}</th><th>{t("admin.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((j) => {
                const expanded = open.has(j.id);
                const err = j.lastError ?? "";
                return (
                  <Fragment key={j.id}>
                    <tr data-testid={`job-row-${j.id}`} data-state={j.state}>
                      <td data-label="ID" className="mono">{j.id}</td>
                      <td data-label={t("jobs.kind")} className="mono">{j.kind}</td>
                      <td data-label={t("jobs.state")}><span className={"tag" + (j.state === "discarded" || j.state === "retryable" ? " tag-danger" : "")}>{stateLabel(j.state)}</span></td>
                      <td data-label={t("jobs.attempt")}>{j.attempt} / {j.maxAttempts}</td>
                      <td data-label={t("jobs.lastError")} className="small job-error" title={err}>
                        {err ? (err.length > ERROR_PREVIEW ? err.slice(0, ERROR_PREVIEW) + "…" : err) : "—"}
                      </td>
                      <td data-label={t("jobs.when")} className="small">{when(j)}</td>
                      <td data-label={t("admin.actions")} className="row-actions-cell">
                        <button type="button" className="btn btn-small btn-ghost" aria-expanded={expanded} data-testid="job-expand" onClick={() => toggle(j.id)}>
                          {expanded ? t("jobs.less") : t("jobs.more")}
                        </button>
                        {confirm?.id === j.id ? (
                          <span className="delete-confirm" role="group" aria-label={t(`jobs.${confirm.action}Confirm` as MessageKey)}>
                            <span className="small">{t(`jobs.${confirm.action}Confirm` as MessageKey)}</span>
                            <button type="button" className={"btn btn-small" + (confirm.action === "cancel" ? " btn-danger" : " btn-primary")}
                              data-testid="job-confirm" onClick={() => void act(j, confirm.action)}>{t(`jobs.${confirm.action}` as MessageKey)}</button>
                            <button type="button" className="btn btn-small btn-ghost" data-testid="job-confirm-no" onClick={() => setConfirm(null)}>{t("common.cancel")}</button>
                          </span>
                        ) : (
                          <>
                            {RETRYABLE.has(j.state) && (
                              <button type="button" className="btn btn-small" data-testid="job-retry" onClick={() => setConfirm({ id: j.id, action: "retry" })}>{t("jobs.retry")}</button>
                            )}
                            {CANCELLABLE.has(j.state) && (
                              <button type="button" className="btn btn-small danger-text" data-testid="job-cancel" onClick={() => setConfirm({ id: j.id, action: "cancel" })}>{t("jobs.cancel")}</button>
                            )}
                          </>
                        )}
                        {rowError?.id === j.id && <span className="field-error" role="alert" data-testid="job-error">{rowError.message}</span>}
                      </td>
                    </tr>
                    {expanded && (
                      <tr className="job-detail" data-testid={`job-detail-${j.id}`}>
                        <td colSpan={7}>
                          <div className="small muted">{t("jobs.created", { time: i18n.dateTime(j.createdAt) })}{j.queue ? ` · ${t("jobs.queue")}: ${j.queue}` : ""}</div>
                          {j.errors.length > 0 ? (
                            <ol className="job-errors" data-testid="job-errors">
                              {j.errors.map((e, k) => (
                                <li key={k}>
                                  <span className="small muted">{t("jobs.attemptAt", { n: e.attempt, time: i18n.dateTime(e.at) })}</span>
                                  <pre className="mono small">{e.error}</pre>
                                </li>
                              ))}
                            </ol>
                          ) : <p className="small muted">{t("jobs.noErrors")}</p>}
                          <div className="small muted">{t("jobs.args")}</div>
                          <pre className="mono small" data-testid="job-args">{JSON.stringify(j.args, null, 2)}</pre>
                        </td>
                      </tr>
                    )}
                  </Fragment>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {next && <button type="button" className="btn" data-testid="jobs-more" onClick={() => fetchPage(next)}>{t("history.more")}</button>}
    </div>
  );
}
