// ExpressionEditor: the formula and condition editor for people who are not
// programmers. Fields are offered by their label as one types (inserting
// the API name), helpers and operators are listed with a one-line
// description and an example, the server checks the text as it changes
// (POST …/expressions/check) and marks each problem where it is, and a
// sample record shows what the formula gives or whether the condition
// matches it (and how many records do).
//
// One component for every place the languages are typed: formula fields,
// validation rules, role conditions, list filters, automations (conditions,
// timer unless, schedule filters, calculated values) and dashboard filters.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { AppDocument, Field } from "../api";
import {
  checkExpression, FILTER_OPERATORS, FORMULA_FUNCTIONS, FORMULA_OPERATORS, labelIn, suggest, utf16Index, wordAt,
  type ExprMode, type ExprProblem, type ExprResult, type FnDoc, type Offer,
} from "../expr";
import { systemFields } from "../filter";
import { useI18n, type MessageKey } from "../i18n";
import { RefPicker } from "./RefPicker";
import "./expr.css";

export interface ExpressionEditorProps {
  value: string;
  onChange: (value: string) => void;
  mode: ExprMode;
  // The entity's fields, with their labels: offered as one types.
  fields: Field[];
  // With app and entity the editor checks the text on the server, offers
  // the fields of referenced records (ref.field) and previews on a sample.
  app?: AppDocument;
  entity?: string;
  // Filters: "list" (lists and saved views: ref.field allowed, checked
  // under the user's rules), "role" (role conditions: ref.field allowed,
  // the admin's rule over all fields) or "document" (rollup and list-view
  // filters: the entity's own fields only). Admins only for "role",
  // "document", formulas and draft.
  scope?: "list" | "document" | "role";
  // Check against the admin's saved draft (the designer), so fields not
  // published yet are known.
  draft?: boolean;
  // false: no server check (text the check endpoint cannot judge, such as
  // an automation's previous.FIELD or a dashboard's @parameters); fields,
  // helpers and ref fields are still offered, and the publish checks it.
  check?: boolean;
  // The formula field being edited (it may not read itself).
  field?: string;
  // A sample record to preview on; without it the editor lets one pick one.
  sampleId?: string;
  // Tells the screen whether the text is valid (undefined: not known yet).
  onValidity?: (ok: boolean | undefined) => void;
  rows?: number;
  placeholder?: string;
  label?: string;
  testId?: string;
  // The text box's own test id (default "<testId>-input"), for screens
  // that had a plain box before.
  inputTestId?: string;
  ariaLabel?: string;
  disabled?: boolean;
  // Compact (a table cell): no sample picker, no help lists; suggestions,
  // checks and problems as always.
  compact?: boolean;
  // false: the record's system fields (id, owner, created_at …) are not
  // offered (an assignment's score reads only the rule's statistics).
  system?: boolean;
}

const CHECK_DELAY_MS = 350;

