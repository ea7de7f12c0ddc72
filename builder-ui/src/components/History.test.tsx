import { screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { History } from "./History";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal", fields: [
      { id: "1", name: "stage", type: "select", label: "Stage", options: ["lead", "won"] },
      { id: "2", name: "amount", type: "decimal" },
      { id: "3", name: "due_at", type: "datetime" },
    ],
  }],
};

describe("History", () => {
  it("lists who changed what and when, in local time, with old → new per field", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u1", email: "me@example.com" } };
      if (c.url.pathname === "/api/directory/users" && c.url.searchParams.get("id") === "u2") return { body: { items: [{ id: "u2", name: "Una Two", email: "u2@example.com" }] } };
      if (c.url.pathname === "/api/data/crm/deal/d1") return { body: { id: "d1", stage: "won" } };
      if (c.url.pathname === "/api/data/crm/deal/d1/history") {
        return {
          body: {
            items: [
              { id: "h2", op: "update", path: "api", actor: "u1", at: "2026-11-21T01:30:00.000000Z", version: 2,
                changes: { stage: { old: "lead", new: "won" }, due_at: { old: null, new: "2026-11-22T02:00:00.000000Z" } } },
              { id: "h1", op: "create", path: "import", actor: "u2", at: "2026-11-20T16:00:00Z", version: 1,
                changes: { stage: { new: "lead" }, amount: { new: 10.5 }, owner: { new: "u2" } } },
            ],
            nextCursor: null,
          },
        };
      }
    });
    renderWith(<History app={app} entity={app.entities[0]} id="d1" />);
    const entries = await screen.findAllByTestId("history-entry");
    expect(entries).toHaveLength(2);
    expect(entries[0].textContent).toContain("Updated");
    expect(entries[0].textContent).toContain("Nov 21, 2026");
    expect(entries[0].textContent).toMatch(/09:30/); // 01:30Z in Asia/Shanghai
    await screen.findByText("by me@example.com");
    const stage = within(entries[0]).getByTestId("history-change-stage");
    expect(stage.querySelector(".old")!.textContent).toBe("lead");
    expect(stage.querySelector(".new")!.textContent).toBe("won");
    expect(within(entries[0]).getByTestId("history-change-due_at").textContent).toMatch(/—.*Nov 22, 2026.*10:00/);
    // Users by name, the path in words.
    await screen.findByText("by Una Two");
    expect(within(entries[0]).getByTestId("history-path").textContent).toBe("through the API");
    expect(within(entries[1]).getByTestId("history-path").textContent).toBe("by an import");
    expect(within(entries[1]).getByTestId("history-change-owner").querySelector(".new")!.textContent).toBe("Una Two");
    expect(within(entries[1]).getByTestId("history-change-amount").querySelector(".new")!.textContent).toBe("10.50");
    expect(within(entries[1]).getByTestId("history-change-owner").querySelector("th")!.textContent).toBe("Owner");
    expect(screen.queryByTestId("history-more")).toBeNull();
    expect(calls.some((c) => c.url.pathname.endsWith("/history"))).toBe(true);
  });
});
