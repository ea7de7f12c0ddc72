import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { ListView, nextSort, PAGE_SIZE } from "./ListView";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "deal",
    label: "Deals",
    fields: [
      { id: "1", name: "title", type: "text", label: "Title" },
      { id: "2", name: "amount", type: "decimal" },
      { id: "3", name: "stage", type: "select", options: ["lead", "won"] },
      { id: "4", name: "notes", type: "longtext" },
      { id: "5", name: "closed_on", type: "date" },
      { id: "6", name: "won", type: "boolean" },
      { id: "7", name: "tags", type: "multiselect", options: ["a"] },
      { id: "8", name: "qty", type: "integer" },
      { id: "9", name: "extra", type: "text" },
    ],
  }],
};

// Three pages of two records: cursors "c1" and "c2" lead to pages 2 and 3.
const pages: Record<string, { items: object[]; nextCursor?: string }> = {
  "": { items: [{ id: "r1", title: "One", amount: 1, created_at: "2026-11-21T01:30:00Z" }, { id: "r2", title: "Two", amount: 2 }], nextCursor: "c1" },
  c1: { items: [{ id: "r3", title: "Three", amount: 3 }, { id: "r4", title: "Four", amount: 4 }], nextCursor: "c2" },
  c2: { items: [{ id: "r5", title: "Five", amount: 5, won: true, closed_on: "2026-11-21" }] },
};

function setup() {
  const calls = mockFetch((c) => {
    if (c.url.pathname !== "/api/data/crm/deal") return undefined;
    return { body: pages[c.url.searchParams.get("cursor") ?? ""] };
  });
  renderWith(<ListView app={app} entity={app.entities[0]} />);
  return calls;
}

const titles = () => screen.getAllByTestId("list-row").map((r) => r.querySelector("td")!.textContent);
const last = (calls: ReturnType<typeof setup>) => calls[calls.length - 1].url.searchParams;

