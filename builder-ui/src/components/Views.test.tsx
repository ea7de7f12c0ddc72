import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import { formatMoney } from "../fields";
import { mockFetch, pointerDrag, renderWith, type Call } from "../test/util";
import { ListView } from "./ListView";
import { rangeFilter, weeks } from "./Calendar";
import { columnJump } from "./Kanban";
import { RecordForm } from "./RecordForm";
import { listHref } from "../router";

const app: AppDocument = {
  name: "crm",
  entities: [
    { name: "store", label: "Stores", fields: [{ id: "s1", name: "name", type: "text", label: "Name" }] },
    {
      name: "deal", label: "Deals",
      fields: [
        { id: "1", name: "title", type: "text", label: "Title" },
        { id: "2", name: "amount", type: "decimal", label: "Amount", scale: 2 },
        { id: "3", name: "stage", type: "select", label: "Stage", options: ["lead", "won"] },
        { id: "4", name: "close_on", type: "date", label: "Close on" },
        { id: "5", name: "store", type: "ref", entity: "store", label: "Store" },
        { id: "6", name: "rep", type: "user", label: "Rep" },
      ],
    },
  ],
};
const deal = app.entities[1];

const rows = () => [
  { id: "r1", title: "Big one", amount: "1234567.5", stage: "lead", close_on: "2026-11-21", store: "st1", rep: "u9", version: 3 },
  { id: "r2", title: "Small", amount: 12, stage: "won", close_on: "2026-11-03", store: null, rep: null, version: 1 },
];

function serve(patch?: (c: Call) => { status?: number; body?: unknown }) {
  return mockFetch((c) => {
    if (c.method === "GET" && c.url.pathname === "/api/data/crm/deal") return { body: { items: rows() } };
    if (c.method === "GET" && c.url.pathname === "/api/data/crm/store/st1") return { body: { id: "st1", name: "静安店" } };
    if (c.url.pathname === "/api/directory/users") return { body: { items: [{ id: "u9", name: "Rita Rep", email: "rita@example.com" }] } };
    if (c.method === "PATCH" && patch) return patch(c);
    return undefined;
  });
}

beforeEach(() => {
  window.location.hash = "#/a/crm/deal";
});

