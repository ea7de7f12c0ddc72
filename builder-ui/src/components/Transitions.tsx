// A record's flow on its form: the stage bar, a pending approval's banner,
// and the transitions the user may take as buttons, each with what it
// still lacks (disabled until nothing does). Taking one opens a dialog
// with the transition's fields and comment; the server may move the record
// (200: the form reloads), send it for approval (202) or refuse it with
// every lack (422, shown at the field or comment concerned). A server or
// entity without a flow (404) shows nothing.
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { ApiError, type AppDocument, type Entity, type Field } from "../api";
import { shown } from "../designer/flows";
import { fromInput, toInput, type InputValue } from "../fields";
import { flowsApi, type Available, type Lack, type TransitionOption } from "../flowsApi";
import { useI18n } from "../i18n";
import { useNames } from "../names";
import { href } from "../router";
import { ErrorBox } from "./common";
import { Dialog } from "./Dialog";
import { FormFields } from "./RecordForm";
import { StageBar } from "./StageBar";

// hasFlow says whether the app document names a flow for entity (a
// document without a "flows" section: ask the server anyway).
export function hasFlow(app: AppDocument, entity: string): boolean {
  const flows = (app as unknown as { flows?: { entity?: string }[] }).flows;
  return !Array.isArray(flows) || flows.some((f) => f?.entity === entity);
}

// flowField is the state field a flow governs (written only by transitions).
export function flowField(app: AppDocument, entity: string): string | undefined {
  const flows = (app as unknown as { flows?: { entity?: string; field?: string }[] }).flows;
  return Array.isArray(flows) ? flows.find((f) => f?.entity === entity)?.field : undefined;
}

