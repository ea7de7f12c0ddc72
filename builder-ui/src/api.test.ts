import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, getToken, onUnauthorized, setToken, TOKEN_KEY } from "./api";
import { mockFetch } from "./test/util";

afterEach(() => {
  localStorage.clear();
  onUnauthorized(null);
});

describe("api client", () => {
  it("logs in, keeps the token and sends it as a Bearer token", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/login") return { body: { token: "tok1", expiresAt: "x" } };
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", version: 2 }] } };
    });
    await api.login("a@b.cn", "pw");
    expect(localStorage.getItem(TOKEN_KEY)).toBe("tok1");
    expect(calls[0].body).toEqual({ email: "a@b.cn", password: "pw" });
    expect(calls[0].headers.Authorization).toBeUndefined();
    const apps = await api.apps();
    expect(apps.items[0].name).toBe("crm");
    expect(calls[1].headers.Authorization).toBe("Bearer tok1");
  });

  it("asks for the UI's language (<html lang>), so the server words the designer's messages in it", async () => {
    const calls = mockFetch(() => ({ body: { items: [] } }));
    const before = document.documentElement.lang;
    try {
      document.documentElement.lang = "zh-CN";
      await api.notifications();
      document.documentElement.lang = "en";
      await api.create("crm", "deal", {});
      document.documentElement.lang = "";
      await api.apps();
    } finally {
      document.documentElement.lang = before;
    }
    expect(calls.map((c) => c.headers["Accept-Language"])).toEqual(["zh-CN", "en", undefined]);
  });

  it("builds list queries", async () => {
    const calls = mockFetch(() => ({ body: { items: [] } }));
    await api.list("crm", "deal", { sort: "-amount", filter: 'title ~ "a&b"', limit: 25, cursor: undefined });
    expect(calls[0].url.pathname).toBe("/api/data/crm/deal");
    expect(calls[0].url.searchParams.get("filter")).toBe('title ~ "a&b"');
    expect(calls[0].url.searchParams.get("sort")).toBe("-amount");
    expect(calls[0].url.searchParams.has("cursor")).toBe(false);
  });

  it("surfaces the error shape", async () => {
    mockFetch(() => ({
      status: 422,
      body: { error: { code: "validation_failed", message: "bad", details: [{ path: "/amount", message: "too big" }] } },
    }));
    const err = await api.create("crm", "deal", {}).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 422, code: "validation_failed", message: "bad", details: [{ path: "/amount", message: "too big" }] });
  });

  it("reads Retry-After on 429", async () => {
    mockFetch(() => ({ status: 429, headers: { "Retry-After": "600" }, body: { error: { code: "too_many_attempts", message: "wait" } } }));
    const err = await api.login("a@b.cn", "x").catch((e) => e);
    expect(err).toMatchObject({ status: 429, code: "too_many_attempts", retryAfter: 600 });
  });

  it("drops the token and calls the handler on 401", async () => {
    setToken("old");
    const back = vi.fn();
    onUnauthorized(back);
    mockFetch(() => ({ status: 401, body: { error: { code: "unauthorized", message: "expired" } } }));
    await expect(api.apps()).rejects.toMatchObject({ code: "unauthorized" });
    expect(getToken()).toBeNull();
    expect(back).toHaveBeenCalledOnce();
  });

  it("does not treat a failed login as an expired session", async () => {
    const back = vi.fn();
    onUnauthorized(back);
    mockFetch(() => ({ status: 401, body: { error: { code: "bad_credentials", message: "no" } } }));
    await expect(api.login("a@b.cn", "x")).rejects.toMatchObject({ code: "bad_credentials" });
    expect(back).not.toHaveBeenCalled();
  });

  it("copes with a non-JSON error body", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => ({ ok: false, status: 502, statusText: "Bad Gateway", headers: new Headers(), text: async () => "<html>" })));
    await expect(api.apps()).rejects.toMatchObject({ status: 502, code: "http_502" });
  });
});
