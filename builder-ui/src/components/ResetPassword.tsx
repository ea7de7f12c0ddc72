import { useState, type FormEvent } from "react";
import { api, ApiError } from "../api";
import { useI18n } from "../i18n";
import { errorText } from "./common";

export const MIN_PASSWORD = 8;

// ResetPassword: the page an invitation or a reset link opens
// (#/reset/{token}): the person chooses a password (the rule is stated
// first), which POST /api/auth/reset-password sets; then they are signed in.
export function ResetPassword({ token, onLoggedIn }: { token: string; onLoggedIn: () => void }) {
  const { t } = useI18n();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const short = password.length > 0 && [...password].length < MIN_PASSWORD;
  const differ = again.length > 0 && again !== password;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (short || differ || !password) return;
    setBusy(true);
    setError(null);
    try {
      const r = await api.completeReset(token, password);
      await api.login(r.user.email, password);
      onLoggedIn();
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? t("reset.badToken") : errorText(err, t));
    } finally {
      setBusy(false);
    }
  }

  return (
    <div className="login-page">
      <form className="card login-card" onSubmit={submit} noValidate data-testid="reset-form">
        <h1>{t("reset.title")}</h1>
        <p className="small muted" data-testid="reset-rule">{t("reset.rule", { n: MIN_PASSWORD })}</p>
        {error && <div className="alert alert-error" role="alert" data-testid="reset-error">{error}</div>}
        <label className="field">
          <span className="field-label">{t("reset.password")}</span>
          <input type="password" autoComplete="new-password" value={password} data-testid="reset-password" aria-invalid={short || undefined}
            onChange={(e) => setPassword(e.target.value)} />
          {short && <span className="field-error">{t("reset.tooShort", { n: MIN_PASSWORD })}</span>}
        </label>
        <label className="field">
          <span className="field-label">{t("reset.again")}</span>
          <input type="password" autoComplete="new-password" value={again} data-testid="reset-again" aria-invalid={differ || undefined}
            onChange={(e) => setAgain(e.target.value)} />
          {differ && <span className="field-error">{t("reset.differ")}</span>}
        </label>
        <button type="submit" className="btn btn-primary btn-block" disabled={busy || !password || short || again !== password} data-testid="reset-submit">
          {t("reset.submit")}
        </button>
      </form>
    </div>
  );
}
