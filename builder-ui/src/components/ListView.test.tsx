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
