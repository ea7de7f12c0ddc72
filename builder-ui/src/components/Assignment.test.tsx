import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, type AppDocument, type DataRecord, type User } from "../api";
import { countdownOf, hm, parseDuration } from "../designer/assignments";
import { mockFetch, renderWith } from "../test/util";
import { AssignmentBar, CountdownBadge, PoolLinks, PoolPage, useNow } from "./Assignment";
import { AwayToggle } from "./Away";

const app: AppDocument = {
  name: "crm", version: 3,
  entities: [{ name: "lead", label: "Lead", fields: [
    { id: "l1", name: "name", label: "Name", type: "text" },
    { id: "l2", name: "contacted_at", label: "Contacted at", type: "datetime" },
  ] }],
  assignments: [{
    name: "new_leads", entity: "lead", strategy: "score", reassigners: ["manager"], pool: { name: "hot" },
    countdown: { until: "contacted_at", within: "4h" },
  }],
};
const rule = app.assignments![0];
const T0 = Date.parse("2026-03-02T09:00:00Z");

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe("countdown math", () => {
  it("reads durations", () => {
    expect(parseDuration("4h")).toBe(4 * 3600_000);
    expect(parseDuration("1h30m")).toBe(90 * 60_000);
    expect(parseDuration("2d")).toBe(48 * 3600_000);
    expect(parseDuration("soon")).toBeNull();
    expect(parseDuration("4h x")).toBeNull();
  });
  it("is start + within − now, late past it, done once contacted", () => {
    const r = { id: "1", created_at: new Date(T0).toISOString() } as DataRecord;
    expect(countdownOf(rule.countdown!, r, T0 + 60 * 60_000)).toEqual({ kind: "left", ms: 3 * 3600_000 });
    expect(countdownOf(rule.countdown!, r, T0 + 5 * 3600_000)).toEqual({ kind: "late", ms: 3600_000 });
    expect(countdownOf(rule.countdown!, { ...r, contacted_at: new Date(T0).toISOString() }, T0)).toEqual({ kind: "done", at: new Date(T0).toISOString() });
    expect(countdownOf({ ...rule.countdown!, start: "arrived_at" }, r, T0)).toEqual({ kind: "none" });
    expect(hm(3 * 3600_000 + 5 * 60_000)).toBe("3h 05m");
    expect(hm(59 * 60_000 + 59_000)).toBe("59m");
  });
  it("ticks each minute and turns red when past", () => {
    vi.useFakeTimers();
    vi.setSystemTime(T0 + 4 * 3600_000 - 90_000); // 1m30s left
    const r = { id: "1", created_at: new Date(T0).toISOString() } as DataRecord;
    function Ticking() {
      return <CountdownBadge rule={rule} record={r} now={useNow()} />;
    }
    renderWith(<Ticking />);
    const badge = () => screen.getByTestId("countdown");
    expect(badge().textContent).toBe("1m left");
    expect(badge().dataset.state).toBe("left");
    act(() => { vi.advanceTimersByTime(60_000); });
    expect(badge().textContent).toBe("0m left");
    act(() => { vi.advanceTimersByTime(60_000); });
    expect(badge().dataset.state).toBe("late");
    expect(badge().className).toContain("cd-late");
    expect(badge().textContent).toBe("0m late");
  });
});