describe("ListView", () => {
  it("pages forward with the next cursor and back with a stack of cursors", async () => {
    const calls = setup();
    await waitFor(() => expect(titles()).toEqual(["One", "Two"]));
    expect(last(calls).get("limit")).toBe(String(PAGE_SIZE));
    expect(last(calls).has("cursor")).toBe(false);
    expect((screen.getByTestId("prev-page") as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByTestId("next-page"));
    await waitFor(() => expect(titles()).toEqual(["Three", "Four"]));
    expect(last(calls).get("cursor")).toBe("c1");
    expect(screen.getByTestId("page-number").textContent).toBe("Page 2");

    fireEvent.click(screen.getByTestId("next-page"));
    await waitFor(() => expect(titles()).toEqual(["Five"]));
    expect(last(calls).get("cursor")).toBe("c2");
    expect((screen.getByTestId("next-page") as HTMLButtonElement).disabled).toBe(true);

    fireEvent.click(screen.getByTestId("prev-page"));
    await waitFor(() => expect(titles()).toEqual(["Three", "Four"]));
    expect(last(calls).get("cursor")).toBe("c1");

    fireEvent.click(screen.getByTestId("prev-page"));
    await waitFor(() => expect(titles()).toEqual(["One", "Two"]));
    expect(last(calls).has("cursor")).toBe(false);
    expect((screen.getByTestId("prev-page") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows the first six fields (not long text) and created_at as columns", async () => {
    setup();
    await screen.findAllByTestId("list-row");
    const heads = screen.getAllByRole("columnheader").map((h) => h.textContent);
    expect(heads).toEqual(["Title", "amount", "stage", "closed_on", "won", "tags", "Created"]);
    expect(screen.queryByTestId("sort-tags")).toBeNull(); // multiselects do not sort
  });

  it("sorts by a column, ascending then descending, from the first page", async () => {
    const calls = setup();
    await screen.findAllByTestId("list-row");
    fireEvent.click(screen.getByTestId("next-page"));
    await waitFor(() => expect(last(calls).get("cursor")).toBe("c1"));

    fireEvent.click(screen.getByTestId("sort-amount"));
    await waitFor(() => expect(last(calls).get("sort")).toBe("amount"));
    expect(last(calls).has("cursor")).toBe(false);
    // A new sort remounts the grid: its rows (and header) come with the answer.
    await screen.findAllByTestId("list-row");
    expect(screen.getByTestId("page-number").textContent).toBe("Page 1");

    fireEvent.click(screen.getByTestId("sort-amount"));
    await waitFor(() => expect(last(calls).get("sort")).toBe("-amount"));
    await screen.findAllByTestId("list-row");
    expect(screen.getByTestId("sort-amount").closest("th")!.getAttribute("aria-sort")).toBe("descending");
  });

  it("applies the filter builder's text and starts again from the first page", async () => {
    const calls = setup();
    await screen.findAllByTestId("list-row");
    fireEvent.click(screen.getByTestId("next-page"));
    await waitFor(() => expect(last(calls).get("cursor")).toBe("c1"));

    fireEvent.click(screen.getByTestId("filter-toggle"));
    fireEvent.click(screen.getByTestId("filter-add"));
    const row = screen.getByTestId("filter-row");
    fireEvent.change(within(row).getByTestId("filter-value"), { target: { value: "On" } });
    fireEvent.click(screen.getByTestId("filter-apply"));
    await waitFor(() => expect(last(calls).get("filter")).toBe('title ~ "On"'));
    expect(last(calls).has("cursor")).toBe(false);
  });

  it("shows an invalid filter answer", async () => {
    mockFetch(() => ({ status: 400, body: { error: { code: "invalid_filter", message: 'unknown field "nope" at 0' } } }));
    renderWith(<ListView app={app} entity={app.entities[0]} />);
    expect((await screen.findByTestId("list-error")).textContent).toContain('unknown field "nope" at 0');
  });

  it("formats values: booleans, dates, datetimes in local time", async () => {
    setup();
    await screen.findAllByTestId("list-row");
    const first = screen.getAllByTestId("list-row")[0];
    expect(first.textContent).toContain("Nov 21, 2026"); // 01:30Z is 09:30 in Shanghai
    expect(first.textContent).toContain("09:30");
  });
});

describe("nextSort", () => {
  it("cycles asc → desc → asc", () => {
    expect(nextSort("", "amount")).toBe("amount");
    expect(nextSort("amount", "amount")).toBe("-amount");
    expect(nextSort("-amount", "amount")).toBe("amount");
    expect(nextSort("-amount", "title")).toBe("title");
  });
});

describe("ListView refs", () => {
  const withRef: AppDocument = {
    name: "crm",
    entities: [
      { name: "deal", fields: [{ id: "1", name: "title", type: "text" }, { id: "2", name: "account", type: "ref", entity: "account" }] },
      { name: "account", fields: [{ id: "3", name: "name", type: "text" }] },
    ],
  };
  it("lists without expand when the server refuses it", async () => {
    const calls = mockFetch((c) => {
      if (c.url.searchParams.has("expand")) {
        return { status: 400, body: { error: { code: "invalid_query", message: 'expand: "account" is not a ref field of deal' } } };
      }
      return { body: { items: [{ id: "r1", title: "One", account: "a1" }] } };
    });
    renderWith(<ListView app={withRef} entity={withRef.entities[0]} />);
    const row = await screen.findByTestId("list-row");
    expect(row.textContent).toContain("a1");
    const lists = calls.filter((c) => !c.url.pathname.endsWith("/views")); // saved views are asked for beside the list
    expect(lists[0].url.searchParams.get("expand")).toBe("account");
    expect(screen.queryByTestId("list-error")).toBeNull();
  });
});

describe("ListView in the user's language", () => {
  const doc = {
    name: "sales",
    entities: [{
      name: "opportunity",
      label: "Opportunity",
      labels: { "zh-CN": "商机", en: "Opportunity" },
      fields: [
        { id: "1", name: "title", type: "text", label: "Title", labels: { "zh-CN": "标题", en: "Title" } },
        { id: "2", name: "industry", type: "select", label: "Industry", labels: { en: "Industry" }, options: ["manufacturing", "other"],
          optionLabels: { manufacturing: { "zh-CN": "制造业", en: "Manufacturing" } } },
        { id: "3", name: "stage", type: "select", label: "Stage", labels: { "zh-CN": "阶段" }, options: ["discovery", "won"] },
        { id: "4", name: "tags", type: "multiselect", options: ["hot", "cold"],
          optionLabels: { hot: { "zh-CN": "热门", en: "Hot" }, cold: { "zh-CN": "冷门" } } },
      ],
    }],
    flows: [{ name: "deal", entity: "opportunity", field: "stage", states: [{ name: "discovery", labels: { "zh-CN": "需求发现", en: "Discovery" } }, { name: "won", label: "Won" }] }],
  } as unknown as AppDocument;
  const rows = [
    { id: "r1", title: "Big deal", industry: "manufacturing", stage: "discovery", tags: ["hot", "cold"] },
    { id: "r2", title: "Small deal", industry: "other", stage: "won", tags: [] },
  ];
  const show = (lang: "zh-CN" | "en") => {
    mockFetch((c) => (c.url.pathname === "/api/data/sales/opportunity" ? { body: { items: rows } } : undefined));
    renderWith(<ListView app={doc} entity={doc.entities[0]} />, lang);
  };
  const cells = (name: string) => screen.getAllByTestId(`cell-${name}`).map((c) => c.textContent);

  it("heads columns with zh-CN labels (label when zh-CN is missing) and shows option and stage labels", async () => {
    show("zh-CN");
    await screen.findAllByTestId("list-row");
    const heads = screen.getAllByRole("columnheader").map((h) => h.textContent);
    expect(heads.slice(0, 4)).toEqual(["标题", "Industry", "阶段", "tags"]);
    expect(screen.getByRole("heading", { level: 1 }).textContent).toBe("商机");
    expect(cells("industry")).toEqual(["制造业", "other"]);
    expect(cells("stage")).toEqual(["需求发现", "Won"]);
    expect(cells("tags")[0]).toBe("热门, 冷门");
  });

  it("shows the en labels in English", async () => {
    show("en");
    await screen.findAllByTestId("list-row");
    const heads = screen.getAllByRole("columnheader").map((h) => h.textContent);
    expect(heads.slice(0, 4)).toEqual(["Title", "Industry", "Stage", "tags"]);
    expect(cells("industry")).toEqual(["Manufacturing", "other"]);
    expect(cells("stage")).toEqual(["Discovery", "Won"]);
    expect(cells("tags")[0]).toBe("Hot, cold"); // no en label: the value
  });

  it("offers a select's options by label while editing a cell, keeping the values", async () => {
    show("zh-CN");
    await screen.findAllByTestId("list-row");
    fireEvent.click(screen.getAllByTestId("cell-industry")[0]);
    const input = (await screen.findByTestId("cell-input")) as HTMLSelectElement;
    const opts = Array.from(input.options).map((o) => [o.value, o.textContent]);
    expect(opts).toEqual([["", "—"], ["manufacturing", "制造业"], ["other", "other"]]);
  });
});
