// The app's scripts (name → JavaScript source): a textarea over a highlighted
// copy of its text (tokenized spans, no library), and a Test run of a hook on
// a sample record through POST /api/meta/apps/{app}/scripts/test.
import { useRef, useState, type ReactNode } from "react";
import { api, type ScriptTestResult } from "../api";
import { NAME_RE, updateEntity, type DDoc } from "../designer/model";
import { useI18n } from "../i18n";
import { ErrorBox } from "./common";

const KEYWORDS = new Set([
  "function", "return", "if", "else", "for", "while", "do", "const", "let", "var", "new", "throw", "try", "catch", "finally",
  "true", "false", "null", "undefined", "typeof", "instanceof", "in", "of", "break", "continue", "switch", "case", "default", "this",
]);

const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|`(?:[^`\\]|\\[\s\S])*`?)|(\b\d+(?:\.\d+)?\b)|([A-Za-z_$][\w$]*)/g;

export type Token = { kind: "comment" | "string" | "number" | "keyword" | "plain"; text: string };

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let last = 0;
  for (const m of src.matchAll(TOKEN)) {
    const i = m.index ?? 0;
    if (i > last) out.push({ kind: "plain", text: src.slice(last, i) });
    const kind = m[1] ? "comment" : m[2] ? "string" : m[3] ? "number" : KEYWORDS.has(m[4]) ? "keyword" : "plain";
    out.push({ kind, text: m[0] });
    last = i + m[0].length;
  }
  if (last < src.length) out.push({ kind: "plain", text: src.slice(last) });
  return out;
}

function Highlighted({ src }: { src: string }): ReactNode {
  return tokenize(src).map((tk, i) => (tk.kind === "plain" ? tk.text : <span key={i} className={"tok-" + tk.kind}>{tk.text}</span>));
}

function logLine(l: unknown): string {
  if (typeof l === "string") return l;
  if (l && typeof l === "object" && "message" in l) {
    const o = l as { level?: string; message?: unknown };
    return (o.level ? `[${o.level}] ` : "") + String(o.message);
  }
  return JSON.stringify(l);
}

const HOOKS = ["beforeSave", "afterSave", "beforeDelete", "afterDelete"];

// functionsOf: "script#function" for every top-level-looking function declaration.
export function functionsOf(scripts: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [name, src] of Object.entries(scripts)) {
    for (const m of src.matchAll(/^\s*(?:async\s+)?function\s+([A-Za-z_$][\w$]*)/gm)) out.push(`${name}#${m[1]}`);
  }
  return out;
}

