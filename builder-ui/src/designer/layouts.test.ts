import { describe, expect, it } from "vitest";
import type { FormLayout } from "../api";
import {
  addRole, addSection, dropEntityRefs, emptyLayout, formLayoutOf, listViewOf, moveColumn, moveSection, patchList, placeField,
  removeRole, removeSection, renameEntityRefs, renameFieldRefs, resolveSections, setFieldRule, setFormLayout, setScope,
  toggleColumn, unplaced, unplaceField, updateRole, updateSection, withPrimarySort,
} from "./layouts";
import { mapErrors, type DDoc, type DField } from "./model";

const fields: DField[] = [
  { id: "d1", name: "title", type: "text" },
  { id: "d2", name: "amount", type: "decimal" },
  { id: "d3", name: "stage", type: "select", options: ["lead", "lost"] },
  { id: "d4", name: "cost", type: "decimal" },
  { id: "d5", name: "notes", type: "longtext" },
];

const doc = (): DDoc => ({ name: "crm", entities: [{ name: "deal", fields: fields.slice() }, { name: "account", fields: [{ id: "a1", name: "name", type: "text" }] }] });

const two = (): FormLayout => ({
  entity: "deal", kind: "form",
  sections: [{ title: "Basics", columns: 2, fields: ["title", "amount", "stage"] }, { title: "More", columns: 1, fields: ["cost"] }],
});

describe("form layout editing", () => {
  it("adds, updates, moves and removes sections", () => {
    let l = addSection(emptyLayout("deal"), "A");
    l = addSection(l, "B");
    expect(l.sections.map((s) => s.title)).toEqual(["A", "B"]);
    expect(l.sections[0]).toEqual({ title: "A", columns: 2, fields: [] });
    l = updateSection(l, 1, { columns: 3, title: "Bee" });
    l = updateSection(l, 0, { columns: 7 });
    expect(l.sections.map((s) => s.columns)).toEqual([3, 3]);
    l = updateSection(l, 0, { columns: 0 });
    expect(l.sections[0].columns).toBe(1);
    l = moveSection(l, 1, -1);
    expect(l.sections.map((s) => s.title)).toEqual(["Bee", "A"]);
    expect(moveSection(l, 0, -1)).toBe(l);
    expect(moveSection(l, 1, 1)).toBe(l);
    l = removeSection(l, 0);
    expect(l.sections.map((s) => s.title)).toEqual(["A"]);
  });

  it("places fields at the drop position, moving a placed one (never twice)", () => {
    let l = addSection(addSection(emptyLayout("deal")));
    l = placeField(l, "title", 0);
    l = placeField(l, "amount", 0);
    l = placeField(l, "stage", 0, 0); // before title
    expect(l.sections[0].fields).toEqual(["stage", "title", "amount"]);
    l = placeField(l, "cost", 0, 2); // before amount
    expect(l.sections[0].fields).toEqual(["stage", "title", "cost", "amount"]);
    // Within a section: moved so it lands before what was at "to".
    l = placeField(l, "stage", 0, 3);
    expect(l.sections[0].fields).toEqual(["title", "cost", "stage", "amount"]);
    l = placeField(l, "amount", 0, 0);
    expect(l.sections[0].fields).toEqual(["amount", "title", "cost", "stage"]);
    // Dropped back on its own place: unchanged.
    expect(placeField(l, "title", 0, 1).sections[0].fields).toEqual(["amount", "title", "cost", "stage"]);
    expect(placeField(l, "title", 0, 2).sections[0].fields).toEqual(["amount", "title", "cost", "stage"]);
    // Between sections.
    l = placeField(l, "cost", 1);
    expect(l.sections.map((s) => s.fields)).toEqual([["amount", "title", "stage"], ["cost"]]);
    l = placeField(l, "title", 1, 0);
    expect(l.sections.map((s) => s.fields)).toEqual([["amount", "stage"], ["title", "cost"]]);
    // Removed from the layout: back in the palette.
    l = unplaceField(l, "stage");
    expect(l.sections.map((s) => s.fields)).toEqual([["amount"], ["title", "cost"]]);
    expect(unplaced({ fields }, l).map((f) => f.name)).toEqual(["stage", "notes"]);
    expect(placeField(l, "x", 5)).toBe(l);
  });

  it("writes the layout into the document's forms, one per entity and kind", () => {
    let d = setFormLayout(doc(), "deal", two());
    d = patchList(d, "deal", { sort: "-amount" });
    expect(d.forms).toHaveLength(2);
    expect(formLayoutOf(d, "deal")).toEqual(two());
    const l = addSection(two(), "Extra");
    d = setFormLayout(d, "deal", l);
    expect(d.forms).toHaveLength(2);
    expect(formLayoutOf(d, "deal")!.sections).toHaveLength(3);
    d = setFormLayout(d, "deal", null);
    expect(d.forms).toEqual([{ entity: "deal", kind: "list", columns: ["title", "amount", "stage", "cost", "created_at"], sort: "-amount" }]);
    d = patchList(d, "deal", { sort: "" });
    expect(listViewOf(d, "deal")).toEqual({ entity: "deal", kind: "list", columns: ["title", "amount", "stage", "cost", "created_at"] });
  });

  it("resolves sections for the runtime: unknown and repeated names skipped, the rest last", () => {
    const l: FormLayout = { entity: "deal", kind: "form", sections: [{ title: "A", columns: 3, fields: ["amount", "ghost", "title", "amount"] }, { fields: [] }] };
    const r = resolveSections(fields, l);
    expect(r.map((s) => [s.title, s.columns, s.fields.map((f) => f.name)])).toEqual([
      ["A", 3, ["amount", "title"]], [undefined, 2, []], [undefined, 2, ["stage", "cost", "notes"]],
    ]);
    expect(resolveSections(fields, undefined)).toEqual([{ columns: 2, fields }]);
  });
});

