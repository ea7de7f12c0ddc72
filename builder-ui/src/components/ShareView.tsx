// ShareView: an admin shares a saved view with roles (it then shows as a tab
// for everyone holding one of them) and names it in each language; no role
// makes it personal again. PATCH /api/data/{app}/{entity}/views/{id}
// {version, roles, labels}; the server refuses roles the app does not have.
import { useState } from "react";
import { ApiError } from "../api";
import { LANGS } from "../i18n";
import { useI18n } from "../i18n";
import { Dialog } from "./Dialog";
import { errorText } from "./common";

export interface ShareRole {
  name: string;
  label?: string;
}

export interface Shareable {
  id: string;
  name: string;
  labels?: Record<string, string>;
  roles: string[];
  version: number;
}

export function ShareView({ view, roles, onSave, onClose }: {
  view: Shareable; roles: ShareRole[];
  onSave: (patch: { version: number; roles: string[]; labels: Record<string, string> }) => Promise<void>;
  onClose: () => void;
}) {
  const { t } = useI18n();
  const [picked, setPicked] = useState<string[]>(view.roles);
  const [labels, setLabels] = useState<Record<string, string>>(view.labels ?? {});
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const toggle = (r: string, on: boolean) => setPicked((p) => (on ? [...p.filter((x) => x !== r), r] : p.filter((x) => x !== r)));
  const save = async () => {
    setBusy(true);
    setError(null);
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(labels)) if (v.trim()) clean[k] = v.trim();
    try {
      await onSave({ version: view.version, roles: picked, labels: clean });
      onClose();
    } catch (e) {
      setError(e);
      setBusy(false);
    }
  };
  return (
    <Dialog title={t("views.shareTitle", { name: view.labels?.en || view.name })} testId="share-view" onClose={onClose}
      footer={<>
        <button type="button" className="btn" onClick={onClose}>{t("common.cancel")}</button>
        <button type="button" className="btn btn-primary" data-testid="share-save" disabled={busy} onClick={() => void save()}>{t("views.shareSave")}</button>
      </>}>
      <fieldset className="config-group">
        <legend className="field-label">{t("views.shareRoles")}</legend>
        <p className="muted small">{t("views.shareHint")}</p>
        {roles.map((r) => (
          <label key={r.name} className="inline-field">
            <input type="checkbox" data-testid={`share-role-${r.name}`} checked={picked.includes(r.name)} onChange={(e) => toggle(r.name, e.target.checked)} />
            <span>{r.label || r.name} <span className="muted small mono">{r.name}</span></span>
          </label>
        ))}
        {picked.length === 0 && <p className="muted small" data-testid="share-personal">{t("views.sharePersonal")}</p>}
      </fieldset>
      {LANGS.map((l) => (
        <label key={l} className="field">
          <span className="field-label">{t("views.labelIn", { lang: t(`lang.${l}`) })}</span>
          <input value={labels[l] ?? ""} data-testid={`share-label-${l}`} maxLength={100} onChange={(e) => setLabels({ ...labels, [l]: e.target.value })} />
        </label>
      ))}
      {error !== null && (
        <p className="field-error" role="alert" data-testid="share-error">
          {error instanceof ApiError && error.status === 409 ? t("views.shareStale") : errorText(error, t)}
        </p>
      )}
    </Dialog>
  );
}
