// The migration plan of a dry run, with Cancel and Apply. Destructive steps
// are red; Apply waits for the "allow destructive" tick when there are any,
// and stays off while something is refused for another reason.
import { useState } from "react";
import type { ErrorDetail, MigrationPlan } from "../api";
import { useI18n } from "../i18n";
import { Dialog } from "./Dialog";

// gatedRefusals: the refusals that only say "this loses data" (lifted by allowDestructive).
export function isGated(r: ErrorDetail, plan: MigrationPlan): boolean {
  return (plan.steps ?? []).some((s) => s.destructive && !!s.path && s.path === r.path) || /allowDestructive/.test(r.message);
}

export function PlanDialog({ plan, busy, onCancel, onApply }: {
  plan: MigrationPlan; busy?: boolean; onCancel: () => void; onApply: (allowDestructive: boolean) => void;
}) {
  const { t } = useI18n();
  const [allow, setAllow] = useState(false);
  const steps = plan.steps ?? [];
  const refused = plan.refused ?? [];
  const blocking = refused.filter((r) => !isGated(r, plan));
  const gated = refused.filter((r) => isGated(r, plan));
  const destructive = plan.destructive || steps.some((s) => s.destructive);
  const canApply = !busy && blocking.length === 0 && (!destructive || allow);

  return (
    <Dialog title={t("plan.title", { from: plan.fromVersion, to: plan.toVersion })} testId="plan-dialog" onClose={onCancel} wide
      footer={
        <>
          <button type="button" className="btn" data-testid="plan-cancel" onClick={onCancel}>{t("plan.cancel")}</button>
          <button type="button" className={"btn " + (destructive ? "btn-danger" : "btn-primary")} data-testid="plan-apply"
            disabled={!canApply} onClick={() => onApply(destructive && allow)}>
            {busy ? t("plan.applying") : t("plan.apply")}
          </button>
        </>
      }>
      {steps.length === 0 ? (
        <p className="muted" data-testid="plan-empty">{t("plan.empty")}</p>
      ) : (
        <ol className="plan-steps">
          {steps.map((s, i) => (
            <li key={i} data-testid="plan-step" data-op={s.op} className={s.destructive ? "destructive" : undefined}>
              <code className="plan-op">{s.op}</code> {s.description}
              {s.destructive && <strong className="tag tag-danger">{t("plan.destructiveTag")}</strong>}
            </li>
          ))}
        </ol>
      )}
      {(plan.warnings ?? []).length > 0 && (
        <div className="alert alert-warn">
          <ul className="alert-details">{plan.warnings!.map((w, i) => <li key={i} data-testid="plan-warning">{w}</li>)}</ul>
        </div>
      )}
      {blocking.length > 0 && (
        <div className="alert alert-error" role="alert">
          <div>{t("plan.refused")}</div>
          <ul className="alert-details">
            {blocking.map((r, i) => <li key={i} data-testid="plan-refused">{r.path ? <code>{r.path}</code> : null} {r.message}</li>)}
          </ul>
        </div>
      )}
      {destructive && (
        <div className="alert alert-error">
          <div>{t("plan.destructive")}</div>
          {gated.length > 0 && (
            <ul className="alert-details">
              {gated.map((r, i) => <li key={i} data-testid="plan-refused" className="gated">{r.path ? <code>{r.path}</code> : null} {r.message}</li>)}
            </ul>
          )}
          <label className="check">
            <input type="checkbox" checked={allow} data-testid="plan-allow-destructive" onChange={(e) => setAllow(e.target.checked)} />
            {t("plan.allowDestructive")}
          </label>
        </div>
      )}
    </Dialog>
  );
}
