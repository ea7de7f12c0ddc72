import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import type { Available } from "../flowsApi";
import { mockFetch, renderWith } from "../test/util";
import { RecordForm } from "./RecordForm";

const app = {
  name: "crm", version: 2,
  entities: [{
    name: "deal", label: "Deal", fields: [
      { id: "d1", name: "title", type: "text" },
      { id: "d2", name: "stage", type: "select", options: ["lead", "proposal", "won", "lost"] },
      { id: "d3", name: "lost_reason", type: "text" },
    ],
  }],
  flows: [{ name: "deal_flow", entity: "deal", field: "stage", states: [], transitions: [] }],
} as unknown as AppDocument;
const deal = app.entities[0];

const rec = (stage: string, version: number) => ({ id: "r1", version, title: "Big deal", stage, lost_reason: null, owner: "u1", created_by: "u1",
  created_at: "2026-11-20T00:00:00Z", updated_at: "2026-11-21T00:00:00Z" });

const avail = (state: string, over: Partial<Available> = {}): Available => ({
  flow: "deal_flow", field: "stage", state, pending: null,
  states: [
    { name: "lead", label: "Lead", color: "#718096" },
    { name: "proposal", label: "Proposal", color: "#3182ce", labels: { "zh-CN": "方案" } },
    { name: "won", label: "Won", color: "#2f855a", final: true },
    { name: "lost", label: "Lost", color: "#c53030", final: true },
  ],
  items: [
    { name: "propose", label: "Send proposal", to: "proposal", allowed: false, approval: false, handover: false, comment: "optional", fields: [],
      lacks: [{ path: "/evidence/nda", message: "attach the signed NDA" }, { path: "/guard", message: "amount must be set" }] },
    { name: "lose", label: "Lose", to: "lost", allowed: true, approval: false, handover: false, comment: "required", fields: [{ field: "lost_reason", required: true }], lacks: [] },
  ],
  ...over,
});

afterEach(() => {
  window.location.hash = "";
});

