import { useEffect, useState } from "react";
import { api, type AppInfo } from "../api";
import { useI18n } from "../i18n";
import { href } from "../router";
import { ErrorBox, Loading } from "./common";

export function AppList() {
  const { t } = useI18n();
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

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
      <h1>{t("apps.title")}</h1>
      {error ? <ErrorBox error={error} onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!apps && !error && <Loading />}
      {apps && apps.length === 0 && <p className="muted">{t("apps.empty")}</p>}
      {apps && apps.length > 0 && (
        <ul className="app-grid">
          {apps.map((a) => (
            <li key={a.name}>
              <a className="card app-card" href={href({ name: "app", app: a.name })} data-testid={`app-link-${a.name}`}>
                <strong>{a.label || a.name}</strong>
                <span className="muted small">{a.name} · {t("apps.version", { n: a.version })}</span>
              </a>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
