import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Designer } from "./Designer";
import { effectText, unindexedTextSorts } from "./IndexAdvice";
import type { DDoc } from "../designer/model";
import type { Field } from "../api";

const doc = (): DDoc => ({
  name: "desk", version: 2,
  entities: [{
    name: "ticket",
    fields: [
      { id: "t1", name: "subject", type: "text" },
      { id: "t2", name: "severity", type: "integer" },
      { id: "t3", name: "owner_note", type: "text" },
    ],
    indexes: [{ fields: ["severity"] }],
  }],
  forms: [{ entity: "ticket", kind: "list", columns: ["subject", "severity", "owner_note"], sort: "-severity" }],
} as unknown as DDoc);

const advice = {
  id: "abc123", entity: "ticket", filter: "(severity >= ? && status = ?)", sort: "-severity,subject,-id",
  count: 12, totalMs: 480.4, maxMs: 60, index: { fields: ["status", "severity", "-subject", "id"] }, exists: false,
  effect: {
    dialect: "postgres", sorts: true, matches: 13000, expect: "now every page sorts about 13000 matching rows first",
    now: ["Limit  (cost=1200.50..1200.63 rows=51 width=80)", "  ->  Sort  (cost=1200.50..1233.00 rows=13000 width=80)"],
    with: ["Limit  (cost=0.29..8.40 rows=51 width=80)", "  ->  Index Scan using hypo_1 on desk_ticket"],
    sortsWith: false, costNow: 1200.63, costWith: 8.4, measured: "explain" as const,
  },
};

describe("list view designer: indexes", () => {
  it("words an estimated effect and one that still sorts", () => {
    const t = (k: string) => k;
    const est = { ...advice, effect: { ...advice.effect, measured: "estimated" as const, with: undefined } };
    expect(effectText(t as never, est)).toBe("listView.effectEstimated");
    const still = { ...advice, effect: { ...advice.effect, sortsWith: true } };
    expect(effectText(t as never, still)).toBe("listView.effectStillSorts");
  });

  it("names the shown text columns no index starts with", () => {
    const fields = doc().entities[0].fields as Field[];
    expect(unindexedTextSorts(fields, ["subject", "severity", "owner_note"], [{ fields: ["severity"] }], "-severity")).toEqual(["subject", "owner_note"]);
    expect(unindexedTextSorts(fields, ["subject", "owner_note"], [{ fields: ["-owner_note"] }], "subject")).toEqual([]);
  });

  it("lists advice, applies it as a new version and reloads, and warns on a large table", async () => {
    let version = 2;
    const calls = mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps/desk") return { body: { ...doc(), version } };
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps/desk/advice") return { body: { items: [advice] } };
      if (c.method === "GET" && c.url.pathname === "/api/data/desk/ticket") return { body: { items: [], nextCursor: null, count: 100000, countExact: false } };
      if (c.method === "POST" && c.url.pathname === "/api/meta/apps/desk/advice/abc123/apply") {
        version = 3;
        return { status: 201, body: { app: "desk", version: 3, applied: true, dryRun: false, plan: { steps: [] } } };
      }
      return undefined;
    });
    renderWith(<Designer app="desk" />);
    fireEvent.click(await screen.findByTestId("tab-list"));
    expect((await screen.findByTestId("advice-abc123")).textContent).toContain("status, severity, -subject, id");
    // The effect measured with the index, worded in the UI's language,
    // and both plans with PostgreSQL's estimated costs.
    expect(screen.getByTestId("advice-effect-abc123").textContent).toContain("the sort is gone");
    const plans = screen.getByTestId("advice-plans-abc123");
    expect(plans.textContent).toContain("1201 → 8");
    expect(plans.textContent).toContain("Index Scan using hypo_1");
    expect(await screen.findByTestId("index-warn-subject")).toBeTruthy();
    expect(screen.getByTestId("index-warn-owner_note")).toBeTruthy();
    expect(screen.queryByTestId("index-warn-severity")).toBeNull();
    expect(calls.some((c) => c.url.pathname === "/api/data/desk/ticket" && c.url.searchParams.get("count") === "estimate")).toBe(true);
    fireEvent.click(screen.getByTestId("advice-apply-abc123"));
    // The designer reloads the document: the app is at the new version.
    await waitFor(() => expect(calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/meta/apps/desk").length).toBeGreaterThan(1));
    expect(calls.filter((c) => c.method === "POST" && c.url.pathname.endsWith("/apply"))).toHaveLength(1);
  });
});
