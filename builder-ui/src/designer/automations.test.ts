import { describe, expect, it } from "vitest";
import type { Field } from "../api";
import {
  cronOf, example, moveIn, offsetText, parseFilterText, parseOffset, percentages, presetOf, problemsOf, renameFlowInAutomations, setTriggerType, typedValue,
} from "./automations";
import type { DDoc } from "./model";

const fields: Field[] = [
  { id: "a", name: "stage", type: "select", options: ["won", "lost"] },
  { id: "b", name: "amount", type: "decimal" },
  { id: "c", name: "title", type: "text" },
  { id: "d", name: "previous.stage", type: "select", options: ["won", "lost"] },
];

describe("automations model", () => {
  it("writes and reads cron presets", () => {
    expect(cronOf({ kind: "daily", time: "09:05" })).toBe("5 9 * * *");
    expect(cronOf({ kind: "weekly", day: 1, time: "09:00" })).toBe("0 9 * * 1");
    expect(cronOf({ kind: "monthly", time: "18:30" })).toBe("30 18 1 * *");
    expect(presetOf("0 9 * * 1")).toEqual({ kind: "weekly", day: 1, time: "09:00" });
    expect(presetOf("30 18 1 * *")).toEqual({ kind: "monthly", time: "18:30" });
    expect(presetOf("*/5 * * * *")).toEqual({ kind: "custom" });
    expect(presetOf("0 9 1 * 1")).toEqual({ kind: "custom" });
    expect(presetOf("99 9 * * *")).toEqual({ kind: "custom" });
  });

  it("reads and writes timer offsets", () => {
    expect(parseOffset("72h")).toEqual({ amount: 72, unit: "h", before: false });
    expect(parseOffset("-30m")).toEqual({ amount: 30, unit: "m", before: true });
    expect(parseOffset("1d12h")).toBeNull();
    expect(offsetText({ amount: 3, unit: "d", before: false })).toBe("3d");
    expect(offsetText({ amount: 30, unit: "m", before: true })).toBe("-30m");
  });

  it("reads back the builder's filter text, and refuses what it cannot", () => {
    expect(parseFilterText(fields, 'stage = "won" && amount >= 1000')).toEqual({ join: "and", conditions: [
      { field: "stage", op: "=", value: "won" }, { field: "amount", op: ">=", value: "1000" }] });
    expect(parseFilterText(fields, 'previous.stage != "lost" || title ~ "a \\"b\\""')).toEqual({ join: "or", conditions: [
      { field: "previous.stage", op: "!=", value: "lost" }, { field: "title", op: "~", value: 'a "b"' }] });
    expect(parseFilterText(fields, 'stage in ["won", "lost"] && title = null')).toEqual({ join: "and", conditions: [
      { field: "stage", op: "in", value: ["won", "lost"] }, { field: "title", op: "empty", value: "" }] });
    expect(parseFilterText(fields, "")).toEqual({ join: "and", conditions: [] });
    expect(parseFilterText(fields, 'stage = "won" && amount > 1 || title = "x"')).toBeNull();
    expect(parseFilterText(fields, "nope = 1")).toBeNull();
    expect(parseFilterText(fields, "(stage = \"won\")")).toBeNull();
    expect(parseFilterText(fields, "stage = \"won\" &&")).toBeNull();
  });

  it("types trigger values, moves actions, weighs variants, places problems and keeps trigger keys", () => {
    expect(typedValue(fields[1], "1,500.5")).toBe(1500.5);
    expect(typedValue({ id: "x", name: "ok", type: "boolean" }, "false")).toBe(false);
    expect(typedValue(fields[0], "")).toBeUndefined();
    expect(typedValue(fields[0], "\u0000null")).toBeNull();
    expect(moveIn(["a", "b", "c"], 2, 0)).toEqual(["c", "a", "b"]);
    expect(moveIn(["a", "b", "c"], 0, 3)).toEqual(["b", "c", "a"]);
    expect(percentages([{ name: "A", weight: 1, actions: [] }, { name: "B", weight: 2, actions: [] }])).toEqual([33.3, 66.7]);
    expect(percentages([{ name: "A", weight: 0, actions: [] }])).toEqual([0]);
    expect(problemsOf([{ path: "/automations/2/actions/0/fields/a~1b", message: "x" }, { path: "/automations/20", message: "y" }], 2))
      .toEqual([{ path: "/actions/0/fields/a/b", message: "x" }]);
    expect(setTriggerType({ type: "timer", field: "at", offset: "4h", unless: "x" }, "schedule", { cron: "0 9 * * 1" })).toEqual({ type: "schedule", cron: "0 9 * * 1" });
  });

  it("builds the examples over the document's own fields", () => {
    const doc: DDoc = { name: "crm", entities: [
      { name: "lead", fields: [{ id: "1", name: "name", type: "text" }, { id: "2", name: "source", type: "select", options: ["web", "expo"] },
        { id: "3", name: "grade", type: "select", options: ["A", "B"] }, { id: "4", name: "score", type: "integer" }, { id: "5", name: "budget", type: "decimal" }] },
      { name: "opportunity", fields: [{ id: "6", name: "title", type: "text" }, { id: "7", name: "stage", type: "select", options: ["open", "won"] }] },
    ] };
    expect(example(doc, "gradeExpo", "Grade expo leads", "Asia/Shanghai")).toEqual({
      name: "grade_expo", label: "Grade expo leads", enabled: true, entity: "lead", trigger: { type: "created" }, condition: 'source = "expo"',
      actions: [{ type: "set", fields: { grade: "A", score: { expr: "budget / 1000" } } }, { type: "notify", to: { owner: true }, message: "New expo lead {{name}}" }],
    });
    expect(example(doc, "mondayStale", "x", "Asia/Shanghai").trigger).toEqual({ type: "schedule", cron: "0 9 * * 1", timeZone: "Asia/Shanghai", filter: 'stage != "won"' });
    expect(example(doc, "notifyWon", "x", "UTC").trigger).toEqual({ type: "fieldChanged", field: "stage", to: "won" });
    expect(example(doc, "silence", "x", "UTC").trigger).toEqual({ type: "timer", field: "created_at", offset: "72h" });
  });
});

