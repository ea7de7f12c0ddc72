// An automation's run log (GET …/runs: when, record, variant, status, each
// action's outcome; pages by nextCursor, filtered by record), its dry run
// ("test on this record": POST …/test with the rule as edited, nothing is
// written or sent) and its A/B results (GET …/variants?goal=).
import { Fragment, useCallback, useEffect, useState } from "react";
import { api, ApiError, type AppDocument, type Entity, type ErrorDetail, type AutomationRun, type AutomationTestResult, type VariantsResult } from "../api";
import { ruleFields, type Automation } from "../designer/automations";
import type { DDoc } from "../designer/model";
import { displayValue } from "../fields";
import { filterableFields } from "../filter";
import { useI18n, type MessageKey } from "../i18n";
import { useNames } from "../names";
import { href } from "../router";
import { fieldName, withArticle } from "./AutomationsEditor";
import { ErrorBox } from "./common";
import { FilterBuilder } from "./FilterBuilder";
import { RefPicker } from "./RefPicker";

export function AutomationPanels({ panel, doc, a, stored, published, onProblems, onShowRule }: {
  panel: "runs" | "test" | "ab"; doc: DDoc; a: Automation; stored: boolean; published: boolean;
  onProblems?: (p: ErrorDetail[]) => void; onShowRule?: () => void;
}) {
  const { t } = useI18n();
  if (!stored) return <p className="muted" data-testid="auto-unpublished">{t("auto.afterPublish")}</p>;
  if (panel === "runs") return published ? <RunLog doc={doc} a={a} /> : <p className="muted" data-testid="auto-unpublished">{t("auto.runsAfterPublish")}</p>;
  if (panel === "test") return <DryRun doc={doc} a={a} onProblems={onProblems} onShowRule={onShowRule} />;
  return published ? <AbResults doc={doc} a={a} /> : <p className="muted" data-testid="auto-unpublished">{t("auto.runsAfterPublish")}</p>;
}

const app = (doc: DDoc) => doc as unknown as AppDocument;

