// The calendar: an entity's records (under the current filter) on a month
// grid by a date or datetime field (datetimes on their day in the user's
// time zone). The month is in the URL (?month=YYYY-MM).
import { useEffect, useState } from "react";
import { api, type AppDocument, type DataRecord, type Entity, type Field } from "../api";
import { displayValue, fieldLabel, labelField } from "../fields";
import { quote } from "../filter";
import { useI18n } from "../i18n";
import { href } from "../router";
import { ErrorBox, Icon, Loading } from "./common";

export const CALENDAR_LIMIT = 500;

const pad = (n: number) => String(n).padStart(2, "0");
const ymd = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;

// monthOf reads "YYYY-MM" (else the current month) as its first day.
export function monthOf(s: string | null | undefined, now = new Date()): Date {
  const m = /^(\d{4})-(\d{2})$/.exec(s ?? "");
  if (m && Number(m[2]) >= 1 && Number(m[2]) <= 12) return new Date(Number(m[1]), Number(m[2]) - 1, 1);
  return new Date(now.getFullYear(), now.getMonth(), 1);
}

export const monthText = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;

// rangeFilter: the records of the month [first, next first) for the field,
// joined to the user's filter. Datetimes compare as instants at local midnight.
export function rangeFilter(field: Field, month: Date, filter: string): string {
  const next = new Date(month.getFullYear(), month.getMonth() + 1, 1);
  const bound = (d: Date) => {
    if (field.type === "date") return quote(ymd(d));
    const off = -d.getTimezoneOffset();
    const a = Math.abs(off);
    return quote(`${ymd(d)}T00:00:00${off >= 0 ? "+" : "-"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`);
  };
  const range = `${field.name} >= ${bound(month)} && ${field.name} < ${bound(next)}`;
  return filter.trim() ? `(${filter}) && ${range}` : range;
}

// dayOf: the local day a value falls on.
export function dayOf(field: Field, v: unknown): string | null {
  if (typeof v !== "string" || !v) return null;
  if (field.type === "date") return v.slice(0, 10);
  const d = new Date(v);
  return isNaN(d.getTime()) ? null : ymd(d);
}

// weeks: the Monday-first weeks covering the month.
export function weeks(month: Date): Date[][] {
  const first = new Date(month.getFullYear(), month.getMonth(), 1);
  const start = new Date(first);
  start.setDate(1 - ((first.getDay() + 6) % 7));
  const out: Date[][] = [];
  const d = new Date(start);
  do {
    const w: Date[] = [];
    for (let i = 0; i < 7; i++) {
      w.push(new Date(d));
      d.setDate(d.getDate() + 1);
    }
    out.push(w);
  } while (d.getMonth() === month.getMonth());
  return out;
}

export function Calendar({ app, entity, field, filter, month, onMonth }: {
  app: AppDocument; entity: Entity; field: Field; filter: string; month: Date; onMonth: (m: Date) => void;
}) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  const [items, setItems] = useState<DataRecord[] | null>(null);
  const [more, setMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);
  const key = monthText(month);

  useEffect(() => {
    let live = true;
    setError(null);
    api.list(app.name, entity.name, { filter: rangeFilter(field, month, filter), sort: field.name, limit: CALENDAR_LIMIT }).then(
      (r) => {
        if (!live) return;
        setItems(r.items ?? []);
        setMore(!!r.nextCursor);
      },
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
    // month is keyed by its text
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app.name, entity.name, field, filter, key, attempt]);

  const title = labelField(entity);
  const byDay = new Map<string, DataRecord[]>();
  for (const r of items ?? []) {
    const d = dayOf(field, r[field.name]);
    if (d) byDay.set(d, [...(byDay.get(d) ?? []), r]);
  }
  const today = ymd(new Date());
  const monthName = new Intl.DateTimeFormat(lang, { year: "numeric", month: "long" }).format(month);
  const dayNames = weeks(month)[0].map((d) => new Intl.DateTimeFormat(lang, { weekday: "short" }).format(d));
  const shift = (n: number) => onMonth(new Date(month.getFullYear(), month.getMonth() + n, 1));

  return (
    <div className="calendar" data-testid="calendar">
      <div className="calendar-head">
        <button type="button" className="btn btn-icon" data-testid="cal-prev" aria-label={t("calendar.prev")} onClick={() => shift(-1)}><Icon.left /></button>
        <h2 className="calendar-month" data-testid="cal-month" data-month={key}>{monthName}</h2>
        <button type="button" className="btn btn-icon" data-testid="cal-next" aria-label={t("calendar.next")} onClick={() => shift(1)}><Icon.right /></button>
        <button type="button" className="btn btn-small" data-testid="cal-today" onClick={() => onMonth(monthOf(null))}>{t("calendar.today")}</button>
      </div>
      {error ? <ErrorBox error={error} testId="list-error" onRetry={() => setAttempt((a) => a + 1)} /> : null}
      {!items && !error && <Loading />}
      {more && <p className="muted small">{t("calendar.more", { n: CALENDAR_LIMIT })}</p>}
      {items && (
        <table className="calendar-grid">
          <thead><tr>{dayNames.map((n, i) => <th key={i} scope="col">{n}</th>)}</tr></thead>
          <tbody>
            {weeks(month).map((w, wi) => (
              <tr key={wi}>
                {w.map((d) => {
                  const k = ymd(d);
                  const recs = byDay.get(k) ?? [];
                  const out = d.getMonth() !== month.getMonth();
                  return (
                    <td key={k} className={"calendar-day" + (out ? " out" : "") + (k === today ? " today" : "")} data-testid={`cal-day-${k}`}>
                      <span className="calendar-date">{d.getDate()}</span>
                      {recs.map((r) => (
                        <a key={r.id} className="calendar-event" data-testid="cal-event" data-id={r.id}
                          href={href({ name: "record", app: app.name, entity: entity.name, id: r.id })}>
                          {field.type === "datetime" && <span className="muted small">{new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(new Date(String(r[field.name])))} </span>}
                          {title ? displayValue(title, r[title.name], i18n) : r.id}
                        </a>
                      ))}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {items && items.length === 0 && <p className="muted empty" data-testid="calendar-empty">{t("calendar.empty", { field: fieldLabel(field, lang) })}</p>}
    </div>
  );
}
