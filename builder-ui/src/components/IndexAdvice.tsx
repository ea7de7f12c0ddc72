// The list view designer's index panel: the index advisor's proposals for
// this entity (shapes of slow lists, each with the index that would serve
// it, applied in one click as a new app version), and a warning for text
// columns people can sort by at run time that no index starts with, when
// the table is large.
import { useEffect, useState } from "react";
import { api, type Field, type IndexAdvice } from "../api";
import { useI18n, type I18n } from "../i18n";

// LARGE_TABLE is where sorting without an index starts to show: a sort of
// tens of thousands of rows on every page costs tens of milliseconds.
export const LARGE_TABLE = 10_000;

const TEXT_TYPES = new Set(["text", "longtext", "email", "phone", "url", "select"]);

// unindexedTextSorts are the shown text columns that neither a declared
// index nor the view's own sort (which indexes itself) starts with.
export function unindexedTextSorts(fields: Field[], columns: string[], indexes: { fields: string[] }[], sort?: string): string[] {
  const led = new Set<string>();
  for (const ix of indexes) if (ix.fields.length) led.add(ix.fields[0].replace(/^-/, ""));
  const primary = (sort ?? "").split(",")[0]?.trim().replace(/^[-+]/, "");
  if (primary) led.add(primary);
  return columns.filter((c) => {
    const f = fields.find((x) => x.name === c);
    return f && TEXT_TYPES.has(f.type) && !led.has(c);
  });
}

// effectText words what EXPLAIN says the index changes, in the UI's
// language (the server's own sentence, effect.expect, is English).
export function effectText(t: I18n["t"], a: IndexAdvice): string {
  const e = a.effect;
  const n = e.matches.toLocaleString();
  if (e.measured === "explain") {
    if (e.sorts && !e.sortsWith) return t("listView.effectGone", { n });
    if (e.sortsWith) return t("listView.effectStillSorts");
    return t("listView.effectInOrder");
  }
  return e.sorts ? t("listView.effectEstimated", { n }) : t("listView.effectInOrder");
}

export function IndexPanel({ app, entity, fields, columns, indexes, sort, canApply, onApplied }: {
  app: string; entity: string; fields: Field[]; columns: string[]; indexes: { fields: string[] }[]; sort?: string;
  canApply: boolean; onApplied: () => void;
}) {
  const { t } = useI18n();
  const [advice, setAdvice] = useState<IndexAdvice[]>([]);
  const [rows, setRows] = useState<number | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    // Both are best effort: an unpublished entity has no table yet, and
    // advice is the admin's.
    api.advice(app).then((r) => live && setAdvice(r.items.filter((a) => a.entity === entity)), () => live && setAdvice([]));
    api.list(app, entity, { limit: 1, count: "estimate" }).then((r) => live && setRows(r.count ?? null), () => live && setRows(null));
    return () => { live = false; };
  }, [app, entity]);

  const warn = rows !== null && rows >= LARGE_TABLE ? unindexedTextSorts(fields, columns, indexes, sort) : [];

  async function apply(id: string) {
    setBusy(id);
    setError(null);
    try {
      await api.applyAdvice(app, id);
      onApplied();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  }

  if (advice.length === 0 && warn.length === 0) return null;
  return (
    <div className="index-panel" data-testid="index-panel">
      <h2 className="panel-title">{t("listView.indexes")}</h2>
      {warn.map((c) => (
        <div key={c} className="alert alert-warn small" role="status" data-testid={`index-warn-${c}`}>
          {t("listView.unindexedSort", { field: c, n: rows ?? 0 })}
        </div>
      ))}
      {error && <div className="alert alert-error small" role="alert" data-testid="advice-error">{error}</div>}
      {advice.length > 0 && (
        <ul className="advice-list" data-testid="advice-list">
          {advice.map((a) => (
            <li key={a.id} data-testid={`advice-${a.id}`}>
              <div className="mono small">{a.filter || t("listView.noFilter")} · {a.sort}</div>
              <div className="muted small">
                {t("listView.adviceSeen", { times: a.count, ms: Math.round(a.totalMs) })}
                {!a.exists && <> — <span data-testid={`advice-effect-${a.id}`}>{effectText(t, a)}</span></>}
              </div>
              {!a.exists && a.effect.measured === "explain" && (
                <details className="small" data-testid={`advice-plans-${a.id}`}>
                  <summary>
                    {t("listView.effectPlans")}
                    {a.effect.costNow && a.effect.costWith
                      ? ` · ${t("listView.effectCost", { now: a.effect.costNow.toFixed(0), with: a.effect.costWith.toFixed(0) })}`
                      : ""}
                  </summary>
                  <div className="muted">{t("listView.effectNow")}</div>
                  <pre className="mono">{a.effect.now.join("\n")}</pre>
                  <div className="muted">{t("listView.effectWith")}</div>
                  <pre className="mono">{(a.effect.with ?? []).join("\n")}</pre>
                </details>
              )}
              <div className="small">
                {t("listView.adviceIndex")} <code>{a.index.fields.join(", ")}</code>{" "}
                {a.exists ? (
                  <span className="tag" data-testid={`advice-exists-${a.id}`}>{t("listView.adviceExists")}</span>
                ) : (
                  <button type="button" className="btn btn-small" data-testid={`advice-apply-${a.id}`}
                    disabled={!canApply || busy !== null} title={canApply ? undefined : t("listView.adviceSaveFirst")}
                    onClick={() => void apply(a.id)}>
                    {t("listView.adviceApply")}
                  </button>
                )}
              </div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
