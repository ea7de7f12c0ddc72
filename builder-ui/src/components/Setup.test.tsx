import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Setup } from "./Setup";

describe("Setup", () => {
  it("creates the first admin with the printed token, then signs in", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/auth/setup") return { status: 201, body: { user: { id: "u1" } } };
      if (c.url.pathname === "/api/auth/login") return { body: { token: "t1", user: { id: "u1" } } };
      return undefined;
    });
    const done = vi.fn();
    renderWith(<Setup token="abc123" onLoggedIn={done} />);
    expect((screen.getByTestId("setup-token") as HTMLInputElement).value).toBe("abc123");
    fireEvent.change(screen.getByTestId("setup-email"), { target: { value: " ann@example.com " } });
    fireEvent.change(screen.getByTestId("setup-password"), { target: { value: "a long password" } });
    fireEvent.click(screen.getByTestId("setup-submit"));
    await waitFor(() => expect(done).toHaveBeenCalled());
    expect(calls[0].body).toEqual({ token: "abc123", email: "ann@example.com", password: "a long password" });
    expect(calls[1].url.pathname).toBe("/api/auth/login");
  });

  it("says when the token is wrong, and signs nobody in", async () => {
    mockFetch((c) => (c.url.pathname === "/api/auth/setup" ? { status: 401, body: { error: { code: "unauthorized", message: "bad token" } } } : undefined));
    const done = vi.fn();
    renderWith(<Setup onLoggedIn={done} />);
    fireEvent.change(screen.getByTestId("setup-token"), { target: { value: "nope" } });
    fireEvent.change(screen.getByTestId("setup-email"), { target: { value: "ann@example.com" } });
    fireEvent.change(screen.getByTestId("setup-password"), { target: { value: "a long password" } });
    fireEvent.click(screen.getByTestId("setup-submit"));
    expect((await screen.findByTestId("setup-error")).textContent).toContain("setup token is wrong");
    expect(done).not.toHaveBeenCalled();
  });
});
