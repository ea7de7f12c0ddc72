import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ErrorDetail } from "../api";
import type { Automation } from "../designer/automations";
import type { DDoc } from "../designer/model";
import { keyboardDrag, mockFetch, renderWith, type Call } from "../test/util";
import { AutomationsEditor } from "./AutomationsEditor";
import { Designer } from "./Designer";

const base = (automations?: Automation[]): DDoc => ({
  name: "crm", version: 2,
  entities: [
    { name: "quote", label: "Quote", fields: [
      { id: "q1", name: "title", label: "Title", type: "text" },
      { id: "q2", name: "status", label: "Status", type: "select", options: ["draft", "sent", "won"] },
      { id: "q3", name: "opened_at", label: "Opened at", type: "datetime" },
      { id: "q4", name: "replied_at", label: "Replied at", type: "datetime" },
      { id: "q5", name: "amount", label: "Amount", type: "decimal" },
      { id: "q6", name: "rep", label: "Rep", type: "user" },
    ] },
    { name: "task", label: "Task", fields: [
      { id: "t1", name: "title", label: "Title", type: "text" },
      { id: "t2", name: "quote", label: "Quote", type: "ref", entity: "quote" },
    ] },
  ],
  roles: [{ name: "manager", label: "Manager" }, { name: "rep", label: "Rep" }],
  scripts: { quote: "function grade(record, ctx) {}\nfunction other() {}" },
  ...(automations ? { automations } : {}),
});

let latest: DDoc = base();
function Harness({ initial, stored = false, problems }: { initial: DDoc; stored?: boolean; problems?: ErrorDetail[] }) {
  const [doc, setDoc] = useState(initial);
  latest = doc;
  return <AutomationsEditor doc={doc} onChange={setDoc} stored={stored} problems={problems} />;
}
const autos = () => (latest.automations as Automation[]) ?? [];

// applyFilter builds one condition row in the filter builder inside `box`.
function applyFilter(box: HTMLElement, field: string, op: string, value?: string) {
  const fb = within(box).getByTestId("filter-builder");
  fireEvent.click(within(fb).getByTestId("filter-add"));
  const rows = within(fb).getAllByTestId("filter-row");
  const row = rows[rows.length - 1];
  fireEvent.change(within(row).getByTestId("filter-field"), { target: { value: field } });
  fireEvent.change(within(row).getByTestId("filter-op"), { target: { value: op } });
  if (value !== undefined) fireEvent.change(within(row).getByTestId("filter-value"), { target: { value } });
  fireEvent.click(within(fb).getByTestId("filter-apply"));
}

const silence = (): Automation => ({
  name: "silence_alert", label: "No reply in 72h", enabled: true, entity: "quote", role: "manager",
  trigger: { type: "timer", field: "opened_at", offset: "72h", unless: "replied_at != null" },
  condition: 'status = "sent"',
  actions: [{ type: "notify", to: { manager: true }, message: "Quote {{title}} opened {{opened_at}}: no reply for 72 hours" }],
});

afterEach(() => vi.unstubAllGlobals());

