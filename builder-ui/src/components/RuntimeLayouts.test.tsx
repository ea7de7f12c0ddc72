import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { ListView } from "./ListView";
import { RecordForm } from "./RecordForm";

const base: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal",
    fields: [
      { id: "d1", name: "title", type: "text", label: "Title" },
      { id: "d2", name: "amount", type: "decimal", label: "Amount" },
      { id: "d3", name: "stage", type: "select", options: ["lead", "lost"] },
      { id: "d4", name: "cost", type: "decimal" },
      { id: "d5", name: "notes", type: "longtext" },
    ],
  }],
};

afterEach(() => {
  window.location.hash = "";
});

describe("RecordForm with a form layout", () => {
  const app: AppDocument = {
    ...base,
    forms: [{ entity: "deal", kind: "form", sections: [
      { title: "Basics", columns: 3, fields: ["stage", "title"] },
      { title: "Money", columns: 1, fields: ["amount", "ghost"] },
    ] }],
  };

  it("renders the sections with titles and column grids, unplaced fields last", async () => {
    mockFetch(() => undefined);
    renderWith(<RecordForm app={app} entity={app.entities[0]} />);
    const sections = screen.getAllByTestId("form-section");
    expect(sections).toHaveLength(3);
    expect(sections.map((s) => s.querySelector("h2")?.textContent ?? null)).toEqual(["Basics", "Money", null]);
    expect(sections.map((s) => s.querySelector(".form-grid")!.className)).toEqual(["form-grid cols-3", "form-grid cols-1", "form-grid cols-2"]);
    const names = (s: HTMLElement) => Array.from(s.querySelectorAll("[data-testid^='field-']")).map((el) => el.getAttribute("data-testid"));
    expect(names(sections[0])).toEqual(["field-stage", "field-title"]);
    expect(names(sections[1])).toEqual(["field-amount"]);
    expect(names(sections[2])).toEqual(["field-cost", "field-notes"]);
  });

  it("titles a section in the UI language, else by its title", () => {
    mockFetch(() => undefined);
    const titled: AppDocument = { ...base, forms: [{ entity: "deal", kind: "form", sections: [
      { title: "基本", titles: { "zh-CN": "基本", en: "Basics" }, fields: ["title"] },
      { title: "金额", titles: { "zh-CN": "金额" }, fields: ["amount"] },
    ] }] };
    for (const [lang, want] of [["en", ["Basics", "金额", null]], ["zh-CN", ["基本", "金额", null]]] as const) {
      const { unmount } = renderWith(<RecordForm app={titled} entity={titled.entities[0]} />, lang);
      expect(screen.getAllByTestId("form-section").map((s) => s.querySelector("h2")?.textContent ?? null)).toEqual(want);
      unmount();
    }
  });

  it("still saves every field, placed or not", async () => {
    const calls = mockFetch((c) => (c.method === "POST" ? { status: 201, body: { id: "n1" } } : undefined));
    renderWith(<RecordForm app={app} entity={app.entities[0]} />);
    fireEvent.change(screen.getByTestId("field-title"), { target: { value: "Big" } });
    fireEvent.change(screen.getByTestId("field-cost"), { target: { value: "3" } });
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ title: "Big", cost: "3" });
  });

  it("leaves out fields the API hides on a stored record", async () => {
    mockFetch((c) => (c.url.pathname === "/api/data/crm/deal/r1" ? { body: { id: "r1", version: 1, title: "T", stage: "lead" } } : undefined));
    renderWith(<RecordForm app={app} entity={app.entities[0]} id="r1" />);
    await screen.findByTestId("field-title");
    const sections = screen.getAllByTestId("form-section");
    expect(sections).toHaveLength(2);
    expect(within(sections[1]).queryByTestId("field-amount")).toBeNull();
  });

  it("keeps the automatic layout without one", () => {
    mockFetch(() => undefined);
    renderWith(<RecordForm app={base} entity={base.entities[0]} />);
    expect(screen.queryAllByTestId("form-section")).toHaveLength(0);
    expect(document.querySelectorAll(".form-grid")).toHaveLength(1);
  });
});

describe("ListView with a list view", () => {
  it("starts from its columns, sort and filter, which the user can still change", async () => {
    const app: AppDocument = { ...base, forms: [{ entity: "deal", kind: "list", columns: ["amount", "title", "owner"], sort: "-amount,title", filter: 'stage != "lost"' }] };
    const calls = mockFetch((c) => (c.url.pathname === "/api/data/crm/deal" ? { body: { items: [{ id: "r1", title: "One", amount: 5, owner: "u1" }] } } : undefined));
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    await screen.findByTestId("list-row");
    const data = () => calls.filter((c) => c.url.pathname === "/api/data/crm/deal");
    const q = data()[data().length - 1].url.searchParams;
    expect(q.get("sort")).toBe("-amount,title");
    expect(q.get("filter")).toBe('stage != "lost"');
    expect(Array.from(document.querySelectorAll("thead th")).map((th) => th.textContent)).toEqual(["Amount", "Title", "Owner"]);
    expect(screen.getByTestId("sort-amount").closest("th")!.getAttribute("aria-sort")).toBe("descending");
    expect(screen.getByTestId("filter-active").textContent).toBe('stage != "lost"');

    fireEvent.click(screen.getByTestId("sort-title"));
    await waitFor(() => expect(data()[data().length - 1].url.searchParams.get("sort")).toBe("title"));
    fireEvent.click(screen.getByTestId("filter-toggle"));
    fireEvent.click(screen.getByTestId("filter-apply"));
    await waitFor(() => expect(data()[data().length - 1].url.searchParams.has("filter")).toBe(false));
  });

  it("keeps the automatic columns without one", async () => {
    const calls = mockFetch((c) => (c.url.pathname === "/api/data/crm/deal" ? { body: { items: [] } } : undefined));
    renderWith(<ListView app={base} entity={base.entities[0]} />);
    await waitFor(() => expect(calls.filter((c) => !c.url.pathname.endsWith("/views")).length).toBe(1));
    // An empty list says what to do next.
    expect((await screen.findByTestId("list-empty")).textContent).toContain("No deal yet.");
    expect(screen.getByTestId("empty-new-record").getAttribute("href")).toBe("#/a/crm/deal/new");
    expect(Array.from(document.querySelectorAll("thead th")).map((th) => th.textContent)).toEqual(["Title", "Amount", "stage", "cost", "Created"]);
    expect(calls[0].url.searchParams.has("sort")).toBe(false);
  });
});
