// FilterText: the list filter written as text, in the expression editor
// (fields by label, operators, the error where it is, how many records
// match) — for what the row builder cannot say, such as
// (stage = "won" || amount > 1000) && store.name ~ "静安".
import { useState } from "react";
import type { AppDocument, Entity } from "../api";
import { useI18n } from "../i18n";
import { ExpressionEditor } from "./ExpressionEditor";

export function FilterText({ app, entity, filter, onApply }: {
  app: AppDocument; entity: Entity; filter: string; onApply: (text: string) => void;
}) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [text, setText] = useState(filter);
  const [ok, setOk] = useState<boolean | undefined>(undefined);
  if (!open) {
    return (
      <button type="button" className="btn btn-ghost btn-small" data-testid="filter-text-open" onClick={() => { setText(filter); setOpen(true); }}>
        {t("filter.asText")}
      </button>
    );
  }
  return (
    <form className="filter filter-text-mode" data-testid="filter-text-mode"
      onSubmit={(e) => { e.preventDefault(); if (ok !== false) { onApply(text.trim()); setOpen(false); } }}>
      <ExpressionEditor mode="filter" scope="list" label={t("filter.asText")} value={text} onChange={setText} onValidity={setOk}
        fields={entity.fields} app={app} entity={entity.name} testId="filter-expr" rows={2} />
      <div className="filter-actions">
        <button type="button" className="btn btn-ghost" data-testid="filter-text-cancel" onClick={() => setOpen(false)}>{t("common.cancel")}</button>
        <button type="submit" className="btn btn-primary" data-testid="filter-text-apply" disabled={ok === false}>{t("filter.apply")}</button>
      </div>
    </form>
  );
}
