import { fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mockFetch, pointerDrag, renderWith, type Call } from "../test/util";
import { Designer } from "./Designer";
import type { DDoc } from "../designer/model";

const stored = (over: Partial<DDoc> = {}): DDoc => ({
  name: "crm", label: "CRM", version: 3,
  entities: [
    {
      name: "deal", label: "Deals",
      fields: [
        { id: "d1", name: "title", type: "text", required: true },
        { id: "d2", name: "amount", type: "decimal" },
        { id: "d3", name: "stage", type: "select", options: ["lead", "lost"] },
        { id: "d4", name: "cost", type: "decimal", label: "Cost" },
      ],
    },
    { name: "account", fields: [{ id: "a1", name: "name", type: "text" }] },
  ],
  ...over,
});

const plan = () => ({ app: "crm", version: 3, dryRun: true, applied: false, plan: { fromVersion: 3, toVersion: 4, destructive: false, steps: [] } });

function serve(doc: DDoc, handler: (c: Call) => ReturnType<Parameters<typeof mockFetch>[0]> = () => undefined) {
  return mockFetch((c) => {
    if (c.method === "GET" && c.url.pathname === "/api/meta/apps/crm") return { body: doc };
    return handler(c);
  });
}
const posts = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.url.pathname === "/api/meta/apps");

// drag: a palette item, or a placed field by its handle, dropped over the
// upper half of `over` (before it) when before is set, else its lower half.
function drag(from: HTMLElement, over: HTMLElement, zone: HTMLElement, before = false) {
  return pointerDrag(from.querySelector<HTMLElement>(".drag-handle") ?? from, over, zone, before);
}

const placed = (i: number) => Array.from(screen.getByTestId(`section-drop-${i}`).querySelectorAll("[data-testid^='placed-']"))
  .map((el) => el.getAttribute("data-testid")!)
  .filter((x) => !x.startsWith("placed-remove-"))
  .map((x) => x.replace("placed-", ""));

async function publishBody(calls: Call[]): Promise<DDoc> {
  fireEvent.click(screen.getByTestId("publish"));
  await screen.findByTestId("plan-dialog");
  return posts(calls)[0].body as DDoc;
}

beforeEach(() => {
  window.location.hash = "";
});
afterEach(() => sessionStorage.clear());

