import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { TOKEN_KEY } from "./api";
import { App } from "./App";
import { mockFetch, renderWith } from "./test/util";

const doc = {
  name: "crm", label: "CRM", version: 1,
  entities: [
    { name: "deal", label: "Deals", fields: [{ id: "1", name: "title", type: "text" }, { id: "2", name: "account", type: "ref", entity: "account" }] },
    { name: "account", label: "Accounts", fields: [{ id: "3", name: "name", type: "text" }] },
  ],
};

beforeEach(() => {
  window.location.hash = "";
});
afterEach(() => localStorage.clear());

function login() {
  fireEvent.change(screen.getByTestId("login-email"), { target: { value: "rep@example.com" } });
  fireEvent.change(screen.getByTestId("login-password"), { target: { value: "pw" } });
  fireEvent.click(screen.getByTestId("login-submit"));
}

describe("App", () => {
  it("logs in, lists apps, opens an app's entities and a list with ref labels", async () => {
    const calls = mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/auth/login") return { body: { token: "t1", user: { id: "u1", email: "rep@example.com" } } };
      if (p === "/api/meta/apps") return { body: { items: [{ name: "crm", label: "CRM", version: 1 }] } };
      if (p === "/api/meta/apps/crm") return { body: doc };
      if (p === "/api/data/crm/deal") {
        return { body: { items: [{ id: "d1", title: "Deal", account: "a1", expand: { account: { id: "a1", name: "Acme" } } }], nextCursor: null } };
      }
    });
    renderWith(<App />);
    login();
    fireEvent.click(await screen.findByTestId("app-link-crm"));
    await screen.findByTestId("entity-link-account");
    expect(screen.getByTestId("entity-link-deal").getAttribute("aria-current")).toBe("page");
    const row = await screen.findByTestId("list-row");
    expect(row.textContent).toContain("Acme");
    expect(localStorage.getItem(TOKEN_KEY)).toBe("t1");
    const list = calls.find((c) => c.url.pathname === "/api/data/crm/deal")!;
    expect(list.url.searchParams.get("expand")).toBe("account");
    expect(list.headers.Authorization).toBe("Bearer t1");
  });

  it("says so on bad credentials", async () => {
    mockFetch(() => ({ status: 401, body: { error: { code: "bad_credentials", message: "bad" } } }));
    renderWith(<App />);
    login();
    expect((await screen.findByTestId("login-error")).textContent).toBe("Wrong email or password.");
  });

  it("says when logins are throttled", async () => {
    mockFetch(() => ({ status: 429, headers: { "Retry-After": "840" }, body: { error: { code: "too_many_attempts", message: "slow down" } } }));
    renderWith(<App />, "zh-CN");
    login();
    expect((await screen.findByTestId("login-error")).textContent).toBe("登录失败次数过多，请 14 分钟后再试。");
  });

  it("goes back to login when the session ends (401)", async () => {
    localStorage.setItem(TOKEN_KEY, "expired");
    mockFetch(() => ({ status: 401, body: { error: { code: "unauthorized", message: "expired" } } }));
    renderWith(<App />);
    await screen.findByTestId("login-email");
    expect(screen.getByText("Your session has ended. Please sign in again.")).toBeTruthy();
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });

  it("logs out", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [] } };
      if (c.url.pathname === "/api/auth/logout") return { status: 204 };
    });
    renderWith(<App />);
    await screen.findByTestId("apps-empty");
    fireEvent.click(screen.getByTestId("logout"));
    await screen.findByTestId("login-email");
    await waitFor(() => expect(calls.some((c) => c.url.pathname === "/api/auth/logout" && c.method === "POST")).toBe(true));
    expect(localStorage.getItem(TOKEN_KEY)).toBeNull();
  });
});

describe("App designer entry points", () => {
  const apps = { items: [{ name: "crm", label: "CRM", version: 1 }] };

  it("shows New app and Design links to admins, and opens a new draft in the designer", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { user: { id: "u1", email: "a@example.com", admin: true } } };
      if (c.url.pathname === "/api/meta/apps") return { body: apps };
      if (c.url.pathname === "/api/meta/apps/shop") return { status: 404, body: { error: { code: "not_found", message: "no app" } } };
    });
    renderWith(<App />);
    expect((await screen.findByTestId("design-crm")).getAttribute("href")).toBe("#/design/crm");
    fireEvent.click(screen.getByTestId("new-app"));
    fireEvent.change(screen.getByTestId("new-app-name"), { target: { value: "Shop!" } });
    fireEvent.click(screen.getByTestId("new-app-create"));
    expect(screen.getByTestId("new-app-error").textContent).toContain("lower-case");
    fireEvent.change(screen.getByTestId("new-app-name"), { target: { value: "crm" } });
    fireEvent.click(screen.getByTestId("new-app-create"));
    expect(screen.getByTestId("new-app-error").textContent).toBe("An app with this name already exists.");
    fireEvent.change(screen.getByTestId("new-app-name"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("new-app-label"), { target: { value: "Shop" } });
    fireEvent.click(screen.getByTestId("new-app-create"));
    await waitFor(() => expect(window.location.hash).toBe("#/design/shop/new"));
    // The designer is its own chunk: wait for it to load.
    expect(await screen.findByTestId("add-entity")).toBeTruthy();
    expect(screen.getByRole("heading", { level: 1 }).textContent).toContain("Design: Shop");
  });

  it("hides them from other users", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u2", email: "rep@example.com", admin: false } };
      if (c.url.pathname === "/api/meta/apps") return { body: apps };
    });
    renderWith(<App />);
    await screen.findByTestId("app-link-crm");
    await waitFor(() => expect(screen.queryByTestId("new-app")).toBeNull());
    expect(screen.queryByTestId("design-crm")).toBeNull();
    act(() => {
      window.location.hash = "#/design/crm";
      window.dispatchEvent(new HashChangeEvent("hashchange"));
    });
    expect((await screen.findByRole("alert")).textContent).toContain("You do not have permission");
  });
});

