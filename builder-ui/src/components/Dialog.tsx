import { useEffect, useId, useRef, type ReactNode } from "react";

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