describe("Assignment panel", () => {
  const rec = { id: "L1", version: 4, name: "Acme", created_at: new Date(Date.now() - 30 * 60_000).toISOString(), contacted_at: null } as DataRecord;
  const decision = {
    id: "d1", rule: "new_leads", strategy: "score", winner: "u2", winnerName: "Bo", reason: "Bo has the best win rate in retail.", at: new Date().toISOString(),
    candidates: [{ user: "u2", name: "Bo", eligible: true, stats: { win_rate: 0.8 }, score: 8, load: 2 }],
  };
  const signIn = async (u: User) => {
    mockFetch((c) => (c.url.pathname === "/api/auth/me" ? { body: u } : undefined));
    await api.me();
  };

  it("shows the countdown and the latest decisions; a manager reassigns with a reason", async () => {
    await signIn({ id: "m1", email: "m@x", roles: ["manager"] });
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/lead/L1/assignments") return { body: { items: [decision] } };
      if (c.url.pathname === "/api/directory/users") return { body: { items: [{ id: "u3", email: "cy@x", name: "Cy" }] } };
      if (c.url.pathname === "/api/data/crm/lead/L1/assign") return { body: { record: rec, assignment: { ...decision, winner: "u3", winnerName: "Cy", reason: "Reassigned by hand" } } };
      return undefined;
    });
    const changed = vi.fn();
    renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={rec} onChanged={changed} />);
    expect(screen.getByTestId("countdown").textContent).toMatch(/^3h (29|30)m left$/);
    await screen.findByTestId("asg-decision");
    expect(screen.getByTestId("asg-decision").textContent).toContain("Goes to Bo.");
    expect(screen.getByTestId("asg-decision-reason").textContent).toContain("best win rate");
    expect(screen.getByTestId("asg-decision-candidates")).toBeTruthy();

    fireEvent.click(screen.getByTestId("asg-reassign"));
    const submit = screen.getByTestId("asg-reassign-submit") as HTMLButtonElement;
    fireEvent.change(screen.getByTestId("asg-reassign-user"), { target: { value: "Cy" } });
    fireEvent.click(await screen.findByTestId("ref-option"));
    expect(submit.disabled).toBe(true); // a reason is required
    fireEvent.change(screen.getByTestId("asg-reassign-reason"), { target: { value: "Bo is on leave" } });
    fireEvent.click(submit);
    await screen.findByTestId("asg-reassigned");
    expect(calls.find((c) => c.method === "POST")!.body).toEqual({ to: "u3", reason: "Bo is on leave", version: 4 });
    expect(changed).toHaveBeenCalled();
  });

  it("offers Reassign to a role of any name when the log shows it the candidates (the server's word that it may reassign)", async () => {
    await signIn({ id: "m2", email: "lm@x", roles: ["lead_manager"] });
    mockFetch((c) => (c.url.pathname === "/api/data/crm/lead/L1/assignments" ? { body: { items: [decision] } } : undefined));
    const { unmount } = renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={rec} onChanged={() => {}} />);
    await screen.findByTestId("asg-reassign");
    unmount();
    const { candidates: _hidden, ...bare } = decision;
    mockFetch((c) => (c.url.pathname === "/api/data/crm/lead/L1/assignments" ? { body: { items: [bare] } } : undefined));
    renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={rec} onChanged={() => {}} />);
    await screen.findByTestId("asg-decision");
    expect(screen.queryByTestId("asg-reassign")).toBeNull();
  });

  it("names the strategies of a manual reassignment, a claim and a pool entry (not their keys)", async () => {
    await signIn({ id: "m1", email: "m@x", roles: ["manager"] });
    mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/lead/L1/assignments") return { body: { items: [
        { ...decision, id: "d3", strategy: "manual" }, { ...decision, id: "d2", strategy: "claim" }, { ...decision, id: "d1", strategy: "pool", winner: undefined, winnerName: undefined, pool: "hot" },
      ] } };
      return undefined;
    });
    renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={rec} onChanged={() => {}} />);
    await screen.findAllByTestId("asg-decision");
    const text = screen.getByTestId("asg-panel").textContent ?? "";
    for (const label of ["By hand", "Claimed from the pool", "Into the pool"]) expect(text).toContain(label);
    expect(text).not.toContain("asg.strategy.");
  });

  it("reassigns by rule, and words a 403", async () => {
    await signIn({ id: "a1", email: "a@x", admin: true });
    mockFetch((c) => {
      if (c.url.pathname.endsWith("/assignments")) return { body: { items: [] } };
      if (c.url.pathname.endsWith("/assign")) return { status: 403, body: { error: { code: "forbidden", message: "no" } } };
      return undefined;
    });
    renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={rec} onChanged={() => undefined} />);
    await screen.findByTestId("asg-no-decisions");
    fireEvent.click(screen.getByTestId("asg-reassign"));
    fireEvent.click(screen.getByTestId("asg-reassign-mode-rule"));
    fireEvent.change(screen.getByTestId("asg-reassign-reason"), { target: { value: "Rebalance" } });
    fireEvent.click(screen.getByTestId("asg-reassign-submit"));
    expect((await screen.findByTestId("asg-reassign-problem")).textContent).toBe("You may not reassign this record.");
  });

  it("has no Reassign button for a rep", async () => {
    await signIn({ id: "r1", email: "r@x", roles: ["rep"] });
    mockFetch(() => ({ body: { items: [] } }));
    renderWith(<AssignmentBar app={app} entity={app.entities[0]} id="L1" record={{ ...rec, contacted_at: new Date().toISOString() }} onChanged={() => undefined} />);
    await screen.findByTestId("asg-no-decisions");
    expect(screen.queryByTestId("asg-reassign")).toBeNull();
    expect(screen.getByTestId("countdown").textContent).toBe("Contacted");
  });
});

