// The draft line of the designer: whether the work is saved on the server,
// a button to discard the draft, and the other admins with drafts of the app.
import { useI18n } from "../i18n";
import type { DraftInfo, DraftState } from "../designer/serverDraft";

export function DraftBar({ state, savedAt, others, restoredAt, onDiscard }: {
  state: DraftState; savedAt: string | null; others: DraftInfo[]; restoredAt: string | null; onDiscard: () => void;
}) {
  const { t, dateTime } = useI18n();
  return (
    <div className="muted small draft-bar" data-testid="draft-bar">
      {restoredAt && <span role="status" data-testid="draft-restored">{t("draft.restored", { at: dateTime(restoredAt) })} </span>}
      {state === "saving" && <span data-testid="draft-saving">{t("draft.saving")}</span>}
      {state === "saved" && savedAt && <span data-testid="draft-saved">{t("draft.saved", { at: dateTime(savedAt) })}</span>}
      {state === "error" && <span className="error" role="alert" data-testid="draft-error">{t("draft.error")}</span>}
      {state === "saved" && (
        <button type="button" className="btn btn-small" data-testid="draft-discard" onClick={onDiscard}>{t("draft.discard")}</button>
      )}
      {others.length > 0 && (
        <span data-testid="draft-others">
          {" "}{t("draft.others", { names: others.map((o) => o.name || o.email || o.userId).join(", ") })}
        </span>
      )}
    </div>
  );
}