describe("list view settings", () => {
  it("toggles and orders columns, sets the primary sort", () => {
    expect(toggleColumn(["a", "b"], "c", true)).toEqual(["a", "b", "c"]);
    expect(toggleColumn(["a", "b"], "a", false)).toEqual(["b"]);
    expect(moveColumn(["a", "b", "c"], "c", -1)).toEqual(["a", "c", "b"]);
    expect(moveColumn(["a", "b", "c"], "a", -1)).toEqual(["a", "b", "c"]);
    expect(withPrimarySort("-amount,title", "stage", false)).toBe("stage,title");
    expect(withPrimarySort("-amount,title", "amount", false)).toBe("amount,title");
    expect(withPrimarySort("-amount,title", "title", true)).toBe("-title");
    expect(withPrimarySort("-amount,title", "", true)).toBe("");
  });
});

describe("roles", () => {
  it("writes matrix cells as short scopes, {scope, where}, or removes them", () => {
    let d = addRole(doc());
    expect(d.roles).toEqual([{ name: "role_1", entities: {} }]);
    d = updateRole(d, 0, { name: "rep", label: "Sales rep" });
    d = setScope(d, 0, "deal", "create", "own");
    d = setScope(d, 0, "deal", "read", "team", 'stage != "lost"');
    d = setScope(d, 0, "deal", "delete", "none", "   ");
    d = setFieldRule(d, 0, "deal", "cost", "hidden");
    d = setFieldRule(d, 0, "deal", "amount", "readonly");
    expect(d.roles).toEqual([{
      name: "rep", label: "Sales rep",
      entities: { deal: { create: "own", read: { scope: "team", where: 'stage != "lost"' }, delete: "none", fields: { cost: "hidden", amount: "readonly" } } },
    }]);
    d = setScope(d, 0, "deal", "read", "team", "");
    d = setScope(d, 0, "deal", "delete", "");
    d = setFieldRule(d, 0, "deal", "amount", "visible");
    expect(d.roles![0].entities).toEqual({ deal: { create: "own", read: "team", fields: { cost: "hidden" } } });
    d = setScope(d, 0, "deal", "create", "");
    d = setScope(d, 0, "deal", "read", "");
    d = setFieldRule(d, 0, "deal", "cost", "visible");
    expect(d.roles![0].entities).toEqual({});
    d = updateRole(d, 0, { label: "" });
    expect(d.roles![0]).toEqual({ name: "rep", entities: {} });
    expect(removeRole(d, 0).roles).toBeUndefined();
  });

  it("follows entity and field renames and deletions", () => {
    let d = setFormLayout(doc(), "deal", two());
    d = patchList(d, "deal", { columns: ["title", "cost"], sort: "-cost,title" });
    d = setFieldRule(addRole(d), 0, "deal", "cost", "hidden");
    d = renameFieldRefs(d, "deal", "cost", "price");
    expect(formLayoutOf(d, "deal")!.sections[1].fields).toEqual(["price"]);
    expect(listViewOf(d, "deal")).toMatchObject({ columns: ["title", "price"], sort: "-price,title" });
    expect(d.roles![0].entities!.deal.fields).toEqual({ price: "hidden" });
    d = renameFieldRefs(d, "deal", "price", null);
    expect(listViewOf(d, "deal")).toMatchObject({ columns: ["title"], sort: "title" });
    expect(d.roles![0].entities!.deal).toEqual({});
    d = renameEntityRefs(d, "deal", "opportunity");
    expect(d.forms!.map((f) => f.entity)).toEqual(["opportunity", "opportunity"]);
    d = dropEntityRefs(d, "opportunity");
    expect(d.forms).toBeUndefined();
  });

  it("maps /forms/{i} and /roles/{i} errors to their index (and the top)", () => {
    const m = mapErrors([{ path: "/forms/1/sections/0/fields/2", message: "unknown field" }, { path: "/roles/0/name", message: "bad" }], doc());
    expect(m.forms).toEqual({ 1: ["unknown field"] });
    expect(m.roles).toEqual({ 0: ["bad"] });
    expect(m.general).toHaveLength(2);
  });
});
