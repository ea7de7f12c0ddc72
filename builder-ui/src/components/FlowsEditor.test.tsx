import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { beforeAll, describe, expect, it } from "vitest";
import { flowList, type Flow } from "../designer/flows";
import type { DDoc } from "../designer/model";
import { renderWith } from "../test/util";
import { FlowsEditor } from "./FlowsEditor";
import { FlowPanel } from "./FlowsPanel";

// @xyflow/react measures nodes: jsdom needs a ResizeObserver and DOMMatrixReadOnly (reactflow.dev's testing guide).
beforeAll(() => {
  class RO {
    cb: ResizeObserverCallback;
    constructor(cb: ResizeObserverCallback) { this.cb = cb; }
    observe(target: Element) { this.cb([{ target } as ResizeObserverEntry], this as unknown as ResizeObserver); }
    unobserve() {}
    disconnect() {}
  }
  class DM { m22 = 1; constructor() {} }
  Object.assign(globalThis, { ResizeObserver: RO, DOMMatrixReadOnly: DM });
  Object.defineProperties(HTMLElement.prototype, {
    offsetHeight: { configurable: true, get() { return 40; } },
    offsetWidth: { configurable: true, get() { return 120; } },
  });
  (SVGElement.prototype as unknown as { getBBox: () => DOMRect }).getBBox = () => ({ x: 0, y: 0, width: 40, height: 16 }) as DOMRect;
});

const flow = (): Flow => ({
  name: "deal_flow", entity: "deal", field: "stage",
  states: [
    { name: "lead", color: "#718096", position: { x: 0, y: 0 } },
    { name: "proposal", color: "#3182ce", position: { x: 200, y: 0 } },
    { name: "won", color: "#2f855a", final: true, position: { x: 400, y: 0 } },
  ],
  transitions: [{ name: "propose", from: ["lead"], to: "proposal" }, { name: "win", from: ["proposal"], to: "won" }],
});

const doc = (flows: Flow[] = [flow()]): DDoc => ({
  name: "crm",
  entities: [{
    name: "deal", label: "Deal", fields: [
      { id: "f1", name: "title", type: "text" },
      { id: "f2", name: "stage", type: "select", options: ["lead", "proposal", "won", "lost"] },
      { id: "f3", name: "nda", type: "file" },
      { id: "f4", name: "lost_reason", type: "text" },
      { id: "f5", name: "receiver", type: "user" },
      { id: "f6", name: "discount", type: "decimal" },
    ],
  }],
  roles: [{ name: "rep", label: "Rep" }, { name: "manager", label: "Manager" }],
  flows,
} as unknown as DDoc);

// Panel holds the flow as the designer would and exposes the last one.
function Panel({ start, sel, onFlow }: { start: Flow; sel: Parameters<typeof FlowPanel>[0]["selection"]; onFlow: (f: Flow) => void }) {
  const [f, setF] = useState(start);
  const [s, setS] = useState(sel);
  const d = doc([f]);
  return <FlowPanel doc={d} flow={f} entity={d.entities[0]} selection={s} problems={{ states: {}, transitions: {} }}
    onChange={(x) => { setF(x); onFlow(x); }} onSelect={setS} />;
}

