// Duplicates ("one customer, one id"): the page of probable duplicate
// groups of an entity with matching rules, the notice on a record that has
// some (GET …/{id}/duplicates, and the _duplicates a create answered), and
// the merge dialog — pick the survivor, then per differing field which
// value it keeps, side by side — POST …/{survivor}/merge.
import { useCallback, useEffect, useMemo, useState } from "react";
import { ApiError, type AppDocument, type DataRecord, type Entity, type Field, type MatchingRule } from "../api";
import { displayValue, entityLabel, fieldLabel, isComputed } from "../fields";
import { useI18n } from "../i18n";
import { problemText } from "../problems";
import { duplicateGroups, mergeRecords, recordDuplicates, createdDuplicates, type DuplicateGroup, type DuplicateMatch } from "../imports";
import { href, listHref } from "../router";
import { listColumns } from "./ListView";
import { Dialog } from "./Dialog";
import { ErrorBox, errorText, Loading } from "./common";
import "./imports.css";

export function rulesOf(app: AppDocument, entity: string): MatchingRule[] {
  return (app.matching ?? []).filter((m) => m.entity === entity);
}

function ruleLabel(app: AppDocument, name: string, lang: string): string {
  const r = (app.matching ?? []).find((m) => m.name === name);
  return r ? r.labels?.[lang] || r.label || r.name : name;
}

function label(entity: Entity, name: string, lang?: string): string {
  const f = entity.fields.find((x) => x.name === name);
  return f ? fieldLabel(f, lang) : name;
}

// recordTitle: the record's first text field, else its id.
function recordTitle(entity: Entity, r: DataRecord): string {
  const f = entity.fields.find((x) => (x.type === "text" || x.type === "email" || x.type === "phone") && typeof r[x.name] === "string" && r[x.name]);
  return f ? String(r[f.name]) : r.id;
}

