import { useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import { useI18n } from "../i18n";
import { errorText } from "./common";

// Setup creates the first admin on a new server with the one-time token that
// `forma serve` printed (it links here with the token filled in), then signs
// the new admin in.
export function Setup({ token: initial, onLoggedIn }: { token?: string; onLoggedIn: () => void }) {
  const { t } = useI18n();
  const [token, setToken] = useState(initial ?? "");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api.setup({ token: token.trim(), email: email.trim(), password, name: name.trim() || undefined });
      await api.login(email.trim(), password);
      onLoggedIn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setError(t("setup.badToken"));
      else if (err instanceof ApiError && err.status === 409) setError(t("setup.done"));
      else setError(errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={submit} noValidate>
        <h1>{t("setup.title")}</h1>
        <p className="small muted">{t("setup.intro")}</p>
        {error && <div className="alert alert-error" role="alert" data-testid="setup-error">{error}</div>}
        <label className="field">
          <span className="field-label">{t("setup.token")}</span>
          <input type="text" autoComplete="off" required value={token} data-testid="setup-token" onChange={(e) => setToken(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">{t("setup.name")}</span>
          <input type="text" autoComplete="name" value={name} data-testid="setup-name" onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">{t("login.email")}</span>
          <input type="email" autoComplete="username" required value={email} data-testid="setup-email" onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label className="field">
          <span className="field-label">{t("login.password")}</span>
          <input type="password" autoComplete="new-password" required value={password} data-testid="setup-password"
            onChange={(e) => setPassword(e.target.value)} />
        </label>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !token || !email || !password} data-testid="setup-submit">
          {t("setup.submit")}
        </button>
      </form>
    </div>
  );
}
