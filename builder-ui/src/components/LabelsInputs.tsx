// LabelsInputs edits a labels map ({"zh-CN": …, "en": …}) of the app
// document: one input per UI language. The flow editor (states,
// transitions, approval steps, a guard's messages), the dashboard designer
// (a dashboard's labels and its parameters', a widget's titles, its
// measures' and dimensions' labels), the form designer (section titles) and
// the editors of validations, notify actions and countdown steps (their
// messages) share it. An emptied input drops its language, so the document
// falls back to its label, title or message rather than keeping "".
import { LANGS, useI18n, type MessageKey } from "../i18n";

export type LabelsMap = Record<string, string>;

// orNone leaves an emptied map out of the document.
export const orNone = (l: LabelsMap) => (Object.keys(l).length ? l : undefined);

export function LabelsInputs({ labels, prefix, onChange, caption = "labels.labelIn", placeholder }: {
  labels: LabelsMap | undefined;
  prefix: string;
  onChange: (l: LabelsMap) => void;
  // caption is the message each input is captioned with, given {lang}.
  caption?: MessageKey;
  // placeholder is what an empty input falls back to (the label or title).
  placeholder?: string;
}) {
  const { t } = useI18n();
  const set = (lang: string, value: string) => {
    const next: LabelsMap = { ...(labels ?? {}) };
    if (value === "") delete next[lang];
    else next[lang] = value;
    onChange(next);
  };
  return (
    <div className="auto-row">
      {LANGS.map((l) => (
        <label key={l} className="field">
          <span className="field-label">{t(caption, { lang: t(`lang.${l}` as MessageKey) })}</span>
          <input value={labels?.[l] ?? ""} placeholder={placeholder} data-testid={`${prefix}-label-${l}`} onChange={(e) => set(l, e.target.value)} />
        </label>
      ))}
    </div>
  );
}