describe("Designer: forms tab", () => {
  it("edits sections and places fields by click and drop, and publishes the layout", async () => {
    const calls = serve(stored(), (c) => (posts([c]).length ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-forms"));
    expect(screen.getByTestId("form-auto")).toBeTruthy();
    // Without a layout the preview is the automatic grid.
    expect(within(screen.getByTestId("form-preview")).queryAllByTestId("form-section")).toHaveLength(0);

    fireEvent.click(screen.getByTestId("section-add"));
    fireEvent.change(screen.getByTestId("section-title-0"), { target: { value: "Basics" } });
    // Per language (the shared LabelsInputs): an emptied one is dropped.
    fireEvent.change(screen.getByTestId("section-title-0-label-zh-CN"), { target: { value: "基本信息" } });
    fireEvent.change(screen.getByTestId("section-title-0-label-en"), { target: { value: "Basics (en)" } });
    fireEvent.click(screen.getByTestId("form-palette-title"));
    fireEvent.click(screen.getByTestId("form-palette-stage"));
    expect(placed(0)).toEqual(["title", "stage"]);
    expect(screen.queryByTestId("form-palette-title")).toBeNull();
    // Dropped on the upper half of "stage": before it.
    await drag(screen.getByTestId("form-palette-amount"), screen.getByTestId("placed-stage"), screen.getByTestId("section-drop-0"), true);
    expect(placed(0)).toEqual(["title", "amount", "stage"]);

    fireEvent.click(screen.getByTestId("section-add"));
    fireEvent.change(screen.getByTestId("section-title-1"), { target: { value: "Money" } });
    fireEvent.change(screen.getByTestId("section-columns-1"), { target: { value: "1" } });
    // Dragged from section 0 into the empty section 1.
    const zone1 = screen.getByTestId("section-drop-1");
    await drag(screen.getByTestId("placed-amount"), zone1, zone1);
    expect(placed(0)).toEqual(["title", "stage"]);
    expect(placed(1)).toEqual(["amount"]);
    // Within a section: title dropped after stage.
    await drag(screen.getByTestId("placed-title"), screen.getByTestId("placed-stage"), screen.getByTestId("section-drop-0"));
    expect(placed(0)).toEqual(["stage", "title"]);
    fireEvent.click(screen.getByTestId("placed-remove-stage"));
    expect(placed(0)).toEqual(["title"]);
    expect(screen.getByTestId("form-palette-stage")).toBeTruthy();
    fireEvent.click(screen.getByTestId("section-down-0"));
    expect((screen.getByTestId("section-title-0") as HTMLInputElement).value).toBe("Money");

    // The preview shows the sections with their titles and columns; the rest last, untitled.
    const preview = screen.getByTestId("form-preview");
    const sections = within(preview).getAllByTestId("form-section");
    expect(sections.map((s) => [s.querySelector("h2")?.textContent ?? null, s.dataset.columns])).toEqual([["Money", "1"], ["Basics (en)", "2"], [null, "2"]]);
    fireEvent.change(screen.getByTestId("section-title-1-label-en"), { target: { value: "" } });
    expect(within(preview).getAllByTestId("form-section")[1].querySelector("h2")?.textContent).toBe("Basics");
    expect(within(sections[0]).getByTestId("field-amount")).toBeTruthy();
    expect(within(sections[2]).getByTestId("field-stage")).toBeTruthy();
    expect(within(sections[2]).getByTestId("field-cost")).toBeTruthy();
    expect(within(preview).queryByTestId("form-save")).toBeNull();

    fireEvent.click(screen.getByTestId("section-remove-0"));
    expect(placed(0)).toEqual(["title"]);
    fireEvent.click(screen.getByTestId("section-add"));
    fireEvent.change(screen.getByTestId("section-columns-1"), { target: { value: "3" } });

    const body = await publishBody(calls);
    expect(body.forms).toEqual([{ entity: "deal", kind: "form", sections: [
      { title: "Basics", titles: { "zh-CN": "基本信息" }, columns: 2, fields: ["title"] }, { title: "", columns: 3, fields: [] }] }]);
  });

  it("previews the form as a rep sees it (hidden fields out, read-only ones as values)", async () => {
    serve(stored({
      forms: [{ entity: "deal", kind: "form", sections: [{ title: "Basics", columns: 2, fields: ["title", "cost", "amount"] }] }],
      roles: [{ name: "rep", entities: { deal: { read: "own", fields: { cost: "hidden", amount: "readonly" } } } }],
    }));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-forms"));
    const preview = screen.getByTestId("form-preview");
    expect(placed(0)).toEqual(["title", "cost", "amount"]);
    expect(within(preview).queryByTestId("field-cost")).toBeNull();
    expect(within(preview).getByTestId("field-amount").tagName).toBe("DIV");
    expect(within(preview).getByTestId("field-title").tagName).toBe("INPUT");
    fireEvent.click(screen.getByTestId("form-reset"));
    expect(screen.getByTestId("form-auto")).toBeTruthy();
  });

  it("previews the form as the role chosen in preview-role (app roles, built-in ones not redefined, admin)", async () => {
    serve(stored({
      roles: [
        { name: "rep", entities: { deal: { fields: { cost: "hidden", amount: "readonly" } } } },
        { name: "manager", label: "Manager", entities: { deal: { fields: { title: "readonly" } } } },
      ],
    }));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-forms"));
    const preview = screen.getByTestId("form-preview");
    const select = screen.getByTestId("preview-role") as HTMLSelectElement;
    // The app's roles, then the built-in ones it does not redefine (executive), then admin.
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual(["rep", "Manager (manager)", "executive", "admin (sees everything)"]);
    expect(select.value).toBe("rep");
    expect(within(preview).queryByTestId("field-cost")).toBeNull();
    expect(within(preview).getByTestId("field-amount").tagName).toBe("DIV");

    fireEvent.change(select, { target: { value: "manager" } });
    expect(within(preview).getByTestId("field-cost").tagName).toBe("INPUT");
    expect(within(preview).getByTestId("field-amount").tagName).toBe("INPUT");
    expect(within(preview).getByTestId("field-title").tagName).toBe("DIV");

    fireEvent.change(select, { target: { value: select.options[2].value } });
    for (const f of ["title", "amount", "stage", "cost"]) expect(within(preview).getByTestId(`field-${f}`).tagName).not.toBe("DIV");
  });

  it("offers the default roles in preview-role when the app defines none", async () => {
    serve(stored());
    renderWith(<Designer app="crm" />, "zh-CN");
    fireEvent.click(await screen.findByTestId("tab-forms"));
    const select = screen.getByTestId("preview-role") as HTMLSelectElement;
    expect(Array.from(select.options).map((o) => o.textContent)).toEqual(["rep", "manager", "executive", "admin（可见全部）"]);
    expect(select.value).toBe("rep");
  });

  it("shows 422 details for /forms/{i} on the forms tab and at the top", async () => {
    serve(stored({ forms: [{ entity: "deal", kind: "form", sections: [{ title: "A", columns: 2, fields: ["title"] }] }] }), (c) => (posts([c]).length
      ? { status: 422, body: { error: { code: "invalid_app", message: "the app is not valid", details: [{ path: "/forms/0/sections/0/fields/0", message: "id is a system field" }] } } }
      : undefined));
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("publish"));
    expect((await screen.findByTestId("forms-error")).textContent).toContain("deal: id is a system field");
    expect(screen.getByTestId("publish-error").textContent).toContain("/forms/0/sections/0/fields/0: id is a system field");
    expect(screen.getByTestId("tab-forms").className).toContain("has-error");
  });
});

describe("Designer: list view tab", () => {
  it("writes columns, sort and filter into the document", async () => {
    const calls = serve(stored(), (c) => (posts([c]).length ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-list"));
    expect(screen.getByTestId("list-auto")).toBeTruthy();
    const headers = () => Array.from(screen.getByTestId("list-preview").querySelectorAll("th")).map((th) => th.textContent);
    expect(headers()).toEqual(["title", "amount", "stage", "Cost", "Created"]);

    fireEvent.click(screen.getByTestId("list-col-stage"));
    fireEvent.click(screen.getByTestId("list-col-cost"));
    fireEvent.click(screen.getByTestId("list-col-owner"));
    fireEvent.click(screen.getByTestId("list-col-up-amount"));
    fireEvent.click(screen.getByTestId("list-col-down-created_at"));
    expect(headers()).toEqual(["amount", "title", "Owner", "Created"]);

    fireEvent.change(screen.getByTestId("list-sort-field"), { target: { value: "amount" } });
    fireEvent.change(screen.getByTestId("list-sort-dir"), { target: { value: "desc" } });

    // The filter builder writes the filter text.
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(screen.getByTestId("filter-field"), { target: { value: "stage" } });
    fireEvent.change(screen.getByTestId("filter-op"), { target: { value: "!=" } });
    fireEvent.change(screen.getByTestId("filter-value"), { target: { value: "lost" } });
    fireEvent.click(screen.getByTestId("filter-apply"));
    expect((screen.getByTestId("list-filter-text") as HTMLInputElement).value).toBe('stage != "lost"');

    const body = await publishBody(calls);
    expect(body.forms).toEqual([{ entity: "deal", kind: "list", columns: ["amount", "title", "owner", "created_at"], sort: "-amount", filter: 'stage != "lost"' }]);
  });

  it("edits an existing list view and keeps further sort keys", async () => {
    serve(stored({ forms: [{ entity: "deal", kind: "list", columns: ["title", "amount"], sort: "-amount,title", filter: "amount > 5" }] }));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-list"));
    expect((screen.getByTestId("list-sort-field") as HTMLSelectElement).value).toBe("amount");
    expect((screen.getByTestId("list-sort-dir") as HTMLSelectElement).value).toBe("desc");
    expect((screen.getByTestId("list-col-stage") as HTMLInputElement).checked).toBe(false);
    fireEvent.change(screen.getByTestId("list-sort-dir"), { target: { value: "asc" } });
    expect(screen.getByTestId("list-sort-text").textContent).toBe("amount,title");
    fireEvent.change(screen.getByTestId("list-filter-text"), { target: { value: "" } });
    fireEvent.click(screen.getByTestId("list-reset"));
    expect(screen.getByTestId("list-auto")).toBeTruthy();
  });
});

describe("Designer: roles tab", () => {
  it("notes the default roles, edits the matrix and field rules into the document", async () => {
    const calls = serve(stored(), (c) => (posts([c]).length ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-roles"));
    expect(screen.getByTestId("roles-default-note").textContent).toContain("rep");

    fireEvent.click(screen.getByTestId("role-add"));
    expect(screen.queryByTestId("roles-default-note")).toBeNull();
    fireEvent.change(screen.getByTestId("role-name-0"), { target: { value: "Rep" } });
    expect(screen.getByTestId("role-name-error-0")).toBeTruthy();
    fireEvent.change(screen.getByTestId("role-name-0"), { target: { value: "rep" } });
    expect(screen.queryByTestId("role-name-error-0")).toBeNull();
    fireEvent.change(screen.getByTestId("role-label-0"), { target: { value: "Sales rep" } });

    expect((screen.getByTestId("where-deal-read") as HTMLInputElement).disabled).toBe(true);
    fireEvent.change(screen.getByTestId("scope-deal-create"), { target: { value: "own" } });
    fireEvent.change(screen.getByTestId("scope-deal-read"), { target: { value: "team" } });
    fireEvent.change(screen.getByTestId("where-deal-read"), { target: { value: 'stage != "lost"' } });
    fireEvent.change(screen.getByTestId("scope-deal-update"), { target: { value: "own" } });
    fireEvent.change(screen.getByTestId("scope-deal-delete"), { target: { value: "none" } });
    fireEvent.change(screen.getByTestId("scope-account-read"), { target: { value: "all" } });
    fireEvent.change(screen.getByTestId("scope-account-read"), { target: { value: "" } });
    fireEvent.change(screen.getByTestId("fieldrule-deal-cost"), { target: { value: "hidden" } });
    fireEvent.change(screen.getByTestId("fieldrule-deal-amount"), { target: { value: "readonly" } });

    // A second role, removed again.
    fireEvent.click(screen.getByTestId("role-add"));
    expect((screen.getByTestId("role-name-1") as HTMLInputElement).value).toBe("role_1");
    fireEvent.click(screen.getByTestId("role-remove-1"));

    const body = await publishBody(calls);
    expect(body.roles).toEqual([{
      name: "rep", label: "Sales rep",
      entities: { deal: { create: "own", read: { scope: "team", where: 'stage != "lost"' }, update: "own", delete: "none", fields: { cost: "hidden", amount: "readonly" } } },
    }]);
  });

  it("shows an existing role's cells and 422 details for /roles/{i}", async () => {
    serve(stored({ roles: [{ name: "rep", entities: { deal: { read: { scope: "own", where: "amount > 1" }, fields: { cost: "hidden" } } } }] }), (c) => (posts([c]).length
      ? { status: 422, body: { error: { code: "invalid_app", message: "the app is not valid", details: [{ path: "/roles/0/entities/deal/read/where", message: "unknown field amout" }] } } }
      : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("tab-roles"));
    expect((screen.getByTestId("scope-deal-read") as HTMLSelectElement).value).toBe("own");
    expect((screen.getByTestId("where-deal-read") as HTMLInputElement).value).toBe("amount > 1");
    expect((screen.getByTestId("scope-deal-create") as HTMLSelectElement).value).toBe("");
    expect((screen.getByTestId("fieldrule-deal-cost") as HTMLSelectElement).value).toBe("hidden");
    fireEvent.click(screen.getByTestId("tab-model"));
    fireEvent.click(screen.getByTestId("publish"));
    // The roles tab opens with the problem on it.
    expect((await screen.findByTestId("role-error-0")).textContent).toContain("unknown field amout");
    expect(screen.getByTestId("roles-error").textContent).toContain("rep: unknown field amout");
    expect(screen.getByTestId("publish-error").textContent).toContain("/roles/0/entities/deal/read/where");
  });
});
