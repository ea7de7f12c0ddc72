import { useEffect, useState } from "react";
import { api, type AppInfo } from "../api";
import { TemplateGallery } from "../templates/Gallery";
import { saveDraft } from "../designer/drafts";
import { loadPinyin } from "../designer/naming";
import { NAME_RE } from "../designer/model";
import { useI18n } from "../i18n";
import { href, navigate } from "../router";
import { ErrorBox, Icon, Loading } from "./common";
import { NameLabelDialog } from "./Dialog";

export function AppList({ admin }: { admin?: boolean }) {
  const { t } = useI18n();
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const [creating, setCreating] = useState(false);
  const [gallery, setGallery] = useState(false);

  // Admins name apps here: fetch pinyin-pro (its own chunk) ahead of New app.
  useEffect(() => {
    if (admin) void loadPinyin();
  }, [admin]);

  useEffect(() => {
    let live = true;
    setError(null);
    api.apps().then((r) => live && setApps(r.items ?? []), (e) => live && setError(e));
    return () => {
      live = false;
    };
  }, [attempt]);

  return (
    <section className="page">
      <div className="page-head">
        <h1>{t("apps.title")}</h1>
        {admin && (
          <div className="page-actions">
            {apps && apps.length > 0 && (
              <button type="button" className="btn" aria-expanded={gallery} data-testid="templates-toggle" onClick={() => setGallery((g) => !g)}>
                {t("apps.templates")}
              </button>
            )}
            <button type="button" className="btn btn-primary" data-testid="new-app" onClick={() => setCreating(true)}>
              <Icon.plus /> {t("apps.new")}
            </button>
          </div>
        )}
      </div>
      {error ? <ErrorBox error={error} onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!apps && !error && <Loading />}
      {apps && apps.length === 0 && !admin && <p className="muted" data-testid="apps-empty">{t("apps.emptyUser")}</p>}
      {apps && admin && (apps.length === 0 || gallery) && (
        <GetStarted first={apps.length === 0} taken={apps.map((a) => a.name)} onBlank={() => setCreating(true)} />
      )}
      {apps && apps.length > 0 && (
        <ul className="app-grid">
          {apps.map((a) => (
            <li key={a.name} className="app-item">
              <a className="card app-card" href={href({ name: "app", app: a.name })} data-testid={`app-link-${a.name}`}>
                <strong>{a.label || a.name}</strong>
                <span className="muted small">{a.name} · {t("apps.version", { n: a.version })}</span>
              </a>
              {admin && (
                <a className="btn btn-small app-design" href={href({ name: "design", app: a.name })} data-testid={`design-${a.name}`}>
                  {t("apps.design")}
                </a>
              )}
            </li>
          ))}
        </ul>
      )}
      {creating && <NewAppDialog taken={(apps ?? []).map((a) => a.name)} onCancel={() => setCreating(false)} />}
    </section>
  );
}

// GetStarted: what an admin can do on an empty home page (and from
// "Templates" later): start blank, or install a template and open it.
function GetStarted({ first, taken, onBlank }: { first: boolean; taken: string[]; onBlank: () => void }) {
  const { t } = useI18n();
  return (
    <div className="get-started" data-testid="get-started">
      <h2>{t(first ? "apps.startTitle" : "apps.templates")}</h2>
      <p className="muted">{t(first ? "apps.startIntro" : "gallery.intro")}</p>
      <TemplateGallery taken={taken} onBlank={first ? onBlank : undefined} />
    </div>
  );
}

function NewAppDialog({ taken, onCancel }: { taken: string[]; onCancel: () => void }) {
  const { t } = useI18n();
  return (
    <NameLabelDialog title={t("apps.newTitle")} testId="new-app-dialog"
      testIds={{ name: "new-app-name", label: "new-app-label", submit: "new-app-create", error: "new-app-error" }}
      nameLabel={t("apps.name")} nameHint={t("apps.nameHint")} namePlaceholder="sales" labelLabel={t("apps.label")}
      submitText={t("apps.create")} cancelText={t("plan.cancel")}
      validate={(n) => (!NAME_RE.test(n) ? t("design.nameRule") : taken.includes(n) ? t("apps.nameTaken") : null)}
      onSave={(n, label) => {
        saveDraft(n, label);
        navigate({ name: "design", app: n, draft: true });
      }}
      onCancel={onCancel} />
  );
}
