import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { TOKEN_KEY, type AppDocument } from "../api";
import { dispositionName, exportPath, mayCreate } from "../imports";
import { mockFetch, renderWith } from "../test/util";
import { ListView } from "./ListView";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal",
    label: "Deals",
    fields: [
      { id: "1", name: "title", type: "text", label: "Title" },
      { id: "2", name: "amount", type: "decimal", label: "Amount", scale: 2 },
      { id: "3", name: "notes", type: "longtext" },
    ],
  }],
  forms: [{ entity: "deal", kind: "list", columns: ["title", "amount", "created_at"] }],
  matching: [{ name: "same_title", entity: "deal", keys: [{ fields: ["title"] }] }],
};

beforeEach(() => localStorage.setItem(TOKEN_KEY, "tok"));
afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  window.location.hash = "";
});

describe("export", () => {
  it("builds the export from the list's filter, sort and visible columns, with labels and the browser's zone", async () => {
    mockFetch((c) => (c.url.pathname === "/api/data/crm/deal" ? { body: { items: [] } } : undefined));
    window.location.hash = "#/a/crm/deal?filter=" + encodeURIComponent('amount > 100 and title ~ "华"') + "&sort=-amount";
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    const csv = await screen.findByTestId("export-csv");
    const u = new URL(csv.getAttribute("href")!, "http://x");
    expect(u.pathname).toBe("/api/data/crm/deal/export");
    expect(u.searchParams.get("format")).toBe("csv");
    expect(u.searchParams.get("filter")).toBe('amount > 100 and title ~ "华"');
    expect(u.searchParams.get("sort")).toBe("-amount");
    expect(u.searchParams.get("fields")).toBe("title,amount,created_at");
    expect(u.searchParams.get("labels")).toBe("1");
    expect(u.searchParams.get("tz")).toBe(Intl.DateTimeFormat().resolvedOptions().timeZone);
    expect(new URL(screen.getByTestId("export-xlsx").getAttribute("href")!, "http://x").searchParams.get("format")).toBe("xlsx");
    // Duplicates: the entity has a matching rule.
    expect(screen.getByTestId("duplicates-link").getAttribute("href")).toBe("#/a/crm/deal/duplicates");
  });

  it("downloads with the bearer token (links cannot carry it) under the server's file name", async () => {
    const seen: { url: string; auth?: string }[] = [];
    vi.stubGlobal("fetch", vi.fn(async (url: string, init: RequestInit = {}) => {
      const h = (init.headers ?? {}) as Record<string, string>;
      seen.push({ url, auth: h.Authorization });
      if (url.startsWith("/api/data/crm/deal/export")) {
        return { ok: true, status: 200, headers: new Headers({ "Content-Disposition": "attachment; filename*=UTF-8''%E5%95%86%E6%9C%BA.xlsx" }),
          blob: async () => new Blob(["x"]) } as unknown as Response;
      }
      return { ok: true, status: 200, headers: new Headers(), text: async () => JSON.stringify({ items: [] }) } as unknown as Response;
    }));
    const created = vi.fn(() => "blob:1");
    vi.stubGlobal("URL", Object.assign(URL, { createObjectURL: created, revokeObjectURL: () => undefined }));
    const clicked: string[] = [];
    const spy = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) { clicked.push(this.download); });
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    fireEvent.click(await screen.findByTestId("export-xlsx"));
    await waitFor(() => expect(clicked).toEqual(["商机.xlsx"]));
    const call = seen.find((s) => s.url.includes("/export"))!;
    expect(call.auth).toBe("Bearer tok");
    expect(call.url).toContain("format=xlsx");
    spy.mockRestore();
  });

  it("exportPath leaves out an empty filter and sort", () => {
    expect(exportPath("a", "e", { format: "csv", fields: ["x"], tz: "Asia/Shanghai" }))
      .toBe("/api/data/a/e/export?format=csv&fields=x&labels=1&tz=Asia%2FShanghai");
    expect(dispositionName('attachment; filename="deal.csv"')).toBe("deal.csv");
  });
});

describe("import button", () => {
  it("shows for users who may create, not for those who may not", () => {
    const doc: AppDocument = { ...app, roles: [{ name: "rep", entities: { deal: { create: "own" } } }, { name: "viewer", entities: { deal: { create: "none", read: "all" } } }] };
    const e = doc.entities[0];
    expect(mayCreate({ id: "u", email: "a", roles: ["rep"] }, doc, e)).toBe(true);
    expect(mayCreate({ id: "u", email: "a", roles: ["viewer"] }, doc, e)).toBe(false);
    expect(mayCreate({ id: "u", email: "a", admin: true }, doc, e)).toBe(true);
  });

  it("opens the wizard from the list (in Chinese)", async () => {
    mockFetch((c) => (c.url.pathname === "/api/data/crm/deal" ? { body: { items: [] } } : undefined));
    renderWith(<ListView app={app} entity={app.entities[0]} />, "zh-CN");
    fireEvent.click(await screen.findByTestId("import-open"));
    expect(screen.getByTestId("import-wizard").textContent).toContain("导入到Deals");
    expect(screen.getByTestId("export-csv").textContent).toBe("导出 CSV");
  });
});
