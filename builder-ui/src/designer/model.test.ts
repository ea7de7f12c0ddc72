import { describe, expect, it } from "vitest";
import { addEntity, insertField, mapErrors, moveField, newField, newId, updateField, withType, type DDoc } from "./model";

const doc = (): DDoc => ({
  name: "crm", version: 2,
  entities: [
    { name: "account", fields: [{ id: "a1", name: "name", type: "text" }] },
    { name: "deal", fields: [{ id: "d1", name: "title", type: "text" }, { id: "d2", name: "amount", type: "decimal" }, { id: "d3", name: "account", type: "ref", entity: "account" }] },
  ],
});

describe("designer model", () => {
  it("makes ids of f + 8 base36 characters and unique default names", () => {
    expect(newId()).toMatch(/^f[0-9a-z]{8}$/);
    let d = doc();
    const a = newField(d, 1, "text");
    d = insertField(d, 1, a);
    const b = newField(d, 1, "text");
    expect(a.name).toBe("text_1");
    expect(b.name).toBe("text_2");
    expect(a.id).not.toBe(b.id);
  });

  it("gives new fields what their type needs", () => {
    const d = doc();
    expect(newField(d, 1, "select").options?.length).toBeGreaterThan(0);
    expect(newField(d, 1, "ref").entity).toBe("account");
    expect(newField(d, 1, "formula").expr).toBeTruthy();
    expect(newField(d, 0, "rollup").rollup).toEqual({ entity: "deal", via: "account", op: "count" });
  });

  it("drops keys that do not apply when the type changes", () => {
    const d = doc();
    const f = withType({ id: "x", name: "n", type: "select", options: ["a"], default: "a", required: true }, "formula", d, "deal");
    expect(f).toEqual({ id: "x", name: "n", type: "formula", expr: "1" });
    expect(withType({ id: "x", name: "n", type: "text", maxLength: 5 }, "email", d, "deal").maxLength).toBe(5);
  });

  it("moves fields as a drop between rows does", () => {
    const names = (d: DDoc) => d.entities[1].fields.map((f) => f.name);
    expect(names(moveField(doc(), 1, 0, 3))).toEqual(["amount", "account", "title"]);
    expect(names(moveField(doc(), 1, 2, 0))).toEqual(["account", "title", "amount"]);
    expect(names(moveField(doc(), 1, 0, 2))).toEqual(["amount", "title", "account"]);
  });

  it("updates fields, removing emptied keys but keeping a false default", () => {
    let d = updateField(doc(), 1, "d1", { required: true, label: "Title" });
    expect(d.entities[1].fields[0]).toEqual({ id: "d1", name: "title", type: "text", required: true, label: "Title" });
    d = updateField(d, 1, "d1", { required: false, label: "" });
    expect(d.entities[1].fields[0]).toEqual({ id: "d1", name: "title", type: "text" });
    d = updateField(d, 1, "d1", { default: false });
    expect(d.entities[1].fields[0].default).toBe(false);
  });

  it("adds entities with a stable id", () => {
    const d = addEntity(doc(), "line", "Lines");
    expect(d.entities[2]).toMatchObject({ name: "line", label: "Lines", fields: [] });
    expect(d.entities[2].id).toMatch(/^e[0-9a-z]{8}$/);
  });

  it("maps JSON pointers to fields, entities and the top", () => {
    const m = mapErrors([
      { path: "/entities/1/fields/2/entity", message: "no such entity" },
      { path: "/entities/1/fields/0", message: "bad field" },
      { path: "/entities/0/name", message: "reserved" },
      { path: "/entities/0", message: "entity problem" },
      { path: "/scripts/x", message: "does not parse" },
      { path: "/entities/7/fields/0", message: "out of range" },
    ], doc());
    expect(m.fields).toEqual({ "1/d3": ["no such entity"], "1/d1": ["bad field"] });
    expect(m.entities).toEqual({ 0: ["reserved", "entity problem"] });
    expect(m.general).toEqual(["/scripts/x: does not parse", "/entities/7/fields/0: out of range"]);
  });
});
