// ImportWizard: a CSV or Excel file into an entity, in four steps —
// upload (with the reading options), the mapping of columns to fields with
// a preview of the first rows as coerced (problems at their cells; a new
// choice previews again with options.map), the check (a dry run that lists
// every bad row before anything is written) and the run (a job polled each
// second: progress, rows/s, time left, then the counts and the duplicates).
import { useEffect, useMemo, useRef, useState, type DragEvent } from "react";
import { ApiError, type AppDocument, type Entity } from "../api";
import { displayValue, entityLabel, fieldLabel } from "../fields";
import { useI18n, type MessageKey } from "../i18n";
import {
  download, durationText, errorsCsvPath, importStatus, mapOf, missingFields, previewImport, secondsLeft, startImport,
  type CellProblem, type ColumnMap, type ImportOptions, type ImportStatus, type Preview,
} from "../imports";
import { browserTimeZone, timeZones } from "../designer/automations";
import { href } from "../router";
import { Dialog } from "./Dialog";
import { errorText } from "./common";
import "./imports.css";

export const POLL_MS = 1000;
const ACCEPT = ".csv,.tsv,.txt,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

type Step = "upload" | "map" | "check" | "run";
const STEPS: Step[] = ["upload", "map", "check", "run"];

export interface WizardOptions {
  encoding: string; // "" auto, "utf-8", "gb18030"
  delimiter: string; // "" auto, ",", ";", "\t"
  timeZone: string;
  upsertBy: string;
  skipBadRows: boolean;
}

export function optionsOf(o: WizardOptions, columns?: ColumnMap[], dryRun?: boolean): ImportOptions {
  const out: ImportOptions = { timeZone: o.timeZone };
  if (o.encoding) out.encoding = o.encoding;
  if (o.delimiter) out.delimiter = o.delimiter;
  if (o.upsertBy) out.upsertBy = o.upsertBy;
  if (o.skipBadRows) out.skipBadRows = true;
  if (columns) out.map = mapOf(columns);
  if (dryRun) out.dryRun = true;
  return out;
}

