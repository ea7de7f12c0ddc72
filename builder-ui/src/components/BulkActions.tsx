// BulkActions: what the list does to the selected records, or to all the
// records its filter matches — edit one field or delete — as one server job.
// The confirmation states how many records; the job changes all of them or,
// if one fails, none (the result names it); progress shows while it runs.
import { useEffect, useState } from "react";
import { ApiError, type AppDocument, type Entity, type Field } from "../api";
import { bulkFields, bulkStatus, startBulk, type BulkBody, type BulkStatus } from "../bulk";
import { displayValue, fieldLabel, fromInput, toInput, type InputValue } from "../fields";
import { optionLabel } from "../labels";
import { useI18n } from "../i18n";
import { Dialog } from "./Dialog";
import { errorText } from "./common";
import "./bulk.css";

const POLL_MS = 500;

type Step =
  | { kind: "edit" }
  | { kind: "confirm"; body: BulkBody; what: string }
  | { kind: "running"; job: number; status?: BulkStatus }
  | { kind: "done"; status: BulkStatus }
  | { kind: "error"; error: unknown };

export function BulkActions({ app, entity, filter, selected, filteredCount, onClear, onDone }: {
  app: AppDocument; entity: Entity; filter: string; selected: string[]; filteredCount?: number;
  onClear: () => void; onDone: () => void;
}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [all, setAll] = useState(false);
  const [step, setStep] = useState<Step | null>(null);
  const [op, setOp] = useState<"edit" | "delete">("edit");
  const fields = bulkFields(entity.fields);
  const [field, setField] = useState<Field | undefined>(fields[0]);
  const [value, setValue] = useState<InputValue>(fields[0] ? toInput(fields[0], null) : "");
  const [valueError, setValueError] = useState("");
  useEffect(() => setAll(false), [filter]);

  const count = all && filteredCount !== undefined ? filteredCount : selected.length;
  const target = (): Omit<BulkBody, "expected"> => (all ? { filter } : { ids: selected });

  useEffect(() => {
    if (step?.kind !== "running" || !step.job) return;
    let live = true;
    const tick = () => bulkStatus(app.name, entity.name, step.job).then((s) => {
      if (!live) return;
      if (s.state === "completed" || s.state === "failed") {
        setStep({ kind: "done", status: s });
        if (s.state === "completed") onDone();
      } else {
        setStep({ kind: "running", job: step.job, status: s });
      }
    }, (e) => live && setStep({ kind: "error", error: e }));
    const timer = setTimeout(tick, POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // onDone is the list's refresh; a new one each render must not restart the poll.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [step, app.name, entity.name]);

  if (selected.length === 0 && !step) return null;

  const run = (body: BulkBody) => {
    setStep({ kind: "running", job: 0 });
    startBulk(app.name, entity.name, body).then((r) => setStep({ kind: "running", job: r.job }), (e) => setStep({ kind: "error", error: e }));
  };
  const confirmEdit = () => {
    if (!field) return;
    const conv = fromInput(field, value);
    if ("error" in conv) return setValueError(t(conv.error));
    const shown = conv.value === null ? t("bulk.empty") : displayValue(field, conv.value, i18n);
    setStep({ kind: "confirm", body: { ...target(), set: { [field.name]: conv.value }, expected: count },
      what: t("bulk.confirmEdit", { count, field: fieldLabel(field, lang), value: shown }) });
  };
  const close = () => setStep(null);

  return (
    <div className="bulk-bar" data-testid="bulk-bar">
      <span data-testid="bulk-count">{all ? t("bulk.allFiltered", { count }) : t("bulk.selected", { count: selected.length })}</span>
      {!all && filteredCount !== undefined && filteredCount > selected.length && (
        <button type="button" className="btn btn-ghost btn-small" data-testid="bulk-all" onClick={() => setAll(true)}>
          {t("bulk.selectAll", { count: filteredCount })}
        </button>
      )}
      {all && <button type="button" className="btn btn-ghost btn-small" data-testid="bulk-page" onClick={() => setAll(false)}>{t("bulk.onlySelected")}</button>}
      {fields.length > 0 && (
        <button type="button" className="btn btn-small" data-testid="bulk-edit" onClick={() => { setOp("edit"); setStep({ kind: "edit" }); }}>{t("bulk.edit")}</button>
      )}
      <button type="button" className="btn btn-small btn-danger" data-testid="bulk-delete"
        onClick={() => { setOp("delete"); setStep({ kind: "confirm", body: { ...target(), delete: true, expected: count }, what: t("bulk.confirmDelete", { count }) }); }}>
        {t("bulk.delete")}
      </button>
      <button type="button" className="btn btn-ghost btn-small" data-testid="bulk-clear" onClick={() => { setAll(false); onClear(); }}>{t("bulk.clear")}</button>

      {step?.kind === "edit" && (
        <Dialog title={t("bulk.editTitle", { count })} testId="bulk-edit-dialog" onClose={close}
          footer={<>
            <button type="button" className="btn" onClick={close}>{t("common.cancel")}</button>
            <button type="button" className="btn btn-primary" data-testid="bulk-edit-next" onClick={confirmEdit}>{t("bulk.next")}</button>
          </>}>
          <label className="field">
            <span className="field-label">{t("bulk.field")}</span>
            <select value={field?.name ?? ""} data-testid="bulk-field" onChange={(e) => {
              const f = fields.find((x) => x.name === e.target.value);
              setField(f);
              setValue(f ? toInput(f, null) : "");
              setValueError("");
            }}>
              {fields.map((f) => <option key={f.name} value={f.name}>{fieldLabel(f, lang)}</option>)}
            </select>
          </label>
          {field && (
            <label className="field">
              <span className="field-label">{t("bulk.value")}</span>
              <ValueInput field={field} value={value} onChange={(v) => { setValue(v); setValueError(""); }} />
              {valueError && <span className="field-error" data-testid="bulk-value-error">{valueError}</span>}
            </label>
          )}
        </Dialog>
      )}
      {step?.kind === "confirm" && (
        <Dialog title={op === "delete" ? t("bulk.deleteTitle") : t("bulk.confirmTitle")} testId="bulk-confirm" onClose={close}
          footer={<>
            <button type="button" className="btn" onClick={close}>{t("common.cancel")}</button>
            <button type="button" className={"btn " + (op === "delete" ? "btn-danger" : "btn-primary")} data-testid="bulk-run" onClick={() => run(step.body)}>
              {op === "delete" ? t("bulk.runDelete", { count: step.body.expected }) : t("bulk.runEdit", { count: step.body.expected })}
            </button>
          </>}>
          <p data-testid="bulk-confirm-text">{step.what}</p>
          <p className="muted small">{t("bulk.allOrNothing")}</p>
        </Dialog>
      )}
      {step?.kind === "running" && (
        <Dialog title={t("bulk.runningTitle")} testId="bulk-progress" onClose={() => undefined}>
          <p data-testid="bulk-progress-text">
            {step.status?.total ? t("bulk.progress", { done: step.status.done ?? 0, total: step.status.total }) : t("bulk.queued")}
          </p>
          {step.status?.total ? <progress max={step.status.total} value={step.status.done ?? 0} /> : <progress />}
          <p className="muted small">{t("bulk.mayLeave")}</p>
        </Dialog>
      )}
      {step?.kind === "done" && (
        <Dialog title={step.status.state === "completed" ? t("bulk.doneTitle") : t("bulk.failedTitle")} testId="bulk-result"
          onClose={() => { close(); onClear(); }}
          footer={<button type="button" className="btn btn-primary" data-testid="bulk-result-close" onClick={() => { close(); onClear(); }}>{t("common.close")}</button>}>
          <Result status={step.status} />
        </Dialog>
      )}
      {step?.kind === "error" && (
        <Dialog title={t("bulk.failedTitle")} testId="bulk-result" onClose={close}
          footer={<button type="button" className="btn btn-primary" data-testid="bulk-result-close" onClick={close}>{t("common.close")}</button>}>
          <p className="field-error" data-testid="bulk-error">
            {step.error instanceof ApiError && step.error.status === 409 ? t("bulk.stale") + " " : ""}{errorText(step.error, t)}
          </p>
          {step.error instanceof ApiError && step.error.details.length > 0 && (
            <ul className="small">{step.error.details.map((d, i) => <li key={i}>{d.path && <code>{d.path}</code>} {d.message}</li>)}</ul>
          )}
        </Dialog>
      )}
    </div>
  );
}

function Result({ status }: { status: BulkStatus }) {
  const { t } = useI18n();
  const r = status.result;
  if (status.state === "completed" && r) {
    return <p data-testid="bulk-result-text">{status.op === "delete" ? t("bulk.deleted", { count: r.changed }) : t("bulk.changed", { count: r.changed })}</p>;
  }
  const f = r?.failed;
  return (
    <div data-testid="bulk-result-text">
      <p>{t("bulk.nothingChanged")}</p>
      {f?.id && <p>{t("bulk.failedRecord", { id: f.id })}</p>}
      <p className="field-error">{f?.message ?? status.error}</p>
      {f?.details && f.details.length > 0 && <ul className="small">{f.details.map((d, i) => <li key={i}>{d.message}</li>)}</ul>}
    </div>
  );
}

function ValueInput({ field, value, onChange }: { field: Field; value: InputValue; onChange: (v: InputValue) => void }) {
  const { lang } = useI18n();
  if (field.type === "boolean") {
    return <input type="checkbox" data-testid="bulk-value" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
  }
  if (field.type === "select") {
    return (
      <select data-testid="bulk-value" value={String(value)} onChange={(e) => onChange(e.target.value)}>
        <option value="">—</option>
        {(field.options ?? []).map((o) => <option key={o} value={o}>{optionLabel(field, o, lang)}</option>)}
      </select>
    );
  }
  if (field.type === "longtext") return <textarea data-testid="bulk-value" rows={3} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
  const type = field.type === "date" ? "date" : field.type === "datetime" ? "datetime-local" : "text";
  const numeric = field.type === "integer" || field.type === "decimal";
  return <input data-testid="bulk-value" type={type} inputMode={numeric ? "decimal" : undefined} value={String(value)} onChange={(e) => onChange(e.target.value)} />;
}
