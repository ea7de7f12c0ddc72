// The template gallery: the server's templates (GET /api/meta/templates),
// a card each with its picture, label and description in the UI language,
// and an install dialog (sample data, or an upgrade of the installed app)
// that posts POST /api/meta/templates/{name}/install and opens the app.
import { useEffect, useId, useState, type FormEvent } from "react";
import { api, ApiError, type TemplateInfo, type TemplateInstall } from "../api";
import { NAME_RE } from "../designer/model";
import { useI18n, type I18n, type MessageKey } from "../i18n";
import { problemText, type Problem } from "../problems";
import { navigate, type Route } from "../router";
import { ErrorBox, errorText, Icon, Loading } from "../components/common";
import { Dialog } from "../components/Dialog";

// What the API takes (larger sample sets are the CLI's: forma template install --sample N).
export const SAMPLE_DEFAULT = 1000;
export const SAMPLE_MIN = 100;
export const SAMPLE_MAX = 20000;

// inLang picks a template's text in the UI language, else English, else any.
export function inLang(m: Record<string, string> | undefined, lang: string): string {
  if (!m) return "";
  return m[lang] || m.en || Object.values(m)[0] || "";
}

// The install answers' codes in the user's words; others as every screen words them.
const INSTALL_CODES = ["app_exists", "template_not_found", "invalid_value", "invalid_json", "migration_refused", "migration_failed",
  "validation_failed", "version_conflict", "sample_failed"] as const;
// The answers whose details say what (which value, which check) are listed under the wording.
const DETAILED = ["invalid_value", "invalid_json", "migration_refused", "validation_failed"];

// installedApp is the app a failed install still installed (its sample data
// failed: the app is there, without the rows), or null.
function installedApp(err: unknown): string | null {
  if (!(err instanceof ApiError) || err.code !== "sample_failed") return null;
  const app = (err.details as Problem[]).find((d) => typeof d.params?.app === "string")?.params?.app;
  return typeof app === "string" ? app : null;
}

export function installErrorText(err: unknown, t: I18n["t"]): string {
  if (err instanceof ApiError && (INSTALL_CODES as readonly string[]).includes(err.code)) {
    return t(`gallery.error.${err.code}` as MessageKey, { message: err.message });
  }
  return errorText(err, t);
}