function RunLog({ doc, a }: { doc: DDoc; a: Automation }) {
  const { t, dateTime } = useI18n();
  const [record, setRecord] = useState("");
  const [items, setItems] = useState<AutomationRun[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const target = doc.entities.find((e) => e.name === a.entity);
  const names = useNames(app(doc), items.map((r) => ({ kind: "ref" as const, entity: r.entity || a.entity, id: r.recordId })));

  const load = useCallback(async (from: string | null, rec: string) => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.automationRuns(doc.name, a.name, { limit: 50, cursor: from ?? undefined, record: rec || undefined });
      setItems((old) => (from ? [...old, ...(r.items ?? [])] : r.items ?? []));
      setCursor(r.nextCursor ?? null);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, [doc.name, a.name]);

  useEffect(() => {
    void load(null, record);
  }, [load, record]);

  return (
    <div className="auto-runs" data-testid="auto-runs">
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("auto.runs.record")}</span>
          <RefPicker app={app(doc)} target={target as never} value={record} onChange={setRecord} testId="auto-runs-record" />
        </label>
        <button type="button" className="btn btn-small" onClick={() => void load(null, record)} disabled={busy}>{t("auto.runs.refresh")}</button>
      </div>
      {error ? <ErrorBox error={error} onRetry={() => void load(null, record)} /> : null}
      {items.length === 0 && !busy && !error && <p className="muted" data-testid="auto-runs-empty">{t("auto.runs.none")}</p>}
      {items.length > 0 && (
        <div className="table-wrap">
          <table className="table auto-runs-table">
            <thead>
              <tr>
                <th>{t("auto.runs.when")}</th><th>{t("auto.runs.record")}</th><th>{t("auto.runs.variant")}</th>
                <th>{t("auto.runs.status")}</th><th>{t("auto.runs.actions")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((r) => {
                const expanded = open.has(r.id);
                const steps = r.steps ?? [];
                return (
                  <Fragment key={r.id}>
                    <tr data-testid="auto-run" className={"auto-run-" + r.status}>
                      <td>{dateTime(r.at)}</td>
                      <td><a href={href({ name: "record", app: doc.name, entity: r.entity || a.entity, id: r.recordId })} title={r.recordId}
                        data-testid="auto-run-record">{names({ kind: "ref", entity: r.entity || a.entity, id: r.recordId })}</a></td>
                      <td>{r.variant || "—"}</td>
                      <td><span className={"tag status-" + r.status} data-testid="auto-run-status">{statusText(t, r.status)}</span>
                        {r.message && <div className="muted small">{r.message}</div>}</td>
                      <td>
                        <button type="button" className="btn btn-small btn-ghost" aria-expanded={expanded} data-testid="auto-run-expand"
                          onClick={() => setOpen((s) => { const n = new Set(s); if (n.has(r.id)) n.delete(r.id); else n.add(r.id); return n; })}>
                          {steps.map((s) => <span key={s.index} className={"step-dot step-" + s.status} title={`${s.index + 1}. ${t(`auto.action.${s.type}` as MessageKey)}: ${statusText(t, s.status)}`} />)}
                          {" "}{t("auto.runs.steps", { n: steps.filter((s) => s.status === "succeeded").length, of: steps.length })}
                        </button>
                      </td>
                    </tr>
                    {expanded && (
                      <tr className="auto-run-detail" data-testid="auto-run-detail">
                        <td colSpan={5}>
                          <ol className="auto-steps">
                            {steps.map((s) => (
                              <li key={s.index}>
                                <strong>{t(`auto.action.${s.type}` as MessageKey)}</strong> — {statusText(t, s.status)}
                                {s.attempts ? <span className="muted small"> · {t("auto.runs.attempts", { n: s.attempts })}</span> : null}
                                {s.at ? <span className="muted small"> · {dateTime(s.at)}</span> : null}
                                {s.detail && <pre className="auto-detail small">{s.detail}</pre>}
                              </li>
                            ))}
                          </ol>
                          {r.finishedAt && <p className="muted small">{t("auto.runs.finished", { at: dateTime(r.finishedAt) })}</p>}
                          {r.depth ? <p className="muted small">{t("auto.runs.depth", { n: r.depth })}</p> : null}
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
      {cursor && (
        <button type="button" className="btn" data-testid="auto-runs-more" disabled={busy} onClick={() => void load(cursor, record)}>
          {t("auto.runs.more")}
        </button>
      )}
    </div>
  );
}

function statusText(t: (k: MessageKey) => string, s: string): string {
  const known = ["running", "succeeded", "failed", "stopped", "cancelled", "pending", "skipped"];
  return known.includes(s) ? t(`auto.status.${s}` as MessageKey) : s;
}

function DryRun({ doc, a, onProblems, onShowRule }: { doc: DDoc; a: Automation; onProblems?: (p: ErrorDetail[]) => void; onShowRule?: () => void }) {
  const { t, date, dateTime, lang } = useI18n();
  const [id, setId] = useState("");
  const [r, setR] = useState<AutomationTestResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const entityOf = (name: string | undefined) => doc.entities.find((e) => e.name === name);
  const target = entityOf(a.entity);
  const show = (entity: string | undefined, field: string, v: unknown) => {
    const f = ruleFields(entityOf(entity)).find((x) => x.name === field);
    return displayValue(f, v, { t, date, dateTime, lang });
  };
  const label = (entity: string | undefined, field: string) => {
    const f = ruleFields(entityOf(entity)).find((x) => x.name === field);
    return f ? fieldName(t as (k: MessageKey) => string, f) : field;
  };
  const run = async () => {
    setBusy(true);
    setError(null);
    setR(null);
    onProblems?.([]);
    try {
      setR(await api.testAutomation(doc.name, a.name, { id, automation: a }));
    } catch (e) {
      setError(e);
      // The rule as edited has problems (pointers /automation/…): marked at the rule's inputs too.
      if (e instanceof ApiError && e.status === 422) {
        const mine = e.details.filter((d) => d.path === "/automation" || d.path?.startsWith("/automation/"))
          .map((d) => ({ ...d, path: d.path.slice("/automation".length) }));
        if (mine.length) onProblems?.(mine);
      }
    } finally {
      setBusy(false);
    }
  };
  const actions = r?.actions ?? [];
  const acts = a.variants?.length ? a.variants.find((v) => v.name === r?.variant)?.actions ?? [] : a.actions ?? [];
  return (
    <div className="auto-test" data-testid="auto-test">
      <p className="muted small">{t("auto.test.hint")}</p>
      <RecordRun doc={doc} entity={target as Entity | undefined} label={t("auto.test.record", { entity: target?.label || a.entity })} id={id} onId={setId}
        busy={busy} onRun={() => void run()} text={busy ? t("auto.test.running") : t("auto.test.run")} testId="auto-test" />
      {error ? <ErrorBox error={error} testId="auto-test-error" /> : null}
      {error instanceof ApiError && error.status === 422 && error.details.some((d) => d.path?.startsWith("/automation/")) && (
        <button type="button" className="btn btn-small" data-testid="auto-test-show-rule" onClick={onShowRule}>{t("auto.test.showProblems")}</button>
      )}
      {r && (
        <div className="card auto-test-result" data-testid="auto-test-result">
          <div className="alert alert-ok" role="status" data-testid="auto-test-nothing">{t("auto.test.nothingChanged")}</div>
          {r.matched ? (
            <p data-testid="auto-test-matched"><strong>{t("auto.test.matched")}</strong>{r.variant ? " " + t("auto.test.variant", { name: r.variant }) : ""}</p>
          ) : (
            <p data-testid="auto-test-unmatched"><strong>{t("auto.test.notMatched")}</strong> {r.reason}</p>
          )}
          {actions.length > 0 && (
            <ol className="auto-effects">
              {actions.map((x) => {
                const def = acts[x.index];
                const e = x.effect ?? {};
                return (
                  <li key={x.index} data-testid="auto-test-action" className={x.ok ? "" : "has-error"}>
                    <strong>{t(`auto.action.${x.type}` as MessageKey)}</strong>{" "}
                    {!x.ok && <span className="field-error" data-testid="auto-test-action-error">{x.error || t("auto.test.failed")}</span>}
                    {e.changes && Object.keys(e.changes).length > 0 && (
                      <ul className="auto-changes" data-testid="auto-test-changes">
                        {Object.entries(e.changes).map(([k, v]) => <li key={k}>{label(a.entity, k)} → <strong>{show(a.entity, k, v)}</strong></li>)}
                      </ul>
                    )}
                    {e.record && (
                      <div data-testid="auto-test-create">
                        {(() => {
                          const name = entityOf(e.entity ?? def?.entity)?.label || e.entity || def?.entity || "";
                          return t("auto.test.wouldCreate", { entity: lang === "en" ? withArticle(name) : name });
                        })()}
                        <ul className="auto-changes">
                          {Object.entries(e.record).map(([k, v]) => <li key={k}>{label(e.entity ?? def?.entity, k)}: <strong>{show(e.entity ?? def?.entity, k, v)}</strong></li>)}
                        </ul>
                      </div>
                    )}
                    {e.users && (
                      <div data-testid="auto-test-notify">
                        <div>{t("auto.test.recipients", { n: e.users.length })} {e.users.map((u) => u.name || u.email || u.id).join(", ") || "—"}</div>
                        {e.message !== undefined && <blockquote className="auto-message">{e.message}</blockquote>}
                      </div>
                    )}
                    {e.url && (
                      <div data-testid="auto-test-webhook">
                        <div>{t("auto.test.post")} <code>{e.url}</code></div>
                        <pre className="auto-detail small">{JSON.stringify(e.body, null, 2)}</pre>
                      </div>
                    )}
                  </li>
                );
              })}
            </ol>
          )}
        </div>
      )}
    </div>
  );
}

function AbResults({ doc, a }: { doc: DDoc; a: Automation }) {
  return <VariantsReport doc={doc} entity={a.entity} load={(goal) => api.automationVariants(doc.name, a.name, goal)} />;
}

// VariantsReport: conversion to a goal filter by variant (automations and assignment rules alike).
export function VariantsReport({ doc, entity: entityName, load }: { doc: DDoc; entity: string; load: (goal: string) => Promise<VariantsResult> }) {
  const { t } = useI18n();
  const [goal, setGoal] = useState("");
  const [r, setR] = useState<VariantsResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const entity = doc.entities.find((e) => e.name === entityName);
  const ask = async (g: string) => {
    setGoal(g);
    setError(null);
    if (!g) {
      setR(null);
      return;
    }
    try {
      setR(await load(g));
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="auto-ab" data-testid="auto-ab-results">
      <span className="field-label">{t("auto.ab.goal")}</span>
      <p className="muted small">{t("auto.ab.goalHint")}</p>
      <FilterBuilder fields={filterableFields(entity?.fields ?? [])} app={app(doc)} onApply={(text) => void ask(text)} />
      {error ? <ErrorBox error={error} /> : null}
      {r && (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="auto-ab-table">
              <thead>
                <tr><th>{t("auto.ab.variant")}</th><th>{t("auto.weight")}</th><th>{t("auto.ab.records")}</th><th>{t("auto.ab.reached")}</th><th>{t("auto.ab.rate")}</th><th>{t("auto.ab.significance")}</th></tr>
              </thead>
              <tbody>
                {r.variants.map((v, i) => (
                  <tr key={v.name} data-testid="auto-ab-row">
                    <td>{v.name}</td><td>{v.weight}</td><td>{v.records}</td><td>{v.reached}</td>
                    <td>{(v.rate * 100).toFixed(1)}%</td>
                    <td>
                      {i === 0 ? <span className="muted small">{t("auto.ab.control")}</span> : (
                        <span className={"tag " + (v.significant ? "tag-ok" : "")} data-testid="auto-ab-badge">
                          {v.significant ? t("auto.ab.significant") : t("auto.ab.notYet")}
                          {v.p !== undefined && <span className="muted small"> p={v.p.toFixed(3)}</span>}
                        </span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="muted small" data-testid="auto-ab-test">{t("auto.ab.test", { test: r.test, alpha: r.alpha, goal: r.goal || goal })}</p>
        </>
      )}
    </div>
  );
}

// RecordRun: pick a record of the entity, then run something on it (the dry run, an assignment preview).
export function RecordRun({ doc, entity, label, id, onId, busy, onRun, text, testId }: {
  doc: DDoc; entity: Entity | undefined; label: string; id: string; onId: (id: string) => void; busy: boolean; onRun: () => void; text: string; testId: string;
}) {
  return (
    <div className="auto-row">
      <label className="field">
        <span className="field-label">{label}</span>
        <RefPicker app={app(doc)} target={entity} value={id} onChange={onId} testId={testId + "-record"} />
      </label>
      <button type="button" className="btn btn-primary" data-testid={testId + "-run"} disabled={!id || busy} onClick={onRun}>{text}</button>
    </div>
  );
}
