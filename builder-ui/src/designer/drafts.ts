// Drafts of new apps that have not been published yet: the "New app" dialog
// keeps {name, label} here, and the designer opens it from #/design/{app}/new.
import type { DDoc } from "./model";

const KEY = "forma.draft.";

export function saveDraft(name: string, label: string): void {
  try {
    sessionStorage.setItem(KEY + name, JSON.stringify({ name, label }));
  } catch {
    /* the draft starts with the name as its label */
  }
}

export function loadDraft(name: string): DDoc {
  let label = "";
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY + name) ?? "null") as { label?: string } | null;
    label = v?.label ?? "";
  } catch {
    /* none stored */
  }
  const doc: DDoc = { name, entities: [] };
  if (label) doc.label = label;
  return doc;
}

export function dropDraft(name: string): void {
  try {
    sessionStorage.removeItem(KEY + name);
  } catch {
    /* nothing to drop */
  }
}
