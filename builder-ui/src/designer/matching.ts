// The document's "matching" section (schema/matching.go): duplicate rules
// per entity, edited by the designer's Duplicates tab without JSON.
import type { Field, MatchingRule, MatchKey } from "../api";
import type { DDoc, DEntity } from "./model";
import { uniqueAutomationName } from "./automations";

export const NORMALIZERS = ["text", "phone", "email", "company"] as const;
export type Normalizer = (typeof NORMALIZERS)[number];

// The field types a key compares (values that are text).
const KEY_TYPES = new Set(["text", "email", "phone", "url", "longtext"]);

export function keyFields(entity: DEntity | undefined): Field[] {
  return (entity?.fields ?? []).filter((f) => KEY_TYPES.has(f.type));
}

export function matchingOf(doc: DDoc): MatchingRule[] {
  return (doc.matching as MatchingRule[] | undefined) ?? [];
}

export function withMatching(doc: DDoc, list: MatchingRule[]): DDoc {
  const next: DDoc = { ...doc, matching: list };
  if (list.length === 0) delete next.matching;
  return next;
}

// guessNormalizer: phone for phone fields, email for email fields, company
// for a field named or labelled like a company, else text.
export function guessNormalizer(f: Field | undefined): Normalizer {
  if (f?.type === "phone") return "phone";
  if (f?.type === "email") return "email";
  if (f && /company|公司|企业/i.test(f.name + " " + (f.label ?? ""))) return "company";
  return "text";
}

export function blankKey(entity: DEntity | undefined): MatchKey {
  const f = keyFields(entity)[0];
  return { fields: f ? [f.name] : [], normalize: guessNormalizer(f) };
}

export function blankMatching(doc: DDoc): MatchingRule {
  const e = doc.entities[0];
  const taken = matchingOf(doc).map((m) => m.name);
  return { name: uniqueAutomationName((e?.name ?? "record") + "_duplicates", taken), entity: e?.name ?? "", keys: [blankKey(e)], onCreate: "warn" };
}

// cleanMatching drops what the document should not carry: similarity on a
// key that cannot have one (not one field, or not text/company), the
// default normalisation and onCreate, empty labels.
export function cleanMatching(m: MatchingRule): MatchingRule {
  const out: MatchingRule = { ...m, keys: m.keys.map((k) => {
    const key: MatchKey = { fields: k.fields };
    if (k.normalize && k.normalize !== "text") key.normalize = k.normalize;
    if (k.similarity && k.fields.length === 1 && (!k.normalize || k.normalize === "text" || k.normalize === "company")) key.similarity = k.similarity;
    return key;
  }) };
  if (!out.label) delete out.label;
  if (!out.onCreate || out.onCreate === "warn") delete out.onCreate;
  return out;
}

export function canSimilar(k: MatchKey): boolean {
  return k.fields.length === 1 && (!k.normalize || k.normalize === "text" || k.normalize === "company");
}
