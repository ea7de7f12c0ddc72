import type { ReactNode } from "react";
import { ApiError } from "../api";
import type { I18n, MessageKey } from "../i18n";
import { useI18n } from "../i18n";
import { problemText } from "../problems";

// errorText says what went wrong in the user's language, keeping the
// server's code and message where no better words exist.
export function errorText(err: unknown, t: I18n["t"]): string {
  if (err instanceof ApiError) {
    switch (err.code) {
      case "network": return t("error.network");
      case "forbidden": return t("error.forbidden");
      case "not_found": return t("error.notFound");
      case "invalid_filter": return t("error.invalidFilter", { message: err.message });
      // The details below say what, in the user's words: no raw code on screen.
      case "validation_failed": return t("error.validation", { message: err.message });
      // Plugins (Connectors screen): the server's message names what (the automations using it, the key…).
      case "plugin_invalid": case "plugin_unsigned": case "plugin_signature": case "plugin_untrusted":
      case "plugin_in_use": case "plugin_builtin": case "plugin_disabled":
        return t(`plugins.error.${err.code}` as MessageKey) + (err.message ? " " + err.message : "");
    }
    return t("error.generic", { code: err.code, message: err.message });
  }
  return t("error.generic", { code: "client", message: err instanceof Error ? err.message : String(err) });
}

export function ErrorBox({ error, testId, onRetry }: { error: unknown; testId?: string; onRetry?: () => void }) {
  const { t } = useI18n();
  const details = error instanceof ApiError ? error.details : [];
  return (
    <div className="alert alert-error" role="alert" data-testid={testId}>
      <div>{errorText(error, t)}</div>
      {details.length > 0 && (
        <ul className="alert-details">
          {details.map((d, i) => (
            <li key={i}>{d.path ? <code>{d.path}</code> : null} {problemText(d, t, (f) => f)}</li>
          ))}
        </ul>
      )}
      {onRetry && <button type="button" className="btn btn-small" onClick={onRetry}>{t("common.retry")}</button>}
    </div>
  );
}

export function Loading() {
  const { t } = useI18n();
  return <div className="muted loading">{t("common.loading")}</div>;
}

function Svg({ children, label }: { children: ReactNode; label?: string }) {
  return (
    <svg className="icon" viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" strokeWidth="2"
      strokeLinecap="round" strokeLinejoin="round" aria-hidden={label ? undefined : true} aria-label={label} role={label ? "img" : undefined}>
      {children}
    </svg>
  );
}

export const Icon = {
  menu: () => <Svg><path d="M3 6h18M3 12h18M3 18h18" /></Svg>,
  plus: () => <Svg><path d="M12 5v14M5 12h14" /></Svg>,
  x: () => <Svg><path d="M6 6l12 12M18 6L6 18" /></Svg>,
  up: () => <Svg><path d="M12 19V5M5 12l7-7 7 7" /></Svg>,
  down: () => <Svg><path d="M12 5v14M19 12l-7 7-7-7" /></Svg>,
  left: () => <Svg><path d="M15 18l-6-6 6-6" /></Svg>,
  right: () => <Svg><path d="M9 18l6-6-6-6" /></Svg>,
  clock: () => <Svg><circle cx="12" cy="12" r="9" /><path d="M12 7v5l3 3" /></Svg>,
  check: () => <Svg><path d="M4 12l5 5L20 6" /></Svg>,
  filter: () => <Svg><path d="M3 5h18l-7 8v6l-4 2v-8z" /></Svg>,
  user: () => <Svg><circle cx="12" cy="8" r="4" /><path d="M4 21a8 8 0 0 1 16 0" /></Svg>,
  globe: () => <Svg><circle cx="12" cy="12" r="9" /><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18" /></Svg>,
};