describe("automations follow the data model", () => {
  it("renames an entity and a field everywhere a rule names them", async () => {
    const { renameEntityInAutomations, renameFieldInAutomations, renameIdent } = await import("./automations");
    expect(renameIdent('stage = "stage" && previous.stage != "x" && stages = 1 && a.stage = 2', "stage", "phase"))
      .toBe('phase = "stage" && previous.phase != "x" && stages = 1 && a.stage = 2');
    const doc: DDoc = { name: "crm", entities: [], automations: [{
      name: "r", entity: "deal", trigger: { type: "fieldChanged", field: "stage", to: "won" }, condition: 'previous.stage != "lost"',
      actions: [
        { type: "set", fields: { stage: "won", score: { expr: "stage_score(stage)" } } },
        { type: "create", entity: "deal", fields: { stage: "lead", title: { template: "From {{stage}}" } } },
        { type: "notify", to: { fields: ["stage", "rep"] }, message: "Now {{ stage }}" },
      ],
    }] };
    const out = renameEntityInAutomations(renameFieldInAutomations(doc, "deal", "stage", "phase"), "deal", "opportunity");
    expect(out.automations).toEqual([{
      name: "r", entity: "opportunity", trigger: { type: "fieldChanged", field: "phase", to: "won" }, condition: 'previous.phase != "lost"',
      actions: [
        { type: "set", fields: { phase: "won", score: { expr: "stage_score(phase)" } } },
        { type: "create", entity: "opportunity", fields: { phase: "lead", title: { template: "From {{phase}}" } } },
        { type: "notify", to: { fields: ["phase", "rep"] }, message: "Now {{phase}}" },
      ],
    }]);
  });
});

describe("renameFlowInAutomations", () => {
  const doc = {
    name: "crm", entities: [],
    automations: [
      { name: "on_win", entity: "deal", trigger: { type: "transition", flow: "deal_flow", transition: "win" }, actions: [] },
      { name: "any_move", entity: "deal", trigger: { type: "transition", flow: "deal_flow" }, actions: [] },
      { name: "other", entity: "deal", trigger: { type: "transition", flow: "other_flow", transition: "win" }, actions: [] },
      { name: "made", entity: "deal", trigger: { type: "created" }, actions: [] },
    ],
  } as unknown as DDoc;
  const triggers = (d: DDoc) => (d.automations as { trigger: Record<string, string> }[]).map((a) => a.trigger);

  it("carries a transition's rename into the triggers naming it, and no others", () => {
    const out = triggers(renameFlowInAutomations(doc, { from: "deal_flow", to: "deal_flow" }, { from: "win", to: "close_won" }));
    expect(out[0]).toEqual({ type: "transition", flow: "deal_flow", transition: "close_won" });
    expect(out[1]).toEqual({ type: "transition", flow: "deal_flow" });
    expect(out[2].transition).toBe("win"); // another flow's transition of the same name
    expect(out[3]).toEqual({ type: "created" });
  });

  it("carries a flow's rename, and leaves the document alone when nothing changes", () => {
    const out = triggers(renameFlowInAutomations(doc, { from: "deal_flow", to: "sales" }));
    expect(out.map((t) => t.flow)).toEqual(["sales", "sales", "other_flow", undefined]);
    expect(renameFlowInAutomations(doc, { from: "deal_flow", to: "deal_flow" })).toBe(doc);
    expect(renameFlowInAutomations(doc, { from: "no_such", to: "x" })).toBe(doc);
  });
});
