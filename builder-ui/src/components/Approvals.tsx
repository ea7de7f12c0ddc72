// The approvals inbox (#/approvals): requests waiting on me, those I
// decided, and mine; each with its record (a link), the transition from →
// to, who asked, a hand-over's fields and the steps' progress. Decisions:
// approve, reject (a comment is required), delegate to a colleague, and
// withdraw my own. Two approvers deciding at once: the loser gets 409, is
// told and sees the list reloaded. Laid out for a phone too (no sideways
// scrolling, 44 px buttons).
import { useCallback, useEffect, useState } from "react";
import { ApiError } from "../api";
import { flowsApi, type ApprovalView, type Decision, type InboxStatus } from "../flowsApi";
import { useI18n, type MessageKey } from "../i18n";
import { labelIn } from "../labels";
import { href, navigate } from "../router";
import { ErrorBox, Loading } from "./common";
import { UserPicker } from "./RefPicker";

const TABS: InboxStatus[] = ["pending", "decided", "mine"];

export function Approvals({ tab }: { tab?: string }) {
  const { t } = useI18n();
  const status: InboxStatus = (TABS as string[]).includes(tab ?? "") ? (tab as InboxStatus) : "pending";
  const [items, setItems] = useState<ApprovalView[] | null>(null);
  const [cursor, setCursor] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [unavailable, setUnavailable] = useState(false);
  const [notice, setNotice] = useState<{ kind: "ok" | "warn"; text: string } | null>(null);

  const load = useCallback(async (more = "") => {
    setError(null);
    try {
      const r = await flowsApi.inbox(status, { limit: 50, cursor: more || undefined });
      setItems((prev) => (more ? [...(prev ?? []), ...(r.items ?? [])] : r.items ?? []));
      setCursor(r.nextCursor ?? "");
      setUnavailable(false);
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setUnavailable(true);
        setItems([]);
      } else setError(e);
    }
  }, [status]);

  useEffect(() => {
    setItems(null);
    setNotice(null);
    void load();
  }, [load]);

  return (
    <section className="page approvals" data-testid="approvals">
      <div className="page-head">
        <h1>{t("inbox.title")}</h1>
      </div>
      <div className="tabs approvals-tabs" role="tablist">
        {TABS.map((k) => (
          <button key={k} type="button" role="tab" aria-selected={status === k} data-testid={`inbox-tab-${k}`}
            className={"btn" + (status === k ? " btn-active" : "")} onClick={() => navigate({ name: "approvals", tab: k })}>
            {t(`inbox.tab.${k}` as MessageKey)}
          </button>
        ))}
      </div>
      {notice && <div className={"alert " + (notice.kind === "ok" ? "alert-ok" : "alert-warn")} role="status" data-testid="inbox-notice">{notice.text}</div>}
      {error ? <ErrorBox error={error} onRetry={() => void load()} /> : items === null ? <Loading /> : items.length === 0 ? (
        <p className="muted" data-testid="inbox-empty">{unavailable ? t("inbox.unavailable") : t(`inbox.empty.${status}` as MessageKey)}</p>
      ) : (
        <ul className="approval-list">
          {items.map((a) => (
            <ApprovalItem key={a.id} a={a} mine={status === "mine"}
              onDone={(v, action) => {
                setNotice({ kind: "ok", text: t(`inbox.done.${action}` as MessageKey) });
                // Decided: it leaves the pending list; elsewhere it is shown as it now is.
                setItems((list) => (list ?? []).flatMap((x) => (x.id !== a.id ? [x] : status === "pending" && !v.canDecide ? [] : [v])));
              }}
              onConflict={() => {
                setNotice({ kind: "warn", text: t("inbox.conflict") });
                void load();
              }} />
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" className="btn btn-block" data-testid="inbox-more" onClick={() => void load(cursor)}>{t("inbox.more")}</button>
      )}
    </section>
  );
}

function fieldValue(v: unknown): string {
  if (v === null || v === undefined) return "—";
  return typeof v === "string" ? v : JSON.stringify(v);
}

function ApprovalItem({ a, mine, onDone, onConflict }: {
  a: ApprovalView; mine: boolean; onDone: (v: ApprovalView, action: Decision) => void; onConflict: () => void;
}) {
  const { t, dateTime, lang } = useI18n();
  const [action, setAction] = useState<Decision | null>(null);
  const [comment, setComment] = useState("");
  const [to, setTo] = useState("");
  const [problem, setProblem] = useState("");
  const [busy, setBusy] = useState(false);
  const steps = a.steps ?? [];
  const step = steps[a.step];
  const approvedInStep = (step?.approvers ?? []).filter((x) => x.decision === "approved").length;
  const need = step ? (step.mode === "all" ? (step.approvers ?? []).length : step.mode === "quorum" ? step.quorum ?? 1 : 1) : 0;

  async function decide() {
    if (!action) return;
    if (action === "reject" && !comment.trim()) return setProblem(t("inbox.rejectNeedsComment"));
    if (action === "delegate" && !to) return setProblem(t("inbox.delegateNeedsUser"));
    setBusy(true);
    setProblem("");
    try {
      const v = await flowsApi.decide(a.id, action, { comment: comment.trim(), ...(action === "delegate" ? { to } : {}), version: a.version });
      setAction(null);
      setComment("");
      onDone(v, action);
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) onConflict();
      else if (e instanceof ApiError && e.details.length) setProblem(e.details.map((d) => d.message).join(" "));
      else setProblem(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  }

  return (
    <li className="card approval-item" data-testid={`approval-${a.id}`} data-status={a.status}>
      <div className="approval-head">
        <a className="approval-title" href={href({ name: "record", app: a.app, entity: a.entity, id: a.recordId })} data-testid={`approval-record-${a.id}`}>
          {a.title || a.recordId}
        </a>
        {a.kind === "handover" && <span className="tag">{t("inbox.handover")}</span>}
        <span className={"tag approval-status " + a.status} data-testid={`approval-status-${a.id}`}>{t(`inbox.status.${a.status}` as MessageKey)}</span>
      </div>
      <div className="approval-move">
        <strong data-testid={`approval-transition-${a.id}`}>{labelIn({ name: a.transition, label: a.transitionLabel, labels: a.transitionLabels }, lang)}</strong>{" "}
        <span className="muted" data-testid={`approval-states-${a.id}`}>
          {labelIn({ name: a.from, label: a.fromLabel, labels: a.fromLabels }, lang)} → {labelIn({ name: a.to, label: a.toLabel, labels: a.toLabels }, lang)}
        </span>
      </div>
      <div className="muted small">
        {t("inbox.requestedBy", { who: a.requesterName || a.requester, when: a.createdAt ? dateTime(a.createdAt) : "" })}
      </div>
      {a.comment && <blockquote className="approval-comment">{a.comment}</blockquote>}
      {a.kind === "handover" && a.fields && Object.keys(a.fields).length > 0 && (
        <dl className="approval-fields" data-testid={`approval-fields-${a.id}`}>
          {Object.entries(a.fields).map(([k, v]) => (
            <div key={k}><dt>{k}</dt><dd>{fieldValue(v)}</dd></div>
          ))}
        </dl>
      )}
      {steps.length > 0 && (
        <ol className="approval-steps" data-testid={`approval-steps-${a.id}`}>
          {steps.map((s, i) => (
            <li key={i} className={"approval-step" + (i === a.step && a.status === "pending" ? " current" : "") + (s.status ? " " + s.status : "")}>
              <span>{a.kind === "handover" && s.name === "receiver" ? t("inbox.receiver") : labelIn(s, lang)}</span>
              {i === a.step && a.status === "pending" && <span className="muted small"> · {t("inbox.progress", { n: approvedInStep, of: need })}</span>}
              {s.status && s.status !== "pending" && <span className="muted small"> · {t(`inbox.stepStatus.${s.status}` as MessageKey, {})}</span>}
            </li>
          ))}
        </ol>
      )}
      {(a.canDecide || (mine && a.status === "pending")) && !action && (
        <div className="approval-actions">
          {a.canDecide && (
            <>
              <button type="button" className="btn btn-primary" data-testid={`approve-${a.id}`} onClick={() => setAction("approve")}>
                {t(a.kind === "handover" ? "inbox.accept" : "inbox.approve")}
              </button>
              <button type="button" className="btn btn-danger" data-testid={`reject-${a.id}`} onClick={() => setAction("reject")}>
                {t(a.kind === "handover" ? "inbox.refuse" : "inbox.reject")}
              </button>
              <button type="button" className="btn" data-testid={`delegate-${a.id}`} onClick={() => setAction("delegate")}>{t("inbox.delegate")}</button>
            </>
          )}
          {mine && a.status === "pending" && (
            <button type="button" className="btn" data-testid={`withdraw-${a.id}`} onClick={() => setAction("withdraw")}>{t("inbox.withdraw")}</button>
          )}
        </div>
      )}
      {action && (
        <div className="approval-decide" data-testid={`decide-${a.id}`}>
          {action === "delegate" && (
            <label className="field">
              <span className="field-label">{t("inbox.delegateTo")}</span>
              <UserPicker value={to} onChange={setTo} testId={`delegate-to-${a.id}`} />
            </label>
          )}
          <label className="field">
            <span className="field-label">
              {t("inbox.comment")}
              {action === "reject" && <span className="req" title={t("form.required")}> *</span>}
            </span>
            <textarea rows={2} value={comment} data-testid={`decide-comment-${a.id}`} aria-invalid={!!problem || undefined}
              onChange={(e) => { setComment(e.target.value); setProblem(""); }} />
          </label>
          {problem && <div className="field-error" role="alert" data-testid={`decide-problem-${a.id}`}>{problem}</div>}
          <div className="approval-actions">
            <button type="button" className={"btn " + (action === "reject" ? "btn-danger" : "btn-primary")} disabled={busy} data-testid={`decide-confirm-${a.id}`}
              onClick={() => void decide()}>
              {t(`inbox.confirm.${action}` as MessageKey)}
            </button>
            <button type="button" className="btn" onClick={() => { setAction(null); setProblem(""); }}>{t("common.cancel")}</button>
          </div>
        </div>
      )}
    </li>
  );
}
