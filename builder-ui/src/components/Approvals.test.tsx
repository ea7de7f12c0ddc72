import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { ApprovalView } from "../flowsApi";
import { mockFetch, renderWith } from "../test/util";
import { Approvals } from "./Approvals";

const view = (over: Partial<ApprovalView> = {}): ApprovalView => ({
  id: "ap1", app: "crm", entity: "quote", recordId: "q1", title: "Quote for ACME", flow: "quote_flow", transition: "discount",
  transitionLabel: "Give discount", from: "draft", to: "approved", kind: "approval", status: "pending", requester: "u2", requesterName: "Ana",
  comment: "25% to win it", fields: null, step: 1, version: 3, canDecide: true, createdAt: "2026-11-21T02:00:00Z",
  steps: [
    { name: "manager", label: "Manager", mode: "any", status: "approved", approvers: [{ userId: "u3", name: "Bo", decision: "approved" }] },
    { name: "director", label: "Director", mode: "quorum", quorum: 2, status: "pending",
      approvers: [{ userId: "u4", decision: "approved" }, { userId: "u5", decision: "" }, { userId: "u6", decision: "" }] },
  ],
  ...over,
});

afterEach(() => {
  window.location.hash = "";
});

describe("approvals inbox", () => {
  it("lists what waits on me with the record link, the move, the requester and the step progress", async () => {
    const calls = mockFetch((c) => (c.url.pathname === "/api/me/approvals" ? { body: { items: [view()], nextCursor: "" } } : undefined));
    renderWith(<Approvals />);
    const item = await screen.findByTestId("approval-ap1");
    expect(calls[0].url.searchParams.get("status")).toBe("pending");
    expect(screen.getByTestId("approval-record-ap1").getAttribute("href")).toBe("#/a/crm/quote/q1");
    expect(item.textContent).toContain("Give discount");
    expect(item.textContent).toContain("draft → approved");
    expect(item.textContent).toContain("Ana");
    expect(screen.getByTestId("approval-steps-ap1").textContent).toContain("1 of 2 approved");
  });

  it("names the transition, the states and the steps in the user's language, else their labels, else names", async () => {
    const labelled = view({
      transitionLabels: { "zh-CN": "申请折扣", en: "Give discount" }, fromLabel: "Draft", fromLabels: { "zh-CN": "草稿" }, toLabel: "approved",
      steps: [
        { name: "manager", label: "Manager", labels: { "zh-CN": "经理审批" }, mode: "any", status: "approved", approvers: [] },
        { name: "director", label: "Director", mode: "any", status: "pending", approvers: [] },
        { name: "board", mode: "any", status: "waiting", approvers: [] },
      ],
    });
    mockFetch((c) => (c.url.pathname === "/api/me/approvals" ? { body: { items: [labelled], nextCursor: "" } } : undefined));
    const { unmount } = renderWith(<Approvals />, "zh-CN");
    await screen.findByTestId("approval-ap1");
    expect(screen.getByTestId("approval-transition-ap1").textContent).toBe("申请折扣");
    expect(screen.getByTestId("approval-states-ap1").textContent).toBe("草稿 → approved");
    expect(Array.from(screen.getByTestId("approval-steps-ap1").querySelectorAll("li > span:first-child")).map((s) => s.textContent)).toEqual(["经理审批", "Director", "board"]);
    unmount();

    renderWith(<Approvals />, "en");
    await screen.findByTestId("approval-ap1");
    expect(screen.getByTestId("approval-transition-ap1").textContent).toBe("Give discount");
    expect(screen.getByTestId("approval-states-ap1").textContent).toBe("Draft → approved");
    expect(Array.from(screen.getByTestId("approval-steps-ap1").querySelectorAll("li > span:first-child")).map((s) => s.textContent)).toEqual(["Manager", "Director", "board"]);
  });

  it("names a hand-over's step in the user's language", async () => {
    const h = view({ kind: "handover", step: 0, steps: [{ name: "receiver", label: "Receiver", mode: "any", status: "pending", approvers: [] }] });
    mockFetch((c) => (c.url.pathname === "/api/me/approvals" ? { body: { items: [h], nextCursor: "" } } : undefined));
    renderWith(<Approvals />, "zh-CN");
    await screen.findByTestId("approval-ap1");
    expect(screen.getByTestId("approval-steps-ap1").querySelector("li > span")!.textContent).toBe("接收人");
  });

  it("a rejection needs a comment; then it is sent with the version and leaves the list", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/me/approvals") return { body: { items: [view()] } };
      if (c.method === "POST" && c.url.pathname === "/api/approvals/ap1/reject") return { body: view({ status: "rejected", canDecide: false }) };
      return undefined;
    });
    renderWith(<Approvals />);
    fireEvent.click(await screen.findByTestId("reject-ap1"));
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    expect(screen.getByTestId("decide-problem-ap1").textContent).toBe("Say why: a rejection needs a comment.");
    expect(calls.some((c) => c.method === "POST")).toBe(false);
    fireEvent.change(screen.getByTestId("decide-comment-ap1"), { target: { value: "Too deep a discount" } });
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    await waitFor(() => expect(screen.queryByTestId("approval-ap1")).toBeNull());
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ comment: "Too deep a discount", version: 3 });
    expect(screen.getByTestId("inbox-notice").textContent).toBe("Rejected.");
  });

  it("409: someone decided first — told, and the list reloaded", async () => {
    let lists = 0;
    mockFetch((c) => {
      if (c.url.pathname === "/api/me/approvals") {
        lists++;
        return { body: { items: lists === 1 ? [view()] : [] } };
      }
      if (c.method === "POST") return { status: 409, body: { error: { code: "conflict", message: "already decided" } } };
      return undefined;
    });
    renderWith(<Approvals />);
    fireEvent.click(await screen.findByTestId("approve-ap1"));
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    await screen.findByTestId("inbox-empty");
    expect(screen.getByTestId("inbox-notice").textContent).toBe("Someone decided first; the list was reloaded.");
    expect(lists).toBe(2);
  });

  it("delegates to a colleague picked by name, and a requester withdraws their own", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/me/approvals") return { body: { items: [c.url.searchParams.get("status") === "mine" ? view({ canDecide: false }) : view()] } };
      if (c.url.pathname === "/api/directory/users") return { body: { items: [{ id: "u9", name: "Chen", email: "chen@example.com" }] } };
      if (c.method === "POST") return { body: view({ canDecide: false, status: c.url.pathname.endsWith("withdraw") ? "withdrawn" : "pending" }) };
      return undefined;
    });
    const { unmount } = renderWith(<Approvals />);
    fireEvent.click(await screen.findByTestId("delegate-ap1"));
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    expect(screen.getByTestId("decide-problem-ap1").textContent).toBe("Choose who decides instead.");
    fireEvent.change(screen.getByTestId("delegate-to-ap1"), { target: { value: "che" } });
    fireEvent.click(await screen.findByText(/Chen/));
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ comment: "", to: "u9", version: 3 });
    expect(calls.find((c) => c.method === "POST")!.url.pathname).toBe("/api/approvals/ap1/delegate");
    unmount();

    renderWith(<Approvals tab="mine" />, "zh-CN");
    expect(screen.queryByTestId("approve-ap1")).toBeNull();
    fireEvent.click(await screen.findByTestId("withdraw-ap1"));
    fireEvent.click(screen.getByTestId("decide-confirm-ap1"));
    await waitFor(() => expect(screen.getByTestId("approval-status-ap1").textContent).toBe("已撤回"));
  });

  it("a server without approvals (404) says so", async () => {
    mockFetch(() => undefined);
    renderWith(<Approvals tab="decided" />);
    expect((await screen.findByTestId("inbox-empty")).textContent).toBe("This server has no approvals.");
  });
});
