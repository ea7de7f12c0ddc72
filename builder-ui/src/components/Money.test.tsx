import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { AppDocument } from "../api";
import { displayValue } from "../fields";
import { translate } from "../i18n";
import { mockFetch, renderWith } from "../test/util";
import { FieldConfig } from "./FieldConfig";
import { ListView } from "./ListView";
import { RecordForm } from "./RecordForm";
import { formatNumber, WidgetBody } from "./Dashboard";
import type { DDoc, DField } from "../designer/model";

// Money: a number field with a currency is shown with it, thousands
// separators and the field's places, in the user's language, wherever the
// list shows it (cells, totals), and on cards (displayValue).
const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal", label: "Deals",
    fields: [
      { id: "1", name: "title", type: "text", label: "Title" },
      { id: "2", name: "amount", type: "decimal", label: "Amount", scale: 2, currency: "CNY" },
      { id: "3", name: "budget", type: "integer", label: "Budget", currency: "USD" },
      { id: "4", name: "year", type: "integer", label: "Year" },
    ],
  }],
};
const rows = [{ id: "r1", version: 1, title: "One", amount: "1234567.5", budget: 25000, year: 2026 }];
const totals = { count: 1, sum: { amount: "1234567.50", budget: 25000, year: 2026 }, avg: { amount: "1234567.5", budget: 25000, year: 2026 } };

describe("money", () => {
  it("shows list cells and totals with the currency, grouped, in en", async () => {
    mockFetch((c) => (c.url.pathname === "/api/data/crm/deal" ? { body: { items: rows, totals } } : undefined));
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    await screen.findByTestId("totals-row");
    const cells = screen.getAllByTestId("cell-amount");
    expect(cells[0].textContent).toBe("CN¥1,234,567.50");
    expect(screen.getAllByTestId("cell-budget")[0].textContent).toBe("$25,000");
    expect(screen.getAllByTestId("cell-year")[0].textContent).toBe("2026"); // no currency: a plain number, not "2,026"
    expect(screen.getByTestId("total-sum-amount").textContent).toBe("CN¥1,234,567.50");
    expect(screen.getByTestId("total-avg-budget").textContent).toBe("$25,000.00");
  });

  it("reads in Chinese on a card as in a cell", () => {
    const i18n = { t: (k: Parameters<typeof translate>[1]) => translate("zh-CN", k), date: (s: string) => s, dateTime: (s: string) => s, lang: "zh-CN" };
    expect(displayValue(app.entities[0].fields[1], "1234567.5", i18n)).toBe("¥1,234,567.50");
    expect(displayValue(app.entities[0].fields[2], 25000, i18n)).toBe("US$25,000");
    expect(displayValue({ id: "x", name: "x", type: "formula", returns: "decimal", currency: "EUR" }, "12.5", i18n)).toBe("€12.50");
  });

  it("lets the designer pick a number field's currency, named in the user's language", () => {
    const field = { id: "2", name: "amount", type: "decimal", label: "金额" } as DField;
    const doc = { name: "crm", entities: [{ name: "deal", fields: [field] }] } as unknown as DDoc;
    const onChange = vi.fn();
    renderWith(<FieldConfig doc={doc} entityIndex={0} field={field} errors={[]} onChange={onChange} onType={() => undefined} onDelete={() => undefined} />, "zh-CN");
    const select = screen.getByTestId("config-currency") as HTMLSelectElement;
    expect([...select.options].find((o) => o.value === "CNY")?.textContent).toContain("人民币");
    fireEvent.change(select, { target: { value: "CNY" } });
    expect(onChange).toHaveBeenLastCalledWith({ currency: "CNY" });
    fireEvent.change(select, { target: { value: "" } });
    expect(onChange).toHaveBeenLastCalledWith({ currency: undefined });
  });

  it("offers no currency on a text field", () => {
    const field = { id: "1", name: "title", type: "text" } as DField;
    const doc = { name: "crm", entities: [{ name: "deal", fields: [field] }] } as unknown as DDoc;
    renderWith(<FieldConfig doc={doc} entityIndex={0} field={field} errors={[]} onChange={() => undefined} onType={() => undefined} onDelete={() => undefined} />);
    expect(screen.queryByTestId("config-currency")).toBeNull();
  });

  it("shows a dashboard measure of a money field as money", () => {
    expect(formatNumber(1234567.5, "zh-CN", undefined, "CNY")).toBe("¥1,234,567.50");
    expect(formatNumber(1234567.5, "en")).toBe("1,234,567.5");
    const r = { columns: [{ name: "total", kind: "measure" as const, currency: "USD" }], rows: [{ keys: [], values: [25000], drill: "" }], sqlMs: 1, cached: false };
    renderWith(<WidgetBody app="crm" widget={{ id: "w1", type: "table", layout: { x: 0, y: 0, w: 4, h: 2 }, query: { entity: "deal", measures: [{ name: "total", expr: "sum(budget)" }] } } as never}
      r={r as never} lang="en" />);
    expect(screen.getByText("$25,000.00")).toBeTruthy();
  });

  it("types money beside its currency's sign and reads it back grouped, in the form", () => {
    mockFetch(() => undefined);
    renderWith(<RecordForm app={app} entity={app.entities[0]} />, "zh-CN");
    expect(screen.getByTestId("money-sign-amount").textContent).toBe("¥");
    expect(screen.getByTestId("money-sign-budget").textContent).toBe("US$");
    expect(screen.queryByTestId("money-sign-year")).toBeNull(); // no currency: a plain number box
    fireEvent.change(screen.getByTestId("field-amount"), { target: { value: "1234567.5" } });
    expect(screen.getByTestId("money-shown-amount").textContent).toBe("¥1,234,567.50");
    expect((screen.getByTestId("field-amount") as HTMLInputElement).value).toBe("1234567.5"); // what is typed stays as typed
  });
});
