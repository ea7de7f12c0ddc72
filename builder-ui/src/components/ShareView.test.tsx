import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, type AppDocument } from "../api";
import { mockFetch, renderWith, type Call } from "../test/util";
import { ListView } from "./ListView";

const app: AppDocument = {
  name: "crm",
  roles: [{ name: "rep", label: "一线销售" }, { name: "ops" }],
  entities: [{ name: "deal", label: "Deals", fields: [{ id: "1", name: "title", type: "text", label: "Title" }] }],
};
const views = [{ id: "v1", name: "Won", kind: "list", filter: 'title ~ "a"', sort: "", options: {}, roles: [], owner: "u1", version: 3 }];

function serve(admin: boolean, patch: (c: Call) => { status?: number; body?: unknown } = () => ({ body: { ...views[0] } })) {
  return mockFetch((c) => {
    const p = c.url.pathname;
    if (p === "/api/auth/me") return { body: { id: "u1", email: "a@example.com", admin } };
    if (p === "/api/data/crm/deal/views" && c.method === "GET") return { body: { items: views } };
    if (p === "/api/data/crm/deal/views/v1" && c.method === "PATCH") return patch(c);
    if (p === "/api/data/crm/deal") return { body: { items: [] } };
    return undefined;
  });
}

afterEach(() => vi.unstubAllGlobals());

describe("sharing a saved view", () => {
  it("lets an admin share a view with roles and name it in both languages", async () => {
    const calls = serve(true);
    await api.me();
    renderWith(<ListView app={app} entity={app.entities[0]} />, "zh-CN");
    fireEvent.click(await screen.findByTestId("saved-view-share-v1"));
    expect(screen.getByTestId("share-view").textContent).toContain("一线销售");
    expect(screen.getByTestId("share-view").textContent).toContain("销售经理"); // a default role the app does not write out
    expect(screen.getByTestId("share-personal")).toBeTruthy();
    fireEvent.click(screen.getByTestId("share-role-rep"));
    fireEvent.click(screen.getByTestId("share-role-manager"));
    fireEvent.change(screen.getByTestId("share-label-zh-CN"), { target: { value: "赢单" } });
    fireEvent.change(screen.getByTestId("share-label-en"), { target: { value: " Won deals " } });
    fireEvent.click(screen.getByTestId("share-save"));
    await waitFor(() => expect(screen.queryByTestId("share-view")).toBeNull());
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.body).toEqual({ version: 3, roles: ["rep", "manager"], labels: { "zh-CN": "赢单", en: "Won deals" } });
    expect(calls.filter((c) => c.url.pathname.endsWith("/views") && c.method === "GET").length).toBe(2); // reloaded
  });

  it("shows the server's refusal in the dialog", async () => {
    serve(true, () => ({ status: 409, body: { error: { code: "version_conflict", message: "stale" } } }));
    await api.me();
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    fireEvent.click(await screen.findByTestId("saved-view-share-v1"));
    fireEvent.click(screen.getByTestId("share-role-ops"));
    fireEvent.click(screen.getByTestId("share-save"));
    expect((await screen.findByTestId("share-error")).textContent).toContain("Someone changed this view meanwhile");
  });

  it("offers no sharing to someone who is not an admin", async () => {
    serve(false);
    await api.me();
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    await screen.findByTestId("saved-view-v1");
    expect(screen.queryByTestId("saved-view-share-v1")).toBeNull();
    expect(screen.getByTestId("saved-view-delete-v1")).toBeTruthy();
  });
});