// The gallery's list of templates; onBlank (first start only) adds the
// "start blank" card before them.
export function TemplateGallery({ taken, onBlank }: { taken: string[]; onBlank?: () => void }) {
  const { t } = useI18n();
  const [items, setItems] = useState<TemplateInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [chosen, setChosen] = useState<TemplateInfo | null>(null);

  useEffect(() => {
    let live = true;
    setError(null);
    api.templates().then((r) => live && setItems(r.items ?? []), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [attempt]);

  return (
    <>
      {error ? <ErrorBox error={error} testId="templates-error" onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!items && !error && <Loading />}
      <ul className="app-grid template-grid" data-testid="template-gallery">
        {onBlank && (
          <li className="app-item">
            <button type="button" className="card app-card start-card" data-testid="start-blank" onClick={onBlank}>
              <strong><Icon.plus /> {t("apps.startBlank")}</strong>
              <span className="muted small">{t("apps.startBlankText")}</span>
            </button>
          </li>
        )}
        {items?.map((tpl) => <TemplateCard key={tpl.name} tpl={tpl} onInstall={() => setChosen(tpl)} />)}
      </ul>
      {items && items.length === 0 && <p className="muted" data-testid="templates-none">{t("gallery.none")}</p>}
      {chosen && <InstallDialog tpl={chosen} taken={taken} onClose={() => setChosen(null)} />}
    </>
  );
}

function TemplateCard({ tpl, onInstall }: { tpl: TemplateInfo; onInstall: () => void }) {
  const { t, lang } = useI18n();
  const id = useId();
  const label = inLang(tpl.labels, lang) || tpl.name;
  return (
    <li className="app-item">
      <article className="card template-card" data-testid={`template-${tpl.name}`} aria-labelledby={id}>
        {/* The picture illustrates; the label next to it names the template. */}
        {tpl.picture ? <img className="template-picture" src={tpl.picture} alt="" aria-hidden="true" data-testid={`template-picture-${tpl.name}`} />
          : <div className="template-picture" aria-hidden="true" />}
        <div className="template-body">
          <h3 id={id} className="template-title">
            {label}
            {tpl.installed && <span className="tag tag-ok" data-testid={`template-installed-${tpl.name}`}>{t("gallery.installed")}</span>}
          </h3>
          <p className="muted small template-text">{inLang(tpl.descriptions, lang)}</p>
          <button type="button" className="btn btn-primary btn-small" data-testid={`template-install-${tpl.name}`} onClick={onInstall}
            aria-label={t(tpl.installed ? "gallery.installAgainOf" : "gallery.installOf", { label })}>
            {tpl.installed ? t("gallery.installAgain") : t("apps.install")}
          </button>
        </div>
      </article>
    </li>
  );
}

type Mode = "new" | "upgrade" | "copy";

// landing is where an installed app opens: its first dashboard, where the
// sample data shows at once, else the app's first screen.
async function landing(app: string): Promise<Route> {
  try {
    const first = (await api.dashboards(app)).items?.[0];
    if (first) return { name: "dash", app, dashboard: first.name };
  } catch {
    /* the app's own first screen */
  }
  return { name: "app", app };
}

// InstallDialog: the choices of one install, then its progress, then the app.
function InstallDialog({ tpl, taken, onClose }: { tpl: TemplateInfo; taken: string[]; onClose: () => void }) {
  const { t, lang } = useI18n();
  const [mode, setMode] = useState<Mode>(tpl.installed ? "upgrade" : "new");
  const [withSample, setWithSample] = useState(true);
  const [rows, setRows] = useState(String(SAMPLE_DEFAULT));
  const [copyName, setCopyName] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [seconds, setSeconds] = useState(0);
  const label = inLang(tpl.labels, lang) || tpl.name;
  // An upgrade changes the app's design and keeps its data: no sample rows on top.
  const sampleOffered = mode !== "upgrade";

  // The install is one request: the progress is its elapsed time.
  useEffect(() => {
    if (!busy) return;
    setSeconds(0);
    const timer = setInterval(() => setSeconds((s) => s + 1), 1000);
    return () => clearInterval(timer);
  }, [busy]);

  // check gives the request's body, or the text of what to correct (then nothing is sent).
  function check(): TemplateInstall | string {
    const body: TemplateInstall = { sample: 0 };
    if (mode === "upgrade") body.upgrade = true;
    if (mode === "copy") {
      const n = copyName.trim();
      if (!NAME_RE.test(n)) return t("design.nameRule");
      if (n === tpl.app || taken.includes(n)) return t("apps.nameTaken");
      body.app = n;
    }
    if (sampleOffered && withSample) {
      const n = Number(rows);
      if (!/^\d+$/.test(rows.trim()) || n < SAMPLE_MIN || n > SAMPLE_MAX) {
        return t("gallery.rowsRange", { min: SAMPLE_MIN.toLocaleString(lang), max: SAMPLE_MAX.toLocaleString(lang) });
      }
      body.sample = n;
    }
    return body;
  }

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (busy) return;
    setProblem(null);
    setError(null);
    const body = check();
    if (typeof body === "string") return setProblem(body);
    setBusy(true);
    try {
      const r = await api.installTemplate(tpl.name, body);
      navigate(await landing(r.app));
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  }

  const details = error instanceof ApiError && DETAILED.includes(error.code) ? error.details : [];
  const partly = installedApp(error);
  return (
    <Dialog title={t("gallery.installTitle", { label })} testId="template-dialog" onClose={() => !busy && onClose()}>
      <form className="dialog-form" onSubmit={submit} noValidate aria-busy={busy}>
        {tpl.installed && (
          <fieldset className="template-modes" disabled={busy}>
            <legend className="field-label">{t("gallery.installedAs", { app: tpl.app })}</legend>
            <label className="check">
              <input type="radio" name="mode" checked={mode === "upgrade"} data-testid="template-mode-upgrade" onChange={() => setMode("upgrade")} />
              {t("gallery.modeUpgrade")}
            </label>
            <label className="check">
              <input type="radio" name="mode" checked={mode === "copy"} data-testid="template-mode-copy" onChange={() => setMode("copy")} />
              {t("gallery.modeCopy")}
            </label>
            {mode === "copy" && (
              <label className="field">
                <span className="field-label">{t("apps.name")}</span>
                <input className="mono" value={copyName} data-testid="template-app-name" spellCheck={false} autoCapitalize="off"
                  placeholder={tpl.app + "2"} onChange={(e) => setCopyName(e.target.value)} />
                <span className="muted small">{t("apps.nameHint")}</span>
              </label>
            )}
          </fieldset>
        )}
        {sampleOffered && (
          <fieldset className="template-sample" disabled={busy}>
            <label className="check">
              <input type="checkbox" checked={withSample} data-testid="template-sample" onChange={(e) => setWithSample(e.target.checked)} />
              {t("gallery.withSample")}
            </label>
            {withSample && (
              <label className="field">
                <span className="field-label">{t("gallery.rows")}</span>
                <input type="number" inputMode="numeric" min={SAMPLE_MIN} max={SAMPLE_MAX} step={100} value={rows}
                  data-testid="template-rows" onChange={(e) => setRows(e.target.value)} />
                <span className="muted small">{t("gallery.rowsHint", { max: SAMPLE_MAX.toLocaleString(lang) })}</span>
              </label>
            )}
          </fieldset>
        )}
        {mode === "upgrade" && <p className="muted small" data-testid="template-upgrade-note">{t("gallery.upgradeNote")}</p>}
        {problem && <div className="field-error" role="alert" data-testid="template-problem">{problem}</div>}
        {error ? (
          <div className="alert alert-error" role="alert" data-testid="template-error">
            <div>{installErrorText(error, t)}</div>
            {details.length > 0 && (
              <ul className="alert-details">
                {details.map((d, i) => <li key={i}>{d.path ? <code>{d.path}</code> : null} {problemText(d, t, (f) => f)}</li>)}
              </ul>
            )}
            {partly && (
              <button type="button" className="btn btn-small" data-testid="template-open-partly" onClick={() => navigate({ name: "app", app: partly })}>
                {t("gallery.openApp")}
              </button>
            )}
          </div>
        ) : null}
        {busy && (
          <div className="template-progress" role="status" data-testid="template-progress">
            <progress aria-label={t("apps.installing")} />
            <span>{t(sampleOffered && withSample ? "gallery.progressSample" : "gallery.progress", { rows: Number(rows).toLocaleString(lang), s: seconds })}</span>
          </div>
        )}
        <div className="dialog-footer">
          <button type="button" className="btn" disabled={busy} onClick={onClose}>{t("plan.cancel")}</button>
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="template-install-go">
            {busy ? t("apps.installing") : mode === "upgrade" ? t("gallery.upgrade") : t("gallery.install")}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
