import { fireEvent, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Admin } from "./Admin";

describe("Admin: webhooks", () => {
  beforeEach(() => {
    window.location.hash = "#/admin/webhooks";
  });

  it("shows each app's allowance and changes it", async () => {
    const allow: Record<string, boolean> = { crm: false, ops: true };
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", label: "CRM", version: 2 }, { name: "ops", version: 1 }] } };
      const m = c.url.pathname.match(/^\/api\/admin\/apps\/(\w+)\/webhooks$/);
      if (m && c.method === "GET") return { body: { allowPrivate: allow[m[1]] } };
      if (m && c.method === "PUT") {
        allow[m[1]] = (c.body as { allowPrivate: boolean }).allowPrivate;
        return { body: { allowPrivate: allow[m[1]] } };
      }
      return undefined;
    });
    renderWith(<Admin tab="webhooks" />);
    const crm = (await screen.findByTestId("webhooks-allow-crm")) as HTMLInputElement;
    await waitFor(() => expect(crm.disabled).toBe(false));
    expect(crm.checked).toBe(false);
    expect(screen.getByTestId("webhooks-app-crm").textContent).toContain("CRM");
    await waitFor(() => expect((screen.getByTestId("webhooks-allow-ops") as HTMLInputElement).checked).toBe(true));
    expect(screen.getByTestId("webhooks-warning-ops")).toBeTruthy();
    expect(screen.queryByTestId("webhooks-warning-crm")).toBeNull();
    fireEvent.click(crm);
    await waitFor(() => expect(crm.checked).toBe(true));
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.url.pathname).toBe("/api/admin/apps/crm/webhooks");
    expect(put?.body).toEqual({ allowPrivate: true });
    expect(screen.getByTestId("webhooks-warning-crm")).toBeTruthy();
  });

  it("keeps the old value when the server refuses", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", version: 1 }] } };
      if (c.method === "GET") return { body: { allowPrivate: false } };
      return { status: 403, body: { error: { code: "forbidden", message: "only an admin may do this" } } };
    });
    renderWith(<Admin tab="webhooks" />, "zh-CN");
    const crm = (await screen.findByTestId("webhooks-allow-crm")) as HTMLInputElement;
    await waitFor(() => expect(crm.disabled).toBe(false));
    expect(screen.getByTestId("webhooks-app-crm").textContent).toContain("允许向内网地址发送 Webhook");
    fireEvent.click(crm);
    await waitFor(() => expect(crm.disabled).toBe(false));
    expect(crm.checked).toBe(false);
  });

  it("lists the webhook audit actions", async () => {
    mockFetch((c) => (c.url.pathname === "/api/admin/audit" ? { body: { items: [] } } : c.url.pathname === "/api/admin/users" ? { body: { items: [] } } : undefined));
    renderWith(<Admin tab="audit" />);
    const select = (await screen.findByTestId("audit-action")) as HTMLSelectElement;
    const opts = [...select.options].map((o) => o.textContent);
    expect(opts).toContain("Webhook secret rotated");
    expect(opts).toContain("Webhook settings changed");
  });
});
