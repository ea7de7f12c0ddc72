// TotalsRow: the list's totals row — how many records, and the sum and
// average of each numeric column, over every record the filter and the
// user's row rules leave (GET …?totals=), not just the page shown.
import { numericFields, type Totals } from "../bulk";
import { displayValue, fieldLabel, formatMoney } from "../fields";
import type { Field } from "../api";
import { useI18n } from "../i18n";

export interface TotalsColumn {
  name: string;
  label: string;
  field?: Field;
}

export function TotalsRow({ columns, totals, lead = 0 }: { columns: TotalsColumn[]; totals: Totals | null; lead?: number }) {
  const i18n = useI18n();
  const { t, lang } = i18n;
  if (!totals) return null;
  const numeric = new Set(numericFields(columns.flatMap((c) => (c.field ? [c.field] : []))).map((f) => f.name));
  const avgText = (f: Field, v: unknown) => {
    if (v === null || v === undefined || v === "") return "—";
    const n = Number(v);
    // An average has places even over integers; money keeps its currency.
    const places = Math.max(f.scale ?? 0, 2);
    if (!isFinite(n)) return String(v);
    return f.currency ? formatMoney(n.toFixed(places), places, lang, f.currency) : n.toLocaleString(lang, { maximumFractionDigits: places });
  };
  return (
    <tfoot>
      <tr className="totals-row" data-testid="totals-row">
        {Array.from({ length: lead }, (_, i) => <td key={"lead" + i} />)}
        {columns.map((c, i) => {
          const f = c.field;
          const isNum = f && numeric.has(c.name);
          return (
            <td key={c.name} data-label={c.label} data-testid={`total-${c.name}`}>
              {i === 0 && <strong data-testid="total-count">{t("totals.count", { count: totals.count })}</strong>}
              {isNum && (
                <div className="totals-figures" title={fieldLabel(f, lang)}>
                  <span>{t("totals.sum")} <strong data-testid={`total-sum-${c.name}`}>{totals.sum[c.name] === null || totals.sum[c.name] === undefined
                    ? "—" : displayValue(f, totals.sum[c.name], i18n)}</strong></span>
                  <span className="muted small">{t("totals.avg")} <span data-testid={`total-avg-${c.name}`}>{avgText(f, totals.avg[c.name])}</span></span>
                </div>
              )}
            </td>
          );
        })}
      </tr>
    </tfoot>
  );
}
