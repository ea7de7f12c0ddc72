import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppDocument } from "../api";
import { totalsSpec } from "../bulk";
import { mockFetch, renderWith, type Call } from "../test/util";
import { ListView } from "./ListView";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal",
    label: "Deals",
    fields: [
      { id: "1", name: "title", type: "text", label: "Title" },
      { id: "2", name: "amount", type: "decimal", label: "Amount", scale: 2 },
      { id: "3", name: "stage", type: "select", label: "Stage", options: ["lead", "won"] },
      { id: "4", name: "qty", type: "integer", label: "Qty" },
      { id: "5", name: "score", type: "formula", returns: "integer", expr: "qty * 2" },
    ],
  }],
};
const rows = [
  { id: "r1", version: 1, title: "One", amount: "1000.00", stage: "lead", qty: 1 },
  { id: "r2", version: 1, title: "Two", amount: "234.50", stage: "lead", qty: 2 },
];
const totals = { count: 12, sum: { amount: "1234.50", qty: 30, score: 60 }, avg: { amount: "102.875", qty: 2.5, score: 5 } };

// serve answers the list (with totals), the bulk request and its status
// (statuses in turn).
function serve(statuses: object[], start: { status?: number; body: object } = { status: 202, body: { job: 7, count: 12 } }) {
  let n = 0;
  return mockFetch((c: Call) => {
    if (c.url.pathname === "/api/data/crm/deal") return { body: { items: rows, totals } };
    if (c.url.pathname === "/api/data/crm/deal/bulk" && c.method === "POST") return start;
    if (c.url.pathname === "/api/data/crm/deal/bulk/7") return { body: statuses[Math.min(n++, statuses.length - 1)] };
    return undefined;
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("list totals", () => {
  it("asks for the count and the sum and average of each numeric column, and shows them under the list", async () => {
    const calls = serve([]);
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    await screen.findByTestId("totals-row");
    const list = calls.find((c) => c.url.pathname === "/api/data/crm/deal")!;
    expect(list.url.searchParams.get("totals")).toBe("count,sum:amount,avg:amount,sum:qty,avg:qty,sum:score,avg:score");
    expect(screen.getByTestId("total-count").textContent).toBe("12 records");
    expect(screen.getByTestId("total-sum-amount").textContent).toBe("1,234.50");
    expect(screen.getByTestId("total-avg-amount").textContent).toBe("102.88");
    expect(screen.getByTestId("total-sum-qty").textContent).toBe("30");
    expect(screen.getByTestId("total-avg-score").textContent).toBe("5");
    expect(screen.getByTestId("total-title").textContent).toBe("12 records");
  });

  it("reads in Chinese", async () => {
    serve([]);
    renderWith(<ListView app={app} entity={app.entities[0]} />, "zh-CN");
    expect((await screen.findByTestId("total-count")).textContent).toBe("共 12 条");
    expect(screen.getByTestId("total-amount").textContent).toContain("合计");
  });

  it("takes at most nine numeric columns (twenty totals)", () => {
    const many = Array.from({ length: 12 }, (_, i) => ({ id: String(i), name: "n" + i, type: "integer" as const }));
    expect(totalsSpec(many).split(",")).toHaveLength(19);
  });
});

describe("bulk changes", () => {
  it("edits all filtered records after a confirmation that states the count, and follows the job", async () => {
    const calls = serve([
      { job: 7, state: "running", op: "update", total: 12, done: 5 },
      { job: 7, state: "completed", op: "update", result: { ok: true, changed: 12 } },
    ]);
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    await screen.findAllByTestId("list-row");
    expect(screen.queryByTestId("bulk-bar")).toBeNull();
    fireEvent.click(screen.getAllByTestId("select-row")[0]);
    expect(screen.getByTestId("bulk-count").textContent).toBe("1 selected");
    fireEvent.click(screen.getByTestId("select-page"));
    expect(screen.getByTestId("bulk-count").textContent).toBe("2 selected");
    fireEvent.click(screen.getByTestId("bulk-all"));
    expect(screen.getByTestId("bulk-count").textContent).toBe("All 12 records of this filter");

    fireEvent.click(screen.getByTestId("bulk-edit"));
    const dialog = screen.getByTestId("bulk-edit-dialog");
    fireEvent.change(within(dialog).getByTestId("bulk-field"), { target: { value: "stage" } });
    fireEvent.change(within(dialog).getByTestId("bulk-value"), { target: { value: "won" } });
    fireEvent.click(within(dialog).getByTestId("bulk-edit-next"));
    expect(screen.getByTestId("bulk-confirm-text").textContent).toBe("Set Stage to won in 12 records?");
    fireEvent.click(screen.getByTestId("bulk-run"));
    await waitFor(() => expect(screen.getByTestId("bulk-progress-text").textContent).toBe("5 of 12 records"), { timeout: 3000 });
    await waitFor(() => expect(screen.getByTestId("bulk-result-text").textContent).toBe("12 records changed."), { timeout: 3000 });
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ filter: "", set: { stage: "won" }, expected: 12 });
    fireEvent.click(screen.getByTestId("bulk-result-close"));
    expect(screen.queryByTestId("bulk-bar")).toBeNull();
  });

  it("refuses a value of the wrong type before asking", async () => {
    serve([]);
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    fireEvent.click((await screen.findAllByTestId("select-row"))[0]);
    fireEvent.click(screen.getByTestId("bulk-edit"));
    fireEvent.change(screen.getByTestId("bulk-field"), { target: { value: "qty" } });
    fireEvent.change(screen.getByTestId("bulk-value"), { target: { value: "lots" } });
    fireEvent.click(screen.getByTestId("bulk-edit-next"));
    expect(screen.getByTestId("bulk-value-error")).toBeTruthy();
    expect(screen.queryByTestId("bulk-confirm")).toBeNull();
  });

  it("deletes the selected records, and names the one that stopped it", async () => {
    const calls = serve([{ job: 7, state: "failed", op: "delete", error: "record r2: referenced",
      result: { ok: false, changed: 0, failed: { id: "r2", status: 409, code: "referenced", message: "other records refer to this record" } } }]);
    renderWith(<ListView app={app} entity={app.entities[0]} />, "zh-CN");
    fireEvent.click((await screen.findAllByTestId("select-row"))[1]);
    fireEvent.click(screen.getByTestId("bulk-delete"));
    expect(screen.getByTestId("bulk-confirm-text").textContent).toBe("删除 1 条记录？删除后无法恢复。");
    fireEvent.click(screen.getByTestId("bulk-run"));
    const result = await screen.findByTestId("bulk-result-text", {}, { timeout: 3000 });
    expect(result.textContent).toContain("未做任何修改");
    expect(result.textContent).toContain("记录：r2");
    expect(result.textContent).toContain("other records refer to this record");
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ ids: ["r2"], delete: true, expected: 1 });
  });

  it("says so when the count moved since it was shown", async () => {
    serve([], { status: 409, body: { error: { code: "version_conflict", message: "there are 11 to change now, not 12", details: [] } } });
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    fireEvent.click((await screen.findAllByTestId("select-row"))[0]);
    fireEvent.click(screen.getByTestId("bulk-all"));
    fireEvent.click(screen.getByTestId("bulk-delete"));
    expect(screen.getByTestId("bulk-confirm-text").textContent).toBe("Delete 12 records? This cannot be undone.");
    fireEvent.click(screen.getByTestId("bulk-run"));
    expect((await screen.findByTestId("bulk-error")).textContent).toContain("The records changed since the count was shown");
  });
});