describe("App: the first minutes", () => {
  it("offers an admin with no apps the template gallery, installs one with sample data and opens it", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    let installed = false;
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u1", email: "admin@example.com", admin: true } };
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps") return { body: { items: installed ? [{ name: "pipeline", version: 1 }] : [] } };
      if (c.method === "GET" && c.url.pathname === "/api/meta/templates") {
        return { body: { items: [{ name: "pipeline", app: "pipeline", labels: { en: "Sales pipeline" }, installed }] } };
      }
      if (c.method === "POST" && c.url.pathname === "/api/meta/templates/pipeline/install") {
        installed = true;
        return { status: 201, body: { app: "pipeline", version: 1, sample: { lead: 1000 }, users: 9 } };
      }
      if (c.url.pathname === "/api/meta/apps/pipeline") return { body: { name: "pipeline", label: "Sales pipeline", entities: [{ name: "account", fields: [] }] } };
      if (c.url.pathname.startsWith("/api/data/")) return { body: { items: [] } };
    });
    renderWith(<App />);
    expect(await screen.findByTestId("start-blank")).toBeTruthy();
    expect(screen.getByRole("heading", { level: 2 }).textContent).toBe("Start your first app");
    fireEvent.click(await screen.findByTestId("template-install-pipeline"));
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/pipeline"));
    const post = calls.find((c) => c.method === "POST" && c.url.pathname === "/api/meta/templates/pipeline/install")!;
    expect(post.body).toEqual({ sample: 1000 });
    // The app document is the server's template: nothing is applied from the browser.
    expect(calls.some((c) => c.method === "POST" && c.url.pathname === "/api/meta/apps")).toBe(false);
  });

  it("offers the gallery from Templates once there are apps, and never to other users", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    let admin = true;
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u1", email: "a@example.com", admin } };
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", version: 1 }] } };
      if (c.url.pathname === "/api/meta/templates") return { body: { items: [{ name: "pipeline", app: "pipeline", labels: { en: "Sales pipeline" }, installed: false }] } };
    });
    const { unmount } = renderWith(<App />);
    const toggle = await screen.findByTestId("templates-toggle");
    expect(screen.queryByTestId("get-started")).toBeNull();
    expect(toggle.getAttribute("aria-expanded")).toBe("false");
    fireEvent.click(toggle);
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(await screen.findByTestId("template-pipeline")).toBeTruthy();
    expect(screen.queryByTestId("start-blank")).toBeNull();
    unmount();
    admin = false;
    const before = calls.length;
    renderWith(<App />);
    await screen.findByTestId("app-link-crm");
    expect(screen.queryByTestId("templates-toggle")).toBeNull();
    expect(calls.slice(before).some((c) => c.url.pathname === "/api/meta/templates")).toBe(false);
  });

  it("start blank opens the new-app dialog", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u1", email: "admin@example.com", admin: true } };
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [] } };
    });
    renderWith(<App />);
    fireEvent.click(await screen.findByTestId("start-blank"));
    expect(screen.getByTestId("new-app-dialog")).toBeTruthy();
  });
});

describe("App: the admin area", () => {
  it("is linked for admins and refused to others", async () => {
    localStorage.setItem(TOKEN_KEY, "t1");
    let admin = true;
    mockFetch((c) => {
      if (c.url.pathname === "/api/auth/me") return { body: { id: "u1", email: "a@example.com", admin } };
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", version: 1 }] } };
      if (c.url.pathname === "/api/admin/users") return { body: { items: [{ id: "u1", email: "a@example.com", admin: true, active: true, roles: [] }] } };
      if (c.url.pathname === "/api/admin/teams") return { body: { items: [] } };
    });
    const { unmount } = renderWith(<App />);
    fireEvent.click(await screen.findByTestId("nav-admin"));
    expect(await screen.findByTestId("user-row-a@example.com")).toBeTruthy();
    expect(window.location.hash).toBe("#/admin");
    unmount();
    admin = false;
    window.location.hash = "#/admin/users";
    renderWith(<App />);
    expect((await screen.findByRole("alert")).textContent).toContain("You do not have permission");
    expect(screen.queryByTestId("nav-admin")).toBeNull();
  });
});
