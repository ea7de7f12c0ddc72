import { useEffect, useRef, useState } from "react";
import { api, type AppDocument, type DataRecord, type DirectoryUser, type Entity } from "../api";
import { labelField } from "../fields";
import { quote } from "../filter";
import { useI18n } from "../i18n";
import { Icon } from "./common";

export function refLabel(target: Entity | undefined, r: DataRecord): string {
  const lf = labelField(target);
  const v = lf ? r[lf.name] : undefined;
  return v === null || v === undefined || v === "" ? r.id : String(v);
}

// An option of a Picker: the value it stands for and how it reads.
export interface PickerOption {
  id: string;
  label: string;
}

// Picker chooses one value by searching: typing calls search (after a
// pause), the chosen value shows its label (resolve finds it for a value
// the picker has not seen in a search).
export function Picker({ value, onChange, search, resolve, testId, inputId, invalid, describedBy }: {
  value: string; onChange: (id: string) => void;
  search: (text: string) => Promise<PickerOption[]>; resolve: (id: string) => Promise<string>;
  testId: string; inputId?: string; invalid?: boolean; describedBy?: string;
}) {
  const { t } = useI18n();
  const [label, setLabel] = useState<string>("");
  const [text, setText] = useState("");
  const [results, setResults] = useState<PickerOption[] | null>(null);
  const [searching, setSearching] = useState(false);
  const seq = useRef(0);
  // Labels already known (from a search), so a choice shows at once.
  const known = useRef<Record<string, string>>({});
  const searchRef = useRef(search);
  searchRef.current = search;
  const resolveRef = useRef(resolve);
  resolveRef.current = resolve;

  // The label of the chosen value.
  useEffect(() => {
    if (!value) {
      setLabel("");
      return;
    }
    if (known.current[value]) {
      setLabel(known.current[value]);
      return;
    }
    let live = true;
    setLabel(value);
    resolveRef.current(value).then((l) => {
      known.current[value] = l;
      if (live) setLabel(l);
    }, () => undefined);
    return () => {
      live = false;
    };
  }, [value]);

  useEffect(() => {
    if (text.trim() === "") {
      setResults(null);
      return;
    }
    const n = ++seq.current;
    setSearching(true);
    const timer = setTimeout(() => {
      searchRef.current(text.trim()).then(
        (r) => {
          if (n !== seq.current) return;
          setResults(r);
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
  }, [text]);

  const choose = (o: PickerOption) => {
    known.current[o.id] = o.label;
    onChange(o.id);
    setLabel(o.label);
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
          {!searching && results?.map((o) => (
            <li key={o.id}>
              <button type="button" role="option" aria-selected={o.id === value} data-testid="ref-option" onClick={() => choose(o)}>
                {o.label} <span className="muted small">{o.id}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// RefPicker chooses a record of the target entity: typing searches it with
// `<first text field> ~ "typed text"`, the chosen record shows its label.
export function RefPicker({ app, target, value, onChange, testId, inputId, invalid, describedBy }: {
  app: AppDocument; target: Entity | undefined; value: string; onChange: (id: string) => void;
  testId: string; inputId?: string; invalid?: boolean; describedBy?: string;
}) {
  const search = (text: string): Promise<PickerOption[]> => {
    if (!target) return Promise.resolve([]);
    const lf = labelField(target);
    const filter = lf ? `${lf.name} ~ ${quote(text)}` : `id = ${quote(text)}`;
    return api.list(app.name, target.name, { filter, limit: 10, sort: lf?.name })
      .then((r) => (r.items ?? []).map((x: DataRecord) => ({ id: x.id, label: refLabel(target, x) })));
  };
  const resolve = (id: string): Promise<string> =>
    target ? api.get(app.name, target.name, id).then((r) => refLabel(target, r)) : Promise.resolve(id);
  return <Picker value={value} onChange={onChange} search={search} resolve={resolve} testId={testId} inputId={inputId}
    invalid={invalid} describedBy={describedBy} />;
}

// UserPicker chooses a colleague (a user field, such as an assignee) from
// the directory of active users, by name or email.
export function UserPicker({ value, onChange, testId, inputId, invalid, describedBy }: {
  value: string; onChange: (id: string) => void; testId: string; inputId?: string; invalid?: boolean; describedBy?: string;
}) {
  const label = (u: DirectoryUser) => (u.name ? `${u.name} <${u.email}>` : u.email);
  const search = (text: string) => api.directory({ q: text, limit: 10 }).then((r) => r.items.map((u) => ({ id: u.id, label: label(u) })));
  const resolve = (id: string) => api.directory({ id }).then((r) => (r.items[0] ? label(r.items[0]) : id));
  return <Picker value={value} onChange={onChange} search={search} resolve={resolve} testId={testId} inputId={inputId}
    invalid={invalid} describedBy={describedBy} />;
}