describe("flow on the record form", () => {
  it("shows the stage bar and the transitions with what they lack; the state field is read-only", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/deal/r1") return { body: rec("lead", 3) };
      if (c.url.pathname === "/api/data/crm/deal/r1/transitions") return { body: avail("lead") };
      return undefined;
    });
    renderWith(<RecordForm app={app} entity={deal} id="r1" />);
    const bar = await screen.findByTestId("stage-bar");
    expect(bar.textContent).toContain("Lead");
    expect(screen.getByTestId("stage-lead").getAttribute("aria-current")).toBe("step");
    expect(screen.getByTestId("stage-lead").style.background).toBeTruthy();
    expect(screen.getByTestId("stage-won").textContent).toContain("⚑");
    const propose = screen.getByTestId("flow-take-propose") as HTMLButtonElement;
    expect(propose.disabled).toBe(true);
    expect(screen.getByTestId("flow-lacks-propose").textContent).toContain("attach the signed NDA");
    expect(screen.getByTestId("flow-lacks-propose").textContent).toContain("amount must be set");
    expect((screen.getByTestId("flow-take-lose") as HTMLButtonElement).disabled).toBe(false);
    // The governed field is shown, not edited.
    expect(screen.getByTestId("field-stage").tagName).toBe("DIV");
  });

  it("takes a transition: required comment and field checked, 422 lacks shown in place, then 200 moves the bar", async () => {
    let version = 3;
    let stage = "lead";
    let refuse = true;
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/deal/r1") return { body: rec(stage, version) };
      if (c.url.pathname === "/api/data/crm/deal/r1/transitions") return { body: avail(stage, stage === "lost" ? { items: [] } : {}) };
      if (c.method === "POST" && c.url.pathname === "/api/data/crm/deal/r1/transitions/lose") {
        if (refuse) {
          refuse = false;
          return { status: 422, body: { error: { code: "transition_refused", message: "the transition cannot be taken", details: [
            { path: "/fields/lost_reason", message: "say why it was lost" }, { path: "/guard", message: "only managers lose deals over 1M" }] } } };
        }
        stage = "lost";
        version = 4;
        return { body: { record: rec(stage, version) } };
      }
      return undefined;
    });
    renderWith(<RecordForm app={app} entity={deal} id="r1" />);
    fireEvent.click(await screen.findByTestId("flow-take-lose"));
    const dialog = screen.getByTestId("flow-take-dialog");
    expect(dialog.textContent).toContain("*");
    // Nothing filled: the required comment and field are asked for before anything is sent.
    fireEvent.click(screen.getByTestId("flow-take-submit"));
    expect(screen.getByTestId("flow-take-comment-error").textContent).toBe("A comment is required.");
    expect(screen.getByTestId("field-error-take-lost_reason")).toBeTruthy();
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    fireEvent.change(screen.getByTestId("field-take-lost_reason"), { target: { value: "x" } });
    fireEvent.change(screen.getByTestId("flow-take-comment"), { target: { value: "Budget cut" } });
    fireEvent.click(screen.getByTestId("flow-take-submit"));
    await screen.findByTestId("flow-take-lacks");
    expect(screen.getByTestId("flow-take-lacks").textContent).toContain("only managers lose deals over 1M");
    expect(screen.getByTestId("field-error-take-lost_reason").textContent).toBe("say why it was lost");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ version: 3, fields: { lost_reason: "x" }, comment: "Budget cut" });
    fireEvent.click(screen.getByTestId("flow-take-submit"));
    await waitFor(() => expect(screen.getByTestId("stage-lost").getAttribute("aria-current")).toBe("step"));
    expect(screen.queryByTestId("flow-take-dialog")).toBeNull();
    expect(screen.queryByTestId("flow-transitions")).toBeNull();
  });

  it("202 sends it for approval; a pending approval shows a banner and blocks the buttons", async () => {
    let pending = false;
    mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/deal/r1") return { body: rec("lead", 3) };
      if (c.url.pathname === "/api/data/crm/deal/r1/transitions") {
        const a = avail("lead", { items: [{ ...avail("lead").items![1], name: "discount", label: "Give discount", approval: true, comment: "none", fields: [] }] });
        return { body: pending ? { ...a, pending: { id: "ap1", transition: "discount", kind: "approval", step: 0, requester: "u1", requesterName: "Ana", createdAt: "2026-11-21T00:00:00Z" } } : a };
      }
      if (c.method === "POST") {
        pending = true;
        return { status: 202, body: { approval: { id: "ap1", status: "pending" } } };
      }
      return undefined;
    });
    renderWith(<RecordForm app={app} entity={deal} id="r1" />);
    fireEvent.click(await screen.findByTestId("flow-take-discount"));
    expect(screen.queryByTestId("flow-take-comment")).toBeNull();
    expect(screen.getByTestId("flow-take-submit").textContent).toBe("Send request");
    fireEvent.click(screen.getByTestId("flow-take-submit"));
    const banner = await screen.findByTestId("flow-pending");
    expect(banner.textContent).toContain("Give discount");
    expect(banner.textContent).toContain("Ana");
    expect(banner.textContent).toContain("step 1");
    expect((screen.getByTestId("flow-take-discount") as HTMLButtonElement).disabled).toBe(true);
  });

  it("shows no stage bar when the server has no flow routes (404)", async () => {
    const calls = mockFetch((c) => (c.url.pathname === "/api/data/crm/deal/r1" ? { body: rec("lead", 3) } : undefined));
    renderWith(<RecordForm app={app} entity={deal} id="r1" />);
    await screen.findByTestId("form-save");
    await waitFor(() => expect(calls.some((c) => c.url.pathname.endsWith("/transitions"))).toBe(true));
    expect(screen.queryByTestId("flow-bar")).toBeNull();
    expect(screen.queryByTestId("flow-error")).toBeNull();
  });

  it("asks nothing for an entity the document gives no flow", async () => {
    const plain = { ...app, flows: [] } as unknown as AppDocument;
    const calls = mockFetch((c) => (c.url.pathname === "/api/data/crm/deal/r1" ? { body: rec("lead", 3) } : undefined));
    renderWith(<RecordForm app={plain} entity={deal} id="r1" />, "zh-CN");
    await screen.findByTestId("form-save");
    expect(calls.some((c) => c.url.pathname.endsWith("/transitions"))).toBe(false);
    expect(screen.getByTestId("field-stage").tagName).toBe("SELECT");
  });
});
