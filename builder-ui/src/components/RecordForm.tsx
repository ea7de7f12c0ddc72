import { useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, ApiError, type AppDocument, type DataRecord, type Entity, type Field, type FormLayout, type ScriptInfo } from "../api";
import { formLayoutOf, resolveSections } from "../designer/layouts";
import {
  currencySign, displaySystem, displayValue, entityLabel, fieldLabel, formatMoney, fromInput, isComputed, sameInput, SYSTEM_COLUMNS, toInput,
  type InputValue,
} from "../fields";
import { useI18n, type MessageKey } from "../i18n";
import { flowStates, optionLabel } from "../labels";
import { href, listHref, navigate } from "../router";
import { ErrorBox, Loading } from "./common";
import { problemText, type Problem } from "../problems";
import { RefPicker, UserPicker } from "./RefPicker";
import { FileField } from "./FileField";
import { useNames } from "../names";
import { FlowBar, flowField } from "./Transitions";
import { AssignmentBar } from "./Assignment";
import { DuplicatesNotice } from "./Duplicates";
import { rememberCreated } from "../imports";

type Banner =
  | { kind: "saved" }
  | { kind: "noChanges" }
  | { kind: "conflict" }
  | { kind: "validation"; messages: string[] }
  | { kind: "script"; message: string; script?: ScriptInfo; op?: "delete" }
  | { kind: "referenced"; message: string }
  | { kind: "error"; error: unknown };