export function FlowBar({ app, entity, id, version, onMoved, onGoverned }: {
  app: AppDocument; entity: Entity; id: string; version: number; onMoved: () => void;
  // The state field the server says the flow governs (members' documents carry no flows).
  onGoverned?: (field: string) => void;
}) {
  const { t, lang } = useI18n();
  const [avail, setAvail] = useState<Available | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [taking, setTaking] = useState<TransitionOption | null>(null);
  const [sent, setSent] = useState(false);
  const enabled = hasFlow(app, entity.name);

  const load = useCallback(() => {
    if (!enabled) return () => undefined;
    let live = true;
    flowsApi.transitions(app.name, entity.name, id).then(
      (a) => {
        if (!live) return;
        setAvail(a);
        setError(null);
        if (a?.field) onGoverned?.(a.field);
      },
      (e) => {
        if (!live) return;
        // No flow for this entity, or a server without flows.
        if (e instanceof ApiError && (e.status === 404 || e.status === 405)) setAvail(null);
        else setError(e);
      },
    );
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [enabled, app.name, entity.name, id]);
  // The record's version changes after every move: ask again.
  useEffect(() => load(), [load, version]);

  if (error) return <ErrorBox error={error} testId="flow-error" onRetry={() => { setError(null); load(); }} />;
  if (!avail || !avail.states?.length) return null;
  const items = avail.items ?? [];
  const pending = avail.pending;
  const trLabel = (name: string) => {
    const o = items.find((x) => x.name === name);
    return o ? shown(o, lang) : name;
  };

  return (
    <section className="flow-bar" data-testid="flow-bar" aria-label={t("run.flow")}>
      <StageBar states={avail.states} current={avail.state} />
      {sent && !pending && <div className="alert alert-ok" role="status" data-testid="flow-sent">{t("run.sentForApproval")}</div>}
      {pending && <PendingBanner pending={pending} label={trLabel(pending.transition)} />}
      {items.length > 0 && (
        <div className="flow-buttons" data-testid="flow-transitions">
          {items.map((o) => {
            const lacks = o.lacks ?? [];
            const disabled = !o.allowed || !!pending;
            return (
              <div key={o.name} className="flow-transition">
                <button type="button" className={"btn" + (o.allowed && !pending ? " btn-primary" : "")} disabled={disabled}
                  data-testid={`flow-take-${o.name}`} aria-describedby={lacks.length ? `lacks-${o.name}` : undefined}
                  onClick={() => { setSent(false); setTaking(o); }}>
                  {shown(o, lang)}
                  {o.approval && <span className="tag flow-tag">{t("run.needsApproval")}</span>}
                  {o.handover && <span className="tag flow-tag">{t("run.handover")}</span>}
                </button>
                {lacks.length > 0 && (
                  <ul className="flow-lacks small" id={`lacks-${o.name}`} data-testid={`flow-lacks-${o.name}`}>
                    {lacks.map((l, i) => <li key={i}>{l.message}</li>)}
                  </ul>
                )}
              </div>
            );
          })}
        </div>
      )}
      {taking && (
        <TakeDialog app={app} entity={entity} id={id} version={version} option={taking} onClose={() => setTaking(null)}
          onTaken={(approval) => {
            setTaking(null);
            if (approval) {
              setSent(true);
              load();
            } else onMoved();
          }} onStale={() => { setTaking(null); onMoved(); }} />
      )}
    </section>
  );
}

function PendingBanner({ pending, label }: { pending: NonNullable<Available["pending"]>; label: string }) {
  const { t } = useI18n();
  const names = useNames(undefined, pending.requester ? [{ kind: "user", id: pending.requester }] : []);
  const who = pending.requesterName || (pending.requester ? names({ kind: "user", id: pending.requester }) : "");
  return (
    <div className="alert alert-warn" role="status" data-testid="flow-pending">
      <strong>{t(pending.kind === "handover" ? "run.pendingHandover" : "run.pendingApproval")}</strong>{" "}
      {t("run.pendingText", { transition: label, who, step: pending.step + 1 })}{" "}
      <a href={href({ name: "approvals" })} data-testid="flow-pending-inbox">{t("run.openInbox")}</a>
    </div>
  );
}

// lacksByPlace splits a 422's lacks: /fields/<f> and /comment go to their input, the rest to the top.
export function lacksByPlace(lacks: Lack[]): { fields: Record<string, string[]>; comment: string[]; general: string[] } {
  const out = { fields: {} as Record<string, string[]>, comment: [] as string[], general: [] as string[] };
  for (const l of lacks) {
    const m = /^\/fields\/([^/]+)/.exec(l.path ?? "");
    if (m) (out.fields[m[1]] ??= []).push(l.message);
    else if (l.path === "/comment") out.comment.push(l.message);
    else out.general.push(l.message);
  }
  return out;
}

const TAKE = "take-";

function TakeDialog({ app, entity, id, version, option, onClose, onTaken, onStale }: {
  app: AppDocument; entity: Entity; id: string; version: number; option: TransitionOption;
  onClose: () => void; onTaken: (approval: boolean) => void; onStale: () => void;
}) {
  const { t, lang } = useI18n();
  // The transition's fields as the form shows them, required as the transition says; named
  // "take-<field>" so their inputs' ids differ from the form's behind the dialog.
  const fields: Field[] = (option.fields ?? []).flatMap((tf) => {
    const f = entity.fields.find((x) => x.name === tf.field);
    return f ? [{ ...f, name: TAKE + f.name, label: f.label || f.name, required: !!tf.required }] : [];
  });
  const [inputs, setInputs] = useState<Record<string, InputValue>>(() => Object.fromEntries(fields.map((f) => [f.name, toInput(f, null)])));
  const [comment, setComment] = useState("");
  const [errors, setErrors] = useState<{ fields: Record<string, string[]>; comment: string[]; general: string[] }>({ fields: {}, comment: [], general: [] });
  const [busy, setBusy] = useState(false);
  const [stale, setStale] = useState(false);
  const [failure, setFailure] = useState<unknown>(null);
  const rule = option.comment || "optional";

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    const local: Record<string, string[]> = {};
    const values: Record<string, unknown> = {};
    for (const f of fields) {
      const c = fromInput(f, inputs[f.name]);
      if ("error" in c) local[f.name] = [t(c.error)];
      else if (f.required && (c.value === null || c.value === "" || (Array.isArray(c.value) && !c.value.length))) local[f.name] = [t("run.required")];
      else if (c.value !== null) values[f.name.slice(TAKE.length)] = c.value;
    }
    const commentErr = rule === "required" && !comment.trim() ? [t("run.commentRequired")] : [];
    if (Object.keys(local).length || commentErr.length) {
      setErrors({ fields: local, comment: commentErr, general: [] });
      return;
    }
    setBusy(true);
    setFailure(null);
    setErrors({ fields: {}, comment: [], general: [] });
    try {
      const r = await flowsApi.take(app.name, entity.name, id, option.name, { version, fields: values, comment: rule === "none" ? "" : comment.trim() });
      onTaken(!!r?.approval);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && e.details.length) {
        const by = lacksByPlace(e.details);
        // A lack of a field not asked here is listed at the top.
        const asked = Object.fromEntries(Object.entries(by.fields).filter(([k]) => fields.some((f) => f.name === TAKE + k)).map(([k, v]) => [TAKE + k, v]));
        const other = Object.entries(by.fields).filter(([k]) => !fields.some((f) => f.name === TAKE + k)).flatMap(([, v]) => v);
        setErrors({ fields: asked, comment: by.comment, general: [...other, ...by.general] });
      }
      else if (e instanceof ApiError && e.status === 409) setStale(true);
      else setFailure(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog title={shown(option, lang)} testId="flow-take-dialog" onClose={onClose}>
      <form onSubmit={submit} noValidate className="flow-take-form">
        {option.approval && <p className="muted small">{t("run.willAskApproval")}</p>}
        {option.handover && <p className="muted small">{t("run.willHandOver")}</p>}
        {errors.general.length > 0 && (
          <div className="alert alert-error" role="alert" data-testid="flow-take-lacks">
            <div>{t("run.refused")}</div>
            <ul className="alert-details">{errors.general.map((m, i) => <li key={i}>{m}</li>)}</ul>
          </div>
        )}
        {stale && (
          <div className="alert alert-warn" role="alert" data-testid="flow-take-stale">
            <div>{t("form.conflict")}</div>
            <button type="button" className="btn btn-small" onClick={onStale}>{t("form.reload")}</button>
          </div>
        )}
        {failure !== null && <ErrorBox error={failure} testId="flow-take-error" />}
        {fields.length > 0 && (
          <FormFields app={app} fields={fields} layout={undefined} inputs={inputs} record={null} readOnly={() => false}
            errors={errors.fields} onChange={(n, v) => {
              setInputs((s) => ({ ...s, [n]: v }));
              setErrors((e) => ({ ...e, fields: { ...e.fields, [n]: [] } }));
            }} />
        )}
        {(option.fields ?? []).filter((tf) => !fields.some((f) => f.name === TAKE + tf.field)).map((tf) => (
          <p key={tf.field} className="muted small">{t("run.hiddenField", { field: tf.field })}</p>
        ))}
        {rule !== "none" && (
          <div className={"field field-wide" + (errors.comment.length ? " has-error" : "")}>
            <label className="field-label" htmlFor="flow-comment">
              {t("run.comment")}
              {rule === "required" && <span className="req" title={t("form.required")}> *</span>}
            </label>
            <textarea id="flow-comment" rows={3} value={comment} data-testid="flow-take-comment" aria-invalid={errors.comment.length > 0 || undefined}
              onChange={(e) => { setComment(e.target.value); setErrors((x) => ({ ...x, comment: [] })); }} />
            {errors.comment.length > 0 && <div className="field-error" data-testid="flow-take-comment-error">{errors.comment.join(" ")}</div>}
          </div>
        )}
        <div className="dialog-footer">
          <button type="button" className="btn" onClick={onClose}>{t("common.cancel")}</button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="flow-take-submit">
            {busy ? t("run.taking") : option.approval || option.handover ? t("run.request") : t("run.take")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

