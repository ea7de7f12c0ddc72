import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { DashboardDef } from "../api";
import type { Automation } from "../designer/automations";
import type { DDoc } from "../designer/model";
import { mockFetch, renderWith, type Call } from "../test/util";
import { AutomationsEditor } from "./AutomationsEditor";
import { DashboardsEditor } from "./DashboardsEditor";

// The formula and condition editor is the one wherever the languages are
// typed: automation conditions, timer unless, schedule filters, calculated
// values, and dashboard filters (issue 21, bullet 3).

const doc = (extra: Partial<DDoc>): DDoc => ({
  name: "crm", version: 2,
  entities: [
    { name: "quote", label: "Quote", fields: [
      { id: "q1", name: "title", label: "Title", type: "text" },
      { id: "q2", name: "status", label: "Status", type: "select", options: ["draft", "sent", "won"] },
      { id: "q3", name: "opened_at", label: "Opened at", type: "datetime" },
      { id: "q4", name: "replied_at", label: "Replied at", type: "datetime" },
      { id: "q5", name: "amount", label: "金额", type: "decimal" },
      { id: "q6", name: "account", label: "Account", type: "ref", entity: "account" },
    ] },
    { name: "account", label: "Account", fields: [{ id: "a1", name: "name", label: "名称", type: "text" }, { id: "a2", name: "region", label: "Region", type: "text" }] },
  ],
  ...extra,
});

function Autos({ initial }: { initial: DDoc }) {
  const [d, setD] = useState(initial);
  return <AutomationsEditor doc={d} onChange={setD} stored />;
}
function Dashes({ initial }: { initial: DDoc }) {
  const [d, setD] = useState(initial);
  return <DashboardsEditor doc={d} onChange={setD} stored />;
}

const checks = (calls: Call[]) => calls.filter((c) => c.url.pathname.endsWith("/expressions/check")).map((c) => c.body as Record<string, unknown>);
const typeIn = (el: HTMLElement, text: string) => fireEvent.change(el, { target: { value: text, selectionStart: text.length } });
const answer = (c: Call) => (c.url.pathname.endsWith("/expressions/check") ? { body: { ok: true, fields: [], problems: [] } } : undefined);

const rule = (over: Partial<Automation>): Automation => ({
  name: "r", enabled: true, entity: "quote",
  trigger: { type: "timer", field: "opened_at", offset: "72h", unless: "replied_at != null" },
  actions: [{ type: "set", fields: { amount: { expr: "amount * 2" } } }],
  ...over,
});

describe("the expression editor in automations", () => {
  it("offers fields by label in the condition and checks it as a document filter of the rule's entity", async () => {
    const calls = mockFetch(answer);
    renderWith(<Autos initial={doc({ automations: [rule({ condition: 'status = "sent"' })] })} />);
    const box = screen.getByTestId("auto-condition-text");
    await act(async () => typeIn(box, "金"));
    expect(screen.getAllByTestId("auto-condition-expr-offer")[0].textContent).toContain("金额");
    await act(async () => typeIn(box, 'status = "won"'));
    await waitFor(() => expect(checks(calls).some((b) => b.expr === 'status = "won"')).toBe(true), { timeout: 2000 });
    expect(checks(calls).find((b) => b.expr === 'status = "won"')).toMatchObject({ entity: "quote", mode: "filter", scope: "document", draft: true });
  });

  it("does not send previous.FIELD to the check (the publish checks it), and checks the timer's unless", async () => {
    const calls = mockFetch(answer);
    renderWith(<Autos initial={doc({ automations: [rule({ condition: "previous.status != status" })] })} />);
    await waitFor(() => expect(checks(calls).some((b) => b.expr === "replied_at != null")).toBe(true), { timeout: 2000 });
    expect(checks(calls).some((b) => String(b.expr).includes("previous."))).toBe(false);
    expect(screen.getByTestId("auto-unless-text")).toBeTruthy();
  });

  it("checks a calculated value as a formula of the triggering entity", async () => {
    const calls = mockFetch(answer);
    renderWith(<Autos initial={doc({ automations: [rule({})] })} />);
    const box = screen.getByTestId("auto-field-expr-actions-0-amount");
    await act(async () => typeIn(box, "round(金"));
    expect(screen.getAllByTestId("auto-field-exprbox-actions-0-amount-offer")[0].textContent).toContain("金额");
    await act(async () => typeIn(box, "amount / 1000"));
    await waitFor(() => expect(checks(calls).some((b) => b.expr === "amount / 1000")).toBe(true), { timeout: 2000 });
    expect(checks(calls).find((b) => b.expr === "amount / 1000")).toMatchObject({ entity: "quote", mode: "formula" });
  });
});

describe("the expression editor in dashboards", () => {
  const dashboards: DashboardDef[] = [{ name: "d", widgets: [{ id: "w1", type: "kpi", layout: { x: 0, y: 0, w: 3, h: 2 },
    query: { entity: "quote", measures: [{ name: "n", expr: "count()" }] } }], params: [{ name: "acct", type: "ref", entity: "account" }] } as DashboardDef];

  it("offers a ref's fields in a widget's filter and checks it, but not one using the dashboard's parameters", async () => {
    const calls = mockFetch((c) => answer(c) ?? (c.url.pathname.startsWith("/api/query/") ? { body: { columns: [], rows: [] } } : undefined));
    renderWith(<Dashes initial={doc({ dashboards })} />);
    fireEvent.click(await screen.findByTestId("tile-w1"));
    const box = screen.getByTestId("w-filter");
    await act(async () => typeIn(box, "名称"));
    expect(screen.getAllByTestId("w-filter-expr-offer")[0].textContent).toContain("Account › 名称");
    await act(async () => typeIn(box, 'account.region = "east"'));
    await waitFor(() => expect(checks(calls).some((b) => b.expr === 'account.region = "east"')).toBe(true), { timeout: 2000 });
    expect(checks(calls).find((b) => b.expr === 'account.region = "east"')).toMatchObject({ entity: "quote", mode: "filter", scope: "list" });
    await act(async () => typeIn(box, "account = @acct"));
    await new Promise((r) => setTimeout(r, 600));
    expect(checks(calls).some((b) => b.expr === "account = @acct")).toBe(false);
  });
});
