import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Admin, teamPaths } from "./Admin";
import { ResetPassword } from "./ResetPassword";

const users = () => [
  { id: "u1", email: "boss@example.com", name: "Boss", admin: true, active: true, roles: [] },
  { id: "u2", email: "rita@example.com", name: "Rita", admin: false, active: true, roles: ["rep"], teamId: "t2" },
];
const teams = [{ id: "t1", name: "Sales" }, { id: "t2", name: "East", parentId: "t1" }];

function serve(extra: Parameters<typeof mockFetch>[0] = () => undefined) {
  return mockFetch((c) => {
    const r = extra(c);
    if (r) return r;
    if (c.method === "GET" && c.url.pathname === "/api/admin/users") return { body: { items: users() } };
    if (c.method === "GET" && c.url.pathname === "/api/admin/teams") return { body: { items: teams } };
    if (c.url.pathname === "/api/meta/apps") return { body: { items: [] } };
    return undefined;
  });
}

describe("Admin: users", () => {
  it("invites a rep and shows the one-time link to send", async () => {
    const calls = serve((c) => (c.method === "POST" && c.url.pathname === "/api/admin/users"
      ? { status: 201, body: { user: { id: "u3", email: "new@example.com", name: "Nia", active: true, roles: ["rep"], teamId: "t2" }, resetToken: "tok123" } }
      : undefined));
    renderWith(<Admin tab="users" meId="u1" />);
    expect((await screen.findByTestId("user-row-rita@example.com")).textContent).toContain("Sales / East");
    fireEvent.click(screen.getByTestId("invite-open"));
    fireEvent.change(screen.getByTestId("invite-email"), { target: { value: "new@example.com" } });
    fireEvent.change(screen.getByTestId("invite-name"), { target: { value: "Nia" } });
    fireEvent.change(screen.getByTestId("invite-team"), { target: { value: "t2" } });
    fireEvent.click(screen.getByTestId("invite-submit"));
    const link = (await screen.findByTestId("invite-link")) as HTMLInputElement;
    expect(link.value).toMatch(/#\/reset\/tok123$/);
    const post = calls.find((c) => c.method === "POST")!;
    // No password: the server invites and answers the reset token.
    expect(post.body).toEqual({ email: "new@example.com", name: "Nia", roles: ["rep"], teamId: "t2" });
    expect(screen.getByTestId("user-row-new@example.com")).toBeTruthy();
  });

  it("deactivates and resets a password, never offering to deactivate oneself", async () => {
    const calls = serve((c) => {
      if (c.method === "PATCH") return { body: { ...users()[1], active: false } };
      if (c.method === "POST" && c.url.pathname.endsWith("/reset-password")) return { body: { resetToken: "r9" } };
      return undefined;
    });
    renderWith(<Admin tab="users" meId="u1" />);
    const rita = await screen.findByTestId("user-row-rita@example.com");
    expect(within(screen.getByTestId("user-row-boss@example.com")).queryByTestId("user-deactivate")).toBeNull();
    fireEvent.click(within(rita).getByTestId("user-deactivate"));
    await waitFor(() => expect(within(screen.getByTestId("user-row-rita@example.com")).getByTestId("user-status").textContent).toBe("Deactivated"));
    expect(calls.find((c) => c.method === "PATCH")!.body).toEqual({ active: false });
    expect(calls.find((c) => c.method === "PATCH")!.url.pathname).toBe("/api/admin/users/u2");
    fireEvent.click(within(screen.getByTestId("user-row-rita@example.com")).getByTestId("user-reset"));
    expect(((await screen.findByTestId("invite-link")) as HTMLInputElement).value).toMatch(/#\/reset\/r9$/);
  });

  it("edits roles and team, and shows a refusal on the row", async () => {
    const calls = serve((c) => (c.method === "PATCH" ? { status: 422, body: { error: { code: "validation_failed", message: "unknown team" } } } : undefined));
    renderWith(<Admin tab="users" meId="u1" />);
    fireEvent.click(within(await screen.findByTestId("user-row-rita@example.com")).getByTestId("user-edit"));
    fireEvent.click(screen.getByTestId("user-edit-roles-manager"));
    fireEvent.change(screen.getByTestId("user-edit-team"), { target: { value: "t1" } });
    fireEvent.click(screen.getByTestId("user-save"));
    expect((await screen.findByTestId("user-error")).textContent).toContain("unknown team");
    expect(calls.find((c) => c.method === "PATCH")!.body).toEqual({ name: "Rita", roles: ["rep", "manager"], teamId: "t1" });
  });
});

describe("Admin: teams and audit", () => {
  it("shows nested teams and adds one inside another", async () => {
    const calls = serve((c) => (c.method === "POST" ? { status: 201, body: { id: "t3", name: "Shanghai", parentId: "t2" } } : undefined));
    renderWith(<Admin tab="teams" />);
    const east = await screen.findByTestId("team-East");
    expect(east.style.paddingInlineStart).toBe("24px");
    fireEvent.change(screen.getByTestId("team-name"), { target: { value: "Shanghai" } });
    fireEvent.change(screen.getByTestId("team-parent"), { target: { value: "t2" } });
    fireEvent.click(screen.getByTestId("team-add"));
    await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "Shanghai", parentId: "t2" }));
    expect(teamPaths([...teams, { id: "t3", name: "Shanghai", parentId: "t2" }]).get("t3")).toBe("Sales / East / Shanghai");
  });

  it("picks, changes and clears a team's manager among active users", async () => {
    const calls = serve((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/admin/users")
        return { body: { items: [...users(), { id: "u9", email: "gone@example.com", name: "Gus", admin: false, active: false, roles: [] }] } };
      if (c.method === "GET" && c.url.pathname === "/api/admin/teams") return { body: { items: [{ ...teams[0], managerId: "u1" }, teams[1]] } };
      if (c.method === "PATCH") return { body: { ...teams[1], ...(c.body as object) } };
      if (c.method === "POST") return { status: 201, body: { id: "t3", name: "West", managerId: "u2" } };
      return undefined;
    });
    renderWith(<Admin tab="teams" />);
    await screen.findByTestId("team-East");
    const sales = (await screen.findByTestId("team-manager-Sales")) as HTMLSelectElement;
    await waitFor(() => expect(sales.value).toBe("u1"));
    expect(screen.getByTestId("team-manager-hint").textContent).toContain("team above");
    const east = screen.getByTestId("team-manager-East") as HTMLSelectElement;
    expect(east.value).toBe("");
    // Deactivated users are not offered.
    expect(Array.from(east.options).map((o) => o.textContent)).toEqual(["No manager", "Boss", "Rita"]);
    fireEvent.change(east, { target: { value: "u2" } });
    await waitFor(() => expect(calls.find((c) => c.method === "PATCH")?.body).toEqual({ managerId: "u2" }));
    expect(calls.find((c) => c.method === "PATCH")!.url.pathname).toBe("/api/admin/teams/t2");
    fireEvent.change(sales, { target: { value: "" } });
    await waitFor(() => expect(calls.filter((c) => c.method === "PATCH")[1]?.body).toEqual({ managerId: null }));
    fireEvent.change(screen.getByTestId("team-name"), { target: { value: "West" } });
    fireEvent.change(screen.getByTestId("team-manager"), { target: { value: "u2" } });
    fireEvent.click(screen.getByTestId("team-add"));
    await waitFor(() => expect(calls.find((c) => c.method === "POST")?.body).toEqual({ name: "West", managerId: "u2" }));
  });

  it("names the team manager in Chinese and marks a deactivated one", async () => {
    serve((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/admin/users")
        return { body: { items: [...users(), { id: "u9", email: "gone@example.com", name: "Gus", admin: false, active: false, roles: [] }] } };
      if (c.method === "GET" && c.url.pathname === "/api/admin/teams") return { body: { items: [{ ...teams[0], managerId: "u9" }] } };
      return undefined;
    });
    renderWith(<Admin tab="teams" />, "zh-CN");
    const sales = (await screen.findByTestId("team-manager-Sales")) as HTMLSelectElement;
    await waitFor(() => expect(sales.value).toBe("u9"));
    expect(sales.options[sales.selectedIndex].textContent).toBe("Gus（已停用）");
    expect(sales.options[0].textContent).toBe("无经理");
  });

  it("filters the audit log by action and names the people", async () => {
    const calls = serve((c) => (c.url.pathname === "/api/admin/audit"
      ? { body: { items: [{ id: "a1", at: "2026-11-21T01:30:00Z", actor: "u1", action: "user_create", target: "rita@example.com", detail: { roles: ["rep"] }, ip: "10.0.0.1" }], nextCursor: null } }
      : undefined));
    renderWith(<Admin tab="audit" />);
    const row = await screen.findByTestId("audit-row");
    await waitFor(() => expect(row.textContent).toContain("Boss"));
    expect(row.textContent).toContain("User created");
    fireEvent.change(screen.getByTestId("audit-action"), { target: { value: "login_failed" } });
    await waitFor(() => expect(calls.filter((c) => c.url.pathname === "/api/admin/audit").pop()!.url.searchParams.get("action")).toBe("login_failed"));
  });
});

