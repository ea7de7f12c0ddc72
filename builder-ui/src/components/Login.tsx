import { useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import { useI18n } from "../i18n";
import { errorText } from "./common";
import { href } from "../router";

export function Login({ onLoggedIn, sessionEnded }: { onLoggedIn: () => void; sessionEnded?: boolean }) {
  const { t } = useI18n();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.login(email.trim(), password);
      onLoggedIn();
    } catch (err) {
      if (err instanceof ApiError && (err.code === "bad_credentials" || err.status === 401)) {
        setError(t("login.badCredentials"));
      } else if (err instanceof ApiError && (err.code === "too_many_attempts" || err.status === 429)) {
        setError(err.retryAfter ? t("login.throttled", { minutes: Math.max(1, Math.ceil(err.retryAfter / 60)) }) : t("login.throttledLater"));
      } else {
        setError(errorText(err, t));
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={submit} noValidate>
        <h1>{t("login.title")}</h1>
        {sessionEnded && !error && <div className="alert alert-info">{t("login.sessionEnded")}</div>}
        {error && <div className="alert alert-error" role="alert" data-testid="login-error">{error}</div>}
        <label className="field">
          <span className="field-label">{t("login.email")}</span>
          <input type="email" autoComplete="username" required value={email} data-testid="login-email"
            onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">{t("login.password")}</span>
          <input type="password" autoComplete="current-password" required value={password} data-testid="login-password"
            onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !email || !password} data-testid="login-submit">
          {busy ? t("login.submitting") : t("login.submit")}
        </button>
        <p className="small muted">
          <a href={href({ name: "setup" })} data-testid="login-setup-link">{t("setup.link")}</a>
        </p>
      </form>
    </div>
  );
}