describe("Pool page", () => {
  for (const [status, text] of [[200, "It is yours now."], [409, "Someone else took it first."], [429, "Daily limit reached: try again tomorrow."]] as const) {
    it(`claims a record: ${status}`, async () => {
      let listed = 0;
      const calls = mockFetch((c) => {
        if (c.url.pathname === "/api/data/crm/lead" && c.url.searchParams.get("pool") === "hot") {
          listed++;
          return { body: { items: listed === 1 ? [{ id: "L1", name: "Acme", created_at: new Date().toISOString() }, { id: "L2", name: "Bolt", created_at: new Date().toISOString() }] : [{ id: "L2", name: "Bolt", created_at: new Date().toISOString() }] } };
        }
        if (c.url.pathname === "/api/me/pools") return { body: { items: [{ app: "crm", entity: "lead", rule: "new_leads", pool: "hot", label: "Hot leads", count: 2, claimedToday: 1, dailyLimit: 5 }] } };
        if (c.url.pathname === "/api/data/crm/lead/L1/claim") {
          return status === 200 ? { body: { record: { id: "L1" } } }
            : { status, body: { error: { code: status === 409 ? "already_claimed" : "claim_limit", message: "x" } } };
        }
        return undefined;
      });
      renderWith(<PoolPage app={app} entity={app.entities[0]} pool="hot" />);
      await waitFor(() => expect(screen.getAllByTestId("pool-row")).toHaveLength(2));
      expect((await screen.findByTestId("pool-quota")).textContent).toBe("Claimed today: 1 of 5");
      expect(screen.getAllByTestId("pool-countdown")).toHaveLength(2);
      fireEvent.click(screen.getAllByTestId("pool-claim")[0]);
      expect((await screen.findByTestId("pool-message")).textContent).toBe(text);
      await waitFor(() => expect(screen.getAllByTestId("pool-row")).toHaveLength(1)); // refreshed
      expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);
    });
  }
});

describe("pool names in the user's language", () => {
  for (const [lang, want] of [["zh-CN", "公海池"], ["en", "Hot leads"]] as const) {
    it(`titles the pool page and its sidebar link in ${lang}`, async () => {
      mockFetch((c) => {
        if (c.url.pathname === "/api/data/crm/lead") return { body: { items: [] } };
        if (c.url.pathname === "/api/me/pools") return { body: { items: [{ app: "crm", entity: "lead", rule: "new_leads", pool: "hot", label: "Hot leads", labels: { "zh-CN": "公海池" }, count: 0, claimedToday: 0, dailyLimit: 0 }] } };
        return undefined;
      });
      renderWith(<><PoolLinks app="crm" /><PoolPage app={app} entity={app.entities[0]} pool="hot" /></>, lang);
      expect((await screen.findByTestId("pool-link-hot")).textContent).toContain(want);
      await waitFor(() => expect(screen.getByRole("heading", { level: 1 }).textContent).toContain(want));
    });
  }
});

describe("Away toggle", () => {
  it("puts the user away and back", async () => {
    const calls = mockFetch((c) => (c.url.pathname === "/api/me/availability"
      ? { body: { id: "u1", email: "u@x", profile: { away: (c.body as { away: boolean }).away } } } : undefined));
    const onChange = vi.fn();
    const me: User = { id: "u1", email: "u@x", profile: { away: false } };
    renderWith(<AwayToggle me={me} onChange={onChange} />);
    fireEvent.click(screen.getByTestId("away-toggle"));
    await waitFor(() => expect(onChange).toHaveBeenCalled());
    expect(calls[0].method).toBe("PUT");
    expect(calls[0].body).toEqual({ away: true, awayUntil: null });
    expect(onChange.mock.calls[0][0].profile.away).toBe(true);
  });
  it("says why it failed", async () => {
    mockFetch(() => ({ status: 500, body: { error: { code: "internal", message: "boom" } } }));
    renderWith(<AwayToggle me={{ id: "u1", email: "u@x" }} onChange={() => undefined} />);
    fireEvent.click(screen.getByTestId("away-toggle"));
    expect((await screen.findByTestId("away-error")).textContent).toContain("boom");
  });
});