export function ScriptEditor({ app, doc, stored, onChange }: { app: string; doc: DDoc; stored: boolean; onChange: (d: DDoc) => void }) {
  const { t } = useI18n();
  const scripts = doc.scripts ?? {};
  const names = Object.keys(scripts);
  const [current, setCurrent] = useState<string | null>(names[0] ?? null);
  const [newName, setNewName] = useState("");
  const [nameError, setNameError] = useState<string | null>(null);
  const [entity, setEntity] = useState(doc.entities[0]?.name ?? "");
  const [hook, setHook] = useState("beforeSave");
  const [record, setRecord] = useState("{}");
  const [result, setResult] = useState<ScriptTestResult | null>(null);
  const [testError, setTestError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const overlay = useRef<HTMLPreElement>(null);
  const src = current !== null ? scripts[current] ?? "" : "";

  function setScripts(s: Record<string, string>) {
    const d: DDoc = { ...doc, scripts: s };
    if (Object.keys(s).length === 0) delete d.scripts;
    onChange(d);
  }

  function add() {
    const n = newName.trim();
    if (!NAME_RE.test(n)) return setNameError(t("design.nameRule"));
    if (n in scripts) return setNameError(t("design.nameTaken"));
    setScripts({ ...scripts, [n]: "function beforeSave(record, ctx) {\n}\n" });
    setCurrent(n);
    setNewName("");
    setNameError(null);
  }

  async function test() {
    setTestError(null);
    setResult(null);
    let rec: Record<string, unknown>;
    try {
      rec = JSON.parse(record) as Record<string, unknown>;
    } catch {
      setTestError(new Error(t("form.invalidJson")));
      return;
    }
    setBusy(true);
    try {
      setResult(await api.testScript(app, { entity, hook, record: rec }));
    } catch (e) {
      setTestError(e);
    } finally {
      setBusy(false);
    }
  }

  const err = result?.error;
  const ei = doc.entities.findIndex((e) => e.name === entity);
  const hooks = (ei >= 0 ? (doc.entities[ei].hooks as Record<string, string> | undefined) : undefined) ?? {};
  function bindHook(h: string, v: string) {
    const next: Record<string, string> = { ...hooks, [h]: v.trim() };
    if (!next[h]) delete next[h];
    onChange(updateEntity(doc, ei, { hooks: Object.keys(next).length ? next : undefined }));
  }
  return (
    <div className="scripts" data-testid="script-editor">
      <div className="scripts-head">
        <select value={current ?? ""} data-testid="script-select" aria-label={t("scripts.script")} onChange={(e) => setCurrent(e.target.value || null)}>
          {names.length === 0 && <option value="">{t("scripts.none")}</option>}
          {names.map((n) => <option key={n} value={n}>{n}</option>)}
        </select>
        <input className="mono" value={newName} placeholder={t("scripts.newName")} data-testid="script-new-name"
          onChange={(e) => { setNewName(e.target.value); setNameError(null); }} />
        <button type="button" className="btn btn-small" data-testid="script-add" onClick={add}>{t("scripts.add")}</button>
        {current !== null && (
          <button type="button" className="btn btn-small btn-danger" data-testid="script-delete" onClick={() => {
            const s = { ...scripts };
            delete s[current];
            setScripts(s);
            setCurrent(Object.keys(s)[0] ?? null);
          }}>{t("scripts.delete")}</button>
        )}
        {nameError && <span className="field-error">{nameError}</span>}
      </div>
      {current !== null && (
        <div className="code-editor">
          <pre ref={overlay} className="code-overlay mono" aria-hidden="true"><Highlighted src={src} />{"\n"}</pre>
          <textarea className="code-input mono" value={src} spellCheck={false} data-testid="script-source" aria-label={current}
            onScroll={(e) => { if (overlay.current) { overlay.current.scrollTop = e.currentTarget.scrollTop; overlay.current.scrollLeft = e.currentTarget.scrollLeft; } }}
            onKeyDown={(e) => {
              if (e.key === "Tab" && !e.shiftKey) {
                e.preventDefault();
                const el = e.currentTarget;
                const a = el.selectionStart, b = el.selectionEnd;
                setScripts({ ...scripts, [current]: src.slice(0, a) + "  " + src.slice(b) });
                requestAnimationFrame(() => el.setSelectionRange(a + 2, a + 2));
              }
            }}
            onChange={(e) => setScripts({ ...scripts, [current]: e.target.value })} />
        </div>
      )}
      <datalist id="forma-script-functions">
        {functionsOf(scripts).map((f) => <option key={f} value={f} />)}
      </datalist>
      <fieldset className="scripts-test">
        <legend className="field-label">{t("scripts.hooks")}</legend>
        <label className="field">
          <span className="field-label">{t("scripts.entity")}</span>
          <select value={entity} data-testid="script-hook-entity" onChange={(e) => setEntity(e.target.value)}>
            {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
          </select>
        </label>
        {ei >= 0 && (
          <div className="config-pair">
            {HOOKS.map((h) => (
              <label key={h} className="field">
                <span className="field-label mono">{h}</span>
                <input className="mono" list="forma-script-functions" value={hooks[h] ?? ""} placeholder="script#function"
                  data-testid={`entity-hook-${h}`} onChange={(e) => bindHook(h, e.target.value)} />
              </label>
            ))}
          </div>
        )}
        <span className="muted small">{t("scripts.hooksHint")}</span>
      </fieldset>
      <fieldset className="scripts-test">
        <legend className="field-label">{t("scripts.test")}</legend>
        {!stored && <p className="muted small">{t("scripts.publishFirst")}</p>}
        <p className="muted small">{t("scripts.testNote")}</p>
        <div className="config-pair">
          <label className="field">
            <span className="field-label">{t("scripts.entity")}</span>
            <select value={entity} data-testid="script-test-entity" onChange={(e) => setEntity(e.target.value)}>
              {doc.entities.map((e) => <option key={e.name} value={e.name}>{e.name}</option>)}
            </select>
          </label>
          <label className="field">
            <span className="field-label">{t("scripts.hook")}</span>
            <select value={hook} data-testid="script-test-hook" onChange={(e) => setHook(e.target.value)}>
              {HOOKS.map((h) => <option key={h} value={h}>{h}</option>)}
            </select>
          </label>
        </div>
        <label className="field">
          <span className="field-label">{t("scripts.record")}</span>
          <textarea className="mono" rows={4} value={record} data-testid="script-test-record" onChange={(e) => setRecord(e.target.value)} />
        </label>
        <button type="button" className="btn" data-testid="script-test" disabled={busy || !stored || !entity} onClick={() => void test()}>
          {t("scripts.run")}
        </button>
        {testError ? <ErrorBox error={testError} /> : null}
        {result && (
          <div className={"alert " + (result.ok ? "alert-ok" : "alert-error")} data-testid="script-test-result" data-ok={String(result.ok)}>
            <div>{result.ok ? t("scripts.ok") : t("scripts.failed")}</div>
            {err && <div data-testid="script-test-error">{typeof err === "string" ? err : err.message}{typeof err === "object" && err.script?.line ? ` (${t("scripts.line", { line: err.script.line })})` : ""}</div>}
            {result.result !== undefined && <div><strong>{t("scripts.result")}</strong> <code>{JSON.stringify(result.result)}</code></div>}
            {result.changes !== undefined && result.changes !== null && <div><strong>{t("scripts.changes")}</strong> <code>{JSON.stringify(result.changes)}</code></div>}
            {result.record && <div><strong>{t("scripts.recordOut")}</strong> <code>{JSON.stringify(result.record)}</code></div>}
            {(result.logs ?? []).length > 0 && (
              <pre className="script-logs mono" data-testid="script-test-logs">{result.logs!.map(logLine).join("\n")}</pre>
            )}
          </div>
        )}
      </fieldset>
    </div>
  );
}
