// The designer's Duplicates tab: the draft document's matching rules —
// per rule its entity, what a create that finds a probable duplicate does
// (warn or refuse) and its keys (fields, how values are normalised before
// comparing, with a sentence each, and for one text field a similarity
// threshold). Problems the server finds on publish show at the input their
// JSON pointer (/matching/i/…) names.
import { useEffect, useMemo, useState } from "react";
import type { ErrorDetail, MatchingRule, MatchKey } from "../api";
import { blankKey, blankMatching, canSimilar, cleanMatching, keyFields, matchingOf, NORMALIZERS, withMatching, type Normalizer } from "../designer/matching";
import { automationsWithProblems, problemsOf } from "../designer/automations";
import { NAME_RE, type DDoc } from "../designer/model";
import { useI18n, type MessageKey } from "../i18n";
import { problemText } from "../problems";
import { FieldProblems, type ProblemsAt } from "./AutomationsEditor";
import { Icon } from "./common";
import { DeleteDialog } from "./Dialog";
import "./imports.css";

const shownLabel = (m: MatchingRule, lang: string) => m.labels?.[lang] || m.label || m.name;

export function MatchingEditor({ doc, onChange, problems }: { doc: DDoc; onChange: (d: DDoc) => void; problems?: ErrorDetail[] }) {
  const { t, lang } = useI18n();
  const list = matchingOf(doc);
  const [sel, setSel] = useState(0);
  const [deleting, setDeleting] = useState<number | null>(null);
  const bad = useMemo(() => automationsWithProblems(problems ?? [], "matching"), [problems]);
  const mi = Math.min(sel, list.length - 1);
  const m = mi >= 0 ? list[mi] : undefined;
  useEffect(() => {
    const first = [...bad][0];
    if (first !== undefined) setSel(first);
  }, [bad]);
  const setList = (l: MatchingRule[]) => onChange(withMatching(doc, l));
  const setAt = (i: number, x: MatchingRule) => setList(list.map((y, j) => (j === i ? cleanMatching(x) : y)));

  return (
    <div className="auto-editor" data-testid="match-editor">
      <aside className="designer-col auto-list" aria-label={t("match.title")}>
        <h2 className="panel-title">{t("match.title")}</h2>
        <p className="muted small">{t("match.intro")}</p>
        {list.length === 0 && <p className="muted small" data-testid="match-none">{t("match.none")}</p>}
        <ul className="designer-list">
          {list.map((x, i) => (
            <li key={i}>
              <button type="button" className={"designer-item" + (i === mi ? " active" : "") + (bad.has(i) ? " has-error" : "")}
                aria-current={i === mi || undefined} data-testid={`match-item-${x.name}`} onClick={() => setSel(i)}>
                <span>{shownLabel(x, lang)}</span>
                <span className="muted small">{doc.entities.find((e) => e.name === x.entity)?.label || x.entity}</span>
              </button>
            </li>
          ))}
        </ul>
        <button type="button" className="btn btn-block" data-testid="match-add" disabled={doc.entities.length === 0}
          onClick={() => { setList([...list, cleanMatching(blankMatching(doc))]); setSel(list.length); }}>
          <Icon.plus /> {t("match.add")}
        </button>
      </aside>
      <div className="designer-col auto-main">
        {m ? (
          <RuleEditor key={mi} doc={doc} m={m} index={mi} problems={problemsOf(problems ?? [], mi, "matching")}
            onChange={(x) => setAt(mi, x)} onDelete={() => setDeleting(mi)} />
        ) : <p className="muted">{t("match.pickOrAdd")}</p>}
      </div>
      {deleting !== null && list[deleting] && (
        <DeleteDialog title={t("match.deleteTitle")} testId="match-delete-dialog" confirmTestId="match-delete-confirm" confirm={t("match.delete")}
          cancel={t("common.cancel")} text={t("match.deleteConfirm", { name: shownLabel(list[deleting], lang) })} onClose={() => setDeleting(null)}
          onConfirm={() => { setList(list.filter((_, j) => j !== deleting)); setSel(Math.max(0, deleting - 1)); setDeleting(null); }} />
      )}
    </div>
  );
}