describe("ResetPassword", () => {
  it("states the rule first, sets the password with the token and signs in", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/reset-password") return { body: { user: { id: "u3", email: "new@example.com" } } };
      if (c.url.pathname === "/api/auth/login") return { body: { token: "t" } };
      return undefined;
    });
    let signedIn = false;
    renderWith(<ResetPassword token="tok123" onLoggedIn={() => { signedIn = true; }} />);
    expect(screen.getByTestId("reset-rule").textContent).toContain("At least 8 characters");
    fireEvent.change(screen.getByTestId("reset-password"), { target: { value: "short" } });
    expect(screen.getByText("Too short: at least 8 characters.")).toBeTruthy();
    fireEvent.change(screen.getByTestId("reset-password"), { target: { value: "a long pass phrase" } });
    fireEvent.change(screen.getByTestId("reset-again"), { target: { value: "a long pass phrase" } });
    fireEvent.click(screen.getByTestId("reset-submit"));
    await waitFor(() => expect(signedIn).toBe(true));
    expect(calls[0].body).toEqual({ token: "tok123", password: "a long pass phrase" });
    expect(calls[1].body).toEqual({ email: "new@example.com", password: "a long pass phrase" });
  });

  it("says when the link is no good", async () => {
    mockFetch(() => ({ status: 401, body: { error: { code: "unauthorized", message: "bad" } } }));
    renderWith(<ResetPassword token="old" onLoggedIn={() => undefined} />);
    fireEvent.change(screen.getByTestId("reset-password"), { target: { value: "a long pass phrase" } });
    fireEvent.change(screen.getByTestId("reset-again"), { target: { value: "a long pass phrase" } });
    fireEvent.click(screen.getByTestId("reset-submit"));
    expect((await screen.findByTestId("reset-error")).textContent).toContain("invalid, expired or already used");
  });
});