export function ExpressionEditor(props: ExpressionEditorProps) {
  const { value, onChange, mode, fields, app, entity, scope, draft, field, onValidity, rows = 3, placeholder, label, disabled, check = true } = props;
  const testId = props.testId ?? "expr";
  const { t, lang } = useI18n();
  const id = useId();
  const area = useRef<HTMLTextAreaElement>(null);
  const [cursor, setCursor] = useState<number | null>(null);
  const [active, setActive] = useState(0);
  const [closed, setClosed] = useState(false);
  const [result, setResult] = useState<ExprResult | null>(null);
  const [checking, setChecking] = useState(false);
  const [unchecked, setUnchecked] = useState(false);
  const [picked, setPicked] = useState("");
  const sample = props.sampleId ?? picked;
  const pendingCaret = useRef<number | null>(null);

  const withSystem = props.system !== false;
  const ownFields = useMemo(() => (withSystem ? [...fields, ...systemFields().filter((s) => !fields.some((f) => f.name === s.name))] : fields), [fields, withSystem]);
  const entityDoc = app?.entities.find((e) => e.name === entity);
  const withRefs = mode === "formula" || scope !== "document";

  const offers = useMemo<Offer[]>(() => {
    const label = (f: Field) => (f.id?.startsWith("_") ? t(("sys." + f.name) as MessageKey) : labelIn(f, lang));
    const out: Offer[] = ownFields.map((f) => ({ insert: f.name, label: label(f), type: f.type, kind: "field" }));
    if (withRefs && app) {
      for (const f of fields) {
        const target = f.type === "ref" ? app.entities.find((e) => e.name === f.entity) : undefined;
        if (!target) continue;
        for (const tf of target.fields) {
          out.push({ insert: `${f.name}.${tf.name}`, label: `${labelIn(f, lang)} › ${labelIn(tf, lang)}`, type: tf.type, kind: "field" });
        }
      }
    }
    if (mode === "formula") {
      for (const d of FORMULA_FUNCTIONS) out.push({ insert: d.key + "(", label: d.sig, type: "", kind: "function" });
    }
    return out;
  }, [ownFields, fields, app, withRefs, mode, lang, t]);

  const typed = cursor === null ? null : wordAt(value, cursor);
  const list = typed && !closed ? suggest(offers, typed.word) : [];
  const open = list.length > 0;
  const sel = Math.min(active, Math.max(list.length - 1, 0));

  useEffect(() => {
    if (pendingCaret.current !== null && area.current) {
      area.current.focus();
      area.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
      setCursor(pendingCaret.current);
      pendingCaret.current = null;
    }
  }, [value]);

  // The server's check, a moment after the last change.
  useEffect(() => {
    if (!app || !entity || !value.trim() || !check) {
      setResult(null);
      setChecking(false);
      setUnchecked(false);
      onValidity?.(value.trim() ? undefined : true);
      return;
    }
    let live = true;
    setChecking(true);
    const timer = setTimeout(() => {
      checkExpression(app.name, {
        entity, mode, expr: value, scope: mode === "filter" ? scope : undefined, field: mode === "formula" ? field : undefined,
        draft: draft || undefined, recordId: sample || undefined, count: mode === "filter" || undefined,
      }).then((r) => {
        if (!live) return;
        setResult(r);
        setUnchecked(false);
        onValidity?.(r.ok);
      }, () => {
        // Not published yet, or offline: the text is kept, just not checked.
        if (!live) return;
        setResult(null);
        setUnchecked(true);
        onValidity?.(undefined);
      }).finally(() => live && setChecking(false));
    }, CHECK_DELAY_MS);
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // onValidity is the screen's callback; a new one each render must not re-check.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app?.name, entity, mode, value, scope, draft, field, sample, check]);

  const insert = (text: string, replaceFrom?: number) => {
    const el = area.current;
    const start = replaceFrom ?? el?.selectionStart ?? value.length;
    const end = el?.selectionEnd ?? cursor ?? value.length;
    const next = value.slice(0, start) + text + value.slice(replaceFrom !== undefined ? (cursor ?? end) : end);
    pendingCaret.current = start + text.length;
    setClosed(true);
    onChange(next);
  };

  const choose = (o: Offer) => {
    if (typed) insert(o.insert, typed.start);
  };

  const onKey = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open) return;
    if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive((sel + 1) % list.length);
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((sel - 1 + list.length) % list.length);
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      choose(list[sel]);
    } else if (e.key === "Escape") {
      e.preventDefault();
      setClosed(true);
    }
  };

  const problems = result && !result.ok ? result.problems : [];
  const listId = `${id}-suggest`;
  const statusId = `${id}-status`;
  const helpDocs: FnDoc[] = mode === "formula" ? [...FORMULA_FUNCTIONS, ...FORMULA_OPERATORS] : FILTER_OPERATORS;
  const [help, setHelp] = useState<"" | "fields" | "functions">("");

  return (
    <div className={"expr-editor" + (props.compact ? " expr-compact" : "")} data-testid={testId}>
      {label && <label className="field-label" htmlFor={`${id}-input`}>{label}</label>}
      <div className="expr-input">
        <textarea ref={area} id={`${id}-input`} className="mono" rows={rows} value={value} spellCheck={false} disabled={disabled}
          placeholder={placeholder ?? (mode === "formula" ? t("expr.placeholderFormula") : t("expr.placeholderFilter"))}
          data-testid={props.inputTestId ?? `${testId}-input`} aria-label={props.ariaLabel} role="combobox" aria-autocomplete="list" aria-expanded={open} aria-controls={listId}
          aria-activedescendant={open ? `${listId}-${sel}` : undefined} aria-invalid={problems.length > 0 || undefined}
          aria-describedby={statusId}
          onChange={(e) => {
            setClosed(false);
            setActive(0);
            setCursor(e.target.selectionStart);
            onChange(e.target.value);
          }}
          onSelect={(e) => setCursor((e.target as HTMLTextAreaElement).selectionStart)}
          onKeyDown={onKey}
          onBlur={() => setTimeout(() => setClosed(true), 150)} />
        {open && (
          <ul className="expr-suggest" role="listbox" id={listId} data-testid={`${testId}-suggest`}>
            {list.map((o, i) => (
              <li key={o.insert} id={`${listId}-${i}`} role="option" aria-selected={i === sel} className={i === sel ? "active" : undefined}
                data-testid={`${testId}-offer`} onMouseDown={(e) => { e.preventDefault(); choose(o); }}>
                <span>{o.label}</span>
                <code className="muted small">{o.kind === "function" ? t("expr.function") : o.insert}</code>
              </li>
            ))}
          </ul>
        )}
      </div>

      <div className="expr-status" id={statusId} aria-live="polite" data-testid={`${testId}-status`}>
        {checking && <span className="muted small">{t("expr.checking")}</span>}
        {!checking && unchecked && <span className="muted small">{t("expr.notChecked")}</span>}
        {!checking && result?.ok && <span className="expr-ok small" data-testid={`${testId}-ok`}>✓ {t("expr.valid")}</span>}
        {problems.length > 0 && (
          <ul className="expr-problems">
            {problems.map((p, i) => <ProblemLine key={i} text={value} p={p} testId={testId} />)}
          </ul>
        )}
        {result?.ok && result.preview && <Preview mode={mode} preview={result.preview} sample={!!sample} testId={testId} />}
      </div>

      {app && entityDoc && !props.sampleId && !props.compact && (
        <div className="expr-sample">
          <span className="muted small">{t("expr.sample")}</span>
          <RefPicker app={app} target={entityDoc} value={picked} onChange={setPicked} testId={`${testId}-sample`} />
        </div>
      )}

      {!props.compact && <div className="expr-help-tabs" role="group" aria-label={t("expr.help")}>
        <button type="button" className={"btn btn-ghost small" + (help === "fields" ? " btn-active" : "")} aria-expanded={help === "fields"}
          data-testid={`${testId}-help-fields`} onClick={() => setHelp(help === "fields" ? "" : "fields")}>{t("expr.fields")}</button>
        <button type="button" className={"btn btn-ghost small" + (help === "functions" ? " btn-active" : "")} aria-expanded={help === "functions"}
          data-testid={`${testId}-help-functions`} onClick={() => setHelp(help === "functions" ? "" : "functions")}>
          {mode === "formula" ? t("expr.functions") : t("expr.operators")}
        </button>
      </div>}
      {help === "fields" && !props.compact && (
        <ul className="expr-help" data-testid={`${testId}-fields`}>
          {offers.filter((o) => o.kind === "field").map((o) => (
            <li key={o.insert}>
              <button type="button" className="linklike" onClick={() => insert(o.insert)}>{o.label}</button>{" "}
              <code className="muted small">{o.insert}</code>
            </li>
          ))}
        </ul>
      )}
      {help === "functions" && !props.compact && (
        <ul className="expr-help" data-testid={`${testId}-functions`}>
          {helpDocs.map((d) => (
            <li key={d.key} data-testid={`${testId}-fn`}>
              <button type="button" className="linklike mono" onClick={() => insert(d.insert)}>{d.sig}</button>
              <span className="small"> — {t(`expr.fn.${d.key}` as MessageKey)}</span>
              <div className="muted small">{t("expr.example")} <code>{d.example}</code></div>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// problemText is a problem in the user's language; the server's own words
// follow for the codes that carry details only it knows.
export function problemKey(p: ExprProblem): MessageKey {
  switch (p.code) {
    case "unknown_field": case "unknown_function": case "syntax": case "self_reference": case "ref_depth":
    case "not_ref": case "dotted_name": case "forbidden": case "empty":
      return `expr.problem.${p.code}` as MessageKey;
  }
  return "expr.problem.filter";
}

function ProblemLine({ text, p, testId }: { text: string; p: ExprProblem; testId: string }) {
  const { t } = useI18n();
  const start = utf16Index(text, p.offset);
  const end = utf16Index(text, p.offset + p.length);
  const params = { field: String(p.params?.field ?? ""), function: String(p.params?.function ?? "") };
  const suggestion = p.params?.suggestion ? String(p.params.suggestion) : "";
  return (
    <li className="field-error" data-testid={`${testId}-problem`} data-offset={p.offset}>
      <span>{t(problemKey(p), params)}{suggestion && " " + t("expr.didYouMean", { name: suggestion })}</span>
      <code className="expr-mark" data-testid={`${testId}-mark`}>
        {text.slice(0, start)}<mark>{end > start ? text.slice(start, end) : " "}</mark>{text.slice(end)}
      </code>
      {!["unknown_field", "unknown_function", "self_reference", "empty"].includes(p.code) && <span className="muted small">{p.message}</span>}
    </li>
  );
}

function Preview({ mode, preview, sample, testId }: { mode: ExprMode; preview: NonNullable<ExprResult["preview"]>; sample: boolean; testId: string }) {
  const { t } = useI18n();
  if (preview.error) return <p className="muted small" data-testid={`${testId}-preview`}>{t("expr.previewFailed", { error: preview.error })}</p>;
  if (mode === "formula") {
    if (!sample) return null;
    const v = preview.value;
    const shown = v === null || v === undefined ? t("expr.empty") : typeof v === "string" ? v : JSON.stringify(v);
    return <p className="small" data-testid={`${testId}-preview`}>{t("expr.valueOn")} <strong>{shown}</strong></p>;
  }
  return (
    <p className="small" data-testid={`${testId}-preview`}>
      {sample && preview.matches !== undefined && <span>{preview.matches ? t("expr.matches") : t("expr.noMatch")} </span>}
      {preview.count !== undefined && <span>{t("expr.count", { count: preview.count })}</span>}
    </p>
  );
}
