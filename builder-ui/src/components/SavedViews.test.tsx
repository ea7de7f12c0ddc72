import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { AppDocument } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { ListView } from "./ListView";

const app: AppDocument = {
  name: "crm",
  entities: [{ name: "deal", label: "Deals", fields: [
    { id: "1", name: "title", type: "text", label: "Title" },
    { id: "2", name: "stage", type: "select", options: ["lead", "won"] },
  ] }],
};

describe("saved views", () => {
  it("shows saved views as tabs, applies one to the URL, saves the current one and deletes own ones", async () => {
    window.location.hash = "#/a/crm/deal";
    const views = [
      { id: "v1", name: "Won", kind: "list", filter: 'stage = "won"', sort: "-title", options: {}, roles: [], owner: "u1", version: 1 },
      { id: "v2", name: "Board", labels: { en: "Team board" }, kind: "kanban", filter: "", sort: "", options: { by: "stage" }, roles: ["rep"], owner: "admin", version: 1 },
    ];
    const calls = mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/data/crm/deal/views" && c.method === "GET") return { body: { items: views } };
      if (p === "/api/data/crm/deal/views" && c.method === "POST") return { status: 201, body: { id: "v3", ...(c.body as object) } };
      if (p === "/api/data/crm/deal/views/v1" && c.method === "DELETE") return { status: 204 };
      if (p === "/api/data/crm/deal") return { body: { items: [] } };
      return undefined;
    });
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    fireEvent.click(await screen.findByTestId("saved-view-v1"));
    await waitFor(() => expect(window.location.hash).toContain("filter="));
    expect(new URLSearchParams(window.location.hash.split("?")[1]).get("filter")).toBe('stage = "won"');
    expect(screen.getByTestId("saved-view-v2").textContent).toContain("Team board");
    expect(screen.queryByTestId("saved-view-delete-v2")).toBeNull(); // shared: the admin's

    vi.spyOn(window, "prompt").mockReturnValue("Mine");
    fireEvent.click(screen.getByTestId("saved-view-save"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    const sent = calls.find((c) => c.method === "POST")!.body as Record<string, unknown>;
    expect(sent).toMatchObject({ name: "Mine", kind: "list", filter: 'stage = "won"', sort: "-title" });

    fireEvent.click(screen.getByTestId("saved-view-delete-v1"));
    await waitFor(() => expect(calls.some((c) => c.method === "DELETE")).toBe(true));
    window.location.hash = "";
  });

  it("marks a view that names a removed field and opens it without that part, in zh-CN", async () => {
    window.location.hash = "#/a/crm/deal";
    const views = [{ id: "v9", name: "旧视图", kind: "list", filter: "amount > 5", sort: "-title", options: {}, roles: [], owner: "u1", version: 2,
      problems: [{ path: "/filter", code: "filter", params: { field: "filter" }, message: "filter: unknown field \"amount\" at position 0" }] }];
    mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/data/crm/deal/views" && c.method === "GET") return { body: { items: views } };
      if (p === "/api/data/crm/deal") return { body: { items: [] } };
      return undefined;
    });
    renderWith(<ListView app={app} entity={app.entities[0]} />, "zh-CN");
    expect(await screen.findByTestId("saved-view-flag-v9")).toBeTruthy();
    fireEvent.click(screen.getByTestId("saved-view-v9"));
    await waitFor(() => expect(window.location.hash).toContain("sort="));
    const q = new URLSearchParams(window.location.hash.split("?")[1]);
    expect(q.get("sort")).toBe("-title");
    expect(q.get("filter")).toBeNull();
    expect(screen.getByTestId("saved-view-notice").textContent).toContain("已删除");
    window.location.hash = "";
  });
});
