import { useEffect, useRef, useState } from "react";
import { api, type AppDocument, type DataRecord, type Entity } from "../api";
import { labelField } from "../fields";
import { quote } from "../filter";
import { useI18n } from "../i18n";
import { Icon } from "./common";

export function refLabel(target: Entity | undefined, r: DataRecord): string {
  const lf = labelField(target);
  const v = lf ? r[lf.name] : undefined;
  return v === null || v === undefined || v === "" ? r.id : String(v);
}

// RefPicker chooses a record of the target entity: typing searches it with
// `<first text field> ~ "typed text"`, the chosen record shows its label.
export function RefPicker({ app, target, value, onChange, testId, inputId, invalid, describedBy }: {
  app: AppDocument; target: Entity | undefined; value: string; onChange: (id: string) => void;
  testId: string; inputId?: string; invalid?: boolean; describedBy?: string;
}) {
  const { t } = useI18n();
  const [label, setLabel] = useState<string>("");
  const [text, setText] = useState("");
  const [results, setResults] = useState<DataRecord[] | null>(null);
  const [searching, setSearching] = useState(false);
  const seq = useRef(0);
  // Labels already known (from a search), so a choice shows at once.
  const known = useRef<Record<string, string>>({});

  // The label of the chosen record.
  useEffect(() => {
    if (!value || !target) {
      setLabel("");
      return;
    }
    if (known.current[value]) {
      setLabel(known.current[value]);
      return;
    }
    let live = true;
    setLabel(value);
    api.get(app.name, target.name, value).then((r) => {
      known.current[value] = refLabel(target, r);
      if (live) setLabel(known.current[value]);
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [app.name, target, value]);

  useEffect(() => {
    if (!target || text.trim() === "") {
      setResults(null);
      return;
    }
    const lf = labelField(target);
    const filter = lf ? `${lf.name} ~ ${quote(text.trim())}` : `id = ${quote(text.trim())}`;
    const n = ++seq.current;
    setSearching(true);
    const timer = setTimeout(() => {
      api.list(app.name, target.name, { filter, limit: 10, sort: lf?.name }).then(
        (r) => {
          if (n !== seq.current) return;
          setResults(r.items ?? []);
          setSearching(false);
        },
        () => {
          if (n !== seq.current) return;
          setResults([]);
          setSearching(false);
        },
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [app.name, target, text]);

  const choose = (r: DataRecord) => {
    known.current[r.id] = refLabel(target, r);
    onChange(r.id);
    setLabel(known.current[r.id]);
    setText("");
    setResults(null);
  };

  return (
    <div className="ref-picker">
      {value && (
        <div className="ref-chosen">
          <span data-testid={`${testId}-label`}>{label || value}</span>
          <button type="button" className="btn btn-icon btn-small" aria-label={t("ref.clear")} onClick={() => onChange("")}>
            <Icon.x />
          </button>
        </div>
      )}
      <input type="search" id={inputId} value={text} placeholder={t("ref.search")} data-testid={testId} aria-invalid={invalid || undefined}
        aria-describedby={describedBy} onChange={(e) => setText(e.target.value)} />
      {text.trim() !== "" && (
        <ul className="ref-results" role="listbox">
          {searching && <li className="muted">{t("ref.searching")}</li>}
          {!searching && results?.length === 0 && <li className="muted">{t("ref.noResults")}</li>}
          {!searching && results?.map((r) => (
            <li key={r.id}>
              <button type="button" role="option" aria-selected={r.id === value} data-testid="ref-option" onClick={() => choose(r)}>
                {refLabel(target, r)} <span className="muted small">{r.id}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