describe("flow side panel", () => {
  it("edits a transition: from, roles, evidence, fields with required, comment, approval step, hand-over, guard messages", () => {
    let last = flow();
    renderWith(<Panel start={flow()} sel={{ kind: "transition", index: 1 }} onFlow={(f) => (last = f)} />);
    fireEvent.change(screen.getByTestId("flow-tr-label"), { target: { value: "Win it" } });
    fireEvent.click(screen.getByTestId("flow-tr-from-lead"));
    fireEvent.click(screen.getByTestId("flow-tr-roles-manager"));
    fireEvent.click(screen.getByTestId("flow-tr-evidence-nda"));
    fireEvent.click(screen.getByTestId("flow-tr-fields-lost_reason"));
    fireEvent.click(screen.getByTestId("flow-tr-fields-required-lost_reason"));
    fireEvent.change(screen.getByTestId("flow-tr-comment"), { target: { value: "required" } });
    fireEvent.click(screen.getByTestId("flow-tr-approval-on"));
    fireEvent.change(screen.getByTestId("flow-step-mode-0"), { target: { value: "quorum" } });
    fireEvent.change(screen.getByTestId("flow-step-deadline-0"), { target: { value: "24h" } });
    fireEvent.change(screen.getByTestId("flow-step-escalate-0"), { target: { value: "next" } });
    fireEvent.click(screen.getByTestId("flow-step-roles-0-manager"));
    fireEvent.change(screen.getByTestId("flow-step-condition-0-text"), { target: { value: "discount > 20" } });
    fireEvent.change(screen.getByTestId("flow-step-0-label-zh-CN"), { target: { value: "经理审批" } });
    fireEvent.change(screen.getByTestId("flow-step-0-label-en"), { target: { value: "Manager" } });
    fireEvent.click(screen.getByTestId("flow-tr-handover-on"));
    fireEvent.change(screen.getByTestId("flow-tr-guard-message"), { target: { value: "请先填写金额" } });
    fireEvent.change(screen.getByTestId("flow-tr-guard-message-label-en"), { target: { value: "Enter the amount first" } });
    const t = last.transitions[1];
    expect(t.guardMessage).toBe("请先填写金额");
    expect(t.guardMessages).toEqual({ en: "Enter the amount first" });
    expect(t.label).toBe("Win it");
    expect(t.from).toEqual(["lead", "proposal"]);
    expect(t.roles).toEqual(["manager"]);
    expect(t.evidence).toEqual(["nda"]);
    expect(t.fields).toEqual([{ field: "lost_reason", required: true }]);
    expect(t.comment).toBe("required");
    expect(t.approval?.steps).toEqual([{ name: "step_1", approvers: { manager: true, roles: ["manager"] }, mode: "quorum", quorum: 2, deadline: "24h",
      escalate: { then: "next" }, condition: "discount > 20", labels: { "zh-CN": "经理审批", en: "Manager" } }]);
    expect(t.handover).toEqual({ receiver: "receiver" });
    // The state field is no field to fill.
    expect(screen.queryByTestId("flow-tr-fields-stage")).toBeNull();
  });

  it("renames a state in the panel and the transitions follow; marks final and initial", () => {
    let last = flow();
    renderWith(<Panel start={flow()} sel={{ kind: "state", index: 0 }} onFlow={(f) => (last = f)} />);
    fireEvent.change(screen.getByTestId("flow-state-name"), { target: { value: "qualified" } });
    expect(last.transitions[0].from).toEqual(["qualified"]);
    fireEvent.click(screen.getByTestId("flow-color-c53030"));
    expect(last.states[0].color).toBe("#c53030");
    fireEvent.change(screen.getByTestId("flow-state-label-zh-CN"), { target: { value: "已确认" } });
    expect(last.states[0].labels).toEqual({ "zh-CN": "已确认" });
    // The first state is the initial one already: the box is checked and cannot be cleared.
    expect((screen.getByTestId("flow-state-initial") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId("flow-state-final"));
    expect(last.states[0].final).toBe(true);
  });

  it("adds a state and a transition from the plain list (no dragging)", () => {
    let last = flow();
    renderWith(<Panel start={flow()} sel={null} onFlow={(f) => (last = f)} />);
    fireEvent.change(screen.getByTestId("flow-new-state"), { target: { value: "lost" } });
    fireEvent.click(screen.getByTestId("flow-add-state"));
    expect(last.states.map((s) => s.name)).toContain("lost");
    fireEvent.change(screen.getByTestId("flow-add-from"), { target: { value: "proposal" } });
    fireEvent.change(screen.getByTestId("flow-add-to"), { target: { value: "lost" } });
    fireEvent.click(screen.getByTestId("flow-add-transition"));
    expect(last.transitions[2]).toEqual({ name: "proposal_to_lost", from: ["proposal"], to: "lost" });
    // The new transition opens in the panel.
    expect(screen.getByTestId("flow-panel-transition")).toBeTruthy();
  });
});

describe("Flows tab", () => {
  it("draws states and transitions, shows server problems on the node, the edge and in the panel", async () => {
    const problems = [
      { path: "/flows/0/states/2/name", message: "not an option of stage" },
      { path: "/flows/0/transitions/0/guard", message: "unknown field discont" },
    ];
    renderWith(<FlowsEditor doc={doc()} onChange={() => undefined} problems={problems} />);
    await screen.findByTestId("flow-node-lead");
    expect(screen.getByTestId("flow-node-won").textContent).toContain("final");
    expect(screen.getByTestId("flow-node-lead").textContent).toContain("start");
    expect(screen.getByTestId("flow-node-error-won").textContent).toBe("not an option of stage");

    await waitFor(() => expect(document.querySelector('[data-testid="flow-edge-propose"]')).toBeTruthy());
    expect(document.querySelector('[data-testid="flow-edge-propose"]')!.getAttribute("aria-label")).toContain("unknown field discont");
    expect(document.querySelector('[data-testid="flow-edge-win"]')!.getAttribute("aria-label")).not.toContain("unknown");
    // The first element in trouble is open in the panel with its problem.
    const panel = screen.getByTestId("flow-panel-state");
    expect(within(panel).getByTestId("flow-panel-problems").textContent).toContain("not an option of stage");
    fireEvent.click(screen.getByTestId("flow-panel-back"));
    fireEvent.click(screen.getByTestId("flow-outline-transition-propose"));
    expect(within(screen.getByTestId("flow-panel-transition")).getByTestId("flow-tr-guard-problem").textContent).toBe("unknown field discont");
    // Keyboard: Enter on a focused state opens it.
    const node = screen.getByTestId("flow-node-proposal").closest(".react-flow__node") as HTMLElement;
    node.focus();
    fireEvent.keyDown(node, { key: "Enter" });
    expect((within(screen.getByTestId("flow-panel-state")).getByTestId("flow-state-name") as HTMLInputElement).value).toBe("proposal");
  });

  it("adds a flow for an entity and creates its states from the select's options", async () => {
    let last: DDoc | null = null;
    function Host() {
      const [d, setD] = useState(doc([]));
      return <FlowsEditor doc={d} onChange={(x) => { setD(x); last = x; }} />;
    }
    renderWith(<Host />, "zh-CN");
    fireEvent.click(screen.getByTestId("flow-add"));
    fireEvent.click(screen.getByTestId("flow-add-save"));
    expect(screen.getByTestId("flow-missing-options").textContent).toContain("lead, proposal, won, lost");
    await act(async () => { fireEvent.click(screen.getByTestId("flow-states-from-options")); });
    const f = flowList(last!)[0];
    expect(f).toMatchObject({ name: "deal_flow", entity: "deal", field: "stage" });
    expect(f.states.map((s) => s.name)).toEqual(["lead", "proposal", "won", "lost"]);
    await screen.findByTestId("flow-node-lost");
  });
});