export function DuplicatesPage({ app, entity }: { app: AppDocument; entity: Entity }) {
  const { t, lang } = useI18n();
  const i18n = useI18n();
  const rules = rulesOf(app, entity.name);
  const [rule, setRule] = useState("");
  const [groups, setGroups] = useState<DuplicateGroup[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [merging, setMerging] = useState<DataRecord[] | null>(null);
  const [merged, setMerged] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const cols = useMemo(() => listColumns(entity, t, undefined, lang).filter((c) => c.field).slice(0, 5), [entity, t, lang]);

  useEffect(() => {
    let live = true;
    setError(null);
    duplicateGroups(app.name, entity.name, { rule: rule || undefined, limit: 100 }).then(
      (r) => live && setGroups(r.items ?? []), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [app.name, entity.name, rule, attempt]);

  return (
    <section className="page" data-testid="duplicates-page">
      <div className="page-head">
        <h1>{t("dup.pageTitle", { entity: entityLabel(entity, lang) })}</h1>
        <div className="page-actions">
          <a className="btn btn-ghost" href={listHref(app.name, entity.name)}>{t("form.backToList")}</a>
        </div>
      </div>
      {rules.length === 0 && <p className="muted" data-testid="dup-no-rules">{t("dup.noRules")}</p>}
      {rules.length > 1 && (
        <label className="inline-field">
          <span className="small muted">{t("dup.rule")}</span>
          <select value={rule} data-testid="dup-rule" onChange={(e) => setRule(e.target.value)}>
            <option value="">{t("dup.allRules")}</option>
            {rules.map((r) => <option key={r.name} value={r.name}>{ruleLabel(app, r.name, lang)}</option>)}
          </select>
        </label>
      )}
      {merged && <div className="alert alert-ok" role="status" data-testid="dup-merged">{t("dup.merged")}</div>}
      {error ? <ErrorBox error={error} onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!groups && !error && <Loading />}
      {groups && groups.length === 0 && <p className="muted" data-testid="dup-none">{t("dup.none")}</p>}
      {groups?.map((g, gi) => (
        <div key={gi} className="card dup-group" data-testid="dup-group">
          <div className="dup-group-head">
            <strong>{t("dup.groupOf", { n: g.records.length, rule: ruleLabel(app, g.rule, lang) })}</strong>
            <button type="button" className="btn btn-small btn-primary" data-testid="dup-merge" onClick={() => { setMerged(false); setMerging(g.records); }}>
              {t("dup.merge")}
            </button>
          </div>
          <div className="table-wrap">
            <table className="list">
              <thead><tr>{cols.map((c) => <th key={c.name}>{c.label}</th>)}</tr></thead>
              <tbody>
                {g.records.map((r) => (
                  <tr key={r.id}>
                    {cols.map((c, i) => (
                      <td key={c.name} data-label={c.label}>
                        {i === 0 ? <a href={href({ name: "record", app: app.name, entity: entity.name, id: r.id })}>{displayValue(c.field, r[c.name], i18n)}</a>
                          : displayValue(c.field, r[c.name], i18n)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
      {merging && (
        <MergeDialog app={app} entity={entity} records={merging} onClose={() => setMerging(null)}
          onMerged={() => { setMerging(null); setMerged(true); setAttempt((a) => a + 1); }}
          onReload={() => { setMerging(null); setAttempt((a) => a + 1); }} />
      )}
    </section>
  );
}

// DuplicatesNotice: on a record page, the records it probably duplicates.
export function DuplicatesNotice({ app, entity, record, onMerged }: {
  app: AppDocument; entity: Entity; record: DataRecord; onMerged: (survivor: DataRecord) => void;
}) {
  const { t, lang } = useI18n();
  const has = rulesOf(app, entity.name).length > 0;
  const [fromCreate] = useState(() => createdDuplicates(record.id));
  const [found, setFound] = useState<DuplicateMatch[]>([]);
  const [merging, setMerging] = useState<DataRecord | null>(null);
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    if (!has) return;
    let live = true;
    recordDuplicates(app.name, entity.name, record.id).then((r) => live && setFound(r.items ?? []), () => undefined);
    return () => {
      live = false;
    };
  }, [app.name, entity.name, record.id, has, attempt]);
  const extra = fromCreate.filter((d) => !found.some((f) => f.record.id === d.id));
  if (found.length === 0 && extra.length === 0) return null;
  return (
    <div className="alert alert-warn dup-notice" role="status" data-testid="dup-notice">
      <div><strong>{t("dup.possible")}</strong></div>
      <ul>
        {found.map((m) => (
          <li key={m.record.id} data-testid="dup-match">
            <a href={href({ name: "record", app: app.name, entity: entity.name, id: m.record.id })}>{recordTitle(entity, m.record)}</a>
            <span className="muted small"> · {ruleLabel(app, m.rule, lang)}{typeof m.score === "number" && m.score < 1 ? ` · ${Math.round(m.score * 100)}%` : ""}</span>{" "}
            <button type="button" className="btn btn-small" data-testid="dup-notice-merge" onClick={() => setMerging(m.record)}>{t("dup.merge")}</button>
          </li>
        ))}
        {extra.map((d) => (
          <li key={d.id} data-testid="dup-match">
            <a href={href({ name: "record", app: app.name, entity: entity.name, id: d.id })} className="mono">{d.id}</a>
            <span className="muted small"> · {ruleLabel(app, d.rule, lang)}</span>
          </li>
        ))}
      </ul>
      {merging && (
        <MergeDialog app={app} entity={entity} records={[record, merging]} onClose={() => setMerging(null)}
          onMerged={(r) => { setMerging(null); setAttempt((a) => a + 1); onMerged(r); }}
          onReload={() => { setMerging(null); setAttempt((a) => a + 1); onMerged(record); }} />
      )}
    </div>
  );
}

// mergeableFields: the fields a merge chooses between (stored, not computed).
export function mergeableFields(entity: Entity): Field[] {
  return entity.fields.filter((f) => !isComputed(f) && f.type !== "autonumber");
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const empty = (v: unknown) => v === null || v === undefined || v === "" || (Array.isArray(v) && v.length === 0);

// defaultChoices: the survivor's value, unless it is empty and the duplicate's is not.
export function defaultChoices(fields: Field[], survivor: DataRecord, duplicate: DataRecord): Record<string, "survivor" | "duplicate"> {
  const out: Record<string, "survivor" | "duplicate"> = {};
  for (const f of fields) {
    if (same(survivor[f.name], duplicate[f.name])) continue;
    out[f.name] = empty(survivor[f.name]) && !empty(duplicate[f.name]) ? "duplicate" : "survivor";
  }
  return out;
}

export function MergeDialog({ app, entity, records, onClose, onMerged, onReload }: {
  app: AppDocument; entity: Entity; records: DataRecord[]; onClose: () => void; onMerged: (survivor: DataRecord) => void; onReload: () => void;
}) {
  const i18n = useI18n();
  const { t } = i18n;
  const [survivorId, setSurvivorId] = useState(records[0]?.id ?? "");
  const [duplicateId, setDuplicateId] = useState(records[1]?.id ?? "");
  const [step, setStep] = useState<"pick" | "fields">("pick");
  const [choices, setChoices] = useState<Record<string, "survivor" | "duplicate">>({});
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const survivor = records.find((r) => r.id === survivorId);
  const duplicate = records.find((r) => r.id === duplicateId && r.id !== survivorId);
  const fields = mergeableFields(entity).filter((f) => survivor && duplicate && (f.name in survivor || f.name in duplicate));
  const differing = fields.filter((f) => survivor && duplicate && !same(survivor[f.name], duplicate[f.name]));

  const next = useCallback(() => {
    if (!survivor || !duplicate) return;
    setChoices(defaultChoices(fields, survivor, duplicate));
    setStep("fields");
  }, [survivor, duplicate, fields]);

  const confirm = async () => {
    if (!survivor || !duplicate) return;
    setBusy(true);
    setError(null);
    try {
      const body = { duplicate: duplicate.id, fields: choices, version: typeof survivor.version === "number" ? survivor.version : undefined };
      const r = await mergeRecords(app.name, entity.name, survivor.id, body);
      onMerged(r.record);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const stale = error instanceof ApiError && error.status === 409;
  const others = records.filter((r) => r.id !== survivorId);
  return (
    <Dialog title={t("dup.mergeTitle")} testId="merge-dialog" wide onClose={onClose}
      footer={<>
        {step === "fields" && <button type="button" className="btn" onClick={() => setStep("pick")}>{t("imp.back")}</button>}
        <button type="button" className="btn" onClick={onClose}>{t("common.cancel")}</button>
        {step === "pick" ? (
          <button type="button" className="btn btn-primary" data-testid="merge-next" disabled={!survivor || !duplicate} onClick={next}>{t("imp.next")}</button>
        ) : (
          <button type="button" className="btn btn-danger" data-testid="merge-confirm" disabled={busy || stale} onClick={() => void confirm()}>
            {busy ? t("dup.merging") : t("dup.mergeConfirm")}
          </button>
        )}
      </>}>
      {step === "pick" ? (
        <div data-testid="merge-pick">
          <fieldset className="checks">
            <legend className="field-label">{t("dup.survivor")}</legend>
            {records.map((r) => (
              <label key={r.id} className="check">
                <input type="radio" name="survivor" value={r.id} checked={survivorId === r.id} data-testid={`merge-survivor-${r.id}`}
                  onChange={() => { setSurvivorId(r.id); if (duplicateId === r.id) setDuplicateId(records.find((x) => x.id !== r.id)?.id ?? ""); }} />
                {recordTitle(entity, r)} <span className="muted small mono">{r.id}</span>
              </label>
            ))}
          </fieldset>
          {others.length > 1 && (
            <fieldset className="checks">
              <legend className="field-label">{t("dup.duplicate")}</legend>
              {others.map((r) => (
                <label key={r.id} className="check">
                  <input type="radio" name="duplicate" value={r.id} checked={duplicateId === r.id} data-testid={`merge-duplicate-${r.id}`}
                    onChange={() => setDuplicateId(r.id)} />
                  {recordTitle(entity, r)} <span className="muted small mono">{r.id}</span>
                </label>
              ))}
            </fieldset>
          )}
          <p className="muted small">{t("dup.pickHint")}</p>
        </div>
      ) : survivor && duplicate ? (
        <div data-testid="merge-fields">
          {differing.length === 0 ? <p className="muted">{t("dup.noDifferences")}</p> : (
            <div className="table-wrap">
              <table className="list merge-table">
                <thead>
                  <tr><th>{t("imp.field")}</th><th>{t("dup.keepSurvivor")}</th><th>{t("dup.keepDuplicate")}</th></tr>
                </thead>
                <tbody>
                  {differing.map((f) => (
                    <tr key={f.name} data-testid={`merge-field-${f.name}`}>
                      <td data-label={t("imp.field")}>{fieldLabel(f, i18n.lang)}</td>
                      {(["survivor", "duplicate"] as const).map((side) => (
                        <td key={side} data-label={t(side === "survivor" ? "dup.keepSurvivor" : "dup.keepDuplicate")} className={choices[f.name] === side ? "merge-chosen" : undefined}>
                          <label className="check">
                            <input type="radio" name={"merge-" + f.name} checked={choices[f.name] === side}
                              data-testid={`merge-${f.name}-${side}`} onChange={() => setChoices({ ...choices, [f.name]: side })} />
                            {displayValue(f, (side === "survivor" ? survivor : duplicate)[f.name], i18n)}
                          </label>
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <p className="muted small" data-testid="merge-warning">{t("dup.mergeWarning", { duplicate: recordTitle(entity, duplicate), survivor: recordTitle(entity, survivor) })}</p>
          {error ? (
            <div className="alert alert-error" role="alert" data-testid="merge-error">
              <div>{stale ? t("dup.stale") : errorText(error, t)}</div>
              {!stale && error instanceof ApiError && error.details.length > 0 && (
                <ul className="alert-details">{error.details.map((d, i) => <li key={i}>{problemText(d, t, (n) => label(entity, n, i18n.lang))}</li>)}</ul>
              )}
              {stale && <button type="button" className="btn btn-small" data-testid="merge-reload" onClick={onReload}>{t("form.reload")}</button>}
            </div>
          ) : null}
        </div>
      ) : null}
    </Dialog>
  );
}
