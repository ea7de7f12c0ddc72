import { describe, expect, it } from "vitest";
import {
  addState, addTransition, edgesOf, flowList, missingOptions, problemsByElement, problemsOfFlow, removeState, renameEntityInFlows, renameState,
  renameFieldInFlows, statesFromOptions, updateTransition, withFlows, type Flow,
} from "./flows";
import type { DDoc } from "./model";

const base = (): Flow => ({ name: "deal_flow", entity: "deal", field: "stage", states: [], transitions: [] });

describe("flow model", () => {
  it("adds states with unique names, colours and grid places", () => {
    let f = addState(base(), "lead");
    f = addState(f, "lead");
    expect(f.states.map((s) => s.name)).toEqual(["lead", "lead_2"]);
    expect(f.states[0].color).toMatch(/^#/);
    expect(f.states[1].color).not.toBe(f.states[0].color);
    expect(f.states[1].position!.x).toBeGreaterThan(f.states[0].position!.x);
  });

  it("creates states from the select's missing options only", () => {
    const f = statesFromOptions(addState(base(), "lead"), ["lead", "proposal", "won"]);
    expect(f.states.map((s) => s.name)).toEqual(["lead", "proposal", "won"]);
    expect(missingOptions(f, ["lead", "proposal", "won", "lost"])).toEqual(["lost"]);
  });

  it("adds a transition from → to with a unique name and draws one edge per from-state", () => {
    const f0 = statesFromOptions(base(), ["lead", "proposal", "won"]);
    const a = addTransition(f0, "lead", "proposal");
    const b = addTransition(a.flow, "lead", "proposal");
    expect(b.flow.transitions.map((t) => t.name)).toEqual(["lead_to_proposal", "lead_to_proposal_2"]);
    expect(b.index).toBe(1);
    const f = updateTransition(b.flow, 0, { from: ["lead", "won"] });
    expect(edgesOf(f).filter((e) => e.ti === 0).map((e) => [e.id, e.source, e.target])).toEqual([["t0:lead", "s0", "s1"], ["t0:won", "s2", "s1"]]);
  });

  it("draws a transition without from from every non-final state but its target", () => {
    let f = statesFromOptions(base(), ["lead", "proposal", "lost"]);
    f = { ...f, states: f.states.map((s) => (s.name === "proposal" ? { ...s, final: true } : s)), transitions: [{ name: "lose", to: "lost" }] };
    expect(edgesOf(f).map((e) => e.id)).toEqual(["t0:lead"]);
    expect(edgesOf(f)[0].any).toBe(true);
  });

  it("renaming a state keeps its transitions (from, to) and the initial state; node ids stay", () => {
    let f = statesFromOptions(base(), ["lead", "proposal"]);
    f = addTransition(f, "lead", "proposal").flow;
    f = addTransition(f, "proposal", "lead").flow;
    f = { ...f, initial: "lead" };
    const before = edgesOf(f).map((e) => [e.id.split(":")[0], e.source, e.target]);
    const r = renameState(f, 0, "qualified");
    expect(r.initial).toBe("qualified");
    expect(r.transitions[0].from).toEqual(["qualified"]);
    expect(r.transitions[1].to).toBe("qualified");
    expect(edgesOf(r).map((e) => [e.id.split(":")[0], e.source, e.target])).toEqual(before);
  });

  it("removing a state drops the transitions into it and those that only left it", () => {
    let f = statesFromOptions(base(), ["a", "b", "c"]);
    f = addTransition(f, "a", "b").flow;
    f = addTransition(f, "b", "c").flow;
    f = updateTransition(addTransition(f, "a", "c").flow, 2, { from: ["a", "b"] });
    const r = removeState(f, 1);
    expect(r.transitions.map((t) => [t.name, t.from, t.to])).toEqual([["a_to_c", ["a"], "c"]]);
  });

  it("maps server problems to node and edge ids, relative paths kept for the panel", () => {
    let f = statesFromOptions(base(), ["lead", "proposal", "won"]);
    f = addTransition(f, "lead", "proposal").flow;
    f = updateTransition(addTransition(f, "proposal", "won").flow, 1, { from: ["lead", "proposal"] });
    const details = [
      { path: "/flows/0/states/1/name", message: "not an option of stage" },
      { path: "/flows/0/transitions/1/guard", message: "unknown field discount" },
      { path: "/flows/0/field", message: "not a select" },
      { path: "/flows/1/states/0/name", message: "other flow" },
      { path: "/entities/0/name", message: "elsewhere" },
    ];
    const p = problemsOfFlow(details, 0);
    expect(p.flow).toEqual([{ path: "/field", message: "not a select" }]);
    expect(p.states[1]).toEqual([{ path: "/name", message: "not an option of stage" }]);
    expect(p.transitions[1]).toEqual([{ path: "/guard", message: "unknown field discount" }]);
    const el = problemsByElement(f, p);
    expect(el.get("s1")).toEqual(["not an option of stage"]);
    expect(el.get("t1:lead")).toEqual(["unknown field discount"]);
    expect(el.get("t1:proposal")).toEqual(["unknown field discount"]);
    expect(el.has("t0:lead")).toBe(false);
    expect(el.has("s0")).toBe(false);
  });

  it("reads and writes the document's flows and follows an entity rename", () => {
    const doc = { name: "crm", entities: [] } as unknown as DDoc;
    const d = withFlows(doc, [base()]);
    expect(flowList(d)[0].name).toBe("deal_flow");
    expect(flowList(renameEntityInFlows(d, "deal", "opportunity"))[0].entity).toBe("opportunity");
    expect("flows" in withFlows(d, [])).toBe(false);
  });

  it("follows a field rename: state field, evidence, fields to fill, receiver, approvers, guard and conditions", () => {
    const f: Flow = {
      ...base(), states: [{ name: "a" }, { name: "b" }],
      transitions: [{
        name: "go", from: ["a"], to: "b", guard: 'amount > 10 and note = "amount"', evidence: ["amount"], fields: [{ field: "amount", required: true }],
        handover: { receiver: "amount" }, approval: { steps: [{ name: "s", approvers: { fields: ["amount"] }, condition: "amount > 20" }] },
      }],
    };
    const d = renameFieldInFlows(withFlows({ name: "crm", entities: [] } as unknown as DDoc, [f]), "deal", "amount", "total");
    const t = flowList(d)[0].transitions[0];
    expect(t.guard).toBe('total > 10 and note = "amount"');
    expect(t.evidence).toEqual(["total"]);
    expect(t.fields).toEqual([{ field: "total", required: true }]);
    expect(t.handover).toEqual({ receiver: "total" });
    expect(t.approval!.steps[0]).toEqual({ name: "s", approvers: { fields: ["total"] }, condition: "total > 20" });
    expect(flowList(renameFieldInFlows(d, "deal", "stage", "phase"))[0].field).toBe("phase");
  });
});