// fieldOfPath maps a detail path ("/amount", "/tags/1") to its field name;
// "" and paths naming no field of the entity are general errors.
export function fieldOfPath(path: string, fields: Field[]): string | null {
  const name = path.replace(/^\//, "").split("/")[0];
  return name && fields.some((f) => f.name === name) ? name : null;
}

export function splitDetails(err: ApiError, fields: Field[], text: (d: Problem) => string = (d) => d.message): { byField: Record<string, string[]>; general: string[] } {
  const byField: Record<string, string[]> = {};
  const general: string[] = [];
  for (const d of err.details) {
    const f = fieldOfPath(d.path ?? "", fields);
    if (f) (byField[f] ??= []).push(text(d));
    else general.push(d.path ? `${d.path}: ${text(d)}` : text(d));
  }
  return { byField, general };
}

function inputsOf(fields: Field[], rec: Record<string, unknown> | null): Record<string, InputValue> {
  const out: Record<string, InputValue> = {};
  for (const f of fields) out[f.name] = toInput(f, rec ? rec[f.name] : f.default);
  return out;
}

export function RecordForm({ app, entity, id }: { app: AppDocument; entity: Entity; id?: string }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [record, setRecord] = useState<DataRecord | null>(null);
  const [loadError, setLoadError] = useState<unknown>(null);
  const [initial, setInitial] = useState<Record<string, InputValue>>(() => (id ? {} : inputsOf(entity.fields, null)));
  const [inputs, setInputs] = useState<Record<string, InputValue>>(initial);
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [banner, setBanner] = useState<Banner | null>(null);
  const [saving, setSaving] = useState(false);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [deleting, setDeleting] = useState(false);

  const load = useCallback(() => {
    if (!id) return () => undefined;
    let live = true;
    setLoadError(null);
    api.get(app.name, entity.name, id).then(
      (r) => {
        if (!live) return;
        const ins = inputsOf(entity.fields, r);
        setRecord(r);
        setInitial(ins);
        setInputs(ins);
        setErrors({});
      },
      (e) => live && setLoadError(e),
    );
    return () => {
      live = false;
    };
  }, [app.name, entity, id]);

  useEffect(() => load(), [load]);

  // Fields shown: on an existing record, those the API returned (a field
  // hidden from the caller's roles is absent from the record).
  const fields = useMemo(
    () => (record ? entity.fields.filter((f) => f.name in record) : entity.fields),
    [entity, record],
  );
  // A flow's state field moves only by its transitions (the flow bar).
  const [governed, setGoverned] = useState<string | undefined>(undefined);
  const stateField = flowField(app, entity.name) ?? governed;
  const editable = (f: Field) => !isComputed(f) && f.name !== stateField;

  const set = (name: string, v: InputValue) => {
    setInputs((s) => ({ ...s, [name]: v }));
    setErrors((e) => {
      if (!e[name]) return e;
      const { [name]: _drop, ...rest } = e;
      void _drop;
      return rest;
    });
  };

  async function submit(ev: FormEvent) {
    ev.preventDefault();
    setBanner(null);
    const body: Record<string, unknown> = {};
    const local: Record<string, string[]> = {};
    for (const f of fields) {
      if (!editable(f)) continue;
      const iv = inputs[f.name];
      if (id && sameInput(iv, initial[f.name])) continue;
      const c = fromInput(f, iv);
      if ("error" in c) {
        local[f.name] = [t(c.error)];
        continue;
      }
      if (!id && (c.value === null || (Array.isArray(c.value) && c.value.length === 0))) continue;
      body[f.name] = c.value;
    }
    if (Object.keys(local).length) {
      setErrors(local);
      setBanner({ kind: "validation", messages: [] });
      return;
    }
    if (id && Object.keys(body).length === 0) {
      setBanner({ kind: "noChanges" });
      return;
    }
    setSaving(true);
    setErrors({});
    try {
      if (id) {
        body.version = record?.version;
        const r = await api.update(app.name, entity.name, id, body);
        const ins = inputsOf(entity.fields, r);
        setRecord(r);
        setInitial(ins);
        setInputs(ins);
        setBanner({ kind: "saved" });
      } else {
        const r = await api.create(app.name, entity.name, body);
        rememberCreated(r.id, r._duplicates);
        navigate({ name: "record", app: app.name, entity: entity.name, id: r.id });
      }
    } catch (err) {
      if (err instanceof ApiError && err.code === "version_conflict") {
        setBanner({ kind: "conflict" });
      } else if (err instanceof ApiError && err.code === "script_failed") {
        const { byField } = splitDetails(err, fields);
        setErrors(byField);
        setBanner({ kind: "script", message: err.message, script: err.script });
      } else if (err instanceof ApiError && err.details.length > 0 && (err.status === 422 || err.status === 403 || err.status === 409)) {
        // Problems in the user's language, with the field's label (problems.ts).
        const label = (n: string) => { const f = fields.find((x) => x.name === n); return f ? fieldLabel(f, lang) : n; };
        const { byField, general } = splitDetails(err, fields, (d) => problemText(d, t, label));
        setErrors(byField);
        setBanner(err.status === 422 ? { kind: "validation", messages: general } : { kind: "error", error: err });
      } else {
        setBanner({ kind: "error", error: err });
      }
    } finally {
      setSaving(false);
    }
  }

  // remove deletes the record (after the in-page confirmation) and goes back
  // to the list; refusals land in the form's error area.
  async function remove() {
    if (!id) return;
    setConfirmDelete(false);
    setBanner(null);
    setDeleting(true);
    try {
      await api.remove(app.name, entity.name, id);
      navigate({ name: "list", app: app.name, entity: entity.name });
    } catch (err) {
      if (err instanceof ApiError && err.code === "version_conflict") {
        setBanner({ kind: "conflict" });
      } else if (err instanceof ApiError && err.code === "script_failed") {
        setBanner({ kind: "script", message: err.message, script: err.script, op: "delete" });
      } else if (err instanceof ApiError && err.code === "referenced") {
        setBanner({ kind: "referenced", message: err.message });
      } else {
        setBanner({ kind: "error", error: err });
      }
    } finally {
      setDeleting(false);
    }
  }

  if (loadError) return <ErrorBox error={loadError} onRetry={load} />;
  if (id && !record) return <Loading />;

  const title = id ? t("form.edit", { entity: entityLabel(entity, lang) }) : t("form.new", { entity: entityLabel(entity, lang) });

  return (
    <section className="page">
      <div className="page-head">
        <h1>{title}</h1>
        <div className="page-actions">
          <a className="btn btn-ghost" href={listHref(app.name, entity.name)} data-testid="back-to-list">
            {t("form.backToList")}
          </a>
          {id && (
            <a className="btn" href={href({ name: "history", app: app.name, entity: entity.name, id })} data-testid="history-link">
              {t("form.history")}
            </a>
          )}
        </div>
      </div>
      {id && record && <FlowBar app={app} entity={entity} id={id} version={Number(record.version)} onMoved={() => { setBanner(null); load(); }} onGoverned={setGoverned} />}
      {id && record && <DuplicatesNotice app={app} entity={entity} record={record} onMerged={() => { setBanner(null); load(); }} />}
      {id && record && <AssignmentBar app={app} entity={entity} id={id} record={record} onChanged={() => { setBanner(null); load(); }} />}
      {banner && <BannerView banner={banner} onReload={() => { setBanner(null); load(); }} />}
      <form className="record-form" onSubmit={submit} noValidate>
        <FormFields app={app} fields={fields} layout={formLayoutOf(app, entity.name)} inputs={inputs} record={record}
          readOnly={(f) => !editable(f)} errors={errors} onChange={set} />
        {record && (
          <details className="system-fields">
            <summary>{t("form.system")}</summary>
            <dl>
              {SYSTEM_COLUMNS.map((c) => (
                <div key={c} className="sys-row">
                  <dt>{t(("sys." + c) as MessageKey)}</dt>
                  <dd data-testid={`field-${c}`}>{(c === "owner" || c === "created_by") && typeof record[c] === "string" && record[c]
                    ? <UserName id={record[c] as string} /> : displaySystem(c, record[c], i18n)}</dd>
                </div>
              ))}
            </dl>
          </details>
        )}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={saving} data-testid="form-save">
            {saving ? t("form.saving") : t("form.save")}
          </button>
          {id && !confirmDelete && (
            <button type="button" className="btn btn-danger" disabled={saving || deleting} data-testid="form-delete"
              onClick={() => setConfirmDelete(true)}>
              {deleting ? t("form.deleting") : t("form.delete")}
            </button>
          )}
          {id && confirmDelete && (
            <span className="delete-confirm" role="group" aria-label={t("form.deleteConfirmTitle")}>
              <span className="small">{t("form.deleteConfirmText")}</span>
              <button type="button" className="btn btn-danger" data-testid="form-delete-confirm" onClick={() => void remove()}>
                {t("form.deleteConfirm")}
              </button>
              <button type="button" className="btn btn-ghost" data-testid="form-delete-cancel" onClick={() => setConfirmDelete(false)}>
                {t("plan.cancel")}
              </button>
            </span>
          )}
        </div>
      </form>
    </section>
  );
}

// FormFields lays out the field inputs: by the entity's form layout (titled
// sections with 1–3 columns; fields it does not place in a final untitled
// section) or, without one, the automatic two-column grid.
export function FormFields({ app, fields, layout, inputs, record, readOnly, errors, onChange, preview }: {
  app: AppDocument; fields: Field[]; layout: FormLayout | undefined; inputs: Record<string, InputValue>;
  record: DataRecord | null; readOnly: (f: Field) => boolean; errors: Record<string, string[]>;
  onChange: (name: string, v: InputValue) => void; preview?: boolean;
}) {
  const { lang } = useI18n();
  const row = (f: Field) => (
    <FieldRow key={f.name} app={app} field={f} value={inputs[f.name]} record={record} preview={preview}
      readOnly={readOnly(f)} errors={errors[f.name]} onChange={(v) => onChange(f.name, v)} />
  );
  if (!layout) return <div className="form-grid">{fields.map(row)}</div>;
  return (
    <>
      {resolveSections(fields, layout, lang).map((s, i) => (
        <section key={i} className="form-section" data-testid="form-section" data-columns={s.columns}>
          {s.title && <h2 className="form-section-title">{s.title}</h2>}
          <div className={`form-grid cols-${s.columns}`}>{s.fields.map(row)}</div>
        </section>
      ))}
    </>
  );
}

// FormPreview shows an entity's form as a user with the given field rules
// sees it (hidden fields left out, read-only ones shown as values), from a
// layout being edited; inputs work, nothing is saved or fetched.
export function FormPreview({ app, entity, layout, rules = {} }: {
  app: AppDocument; entity: Entity; layout: FormLayout | undefined; rules?: Record<string, "hidden" | "readonly">;
}) {
  const fields = useMemo(() => entity.fields.filter((f) => rules[f.name] !== "hidden"), [entity, rules]);
  const [inputs, setInputs] = useState<Record<string, InputValue>>(() => inputsOf(entity.fields, null));
  const all = { ...inputsOf(entity.fields, null), ...inputs };
  return (
    <div className="record-form form-preview-body">
      <FormFields app={app} fields={fields} layout={layout} inputs={all} record={null} preview errors={{}}
        readOnly={(f) => isComputed(f) || rules[f.name] === "readonly"}
        onChange={(name, v) => setInputs((s) => ({ ...s, [name]: v }))} />
    </div>
  );
}

function BannerView({ banner, onReload }: { banner: Banner; onReload: () => void }) {
  const { t } = useI18n();
  switch (banner.kind) {
    case "saved":
      return <div className="alert alert-ok" role="status" data-testid="form-saved">{t("form.saved")}</div>;
    case "noChanges":
      return <div className="alert alert-info" role="status" data-testid="form-error">{t("form.noChanges")}</div>;
    case "conflict":
      return (
        <div className="alert alert-warn" role="alert" data-testid="form-error" data-code="version_conflict">
          <div>{t("form.conflict")}</div>
          <button type="button" className="btn btn-small" data-testid="form-reload" onClick={onReload}>{t("form.reload")}</button>
        </div>
      );
    case "validation":
      return (
        <div className="alert alert-error" role="alert" data-testid="form-error" data-code="validation_failed">
          <div>{t("form.validation")}</div>
          {banner.messages.length > 0 && <ul className="alert-details">{banner.messages.map((m, i) => <li key={i}>{m}</li>)}</ul>}
        </div>
      );
    case "script":
      return (
        <div className="alert alert-error" role="alert" data-testid="form-error" data-code="script_failed">
          <div>{t(banner.op === "delete" ? "form.deleteScriptFailed" : "form.scriptFailed", { message: banner.message })}</div>
          {banner.script && (
            <div className="small" data-testid="form-error-script">
              {t("form.scriptAt", { script: banner.script.script ?? "?", function: banner.script.function ?? "?", line: banner.script.line ?? "?" })}
            </div>
          )}
        </div>
      );
    case "referenced":
      return (
        <div className="alert alert-error" role="alert" data-testid="form-error" data-code="referenced">
          <div>{t("form.deleteReferenced")}</div>
          {banner.message && <div className="small">{banner.message}</div>}
        </div>
      );
    case "error":
      return <ErrorBox error={banner.error} testId="form-error" />;
  }
}

function FieldRow({ app, field: f, value, record, readOnly, errors, onChange, preview }: {
  app: AppDocument; field: Field; value: InputValue; record: DataRecord | null; readOnly: boolean;
  errors?: string[]; onChange: (v: InputValue) => void; preview?: boolean;
}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const id = `f-${f.name}`;
  // Options read in the user's language (a flow's state field: its states' labels); values stay the options.
  const states = f.type === "select" ? flowStates(app, app.entities.find((e) => e.fields.includes(f))?.name, f.name) : undefined;
  const opt = (o: string) => optionLabel(f, o, lang, states);
  const errId = `f-${f.name}-error`;
  const invalid = !!errors?.length;
  const common = {
    id, "data-testid": `field-${f.name}`, "aria-invalid": invalid || undefined,
    "aria-describedby": invalid ? errId : undefined,
  };
  const str = typeof value === "string" ? value : "";

  let input;
  if (f.type === "file" && !preview) {
    const v = readOnly ? record?.[f.name] : str;
    input = <FileField app={app.name} value={typeof v === "string" ? v : ""} onChange={onChange} readOnly={readOnly}
      testId={`field-${f.name}`} inputId={id} invalid={invalid} describedBy={invalid ? errId : undefined} />;
  } else if (readOnly) {
    const v = record?.[f.name];
    const named = (f.type === "user" || f.type === "ref") && typeof v === "string" && v;
    input = <div className="readonly-value" {...common}>{named ? <RefName app={app} field={f} id={v} /> : displayValue(f, v, i18n, states)}</div>;
  } else {
    switch (f.type) {
      case "longtext":
        input = <textarea {...common} rows={4} maxLength={f.maxLength} value={str} onChange={(e) => onChange(e.target.value)} />;
        break;
      case "json":
        input = <textarea {...common} rows={6} className="mono" spellCheck={false} value={str} onChange={(e) => onChange(e.target.value)} />;
        break;
      case "integer":
      case "decimal":
        input = <input {...common} type="text" inputMode={f.type === "integer" ? "numeric" : "decimal"} value={str} onChange={(e) => onChange(e.target.value)} />;
        if (f.currency) {
          // Money is typed as a plain number beside its currency's sign,
          // and read back grouped as the lists show it.
          const shown = str.trim() !== "" ? formatMoney(str, f.type === "integer" ? 0 : (f.scale ?? 2), i18n.lang, f.currency) : "";
          input = (
            <div className="money-input">
              <span className="money-sign" data-testid={`money-sign-${f.name}`}>{currencySign(i18n.lang, f.currency)}</span>
              {input}
              {shown !== "" && shown !== str && <span className="money-shown small" data-testid={`money-shown-${f.name}`}>{shown}</span>}
            </div>
          );
        }
        break;
      case "boolean":
        input = <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange(e.target.checked)} />;
        break;
      case "date":
        input = <input {...common} type="date" value={str} onChange={(e) => onChange(e.target.value)} />;
        break;
      case "datetime":
        input = <input {...common} type="datetime-local" step={1} value={str} onChange={(e) => onChange(e.target.value)} />;
        break;
      case "select":
        input = (
          <select {...common} value={str} onChange={(e) => onChange(e.target.value)}>
            <option value="">{t("form.none")}</option>
            {(f.options ?? []).map((o) => <option key={o} value={o}>{opt(o)}</option>)}
            {str && !(f.options ?? []).includes(str) && <option value={str}>{opt(str)}</option>}
          </select>
        );
        break;
      case "multiselect": {
        const chosen = Array.isArray(value) ? value : [];
        input = (
          <fieldset className="checks" {...common}>
            {(f.options ?? []).map((o) => (
              <label key={o} className="check">
                <input type="checkbox" checked={chosen.includes(o)}
                  onChange={(e) => onChange(e.target.checked ? (f.options ?? []).filter((x) => x === o || chosen.includes(x)) : chosen.filter((x) => x !== o))} />
                {opt(o)}
              </label>
            ))}
          </fieldset>
        );
        break;
      }
      case "ref":
        // The preview searches nothing.
        input = preview ? <input {...common} type="text" disabled value={str} placeholder={t("type.ref")} /> : (
          <RefPicker app={app} target={app.entities.find((e) => e.name === f.entity)} value={str} onChange={onChange}
            testId={`field-${f.name}`} inputId={id} invalid={invalid} describedBy={invalid ? errId : undefined} />
        );
        break;
      case "user":
        input = preview ? <input {...common} type="text" disabled value={str} placeholder={t("form.userHint")} /> : (
          <UserPicker value={str} onChange={onChange} testId={`field-${f.name}`} inputId={id} invalid={invalid}
            describedBy={invalid ? errId : undefined} />
        );
        break;
      default: {
        const type = f.type === "email" ? "email" : f.type === "phone" ? "tel" : f.type === "url" ? "url" : "text";
        input = <input {...common} type={type} maxLength={f.maxLength} value={str} onChange={(e) => onChange(e.target.value)} />;
      }
    }
  }

  const wide = f.type === "longtext" || f.type === "json" || f.type === "multiselect";
  return (
    <div className={"field" + (wide ? " field-wide" : "") + (invalid ? " has-error" : "") + (f.type === "boolean" && !readOnly ? " field-check" : "")}>
      <label className="field-label" htmlFor={readOnly || f.type === "multiselect" ? undefined : id}>
        {fieldLabel(f, lang)}
        {f.required && !readOnly && <span className="req" title={t("form.required")}> *</span>}
        {readOnly && <span className="tag">{isComputed(f) ? t("form.computed") : t("form.readOnly")}</span>}
      </label>
      {input}
      {invalid && (
        <div className="field-error" id={errId} data-testid={`field-error-${f.name}`}>
          {errors!.map((m, i) => <div key={i}>{m}</div>)}
        </div>
      )}
    </div>
  );
}

// UserName and RefName show a user or a referenced record by name (read-only places).
function UserName({ id }: { id: string }) {
  const names = useNames(undefined, [{ kind: "user", id }]);
  return <>{names({ kind: "user", id })}</>;
}

function RefName({ app, field, id }: { app: AppDocument; field: Field; id: string }) {
  const key = field.type === "user" ? { kind: "user" as const, id } : { kind: "ref" as const, entity: field.entity ?? "", id };
  const names = useNames(app, [key]);
  return <>{names(key)}</>;
}
