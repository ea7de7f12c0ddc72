import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { ErrorDetail } from "../api";
import type { Assignment } from "../designer/assignments";
import type { DDoc } from "../designer/model";
import { keyboardDrag, mockFetch, renderWith } from "../test/util";
import { AssignmentsEditor } from "./AssignmentsEditor";
import { AutomationsEditor } from "./AutomationsEditor";
import type { Automation } from "../designer/automations";

const base = (assignments?: Assignment[]): DDoc => ({
  name: "crm", version: 2,
  entities: [
    { name: "lead", label: "Lead", fields: [
      { id: "l1", name: "name", label: "Name", type: "text" },
      { id: "l2", name: "industry", label: "Industry", type: "select", options: ["retail", "energy"] },
      { id: "l3", name: "region", label: "Region", type: "text" },
      { id: "l4", name: "contacted_at", label: "Contacted at", type: "datetime" },
      { id: "l5", name: "rep", label: "Rep", type: "user" },
    ] },
    { name: "opportunity", label: "Opportunity", fields: [
      { id: "o1", name: "title", label: "Title", type: "text" },
      { id: "o2", name: "stage", label: "Stage", type: "select", options: ["open", "won", "lost"] },
      { id: "o3", name: "industry", label: "Industry", type: "text" },
    ] },
  ],
  roles: [{ name: "manager", label: "Manager" }, { name: "rep", label: "Rep" }],
  ...(assignments ? { assignments } : {}),
});

let latest: DDoc = base();
function Harness({ initial, problems }: { initial: DDoc; problems?: ErrorDetail[] }) {
  const [doc, setDoc] = useState(initial);
  latest = doc;
  return <AssignmentsEditor doc={doc} onChange={setDoc} problems={problems} />;
}
const rules = () => (latest.assignments as Assignment[]) ?? [];
const teams = { items: [{ id: "t1", name: "East" }, { id: "t2", name: "West" }] };
const fetchTeams = () => mockFetch((c) => (c.url.pathname === "/api/admin/teams" ? { body: teams } : undefined));

afterEach(() => vi.unstubAllGlobals());

// previewOnAcme opens the preview, picks the lead "Acme" (L1) and runs it.
const acme = (c: { url: URL }) => c.url.pathname === "/api/data/crm/lead" ? { body: { items: [{ id: "L1", name: "Acme" }] } }
  : c.url.pathname === "/api/data/crm/lead/L1" ? { body: { id: "L1", name: "Acme" } } : undefined;
async function previewOnAcme() {
  fireEvent.click(screen.getByTestId("asg-panel-preview"));
  fireEvent.change(screen.getByTestId("asg-preview-record"), { target: { value: "Ac" } });
  fireEvent.click(await screen.findByTestId("ref-option"));
  fireEvent.click(screen.getByTestId("asg-preview-run"));
}