function RuleEditor({ doc, m, index, problems, onChange, onDelete }: {
  doc: DDoc; m: MatchingRule; index: number; problems: ErrorDetail[]; onChange: (m: MatchingRule) => void; onDelete: () => void;
}) {
  const { t, lang } = useI18n();
  const entity = doc.entities.find((e) => e.name === m.entity);
  const fields = keyFields(entity);
  const label = (name: string) => {
    const f = entity?.fields.find((x) => x.name === name);
    return f ? f.label || f.name : name;
  };
  const at: ProblemsAt = (path, deep = false) => problems
    .filter((p) => p.path === path || (deep && p.path.startsWith(path + "/")))
    .map((p) => problemText(p, t, label));
  const placed = (p: string) => /^\/(name|label|entity|onCreate)$/.test(p) || /^\/keys\/\d+(\/(fields|normalize|similarity)(\/\d+)?)?$/.test(p);
  const loose = problems.filter((p) => !placed(p.path));
  const taken = matchingOf(doc).some((x, i) => i !== index && x.name === m.name);
  const set = (p: Partial<MatchingRule>) => onChange({ ...m, ...p });
  const setKey = (i: number, k: MatchKey) => set({ keys: m.keys.map((x, j) => (j === i ? k : x)) });

  return (
    <div className="auto-rule" data-testid="match-rule">
      <div className="auto-rule-head">
        <h2 className="panel-title">{shownLabel(m, lang)}</h2>
        <span className="row-actions">
          <button type="button" className="btn btn-small btn-ghost danger-text" data-testid="match-delete" onClick={onDelete}>{t("match.delete")}</button>
        </span>
      </div>
      {loose.length > 0 && (
        <div className="alert alert-error" role="alert" data-testid="match-problems">
          <ul className="alert-details">{loose.map((p, i) => <li key={i}><span className="mono small">{p.path || "/"}</span> {problemText(p, t, label)}</li>)}</ul>
        </div>
      )}
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("auto.label")}</span>
          <input value={m.label ?? ""} data-testid="match-label" onChange={(e) => set({ label: e.target.value })} />
          <FieldProblems msgs={at("/label")} />
        </label>
        <label className="field">
          <span className="field-label">{t("auto.name")}</span>
          <input className="mono" value={m.name} data-testid="match-name" spellCheck={false} autoCapitalize="off"
            aria-invalid={!NAME_RE.test(m.name) || taken || at("/name").length > 0 || undefined} onChange={(e) => set({ name: e.target.value })} />
          {!NAME_RE.test(m.name) && <span className="field-error">{t("design.nameRule")}</span>}
          {taken && <span className="field-error">{t("match.nameTaken")}</span>}
          <FieldProblems msgs={at("/name")} testId="match-problem-name" />
        </label>
      </div>
      <div className="auto-row">
        <label className="field">
          <span className="field-label">{t("auto.entity")}</span>
          <select value={m.entity} data-testid="match-entity" aria-invalid={at("/entity").length > 0 || undefined}
            onChange={(e) => set({ entity: e.target.value, keys: [blankKey(doc.entities.find((x) => x.name === e.target.value))] })}>
            {!entity && <option value={m.entity}>{m.entity || "—"}</option>}
            {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.label || e.name}</option>)}
          </select>
          <FieldProblems msgs={at("/entity")} testId="match-problem-entity" />
        </label>
        <label className="field">
          <span className="field-label">{t("match.onCreate")}</span>
          <select value={m.onCreate ?? "warn"} data-testid="match-oncreate" onChange={(e) => set({ onCreate: e.target.value as "warn" | "refuse" })}>
            <option value="warn">{t("match.onCreate.warn")}</option>
            <option value="refuse">{t("match.onCreate.refuse")}</option>
          </select>
          <span className="muted small">{t(m.onCreate === "refuse" ? "match.onCreate.refuseHint" : "match.onCreate.warnHint")}</span>
          <FieldProblems msgs={at("/onCreate")} testId="match-problem-oncreate" />
        </label>
      </div>
      <section className="auto-section" data-testid="match-keys">
        <h3 className="panel-title">{t("match.keys")}</h3>
        <p className="muted small">{t("match.keysHint")}</p>
        <FieldProblems msgs={at("/keys")} testId="match-problem-keys" />
        {m.keys.map((k, i) => (
          <div key={i} className="card match-key" data-testid={`match-key-${i}`}>
            <div className="match-key-head">
              <strong>{t("match.key", { n: i + 1 })}</strong>
              {m.keys.length > 1 && (
                <button type="button" className="btn btn-small btn-ghost danger-text" data-testid={`match-key-${i}-remove`}
                  onClick={() => set({ keys: m.keys.filter((_, j) => j !== i) })}>{t("match.removeKey")}</button>
              )}
            </div>
            <fieldset className="checks" aria-invalid={at(`/keys/${i}/fields`, true).length > 0 || undefined}>
              <legend className="field-label">{t("match.fields")}</legend>
              {fields.map((f) => (
                <label key={f.name} className="check">
                  <input type="checkbox" checked={k.fields.includes(f.name)} data-testid={`match-key-${i}-field-${f.name}`}
                    onChange={(e) => {
                      const names = e.target.checked ? fields.map((x) => x.name).filter((n) => n === f.name || k.fields.includes(n)) : k.fields.filter((n) => n !== f.name);
                      setKey(i, { ...k, fields: names });
                    }} />
                  {f.label || f.name}
                </label>
              ))}
              {fields.length === 0 && <span className="muted small">{t("match.noFields")}</span>}
              <FieldProblems msgs={at(`/keys/${i}/fields`, true)} testId={`match-problem-key-${i}-fields`} />
            </fieldset>
            <label className="field">
              <span className="field-label">{t("match.normalize")}</span>
              <select value={k.normalize ?? "text"} data-testid={`match-key-${i}-normalize`}
                onChange={(e) => setKey(i, { ...k, normalize: e.target.value as Normalizer })}>
                {NORMALIZERS.map((n) => <option key={n} value={n}>{t(`match.norm.${n}` as MessageKey)}</option>)}
              </select>
              <span className="muted small" data-testid={`match-key-${i}-explain`}>{t(`match.norm.${k.normalize ?? "text"}Hint` as MessageKey)}</span>
              <FieldProblems msgs={at(`/keys/${i}/normalize`)} testId={`match-problem-key-${i}-normalize`} />
            </label>
            {canSimilar(k) ? (
              <div className="field">
                <label className="check">
                  <input type="checkbox" checked={!!k.similarity} data-testid={`match-key-${i}-similar`}
                    onChange={(e) => setKey(i, { ...k, similarity: e.target.checked ? 0.85 : undefined })} />
                  <span>{t("match.similar")}</span>
                </label>
                {!!k.similarity && (
                  <label className="match-slider">
                    <input type="range" min={0.5} max={0.99} step={0.01} value={k.similarity} data-testid={`match-key-${i}-similarity`}
                      aria-label={t("match.similarity")} onChange={(e) => setKey(i, { ...k, similarity: Number(e.target.value) })} />
                    <span className="mono">{Math.round(k.similarity * 100)}%</span>
                  </label>
                )}
                <span className="muted small">{t("match.similarHint")}</span>
              </div>
            ) : null}
            <FieldProblems msgs={at(`/keys/${i}/similarity`)} testId={`match-problem-key-${i}-similarity`} />
          </div>
        ))}
        <button type="button" className="btn btn-small" data-testid="match-add-key" onClick={() => set({ keys: [...m.keys, blankKey(entity)] })}>
          <Icon.plus /> {t("match.addKey")}
        </button>
      </section>
    </div>
  );
}