describe("AutomationsEditor", () => {
  it("builds the 72-hour silence alert without JSON: exactly the contract's document", () => {
    mockFetch(() => undefined);
    renderWith(<Harness initial={base()} />);
    expect(screen.getByTestId("auto-none")).toBeTruthy();
    fireEvent.click(screen.getByTestId("auto-add"));
    fireEvent.click(within(screen.getByTestId("auto-add-dialog")).getByTestId("auto-add-blank"));
    expect(autos()[0].name).toBe("automation_1");
    // The name follows the label until typed by hand.
    fireEvent.change(screen.getByTestId("auto-label"), { target: { value: "No reply in 72h" } });
    expect(autos()[0].name).toBe("no_reply_in_72h");
    fireEvent.change(screen.getByTestId("auto-name"), { target: { value: "silence_alert" } });
    fireEvent.change(screen.getByTestId("auto-role"), { target: { value: "manager" } });

    fireEvent.click(screen.getByTestId("auto-trigger-timer"));
    fireEvent.change(screen.getByTestId("auto-timer-field"), { target: { value: "opened_at" } });
    fireEvent.change(screen.getByTestId("auto-timer-amount"), { target: { value: "72" } });
    fireEvent.change(screen.getByTestId("auto-timer-unit"), { target: { value: "h" } });
    applyFilter(screen.getByTestId("auto-unless"), "replied_at", "notEmpty");
    applyFilter(screen.getByTestId("auto-condition"), "status", "=", "sent");

    // The blank rule's notify: the manager instead of the owner, a message with a field chip.
    const n = screen.getByTestId("auto-notify-actions-0");
    fireEvent.click(within(n).getByTestId("auto-to-owner-actions-0"));
    fireEvent.click(within(n).getByTestId("auto-to-manager-actions-0"));
    fireEvent.change(within(n).getByTestId("auto-message-actions-0"), { target: { value: "Quote " } });
    fireEvent.change(within(n).getByTestId("auto-message-actions-0-insert"), { target: { value: "title" } });
    const msg = autos()[0].actions![0].message!;
    expect(msg).toBe("Quote {{title}}");
    fireEvent.change(within(n).getByTestId("auto-message-actions-0"), { target: { value: msg + " opened {{opened_at}}: no reply for 72 hours" } });
    expect(within(n).getByTestId("auto-message-actions-0-preview").textContent).toContain("Opened at");

    expect(autos()).toEqual([silence()]);
    expect(screen.getByTestId("auto-sentence").textContent).toBe("72 hours after a Quote's Opened at, unless the condition to stop holds by then, if the conditions hold");
  });

  it("reads back a field-changed trigger as a sentence, in both languages, with typed from/to values", () => {
    mockFetch(() => undefined);
    const a: Automation = { name: "won", entity: "quote", trigger: { type: "created" }, actions: [] };
    renderWith(<Harness initial={base([a])} />);
    fireEvent.click(screen.getByTestId("auto-trigger-fieldChanged"));
    fireEvent.change(screen.getByTestId("auto-trigger-field"), { target: { value: "status" } });
    fireEvent.change(screen.getByTestId("auto-trigger-to"), { target: { value: "won" } });
    expect(autos()[0].trigger).toEqual({ type: "fieldChanged", field: "status", to: "won" });
    expect(screen.getByTestId("auto-sentence").textContent).toBe("When a Quote's Status changes to won");
    fireEvent.change(screen.getByTestId("auto-trigger-field"), { target: { value: "amount" } });
    fireEvent.change(screen.getByTestId("auto-trigger-from"), { target: { value: "1,000" } });
    expect(autos()[0].trigger).toEqual({ type: "fieldChanged", field: "amount", from: 1000 });
    // Transitions need flows: none in this document.
    expect((screen.getByTestId("auto-trigger-transition") as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByTestId("auto-no-flows")).toBeTruthy();
  });

  it("writes a schedule from a preset in the browser's time zone, and zh-CN reads it", () => {
    mockFetch(() => undefined);
    const a: Automation = { name: "stale", entity: "quote", trigger: { type: "created" }, actions: [] };
    renderWith(<Harness initial={base([a])} />, "zh-CN");
    fireEvent.click(screen.getByTestId("auto-trigger-schedule"));
    expect(autos()[0].trigger.cron).toBe("0 9 * * 1");
    fireEvent.change(screen.getByTestId("auto-cron-time"), { target: { value: "08:30" } });
    fireEvent.change(screen.getByTestId("auto-tz"), { target: { value: "Asia/Shanghai" } });
    expect(autos()[0].trigger).toEqual({ type: "schedule", cron: "30 8 * * 1", timeZone: "Asia/Shanghai" });
    expect(screen.getByTestId("auto-sentence").textContent).toBe("每星期一 08:30（Asia/Shanghai），对每条Quote");
    fireEvent.change(screen.getByTestId("auto-cron-preset"), { target: { value: "monthly" } });
    expect(autos()[0].trigger.cron).toBe("30 8 1 * *");
    fireEvent.change(screen.getByTestId("auto-cron-preset"), { target: { value: "custom" } });
    fireEvent.change(screen.getByTestId("auto-cron"), { target: { value: "*/15 * * * *" } });
    expect(autos()[0].trigger.cron).toBe("*/15 * * * *");
  });

  it("adds every action type, writes set and create fields, and reorders actions with the keyboard", async () => {
    mockFetch(() => undefined);
    const a: Automation = { name: "grade", entity: "quote", trigger: { type: "created" }, actions: [] };
    renderWith(<Harness initial={base([a])} />);
    const add = (ty: string) => {
      fireEvent.change(screen.getByTestId("auto-action-type-actions"), { target: { value: ty } });
      fireEvent.click(screen.getByTestId("auto-action-add-actions"));
    };
    add("set");
    fireEvent.change(screen.getByTestId("auto-field-add-actions-0"), { target: { value: "status" } });
    fireEvent.change(screen.getByTestId("auto-field-value-actions-0-status"), { target: { value: "sent" } });
    fireEvent.change(screen.getByTestId("auto-field-add-actions-0"), { target: { value: "amount" } });
    fireEvent.change(screen.getByTestId("auto-field-mode-actions-0-amount"), { target: { value: "expr" } });
    fireEvent.change(screen.getByTestId("auto-field-expr-actions-0-amount"), { target: { value: "amount * 2" } });
    add("create");
    fireEvent.change(screen.getByTestId("auto-create-entity-actions-1"), { target: { value: "task" } });
    fireEvent.change(screen.getByTestId("auto-field-add-actions-1"), { target: { value: "quote" } }); // a ref to the triggering entity: this record
    fireEvent.change(screen.getByTestId("auto-field-add-actions-1"), { target: { value: "title" } });
    fireEvent.change(screen.getByTestId("auto-field-mode-actions-1-title"), { target: { value: "template" } });
    fireEvent.change(screen.getByTestId("auto-field-template-actions-1-title"), { target: { value: "Call " } });
    fireEvent.change(screen.getByTestId("auto-field-template-actions-1-title-insert"), { target: { value: "title" } });
    add("webhook");
    fireEvent.change(screen.getByTestId("auto-url-actions-2"), { target: { value: "https://hooks.example.com/forma" } });
    expect(within(screen.getByTestId("webhook-secret-slot")).getByTestId("webhook-secret-value")).toBeTruthy();
    add("script");
    fireEvent.change(screen.getByTestId("auto-function-actions-3"), { target: { value: "quote#grade" } });
    expect(autos()[0].actions).toEqual([
      { type: "set", fields: { status: "sent", amount: { expr: "amount * 2" } } },
      { type: "create", entity: "task", fields: { quote: { expr: "id" }, title: { template: "Call {{title}}" } } },
      { type: "webhook", url: "https://hooks.example.com/forma" },
      { type: "script", function: "quote#grade" },
    ]);

    // Keyboard: lift the webhook's handle; five presses (25 px each) bring it over the upper half of the create.
    const row = (i: number) => screen.getByTestId(`auto-action-actions-${i}`);
    const handle = row(2).querySelector<HTMLElement>(".drag-handle")!;
    await keyboardDrag(handle, row(2), [
      [screen.getByTestId("auto-actions-actions"), [0, 0, 300, 400]],
      [row(0), [0, 0, 300, 100]], [row(1), [0, 100, 300, 100]], [row(2), [0, 200, 300, 100]], [row(3), [0, 300, 300, 100]],
      [handle, [0, 210, 20, 20]],
    ], "ArrowUp", 5);
    expect(autos()[0].actions!.map((x) => x.type)).toEqual(["set", "webhook", "create", "script"]);
    // And the buttons.
    fireEvent.click(screen.getByTestId("auto-action-up-actions-3"));
    expect(autos()[0].actions!.map((x) => x.type)).toEqual(["set", "webhook", "script", "create"]);
    fireEvent.click(screen.getByTestId("auto-action-remove-actions-0"));
    expect(autos()[0].actions!.map((x) => x.type)).toEqual(["webhook", "script", "create"]);
  });

  it("turns the actions into A/B variants with weights shown as percentages", () => {
    mockFetch(() => undefined);
    const a: Automation = { name: "won", entity: "quote", trigger: { type: "created" },
      actions: [{ type: "notify", to: { owner: true }, message: "Well done" }] };
    renderWith(<Harness initial={base([a])} />);
    fireEvent.click(screen.getByTestId("auto-ab"));
    expect(autos()[0].actions).toBeUndefined();
    expect(autos()[0].variants).toEqual([
      { name: "A", weight: 50, actions: [{ type: "notify", to: { owner: true }, message: "Well done" }] },
      { name: "B", weight: 50, actions: [{ type: "notify", to: { owner: true }, message: "Well done" }] },
    ]);
    expect(screen.getByTestId("auto-pct-0").textContent).toBe("50% of records");
    fireEvent.change(screen.getByTestId("auto-weight-0"), { target: { value: "30" } });
    expect(screen.getByTestId("auto-pct-0").textContent).toBe("37.5% of records");
    expect(screen.getByTestId("auto-pct-1").textContent).toBe("62.5% of records");
    // Variant B's own list: its message (per language too) and a role.
    fireEvent.change(screen.getByTestId("auto-message-v1-0"), { target: { value: "Won {{title}}" } });
    fireEvent.change(screen.getByTestId("auto-message-v1-0-label-zh-CN"), { target: { value: "赢单 {{title}}" } });
    fireEvent.click(screen.getByTestId("auto-to-role-v1-0-manager"));
    fireEvent.click(screen.getByTestId("auto-variant-add"));
    expect(screen.getByTestId("auto-pct-2").textContent).toBe("38.5% of records");
    fireEvent.click(screen.getByTestId("auto-variant-remove-2"));
    expect(autos()[0].variants).toEqual([
      { name: "A", weight: 30, actions: [{ type: "notify", to: { owner: true }, message: "Well done" }] },
      { name: "B", weight: 50, actions: [{ type: "notify", to: { owner: true, roles: ["manager"] }, message: "Won {{title}}", messages: { "zh-CN": "赢单 {{title}}" } }] },
    ]);
    // The A/B results panel appears; off again keeps variant A's actions.
    expect(screen.getByTestId("auto-panel-ab")).toBeTruthy();
    fireEvent.click(screen.getByTestId("auto-ab"));
    expect(autos()[0]).toEqual({ ...a, actions: [{ type: "notify", to: { owner: true }, message: "Well done" }] });
  });

  it("adds examples, duplicates, toggles and deletes with a confirmation", () => {
    mockFetch(() => undefined);
    renderWith(<Harness initial={base()} />);
    fireEvent.click(screen.getByTestId("auto-add"));
    fireEvent.click(screen.getByTestId("auto-add-silence"));
    expect(autos()[0]).toMatchObject({ name: "silence_alert", entity: "quote", trigger: { type: "timer", field: "opened_at", offset: "72h", unless: "replied_at != null" } });
    fireEvent.click(screen.getByTestId("auto-duplicate"));
    expect(autos().map((x) => x.name)).toEqual(["silence_alert", "silence_alert_copy"]);
    fireEvent.click(screen.getByTestId("auto-enabled-silence_alert"));
    expect(autos()[0].enabled).toBe(false);
    fireEvent.click(screen.getByTestId("auto-delete"));
    fireEvent.click(screen.getByTestId("auto-delete-confirm"));
    expect(autos().map((x) => x.name)).toEqual(["silence_alert"]);
  });

  it("shows server problems at the inputs their pointers name, in the user's language around them", () => {
    mockFetch(() => undefined);
    const a: Automation = {
      name: "grade", entity: "quote", trigger: { type: "schedule", cron: "61 9 * * 1", timeZone: "UTC" }, condition: "nope = 1",
      actions: [{ type: "create", entity: "ghost", fields: {} }, { type: "webhook", url: "http://127.0.0.1/x" }],
    };
    renderWith(<Harness initial={base([{ name: "other", entity: "quote", trigger: { type: "created" } }, a])} problems={[
      { path: "/automations/1/actions/0/entity", message: "unknown entity ghost" },
      { path: "/automations/1/actions/1/url", message: "refusing a private address" },
      { path: "/automations/1/trigger/cron", message: "cron does not parse" },
      { path: "/automations/1/condition", message: "unknown field nope" },
      { path: "/automations/1/variants", message: "something else" },
    ]} />, "zh-CN");
    // The rule in trouble is opened and marked in the list.
    expect(screen.getByTestId("auto-item-grade").className).toContain("has-error");
    expect(screen.getByTestId("auto-problem-entity-actions-0").textContent).toBe("unknown entity ghost");
    expect(screen.getByTestId("auto-problem-url-actions-1").textContent).toBe("refusing a private address");
    expect(screen.getByTestId("auto-problem-cron").textContent).toBe("cron does not parse");
    expect(screen.getByTestId("auto-condition-problem").textContent).toBe("unknown field nope");
    expect(screen.getByTestId("auto-problems").textContent).toContain("something else");
    expect(screen.getByTestId("auto-cron").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("执行动作")).toBeTruthy();
  });
});

describe("Automations in the designer", () => {
  it("publishes the automations with the document and opens the tab on a 422 with its pointer", async () => {
    const doc = base([silence()]);
    const posts: Call[] = [];
    mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps/crm") return { body: doc };
      if (c.url.pathname.startsWith("/api/meta/apps/crm/draft")) return { status: 404, body: { error: { code: "not_found", message: "no draft" } } };
      if (c.method === "POST" && c.url.pathname === "/api/meta/apps") {
        posts.push(c);
        return { status: 422, body: { error: { code: "invalid_app", message: "the app has problems", details: [{ path: "/automations/0/trigger/field", message: "opened_at is not a field of quote" }] } } };
      }
    });
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("publish"));
    expect(await screen.findByTestId("auto-problem-timer-field")).toBeTruthy();
    expect(screen.getByTestId("auto-problem-timer-field").textContent).toBe("opened_at is not a field of quote");
    expect(screen.getByTestId("tab-automations").getAttribute("aria-selected")).toBe("true");
    expect((posts[0].body as DDoc).automations).toEqual([silence()]);
  });
});

