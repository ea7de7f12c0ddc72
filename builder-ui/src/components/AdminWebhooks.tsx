// The Admin area's webhooks tab (platform admins): per app, whether its
// automations' webhooks may reach private and loopback addresses. Off by
// default: a URL such as http://127.0.0.1/ or http://10.0.0.5/ is refused
// so that an app designer cannot make the server call inside the network.
import { useEffect, useState } from "react";
import { api, type AppInfo } from "../api";
import { useI18n } from "../i18n";
import { ErrorBox, Loading } from "./common";

export function Webhooks() {
  const { t } = useI18n();
  const [apps, setApps] = useState<AppInfo[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () => {
    setError(null);
    api.apps().then((r) => setApps(r.items ?? []), setError);
  };
  useEffect(load, []);
  return (
    <div data-testid="admin-webhooks">
      <p className="small muted">{t("webhook.adminIntro")}</p>
      {error ? <ErrorBox error={error} onRetry={load} /> : null}
      {!apps && !error && <Loading />}
      {apps && apps.length === 0 && <p className="muted" data-testid="webhooks-empty">{t("webhook.noApps")}</p>}
      {apps && apps.length > 0 && (
        <ul className="designer-list">
          {apps.map((a) => <AppRow key={a.name} app={a} />)}
        </ul>
      )}
    </div>
  );
}

function AppRow({ app }: { app: AppInfo }) {
  const { t } = useI18n();
  const [allow, setAllow] = useState<boolean | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let live = true;
    api.webhookSettings(app.name).then((r) => live && setAllow(r.allowPrivate), (e) => live && setError(e));
    return () => { live = false; };
  }, [app.name]);
  const change = (v: boolean) => {
    setBusy(true);
    setError(null);
    api.setWebhookSettings(app.name, v).then((r) => setAllow(r.allowPrivate), setError).finally(() => setBusy(false));
  };
  return (
    <li data-testid={`webhooks-app-${app.name}`}>
      <label className="check">
        <input type="checkbox" data-testid={`webhooks-allow-${app.name}`} checked={allow ?? false}
          disabled={allow === null || busy} onChange={(e) => change(e.target.checked)} />
        <strong>{app.label || app.name}</strong>{" "}
        <span className="small muted">{t("webhook.allowPrivate")}</span>
      </label>
      {allow && <p className="alert alert-warn small" data-testid={`webhooks-warning-${app.name}`}>{t("webhook.allowWarning")}</p>}
      {error ? <ErrorBox error={error} /> : null}
    </li>
  );
}