describe("AssignmentsEditor", () => {
  it("builds a rule without JSON: it round-trips to the document's assignments", async () => {
    fetchTeams();
    renderWith(<Harness initial={base()} />);
    fireEvent.click(screen.getByTestId("asg-add"));
    expect(rules()[0]).toEqual({ name: "assignment_1", entity: "lead", candidates: { roles: ["manager"] }, strategy: "roundRobin" });
    fireEvent.change(screen.getByTestId("asg-label"), { target: { value: "New leads" } });
    fireEvent.change(screen.getByTestId("asg-name"), { target: { value: "new_leads" } });
    fireEvent.change(screen.getByTestId("asg-field"), { target: { value: "rep" } });
    fireEvent.click(screen.getByTestId("asg-cand-role-manager"));
    fireEvent.click(screen.getByTestId("asg-cand-role-rep"));
    await screen.findByTestId("asg-cand-team-East");
    fireEvent.click(screen.getByTestId("asg-cand-team-East"));
    fireEvent.change(screen.getByTestId("asg-cand-condition-text"), { target: { value: "skills ~ \"retail\"" } });
    fireEvent.click(screen.getByTestId("asg-strategy-score"));
    fireEvent.change(screen.getByTestId("asg-capacity"), { target: { value: "20" } });
    // Statistics: a win rate by industry over opportunities, and the open load.
    fireEvent.change(screen.getByTestId("asg-stat-kind"), { target: { value: "winRate" } });
    fireEvent.click(screen.getByTestId("asg-stat-add"));
    fireEvent.change(screen.getByTestId("asg-stat-entity-0"), { target: { value: "opportunity" } });
    fireEvent.change(screen.getByTestId("asg-stat-by-0"), { target: { value: "industry" } });
    fireEvent.change(screen.getByTestId("asg-stat-byfield-0"), { target: { value: "industry" } });
    fireEvent.change(screen.getByTestId("asg-stat-won-0-text"), { target: { value: "stage = \"won\"" } });
    fireEvent.change(screen.getByTestId("asg-stat-closed-0-text"), { target: { value: "stage in [\"won\", \"lost\"]" } });
    fireEvent.change(screen.getByTestId("asg-stat-kind"), { target: { value: "openLoad" } });
    fireEvent.click(screen.getByTestId("asg-stat-add"));
    fireEvent.change(screen.getByTestId("asg-score-expr-input"), { target: { value: "win_rate * 10 - load" } });
    // Working hours, a pool, the countdown.
    fireEvent.click(screen.getByTestId("asg-hours-on"));
    fireEvent.click(screen.getByTestId("asg-hours-day-5")); // Friday off
    fireEvent.change(screen.getByTestId("asg-hours-tz"), { target: { value: "Asia/Shanghai" } });
    fireEvent.click(screen.getByTestId("asg-reassigner-manager"));
    fireEvent.click(screen.getByTestId("asg-pool-on"));
    fireEvent.change(screen.getByTestId("asg-pool-limit"), { target: { value: "5" } });
    fireEvent.click(screen.getByTestId("asg-countdown-on"));
    fireEvent.change(screen.getByTestId("asg-step-message-0"), { target: { value: "Call {{name}}" } });
    fireEvent.change(screen.getByTestId("asg-step-message-0-label-zh-CN"), { target: { value: "请联系 {{name}}" } });
    // A reassignment sends no message: no inputs for one.
    expect(screen.queryByTestId("asg-step-message-2-label-en")).toBeNull();

    expect(rules()[0]).toEqual({
      name: "new_leads", label: "New leads", entity: "lead", field: "rep",
      candidates: { roles: ["rep"], teams: ["East"], condition: "skills ~ \"retail\"" },
      strategy: "score", capacity: 20,
      statistics: [
        { name: "win_rate", kind: "winRate", days: 90, entity: "opportunity", by: "industry", byField: "industry", won: "stage = \"won\"", closed: "stage in [\"won\", \"lost\"]" },
        { name: "load", kind: "openLoad" },
      ],
      score: "win_rate * 10 - load",
      workingHours: { days: [1, 2, 3, 4], from: "09:00", to: "18:00", timeZone: "Asia/Shanghai" },
      reassigners: ["manager"],
      pool: { name: "new_leads_pool", deadline: "2h", dailyLimit: 5 },
      countdown: {
        until: "contacted_at", within: "4h",
        steps: [{ after: "4h", do: "remind", message: "Call {{name}}", messages: { "zh-CN": "请联系 {{name}}" } }, { after: "5h", do: "notifyManager" }, { after: "6h", do: "reassign" }],
      },
    });

    // A/B: two variants of the strategy.
    fireEvent.click(screen.getByTestId("asg-ab"));
    expect(rules()[0].variants).toEqual([
      { name: "A", weight: 50, strategy: "score", score: "win_rate * 10 - load" },
      { name: "B", weight: 50, strategy: "roundRobin" },
    ]);
    fireEvent.change(screen.getByTestId("asg-variant-weight-1"), { target: { value: "150" } });
    expect(screen.getByTestId("asg-variant-pct-1").textContent).toBe("75%");
  });

  it("offers the declared statistics (and helpers, no record fields) in the score editor as one types", () => {
    fetchTeams();
    const r: Assignment = {
      name: "score", entity: "lead", candidates: {}, strategy: "score",
      statistics: [{ name: "win_rate", kind: "winRate" }, { name: "region_match", kind: "fieldMatch", attribute: "region" }],
    };
    renderWith(<Harness initial={base([r])} />);
    const box = screen.getByTestId("asg-score-expr-input") as HTMLTextAreaElement;
    fireEvent.change(box, { target: { value: "wi", selectionStart: 2 } });
    const offers = within(screen.getByTestId("asg-score-expr-suggest")).getAllByTestId("asg-score-expr-offer").map((o) => o.textContent);
    expect(offers.some((o) => o?.startsWith("win_rate"))).toBe(true);
    fireEvent.keyDown(box, { key: "Enter" });
    expect(rules()[0].score).toBe("win_rate");
    fireEvent.change(box, { target: { value: "win_rate + re", selectionStart: 13 } });
    const more = within(screen.getByTestId("asg-score-expr-suggest")).getAllByTestId("asg-score-expr-offer").map((o) => o.textContent ?? "");
    expect(more.some((o) => o.startsWith("region_match"))).toBe(true);
    // The lead's own fields are not what a score reads.
    expect(more.some((o) => o.includes("Region"))).toBe(false);
    fireEvent.change(box, { target: { value: "ma", selectionStart: 2 } });
    const fns = within(screen.getByTestId("asg-score-expr-suggest")).getAllByTestId("asg-score-expr-offer").map((o) => o.textContent ?? "");
    expect(fns.some((o) => o.startsWith("max("))).toBe(true);
  });

  it("shows the server's problems at their inputs (/assignments/i/…)", () => {
    fetchTeams();
    const r: Assignment = {
      name: "r", entity: "lead", candidates: { roles: ["ghost"] }, strategy: "score", score: "win_rat * 2",
      statistics: [{ name: "win_rate", kind: "winRate" }],
      countdown: { until: "contacted_at", within: "soon", steps: [{ after: "4h", do: "remind" }] },
      pool: { name: "p", deadline: "later" },
    };
    const problems = [
      { path: "/assignments/0/candidates/roles/0", message: "no role ghost", code: "unknown_role", params: { value: "ghost" } },
      { path: "/assignments/0/score", message: "unknown statistic win_rat", code: "assignment" },
      { path: "/assignments/0/countdown/within", message: "not a duration" },
      { path: "/assignments/0/pool/deadline", message: "deadline: not a duration" },
      { path: "/assignments/0/statistics/0/name", message: "taken" },
      { path: "/assignments/0/whatever", message: "somewhere else" },
    ] as ErrorDetail[];
    renderWith(<Harness initial={base([r])} problems={problems} />);
    expect(screen.getByTestId("asg-item-r").className).toContain("has-error");
    expect(screen.getByTestId("asg-cand-problem-roles").textContent).not.toBe("");
    expect(screen.getByTestId("asg-problem-score").textContent).toContain("unknown statistic win_rat");
    expect(screen.getByTestId("asg-problem-cd-within").textContent).toBe("not a duration");
    expect(screen.getByTestId("asg-problem-pool-deadline").textContent).toBe("deadline: not a duration");
    expect(screen.getByTestId("asg-problem-stat-name-0").textContent).toBe("taken");
    expect(screen.getByTestId("asg-problems").textContent).toContain("somewhere else");
  });

  it("reorders escalation steps with the keyboard (and the buttons)", async () => {
    fetchTeams();
    const r: Assignment = {
      name: "r", entity: "lead", candidates: {}, strategy: "roundRobin",
      countdown: { until: "contacted_at", within: "4h", steps: [{ after: "4h", do: "remind" }, { after: "5h", do: "notifyManager" }, { after: "6h", do: "reassign" }] },
    };
    renderWith(<Harness initial={base([r])} />);
    const row = (i: number) => screen.getByTestId(`asg-step-${i}`);
    const handle = row(2).querySelector<HTMLElement>(".drag-handle")!;
    await keyboardDrag(handle, row(2), [
      [screen.getByTestId("asg-steps"), [0, 0, 300, 300]],
      [row(0), [0, 0, 300, 100]], [row(1), [0, 100, 300, 100]], [row(2), [0, 200, 300, 100]],
      [handle, [0, 210, 20, 20]],
    ], "ArrowUp", 5);
    expect(rules()[0].countdown!.steps!.map((s) => s.do)).toEqual(["remind", "reassign", "notifyManager"]);
    fireEvent.click(screen.getByTestId("asg-step-up-1"));
    expect(rules()[0].countdown!.steps!.map((s) => s.do)).toEqual(["reassign", "remind", "notifyManager"]);
  });

  it("previews the draft rule on a chosen record: candidates, statistics, the winner and why", async () => {
    const r: Assignment = { name: "r", entity: "lead", candidates: {}, strategy: "score", score: "win_rate", statistics: [{ name: "win_rate", kind: "winRate" }] };
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/admin/teams") return { body: teams };
      if (acme(c)) return acme(c);
      if (c.url.pathname === "/api/meta/apps/crm/assignments/r/preview") {
        return { body: {
          rule: "r", strategy: "score", winner: "u2", winnerName: "Bo", reason: "Bo has the highest score (0.8).",
          candidates: [
            { user: "u1", name: "Al", eligible: true, stats: { win_rate: 0.5 }, score: 0.5, load: 3 },
            { user: "u2", name: "Bo", eligible: true, stats: { win_rate: 0.8 }, score: 0.8, load: 4 },
            { user: "u3", name: "Cy", eligible: false, why: "away", stats: { win_rate: null }, score: null, load: 0 },
          ],
        } };
      }
      return undefined;
    });
    renderWith(<Harness initial={base([r])} />);
    await previewOnAcme();
    await screen.findByTestId("asg-preview-result");
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.body).toEqual({ id: "L1", rule: r });
    expect(screen.getByTestId("asg-preview-reason").textContent).toContain("Goes to Bo.");
    expect(screen.getByTestId("asg-preview-reason").textContent).toContain("highest score");
    const table = screen.getByTestId("asg-candidates-table");
    expect(within(table).getByTestId("asg-winner-row").textContent).toContain("Bo");
    expect(within(table).getAllByTestId("asg-candidate-row").map((x) => x.textContent)).toEqual([
      expect.stringContaining("0.50"), expect.stringContaining("away"),
    ]);
  });

  it("places a preview's problems with the draft (/rule/…) at the inputs", async () => {
    const r: Assignment = { name: "r", entity: "lead", candidates: {}, strategy: "score", score: "nope(" };
    mockFetch((c) => {
      if (acme(c)) return acme(c);
      if (c.url.pathname.endsWith("/preview")) return { status: 422, body: { error: { code: "validation_failed", message: "bad rule", details: [{ path: "/rule/score", message: "does not parse" }] } } };
      return undefined;
    });
    renderWith(<Harness initial={base([r])} />);
    await previewOnAcme();
    await waitFor(() => expect(screen.getByTestId("asg-problem-score").textContent).toBe("does not parse"));
  });

  it("asks the variants report of the rule with the goal filter", async () => {
    const r: Assignment = { name: "r", entity: "lead", candidates: {}, strategy: "score", variants: [{ name: "A", weight: 50, strategy: "score" }, { name: "B", weight: 50, strategy: "roundRobin" }] };
    const calls = mockFetch((c) => c.url.pathname.endsWith("/variants") ? { body: {
      goal: c.url.searchParams.get("goal"), test: "two-proportion z-test", alpha: 0.05,
      variants: [{ name: "A", weight: 50, records: 100, reached: 30, rate: 0.3 }, { name: "B", weight: 50, records: 100, reached: 45, rate: 0.45, z: 2.2, p: 0.03, significant: true }],
    } } : undefined);
    renderWith(<Harness initial={base([r])} />);
    fireEvent.click(screen.getByTestId("asg-panel-ab"));
    const fb = within(screen.getByTestId("auto-ab-results")).getByTestId("filter-builder");
    fireEvent.click(within(fb).getByTestId("filter-add"));
    const row = within(fb).getAllByTestId("filter-row")[0];
    fireEvent.change(within(row).getByTestId("filter-field"), { target: { value: "industry" } });
    fireEvent.change(within(row).getByTestId("filter-op"), { target: { value: "=" } });
    fireEvent.change(within(row).getByTestId("filter-value"), { target: { value: "retail" } });
    fireEvent.click(within(fb).getByTestId("filter-apply"));
    await screen.findByTestId("auto-ab-table");
    expect(calls.find((c) => c.url.pathname === "/api/meta/apps/crm/assignments/r/variants")!.url.searchParams.get("goal")).toBe("industry = \"retail\"");
    expect(screen.getAllByTestId("auto-ab-row")).toHaveLength(2);
  });

  it("reads in Chinese", () => {
    fetchTeams();
    renderWith(<Harness initial={base([{ name: "r", entity: "lead", candidates: {}, strategy: "leastLoad" }])} />, "zh-CN");
    expect(screen.getByTestId("asg-strategy").textContent).toContain("最少在办");
    expect(screen.getByTestId("asg-countdown").textContent).toContain("首次联系倒计时");
  });
});

describe("the automations' assign action", () => {
  it("names a rule of the entity and may reassign", () => {
    mockFetch(() => undefined);
    const a: Automation = { name: "route", entity: "lead", trigger: { type: "created" }, actions: [] };
    const doc = { ...base([{ name: "new_leads", label: "New leads", entity: "lead", candidates: {}, strategy: "roundRobin" }]), automations: [a] };
    let out: DDoc = doc;
    function H() {
      const [d, setD] = useState<DDoc>(doc);
      out = d;
      return <AutomationsEditor doc={d} onChange={setD} stored={false} />;
    }
    renderWith(<H />);
    fireEvent.change(screen.getByTestId("auto-action-type-actions"), { target: { value: "assign" } });
    fireEvent.click(screen.getByTestId("auto-action-add-actions"));
    fireEvent.click(screen.getByTestId("auto-assign-reassign-actions-0"));
    expect((out.automations as Automation[])[0].actions).toEqual([{ type: "assign", rule: "new_leads", reassign: true }]);
    expect(screen.getByTestId("auto-assign-rule-actions-0").textContent).toContain("New leads");
  });
});
