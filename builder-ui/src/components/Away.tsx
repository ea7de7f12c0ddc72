// The user's Away toggle (the user menu): PUT /api/me/availability;
// assignment rules give an away user nothing.
import { useState } from "react";
import { api, type User } from "../api";
import { useI18n } from "../i18n";
import { errorText } from "./common";

// AwayToggle: the user marks themself away (assignment rules give them nothing meanwhile).
export function AwayToggle({ me, onChange }: { me: User; onChange: (u: User) => void }) {
  const { t } = useI18n();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const away = !!me.profile?.away;
  async function toggle() {
    setBusy(true);
    setError(null);
    try {
      const u = await api.setAvailability(!away, null);
      onChange({ ...me, ...u, profile: u.profile ?? { ...me.profile, away: !away } });
    } catch (e) {
      setError(errorText(e, t));
    } finally {
      setBusy(false);
    }
  }
  return (
    <label className={"check away-toggle" + (away ? " is-away" : "")} title={t("away.hint")}>
      <input type="checkbox" role="switch" checked={away} disabled={busy} data-testid="away-toggle" aria-checked={away} onChange={() => void toggle()} />
      <span>{away ? t("away.on") : t("away.label")}</span>
      {error && <span className="field-error" role="alert" data-testid="away-error">{error}</span>}
    </label>
  );
}