// usePoll follows an import job each second until it is done or failed.
function usePoll(app: string, entity: string, id: string | null, onStatus: (s: ImportStatus) => void, onError: (e: unknown) => void) {
  const cb = useRef({ onStatus, onError });
  cb.current = { onStatus, onError };
  useEffect(() => {
    if (!id) return;
    let live = true;
    let timer: ReturnType<typeof setTimeout>;
    const tick = () => {
      importStatus(app, entity, id).then((s) => {
        if (!live) return;
        cb.current.onStatus(s);
        if (s.status !== "done" && s.status !== "failed") timer = setTimeout(tick, POLL_MS);
      }, (e) => live && cb.current.onError(e));
    };
    timer = setTimeout(tick, POLL_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [app, entity, id]);
}

export function ImportWizard({ app, entity, onClose, onDone }: {
  app: AppDocument; entity: Entity; onClose: () => void; onDone: () => void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const [step, setStep] = useState<Step>("upload");
  const [file, setFile] = useState<File | null>(null);
  const [opts, setOpts] = useState<WizardOptions>(() => ({ encoding: "", delimiter: "", timeZone: browserTimeZone(), upsertBy: "", skipBadRows: false }));
  const [preview, setPreview] = useState<Preview | null>(null);
  const [columns, setColumns] = useState<ColumnMap[]>([]);
  const [busy, setBusy] = useState(false);
  const [sent, setSent] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [over, setOver] = useState(false);
  const [dryId, setDryId] = useState<string | null>(null);
  const [dry, setDry] = useState<ImportStatus | null>(null);
  const [runId, setRunId] = useState<string | null>(null);
  const [run, setRun] = useState<ImportStatus | null>(null);
  const seq = useRef(0);
  const uniques = entity.fields.filter((f) => f.unique);

  usePoll(app.name, entity.name, dryId, (s) => {
    setDry(s);
    if (s.status === "done" || s.status === "failed") setDryId(null);
  }, (e) => { setError(e); setDryId(null); });
  usePoll(app.name, entity.name, runId, (s) => {
    setRun(s);
    if (s.status === "done" || s.status === "failed") {
      setRunId(null);
      if (s.created + s.updated > 0) onDone();
    }
  }, (e) => { setError(e); setRunId(null); });

  // ask previews the file with the options (and the mapping once there is one).
  const ask = async (cols?: ColumnMap[]) => {
    if (!file) return;
    const n = ++seq.current;
    setBusy(true);
    setError(null);
    setSent(0);
    try {
      const p = await previewImport(app.name, entity.name, file, optionsOf(opts, cols), setSent);
      if (n !== seq.current) return;
      setPreview(p);
      setColumns(p.mapping?.columns ?? []);
      setStep("map");
    } catch (e) {
      if (n === seq.current) setError(e);
    } finally {
      if (n === seq.current) {
        setBusy(false);
        setSent(null);
      }
    }
  };

  const choose = (index: number, field: string) => {
    const next = columns.map((c) => (c.index === index ? { ...c, field: field || undefined, by: "map" } : c));
    setColumns(next);
    void ask(next);
  };

  const start = async (dryRun: boolean) => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setSent(0);
    try {
      const r = await startImport(app.name, entity.name, file, optionsOf(opts, columns, dryRun), setSent);
      const queued: ImportStatus = { id: r.id, status: "queued", rows: 0, processed: 0, created: 0, updated: 0, skipped: 0, bad: 0, dryRun };
      if (dryRun) {
        setDry(queued);
        setDryId(r.id);
      } else {
        setRun(queued);
        setRunId(r.id);
        setStep("run");
      }
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
      setSent(null);
    }
  };

  const pick = (f: File | undefined) => {
    if (!f) return;
    setFile(f);
    setPreview(null);
    setDry(null);
    setError(null);
  };
  const drop = (e: DragEvent) => {
    e.preventDefault();
    setOver(false);
    pick(e.dataTransfer.files?.[0]);
  };

  const missing = preview ? missingFields(preview.fields ?? [], columns) : [];
  const unknown = new Set(preview?.mapping?.unknown ?? []);
  const running = !!runId || (run !== null && run.status !== "done" && run.status !== "failed");

  const footer = (
    <>
      {step === "map" || step === "check" ? (
        <button type="button" className="btn" disabled={busy || !!dryId} data-testid="import-back"
          onClick={() => setStep(step === "map" ? "upload" : "map")}>{t("imp.back")}</button>
      ) : null}
      <button type="button" className="btn" data-testid="import-close" onClick={onClose}>
        {step === "run" && !running ? t("common.close") : t("common.cancel")}
      </button>
      {step === "upload" && (
        <button type="button" className="btn btn-primary" disabled={!file || busy} data-testid="import-next"
          onClick={() => void ask(preview ? columns : undefined)}>
          {t("imp.next")}
        </button>
      )}
      {step === "map" && (
        <button type="button" className="btn btn-primary" disabled={busy || missing.length > 0} data-testid="import-next"
          onClick={() => { setDry(null); setStep("check"); }}>{t("imp.next")}</button>
      )}
      {step === "check" && (
        <button type="button" className="btn btn-primary" disabled={busy || !!dryId} data-testid="import-run" onClick={() => void start(false)}>
          {t("imp.run")}
        </button>
      )}
    </>
  );

  return (
    <Dialog title={t("imp.title", { entity: entityLabel(entity) })} testId="import-wizard" onClose={running ? () => undefined : onClose} wide footer={footer}>
      <ol className="import-steps" aria-label={t("imp.steps")}>
        {STEPS.map((s, i) => (
          <li key={s} className={s === step ? "active" : STEPS.indexOf(step) > i ? "done" : undefined} aria-current={s === step ? "step" : undefined}>
            {i + 1}. {t(("imp.step." + s) as MessageKey)}
          </li>
        ))}
      </ol>
      {error ? <ImportError error={error} /> : null}
      {sent !== null && (
        <div className="import-sending" data-testid="import-uploading">
          <progress max={1} value={sent} aria-label={t("imp.uploading")} />
          <span className="small">{t("imp.uploading")} {Math.round(sent * 100)}%</span>
        </div>
      )}

      {step === "upload" && (
        <div data-testid="import-upload">
          <div className={"file-drop import-drop" + (over ? " file-over" : "")} data-testid="import-drop"
            onDragOver={(e) => { e.preventDefault(); setOver(true); }} onDragLeave={() => setOver(false)} onDrop={drop}>
            <p>{file ? <strong data-testid="import-file-name">{file.name}</strong> : t("imp.dropHint")}</p>
            <label className="btn btn-small">
              {file ? t("imp.otherFile") : t("imp.chooseFile")}
              <input type="file" className="file-input" accept={ACCEPT} data-testid="import-file"
                onChange={(e) => { pick(e.target.files?.[0]); e.target.value = ""; }} />
            </label>
          </div>
          <div className="import-options">
            <label className="field">
              <span className="field-label">{t("imp.encoding")}</span>
              <select value={opts.encoding} data-testid="import-encoding" onChange={(e) => setOpts({ ...opts, encoding: e.target.value })}>
                <option value="">{t("imp.auto")}</option>
                <option value="utf-8">UTF-8</option>
                <option value="gb18030">GBK / GB18030</option>
              </select>
            </label>
            <label className="field">
              <span className="field-label">{t("imp.delimiter")}</span>
              <select value={opts.delimiter} data-testid="import-delimiter" onChange={(e) => setOpts({ ...opts, delimiter: e.target.value })}>
                <option value="">{t("imp.auto")}</option>
                <option value=",">{t("imp.comma")}</option>
                <option value=";">{t("imp.semicolon")}</option>
                <option value={"\t"}>{t("imp.tab")}</option>
              </select>
            </label>
            <label className="field">
              <span className="field-label">{t("imp.timeZone")}</span>
              <select value={opts.timeZone} data-testid="import-tz" onChange={(e) => setOpts({ ...opts, timeZone: e.target.value })}>
                {timeZones(opts.timeZone).map((z) => <option key={z} value={z}>{z}</option>)}
              </select>
            </label>
            <label className="field">
              <span className="field-label">{t("imp.upsertBy")}</span>
              <select value={opts.upsertBy} data-testid="import-upsert" onChange={(e) => setOpts({ ...opts, upsertBy: e.target.value })}>
                <option value="">{t("imp.upsertNone")}</option>
                {uniques.map((f) => <option key={f.name} value={f.name}>{fieldLabel(f)}</option>)}
              </select>
              <span className="muted small">{uniques.length ? t("imp.upsertHint") : t("imp.upsertNoUnique")}</span>
            </label>
            <label className="check field">
              <input type="checkbox" checked={opts.skipBadRows} data-testid="import-skip-bad"
                onChange={(e) => setOpts({ ...opts, skipBadRows: e.target.checked })} />
              <span>{t("imp.skipBad")}</span>
            </label>
            <p className="muted small">{opts.skipBadRows ? t("imp.skipBadHint") : t("imp.allOrNothingHint")}</p>
          </div>
        </div>
      )}

      {step === "map" && preview && (
        <div data-testid="import-map">
          <p className="muted small" data-testid="import-read">
            {t("imp.read", { format: preview.format.toUpperCase(), encoding: preview.encoding || "—", delimiter: delimiterName(preview.delimiter, t) })}
          </p>
          {missing.length > 0 && (
            <div className="alert alert-error" role="alert" data-testid="import-missing">
              {t("imp.missing", { fields: missing.map((n) => label(entity, n)).join(", ") })}
            </div>
          )}
          {columns.some((c) => !c.field && unknown.has(c.header) && c.by !== "map") && (
            <div className="alert alert-warn" data-testid="import-unknown-note">{t("imp.unknownNote")}</div>
          )}
          <table className="list import-mapping">
            <thead><tr><th>{t("imp.column")}</th><th>{t("imp.field")}</th></tr></thead>
            <tbody>
              {columns.map((c) => {
                const isUnknown = !c.field && c.by !== "map";
                return (
                  <tr key={c.index} className={isUnknown ? "import-unknown" : undefined} data-testid="import-col" data-header={c.header}>
                    <td data-label={t("imp.column")}>{c.header || t("imp.noHeader", { n: c.index + 1 })}{isUnknown && <span className="tag">{t("imp.unknown")}</span>}</td>
                    <td data-label={t("imp.field")}>
                      <select value={c.field ?? ""} disabled={busy} data-testid={`import-map-${c.index}`} aria-label={t("imp.fieldFor", { column: c.header })}
                        onChange={(e) => choose(c.index, e.target.value)}>
                        <option value="">{t("imp.ignore")}</option>
                        {(preview.fields ?? []).map((f) => (
                          <option key={f.name} value={f.name}>{(f.label || f.name) + (f.required ? " *" : "")}</option>
                        ))}
                      </select>
                      {c.by && c.by !== "map" && <span className="muted small"> {t(("imp.by." + c.by) as MessageKey)}</span>}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <h3 className="panel-title">{t("imp.previewTitle", { n: preview.rows?.length ?? 0 })}</h3>
          <PreviewTable entity={entity} preview={preview} columns={columns} i18n={i18n} />
        </div>
      )}

      {step === "check" && (
        <div data-testid="import-check">
          <p>{t("imp.checkIntro")}</p>
          <button type="button" className="btn" disabled={busy || !!dryId} data-testid="import-dry" onClick={() => void start(true)}>
            {t("imp.checkAll")}
          </button>
          {dry && (dry.status === "queued" || dry.status === "running") && <Progress s={dry} />}
          {dry && dry.status === "done" && (
            dry.bad > 0 || (dry.errorCount ?? 0) > 0 ? (
              <div data-testid="import-dry-bad">
                <div className="alert alert-error" role="alert">{t("imp.dryBad", { bad: dry.bad || dry.errorCount || 0, rows: dry.rows })}</div>
                <Problems app={app.name} entity={entity.name} s={dry} />
              </div>
            ) : (
              <div className="alert alert-ok" role="status" data-testid="import-dry-ok">{t("imp.dryOk", { rows: dry.rows })}</div>
            )
          )}
          {dry && dry.status === "failed" && <div className="alert alert-error" role="alert" data-testid="import-dry-failed">{dry.message || t("imp.failed")}</div>}
        </div>
      )}

      {step === "run" && run && (
        <div data-testid="import-running">
          {run.status === "queued" || run.status === "running" ? <Progress s={run} /> : <Result app={app} entity={entity} s={run} />}
        </div>
      )}
    </Dialog>
  );
}

function label(entity: Entity, name: string): string {
  const f = entity.fields.find((x) => x.name === name);
  return f ? fieldLabel(f) : name;
}

function delimiterName(d: string | undefined, t: (k: MessageKey) => string): string {
  return d === "," ? t("imp.comma") : d === ";" ? t("imp.semicolon") : d === "\t" ? t("imp.tab") : d || "—";
}

function ImportError({ error }: { error: unknown }) {
  const { t } = useI18n();
  let text = errorText(error, t);
  if (error instanceof ApiError && error.code === "file_too_large") text = t("imp.tooLarge", { message: error.message });
  else if (error instanceof ApiError && (error.status === 415 || error.status === 422) && error.details.length === 0) text = t("imp.unreadable", { message: error.message });
  return (
    <div className="alert alert-error" role="alert" data-testid="import-error">
      <div>{text}</div>
      {error instanceof ApiError && error.details.length > 0 && (
        <ul className="alert-details">{error.details.map((d, i) => <li key={i}>{d.path && <code>{d.path}</code>} {d.message}</li>)}</ul>
      )}
    </div>
  );
}

// PreviewTable: the first rows as coerced, one column per mapped field;
// a cell with a problem is marked and says why.
function PreviewTable({ entity, preview, columns, i18n }: {
  entity: Entity; preview: Preview; columns: ColumnMap[]; i18n: ReturnType<typeof useI18n>;
}) {
  const { t } = i18n;
  const shown = columns.filter((c) => c.field);
  const problemAt = (ps: CellProblem[], c: ColumnMap) => ps.filter((p) => (p.column ? p.column === c.header : p.field === c.field));
  return (
    <div className="table-wrap">
      <table className="list import-preview" data-testid="import-preview">
        <thead>
          <tr>
            <th>{t("imp.row")}</th>
            {shown.map((c) => <th key={c.index}>{label(entity, c.field!)}<div className="muted small">{c.header}</div></th>)}
          </tr>
        </thead>
        <tbody>
          {(preview.rows ?? []).map((r) => {
            const ps = r.problems ?? [];
            const general = ps.filter((p) => !p.column && !p.field);
            return (
              <tr key={r.row} data-testid="import-preview-row" className={ps.length ? "import-bad-row" : undefined}>
                <td data-label={t("imp.row")}>{r.row}{general.length > 0 && <div className="field-error small" data-testid="import-row-problem">{general.map((p) => p.reason).join(" ")}</div>}</td>
                {shown.map((c) => {
                  const here = problemAt(ps, c);
                  const f = entity.fields.find((x) => x.name === c.field);
                  return (
                    <td key={c.index} data-label={label(entity, c.field!)} className={here.length ? "import-bad-cell" : undefined} data-testid={here.length ? "import-bad-cell" : undefined}
                      title={here.map((p) => p.reason).join(" ") || undefined}>
                      {here.length ? (
                        <>
                          <span className="mono">{here[0].value ?? ""}</span>
                          <div className="field-error small">{here.map((p) => p.reason).join(" ")}</div>
                        </>
                      ) : r.values ? displayValue(f, r.values[c.field!], i18n) : ""}
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function Progress({ s }: { s: ImportStatus }) {
  const { t } = useI18n();
  const left = secondsLeft(s);
  return (
    <div className="import-progress" data-testid="import-progress">
      {s.rows > 0 ? <progress max={s.rows} value={s.processed} aria-label={t("imp.progressLabel")} /> : <progress aria-label={t("imp.progressLabel")} />}
      <p className="small" data-testid="import-progress-text">
        {s.rows > 0 ? t("imp.progress", { processed: s.processed, rows: s.rows }) : t("imp.queued")}
        {s.rowsPerSecond ? " · " + t("imp.rate", { n: Math.round(s.rowsPerSecond) }) : ""}
        {left !== null ? " · " + t("imp.left", { time: durationText(left) }) : ""}
      </p>
    </div>
  );
}

function Problems({ app, entity, s }: { app: string; entity: string; s: ImportStatus }) {
  const { t } = useI18n();
  const [err, setErr] = useState<unknown>(null);
  const errs = s.errors ?? [];
  const total = s.errorCount ?? errs.length;
  return (
    <div data-testid="import-problems">
      {errs.length > 0 && (
        <div className="table-wrap">
          <table className="list">
            <thead><tr><th>{t("imp.row")}</th><th>{t("imp.column")}</th><th>{t("imp.value")}</th><th>{t("imp.reason")}</th></tr></thead>
            <tbody>
              {errs.map((p, i) => (
                <tr key={i} data-testid="import-problem">
                  <td data-label={t("imp.row")}>{p.row}</td><td data-label={t("imp.column")}>{p.column || "—"}</td>
                  <td data-label={t("imp.value")} className="mono">{p.value ?? ""}</td><td data-label={t("imp.reason")}>{p.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > errs.length && <p className="muted small">{t("imp.moreErrors", { n: total - errs.length })}</p>}
      <a className="btn btn-small" href={errorsCsvPath(app, entity, s.id)} data-testid="import-errors-csv"
        onClick={(e) => { e.preventDefault(); setErr(null); download(errorsCsvPath(app, entity, s.id), "errors.csv").catch(setErr); }}>
        {t("imp.errorsCsv")}
      </a>
      {err ? <p className="field-error">{errorText(err, t)}</p> : null}
    </div>
  );
}

function Result({ app, entity, s }: { app: AppDocument; entity: Entity; s: ImportStatus }) {
  const { t } = useI18n();
  const nothing = s.status === "failed" || (s.created + s.updated === 0 && (s.bad > 0 || (s.errorCount ?? 0) > 0));
  const dups = useMemo(() => s.duplicates ?? [], [s.duplicates]);
  return (
    <div data-testid="import-result">
      {nothing ? (
        <div className="alert alert-error" role="alert" data-testid="import-nothing">
          <div>{t("imp.nothingWritten", { bad: s.bad || s.errorCount || 0 })}</div>
          {s.message && <div className="small">{s.message}</div>}
        </div>
      ) : (
        <div className="alert alert-ok" role="status" data-testid="import-done">{t("imp.done")}</div>
      )}
      <dl className="import-counts" data-testid="import-counts">
        <div><dt>{t("imp.created")}</dt><dd data-testid="import-created">{s.created}</dd></div>
        <div><dt>{t("imp.updated")}</dt><dd data-testid="import-updated">{s.updated}</dd></div>
        <div><dt>{t("imp.skipped")}</dt><dd>{s.skipped}</dd></div>
        <div><dt>{t("imp.bad")}</dt><dd data-testid="import-bad">{s.bad}</dd></div>
      </dl>
      {(s.bad > 0 || (s.errors?.length ?? 0) > 0) && <Problems app={app.name} entity={entity.name} s={s} />}
      {dups.length > 0 && (
        <div data-testid="import-duplicates">
          <h3 className="panel-title">{t("imp.duplicates", { n: dups.length })}</h3>
          <ul>
            {dups.map((d, i) => (
              <li key={i} data-testid="import-duplicate">
                {t("imp.duplicateRow", { row: d.row, rule: d.rule })}{" "}
                {d.matches.map((id) => (
                  <a key={id} href={href({ name: "record", app: app.name, entity: entity.name, id })} className="mono">{id}</a>
                )).reduce<React.ReactNode[]>((acc, x, j) => (j ? [...acc, ", ", x] : [x]), [])}
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