describe("list view", () => {
  it("shows money with separators and scale, references and users by name", async () => {
    serve();
    renderWith(<ListView app={app} entity={deal} />);
    const row = (await screen.findAllByTestId("list-row"))[0];
    expect(within(row).getByTestId("cell-amount").textContent).toBe("1,234,567.50");
    await waitFor(() => expect(within(row).getByTestId("cell-store").textContent).toBe("静安店"));
    await waitFor(() => expect(within(row).getByTestId("cell-rep").textContent).toBe("Rita Rep"));
  });

  it("edits a cell in place with the record's version, and shows a refusal on the cell", async () => {
    let answer: { status?: number; body?: unknown } = { status: 422, body: { error: { code: "validation_failed", message: "bad", details: [{ path: "/amount", message: "must be at least 0" }] } } };
    const calls = serve(() => answer);
    renderWith(<ListView app={app} entity={deal} />);
    const row = (await screen.findAllByTestId("list-row"))[0];
    fireEvent.click(within(row).getByTestId("cell-amount"));
    const input = screen.getByTestId("cell-input") as HTMLInputElement;
    expect(input.value).toBe("1234567.50");
    fireEvent.change(input, { target: { value: "-1" } });
    fireEvent.keyDown(input, { key: "Enter" });
    expect((await screen.findByTestId("cell-error-amount")).textContent).toBe("must be at least 0");
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.url.pathname).toBe("/api/data/crm/deal/r1");
    expect(patch.body).toEqual({ amount: "-1", version: 3 });
    // Fixed and saved: the cell shows the saved value.
    answer = { body: { ...rows()[0], amount: "99", version: 4 } };
    fireEvent.change(screen.getByTestId("cell-input"), { target: { value: "99" } });
    fireEvent.keyDown(screen.getByTestId("cell-input"), { key: "Enter" });
    await waitFor(() => expect(screen.queryByTestId("cell-input")).toBeNull());
    expect(within(screen.getAllByTestId("list-row")[0]).getByTestId("cell-amount").textContent).toBe("99.00");
    // The keyboard: Enter on a focused cell edits it.
    fireEvent.keyDown(within(screen.getAllByTestId("list-row")[1]).getByTestId("cell-stage"), { key: "Enter" });
    expect((screen.getByTestId("cell-input") as HTMLSelectElement).value).toBe("won");
    fireEvent.keyDown(screen.getByTestId("cell-input"), { key: "Escape" });
    // Escape leaves a cell without saving.
    fireEvent.click(within(screen.getAllByTestId("list-row")[1]).getByTestId("cell-close_on"));
    fireEvent.keyDown(screen.getByTestId("cell-input"), { key: "Escape" });
    expect(screen.queryByTestId("cell-input")).toBeNull();
    expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(2);
  });

  it("keeps the view, filter and sort in the URL", async () => {
    const calls = serve();
    renderWith(<ListView app={app} entity={deal} />);
    await screen.findAllByTestId("list-row");
    fireEvent.click(screen.getByTestId("sort-amount"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/crm/deal?sort=amount"));
    fireEvent.click(screen.getByTestId("view-kanban"));
    await screen.findByTestId("kanban");
    expect(window.location.hash).toBe("#/a/crm/deal?sort=amount&view=kanban");
    expect(calls[calls.length - 1].url.searchParams.get("sort")).toBe("amount");
    // Back from a record returns to this view.
    expect(listHref("crm", "deal")).toBe("#/a/crm/deal?sort=amount&view=kanban");
  });

  it("filters by a store picked by name and by a person, and names system fields", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/deal") return { body: { items: rows() } };
      if (c.url.pathname === "/api/data/crm/store") return { body: { items: [{ id: "st1", name: "静安店" }] } };
      if (c.url.pathname === "/api/data/crm/store/st1") return { body: { id: "st1", name: "静安店" } };
      if (c.url.pathname === "/api/directory/users") return { body: { items: [{ id: "u9", name: "Rita Rep", email: "rita@example.com" }] } };
      return undefined;
    });
    renderWith(<ListView app={app} entity={deal} />);
    await screen.findAllByTestId("list-row");
    fireEvent.click(screen.getByTestId("filter-toggle"));
    fireEvent.click(screen.getByTestId("filter-add"));
    const field = screen.getByTestId("filter-field") as HTMLSelectElement;
    expect(Array.from(field.options).map((o) => o.textContent)).toContain("Owner");
    fireEvent.change(field, { target: { value: "store" } });
    fireEvent.change(screen.getByTestId("filter-value-pick"), { target: { value: "静安" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(screen.getAllByTestId("filter-field")[1], { target: { value: "rep" } });
    fireEvent.click(screen.getByTestId("filter-value-me"));
    fireEvent.click(screen.getByTestId("filter-apply"));
    await waitFor(() => expect(window.location.hash).toContain("filter="));
    const last = calls.filter((c) => c.url.pathname === "/api/data/crm/deal").pop()!;
    expect(last.url.searchParams.get("filter")).toBe('store = "st1" && rep = @me');
  });

  it("starts from the URL", async () => {
    window.location.hash = "#/a/crm/deal?view=calendar&month=2026-11&filter=" + encodeURIComponent('stage = "won"');
    const calls = serve();
    renderWith(<ListView app={app} entity={deal} />);
    await screen.findByTestId("calendar");
    await screen.findAllByTestId("cal-event");
    const q = calls.find((c) => c.url.pathname === "/api/data/crm/deal")!.url.searchParams;
    expect(q.get("filter")).toBe('(stage = "won") && close_on >= "2026-11-01" && close_on < "2026-12-01"');
    expect(screen.getByTestId("filter-active").textContent).toBe('stage = "won"');
  });
});

describe("kanban", () => {
  it("moves a card with a PATCH of the field and the version", async () => {
    window.location.hash = "#/a/crm/deal?view=kanban";
    const calls = serve((c) => ({ body: { ...rows()[0], ...(c.body as object), version: 4 } }));
    renderWith(<ListView app={app} entity={deal} />);
    const card = await within(await screen.findByTestId("kanban-col-lead")).findByTestId("kanban-card");
    const won = screen.getByTestId("kanban-col-won");
    await pointerDrag(card, won, won);
    await waitFor(() => expect(within(won).getAllByTestId("kanban-card")).toHaveLength(2));
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.url.pathname).toBe("/api/data/crm/deal/r1");
    expect(patch.body).toEqual({ stage: "won", version: 3 });
    expect(within(screen.getByTestId("kanban-col-lead")).queryAllByTestId("kanban-card")).toHaveLength(0);
  });

  it("puts a refused move back and says why", async () => {
    window.location.hash = "#/a/crm/deal?view=kanban";
    serve(() => ({ status: 409, body: { error: { code: "version_conflict", message: "stale" } } }));
    renderWith(<ListView app={app} entity={deal} />);
    const card = await within(await screen.findByTestId("kanban-col-lead")).findByTestId("kanban-card");
    const none = screen.getByTestId("kanban-col-none");
    await pointerDrag(card, none, none);
    expect((await screen.findByTestId("kanban-error")).textContent).toContain("Someone changed this record");
    expect(within(screen.getByTestId("kanban-col-lead")).getAllByTestId("kanban-card")).toHaveLength(1);
    expect(within(none).queryAllByTestId("kanban-card")).toHaveLength(0);
  });
});