describe("run log, dry run and A/B results", () => {
  const published = base([silence(), { ...silence(), name: "ab", variants: [{ name: "A", weight: 50, actions: [] }, { name: "B", weight: 50, actions: [] }], actions: undefined }]);

  it("pages the run log with nextCursor, filters by record and expands a run's steps", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm") return { body: published };
      if (c.url.pathname === "/api/meta/apps/crm/automations/silence_alert/runs") {
        const rec = c.url.searchParams.get("record");
        const cur = c.url.searchParams.get("cursor");
        const run = (id: string, status: string) => ({
          id, at: "2026-12-06T09:00:00Z", finishedAt: "2026-12-06T09:00:02Z", recordId: rec ?? "q" + id, entity: "quote", occurrence: "o", variant: "",
          status, message: "", depth: 0, steps: [{ index: 0, type: "notify", status: status === "failed" ? "failed" : "succeeded", detail: "notified 1 user", attempts: 2, at: "2026-12-06T09:00:01Z" }],
        });
        if (rec) return { body: { items: [run("9", "failed")], nextCursor: null } };
        return cur === "c2" ? { body: { items: [run("3", "succeeded")], nextCursor: null } } : { body: { items: [run("1", "succeeded"), run("2", "failed")], nextCursor: "c2" } };
      }
      if (c.url.pathname === "/api/data/crm/quote") return { body: { items: [{ id: "q42", title: "Acme quote" }] } };
      if (c.url.pathname === "/api/data/crm/quote/q1") return { body: { id: "q1", title: "First quote" } };
    });
    renderWith(<Harness initial={published} stored />);
    fireEvent.click(screen.getByTestId("auto-panel-runs"));
    await waitFor(() => expect(screen.getAllByTestId("auto-run")).toHaveLength(2));
    expect(screen.getAllByTestId("auto-run-status").map((e) => e.textContent)).toEqual(["succeeded", "failed"]);
    fireEvent.click(screen.getByTestId("auto-runs-more"));
    await waitFor(() => expect(screen.getAllByTestId("auto-run")).toHaveLength(3));
    expect(screen.queryByTestId("auto-runs-more")).toBeNull();
    const runCalls = calls.filter((c) => c.url.pathname.endsWith("/runs"));
    expect(runCalls[1].url.searchParams.get("cursor")).toBe("c2");
    expect(runCalls[0].url.searchParams.get("limit")).toBe("50");
    // A run's steps.
    fireEvent.click(screen.getAllByTestId("auto-run-expand")[1]);
    expect(screen.getByTestId("auto-run-detail").textContent).toContain("notified 1 user");
    expect(screen.getByTestId("auto-run-detail").textContent).toContain("attempts: 2");
    // Links to the record, by its label.
    await waitFor(() => expect(screen.getAllByTestId("auto-run-record")[0].textContent).toBe("First quote"));
    expect(screen.getAllByTestId("auto-run")[0].querySelector("a")!.getAttribute("href")).toBe("#/a/crm/quote/q1");
    // Filter by a record.
    fireEvent.change(screen.getByTestId("auto-runs-record"), { target: { value: "Acme" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    await waitFor(() => expect(screen.getAllByTestId("auto-run")).toHaveLength(1));
    expect(calls.filter((c) => c.url.pathname.endsWith("/runs")).at(-1)!.url.searchParams.get("record")).toBe("q42");
  });

  it("tests the unsaved rule on a record and shows each action's would-be effect, changing nothing", async () => {
    const edited: Automation = {
      ...silence(),
      actions: [
        { type: "set", fields: { status: "won", amount: 3000 } },
        { type: "create", entity: "task", fields: { quote: { expr: "id" }, title: { template: "Call {{title}}" } } },
        { type: "notify", to: { manager: true }, message: "Quote {{title}}" },
        { type: "webhook", url: "https://hooks.example.com/forma" },
      ],
    };
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm") return { body: base([silence()]) };
      if (c.url.pathname === "/api/data/crm/quote") return { body: { items: [{ id: "q42", title: "Acme quote" }] } };
      if (c.method === "POST" && c.url.pathname === "/api/meta/apps/crm/automations/silence_alert/test") {
        return { body: { matched: true, reason: "", variant: "", actions: [
          { index: 0, type: "set", ok: true, effect: { changes: { status: "won", amount: 3000 } } },
          { index: 1, type: "create", ok: true, effect: { entity: "task", record: { title: "Call Acme quote", quote: "q42" } } },
          { index: 2, type: "notify", ok: true, effect: { users: [{ id: "u2", name: "Li Na", email: "li@example.com" }], message: "Quote Acme quote" } },
          { index: 3, type: "webhook", ok: false, error: "refusing a private address", effect: { url: "https://hooks.example.com/forma", body: { event: "timer", id: "q42" } } },
        ] } };
      }
    });
    renderWith(<Harness initial={base([edited])} stored />);
    fireEvent.click(screen.getByTestId("auto-panel-test"));
    fireEvent.change(screen.getByTestId("auto-test-record"), { target: { value: "Acme" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    fireEvent.click(screen.getByTestId("auto-test-run"));
    await screen.findByTestId("auto-test-result");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ id: "q42", automation: edited });
    expect(screen.getByTestId("auto-test-nothing").textContent).toContain("nothing was changed");
    expect(screen.getByTestId("auto-test-matched")).toBeTruthy();
    expect(screen.getByTestId("auto-test-changes").textContent).toContain("Status → won");
    expect(screen.getByTestId("auto-test-changes").textContent).toContain("Amount → ");
    expect(screen.getByTestId("auto-test-create").textContent).toContain("Would create a Task");
    expect(screen.getByTestId("auto-test-create").textContent).toContain("Title: Call Acme quote");
    expect(screen.getByTestId("auto-test-notify").textContent).toContain("Li Na");
    expect(screen.getByTestId("auto-test-notify").textContent).toContain("Quote Acme quote");
    expect(screen.getByTestId("auto-test-webhook").textContent).toContain("https://hooks.example.com/forma");
    expect(screen.getByTestId("auto-test-action-error").textContent).toBe("refusing a private address");
  });

  it("says why a rule would not run", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm") return { body: base([silence()]) };
      if (c.url.pathname === "/api/data/crm/quote") return { body: { items: [{ id: "q42", title: "Acme quote" }] } };
      if (c.method === "POST") return { body: { matched: false, reason: "condition false", variant: "", actions: [] } };
    });
    renderWith(<Harness initial={base([silence()])} stored />, "zh-CN");
    fireEvent.click(screen.getByTestId("auto-panel-test"));
    fireEvent.change(screen.getByTestId("auto-test-record"), { target: { value: "Acme" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    fireEvent.click(screen.getByTestId("auto-test-run"));
    expect((await screen.findByTestId("auto-test-unmatched")).textContent).toBe("规则不会运行： condition false");
    expect(screen.getByTestId("auto-test-nothing").textContent).toContain("没有修改");
  });

  it("marks the problems the dry run finds in the edited rule at the rule's inputs", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm") return { body: base([silence()]) };
      if (c.url.pathname === "/api/data/crm/quote") return { body: { items: [{ id: "q42", title: "Acme quote" }] } };
      if (c.method === "POST") {
        return { status: 422, body: { error: { code: "invalid_app", message: "the automation has problems",
          details: [{ path: "/automation/trigger/field", message: "field nope does not exist" }] } } };
      }
    });
    renderWith(<Harness initial={base([{ ...silence(), trigger: { type: "timer", field: "nope", offset: "72h" } }])} stored />);
    fireEvent.click(screen.getByTestId("auto-panel-test"));
    fireEvent.change(screen.getByTestId("auto-test-record"), { target: { value: "Acme" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    fireEvent.click(screen.getByTestId("auto-test-run"));
    await screen.findByTestId("auto-test-error");
    fireEvent.click(screen.getByTestId("auto-test-show-rule"));
    expect(screen.getByTestId("auto-problem-timer-field").textContent).toBe("field nope does not exist");
  });

  it("shows A/B results for a goal with the test named and a significance badge", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm") return { body: published };
      if (c.url.pathname === "/api/meta/apps/crm/automations/ab/variants") {
        return { body: { goal: c.url.searchParams.get("goal"), test: "two-proportion z-test (pooled, two-sided), each variant against the first", alpha: 0.05,
          variants: [{ name: "A", weight: 50, records: 1000, reached: 100, rate: 0.1 }, { name: "B", weight: 50, records: 1000, reached: 150, rate: 0.15, z: 3.4, p: 0.0007, significant: true }] } };
      }
    });
    renderWith(<Harness initial={published} stored />);
    fireEvent.click(screen.getByTestId("auto-item-ab"));
    fireEvent.click(await screen.findByTestId("auto-panel-ab"));
    await waitFor(() => expect(calls.some((c) => c.url.pathname === "/api/meta/apps/crm")).toBe(true));
    applyFilter(await screen.findByTestId("auto-ab-results"), "status", "=", "won");
    await screen.findByTestId("auto-ab-table");
    expect(calls.find((c) => c.url.pathname.endsWith("/variants"))!.url.searchParams.get("goal")).toBe('status = "won"');
    expect(screen.getAllByTestId("auto-ab-row").map((r) => r.textContent)).toEqual([
      "A50100010010.0%baseline", "B50100015015.0%significant p=0.001",
    ]);
    expect(screen.getByTestId("auto-ab-test").textContent).toContain("two-proportion z-test");
  });
});
