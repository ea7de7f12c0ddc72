import { useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from "react";
import { nameFromLabel, usePinyin } from "../designer/naming";

// A modal dialog: Escape or the backdrop closes it, focus starts inside.
export function Dialog({ title, testId, onClose, children, footer, wide }: {
  title: string; testId?: string; onClose: () => void; children: ReactNode; footer?: ReactNode; wide?: boolean;
}) {
  const id = useId();
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current?.querySelector<HTMLElement>("input, textarea, select, button");
    el?.focus();
  }, []);
  return (
    <div className="dialog-backdrop" onMouseDown={(e) => e.target === e.currentTarget && onClose()}>
      <div ref={ref} className={"dialog card" + (wide ? " dialog-wide" : "")} role="dialog" aria-modal="true" aria-labelledby={id}
        data-testid={testId} onKeyDown={(e) => e.key === "Escape" && onClose()}>
        <h2 id={id} className="dialog-title">{title}</h2>
        <div className="dialog-body">{children}</div>
        {footer && <div className="dialog-footer">{footer}</div>}
      </div>
    </div>
  );
}

// DeleteDialog confirms deleting an item of a designer list.
export function DeleteDialog({ title, text, confirm, cancel, testId, confirmTestId, onConfirm, onClose }: {
  title: string; text: string; confirm: string; cancel: string; testId: string; confirmTestId: string; onConfirm: () => void; onClose: () => void;
}) {
  return (
    <Dialog title={title} testId={testId} onClose={onClose}
      footer={<>
        <button type="button" className="btn" onClick={onClose}>{cancel}</button>
        <button type="button" className="btn btn-danger" data-testid={confirmTestId} onClick={onConfirm}>{confirm}</button>
      </>}>
      <p>{text}</p>
    </Dialog>
  );
}

// NameLabelDialog asks for a label and a name (new app, new entity): until
// the name is typed by hand it follows the label (pinyin for Chinese); the
// caller's validate says what is wrong with the trimmed name (or null), and
// onSave gets the trimmed name and label.
export function NameLabelDialog({
  title, testId, testIds, nameLabel, nameHint, namePlaceholder, labelLabel, submitText, cancelText, validate, onSave, onCancel,
}: {
  title: string; testId: string; testIds: { name: string; label: string; submit: string; error: string };
  nameLabel: string; nameHint?: string; namePlaceholder?: string; labelLabel: string; submitText: string; cancelText: string;
  validate: (name: string) => string | null; onSave: (name: string, label: string) => void; onCancel: () => void;
}) {
  const [name, setName] = useState("");
  const [label, setLabel] = useState("");
  const [nameTyped, setNameTyped] = useState(false);
  // A label typed before pinyin-pro arrived is spelled again once it has.
  const pinyinReady = usePinyin();
  useEffect(() => {
    if (pinyinReady && !nameTyped && label) setName(nameFromLabel(label));
    // only when pinyin arrives
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [pinyinReady]);
  const [error, setError] = useState<string | null>(null);
  function submit(e: FormEvent) {
    e.preventDefault();
    const n = name.trim();
    const problem = validate(n);
    if (problem) setError(problem);
    else onSave(n, label.trim());
  }
  return (
    <Dialog title={title} testId={testId} onClose={onCancel}>
      <form className="dialog-form" onSubmit={submit} noValidate>
        <label className="field">
          <span className="field-label">{labelLabel}</span>
          <input value={label} data-testid={testIds.label} onChange={(e) => {
            setLabel(e.target.value);
            if (!nameTyped) {
              setName(nameFromLabel(e.target.value));
              setError(null);
            }
          }} />
        </label>
        <label className="field">
          <span className="field-label">{nameLabel}</span>
          <input className="mono" value={name} data-testid={testIds.name} spellCheck={false} autoCapitalize="off" placeholder={namePlaceholder}
            aria-invalid={!!error || undefined} onChange={(e) => { setName(e.target.value); setNameTyped(true); setError(null); }} />
          {nameHint && <span className="muted small">{nameHint}</span>}
        </label>
        {error && <div className="field-error" role="alert" data-testid={testIds.error}>{error}</div>}
        <div className="dialog-footer">
          <button type="button" className="btn" onClick={onCancel}>{cancelText}</button>
          <button type="submit" className="btn btn-primary" data-testid={testIds.submit}>{submitText}</button>
        </div>
      </form>
    </Dialog>
  );
}
