// The list's data buttons: export (CSV, Excel) of what the list shows —
// its filter, sort and columns, with labels and dates in the browser's time
// zone — and the import wizard for users who may create.
import { useState } from "react";
import { currentUser, type AppDocument, type Entity } from "../api";
import { useI18n } from "../i18n";
import { download, exportPath, mayCreate } from "../imports";
import { ImportWizard } from "./ImportWizard";
import { errorText } from "./common";

export function ExportButtons({ app, entity, filter, sort, fields }: {
  app: string; entity: string; filter: string; sort: string; fields: string[];
}) {
  const { t } = useI18n();
  const [busy, setBusy] = useState<"csv" | "xlsx" | null>(null);
  const [error, setError] = useState<unknown>(null);
  const go = (format: "csv" | "xlsx") => {
    setBusy(format);
    setError(null);
    download(exportPath(app, entity, { format, filter, sort, fields }), `${entity}.${format}`)
      .catch(setError).finally(() => setBusy(null));
  };
  return (
    <span className="export-buttons" role="group" aria-label={t("exp.title")}>
      {(["csv", "xlsx"] as const).map((f) => (
        <a key={f} className="btn" data-testid={`export-${f}`} href={exportPath(app, entity, { format: f, filter, sort, fields })}
          aria-disabled={busy !== null || undefined} title={t("exp.hint")}
          onClick={(e) => { e.preventDefault(); if (!busy) go(f); }}>
          {busy === f ? t("exp.busy") : f === "csv" ? t("exp.csv") : t("exp.xlsx")}
        </a>
      ))}
      {error ? <span className="field-error small" role="alert" data-testid="export-error">{errorText(error, t)}</span> : null}
    </span>
  );
}

export function ImportButton({ app, entity, onDone }: { app: AppDocument; entity: Entity; onDone?: () => void }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  if (!mayCreate(currentUser(), app, entity)) return null;
  return (
    <>
      <button type="button" className="btn" data-testid="import-open" onClick={() => setOpen(true)}>{t("imp.button")}</button>
      {open && <ImportWizard app={app} entity={entity} onClose={() => setOpen(false)} onDone={() => onDone?.()} />}
    </>
  );
}