describe("kanban in the user's language", () => {
  it("heads columns with option labels, else the flow state's, and shows card fields by their zh-CN label", async () => {
    window.location.hash = "#/a/crm/deal?view=kanban";
    const doc = {
      ...app,
      entities: [app.entities[0], {
        ...deal,
        fields: deal.fields.map((f) => f.name === "stage" ? { ...f, options: ["lead", "won"], optionLabels: { lead: { "zh-CN": "线索" } } }
          : f.name === "amount" ? { ...f, labels: { "zh-CN": "金额" } } : f),
      }],
      flows: [{ entity: "deal", field: "stage", states: [{ name: "lead" }, { name: "won", labels: { "zh-CN": "赢单" } }] }],
    } as unknown as AppDocument;
    serve();
    renderWith(<ListView app={doc} entity={doc.entities[1]} />, "zh-CN");
    const lead = await screen.findByTestId("kanban-col-lead");
    expect(lead.getAttribute("aria-label")).toBe("线索");
    expect(screen.getByTestId("kanban-col-won").getAttribute("aria-label")).toBe("赢单");
    await within(lead).findByTestId("kanban-card");
    expect(within(lead).getByText("金额")).toBeTruthy();
  });
});

describe("kanban keyboard", () => {
  it("moves a lifted card a whole column per arrow key", () => {
    const rect = (left: number) => ({ left, top: 0, width: 200, height: 400, right: left + 200, bottom: 400 });
    const context = {
      droppableRects: new Map([["a", rect(0)], ["b", rect(210)], ["c", rect(420)]]),
      collisionRect: { left: 230, top: 50, width: 160, height: 60, right: 390, bottom: 110 },
    };
    const key = (code: string) => ({ code, preventDefault() {} }) as unknown as KeyboardEvent;
    const args = { context, currentCoordinates: { x: 230, y: 50 } } as unknown as Parameters<typeof columnJump>[1];
    expect(columnJump(key("ArrowRight"), args)).toEqual({ x: 440, y: 50 }); // centre 310 → 520
    expect(columnJump(key("ArrowLeft"), args)).toEqual({ x: 20, y: 50 }); // centre 310 → 100
    expect(columnJump(key("ArrowDown"), args)).toBeUndefined();
  });
});

describe("calendar", () => {
  it("puts records on their day and moves between months", async () => {
    window.location.hash = "#/a/crm/deal?view=calendar&month=2026-11";
    serve();
    renderWith(<ListView app={app} entity={deal} />);
    const day = await screen.findByTestId("cal-day-2026-11-21");
    expect(await within(day).findByText("Big one")).toBeTruthy();
    expect(within(screen.getByTestId("cal-day-2026-11-03")).getByText("Small")).toBeTruthy();
    fireEvent.click(screen.getByTestId("cal-next"));
    await waitFor(() => expect(screen.getByTestId("cal-month").dataset.month).toBe("2026-12"));
    expect(window.location.hash).toContain("month=2026-12");
  });

  it("covers a month in Monday-first weeks and bounds datetimes in local time", () => {
    const w = weeks(new Date(2026, 10, 1));
    expect(w[0][0].getDate()).toBe(26); // Monday 26 October
    expect(w[w.length - 1][6] >= new Date(2026, 10, 30)).toBe(true);
    expect(rangeFilter({ id: "x", name: "at", type: "datetime" }, new Date(2026, 10, 1), ""))
      .toBe('at >= "2026-11-01T00:00:00+08:00" && at < "2026-12-01T00:00:00+08:00"');
  });
});

describe("record form", () => {
  it("shows the owner and creator by name", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/deal/r1") return { body: { ...rows()[0], owner: "u9", created_by: "u9" } };
      if (c.url.pathname === "/api/directory/users") return { body: { items: [{ id: "u9", name: "Rita Rep", email: "rita@example.com" }] } };
      if (c.url.pathname === "/api/data/crm/store/st1") return { body: { id: "st1", name: "静安店" } };
      return undefined;
    });
    renderWith(<RecordForm app={app} entity={deal} id="r1" />);
    await waitFor(() => expect(screen.getByTestId("field-owner").textContent).toBe("Rita Rep"));
    expect(screen.getByTestId("field-created_by").textContent).toBe("Rita Rep");
  });
});

describe("formatMoney", () => {
  it("groups thousands, keeps the scale, names the currency, in the user's language", () => {
    expect(formatMoney("1234567.5", 2, "en")).toBe("1,234,567.50");
    expect(formatMoney(3000, 0, "zh-CN")).toBe("3,000");
    expect(formatMoney("12345678901234567.89", 2, "en")).toBe("12,345,678,901,234,567.89");
    expect(formatMoney("1200.5", 2, "zh-CN", "CNY")).toBe("¥1,200.50");
    expect(formatMoney("oops", 2, "en")).toBe("oops");
  });
});
