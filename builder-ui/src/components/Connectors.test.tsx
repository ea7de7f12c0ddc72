import { fireEvent, screen, waitFor } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Connectors } from "./Connectors";

const wecom = {
  name: "wecom", version: "1.0.0", author: "Forma", description: "WeCom group robot", labels: { en: "WeCom", "zh-CN": "企业微信" },
  hosts: ["qyapi.weixin.qq.com"], builtin: true, sha256: "ab", installedAt: "2026-12-07T00:00:00Z",
  settings: { type: "object", properties: { msgtype: { type: "string", enum: ["text", "markdown"], default: "text", title: "Default type" } } },
  secrets: { type: "object", required: ["key"], properties: { key: { type: "string", title: "Robot key" } } },
  actions: [{ name: "send", title: "Send", input: { type: "object", required: ["content"], properties: { content: { type: "string", title: "Content" } } } }],
  triggers: [],
};
const SECRET = "super-secret-robot-key";

describe("Connectors", () => {
  beforeEach(() => {
    window.location.hash = "#/connectors/crm";
  });

  it("configures a plugin with a write-only secret, tests an action and lists the calls", async () => {
    let cfg = { app: "crm", plugin: "wecom", enabled: false, settings: {}, secretsSet: { key: false }, allowPrivate: false, updatedAt: "" };
    const calls = mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/meta/apps") return { body: { items: [{ name: "crm", version: 1 }] } };
      if (p === "/api/admin/plugins") return { body: { items: [{ ...wecom, usedBy: [{ app: "crm", automation: "notify_won" }] }] } };
      if (p === "/api/meta/apps/crm/plugins") return { body: { items: [{ ...wecom, config: cfg }] } };
      if (p === "/api/meta/apps/crm/plugins/wecom" && c.method === "PUT") {
        const b = c.body as { enabled: boolean; settings: object; secrets?: Record<string, string | null> };
        cfg = { ...cfg, enabled: b.enabled, settings: b.settings, secretsSet: { key: b.secrets?.key ? true : cfg.secretsSet.key } };
        return { body: cfg };
      }
      if (p === "/api/meta/apps/crm/plugins/wecom/test") return { body: { ok: true, output: { errcode: 0 }, durationMs: 42, logs: ["sent"] } };
      if (p === "/api/meta/apps/crm/plugins/wecom/calls") return { body: { items: [{ id: "1", app: "crm", plugin: "wecom", kind: "test", name: "send", status: "ok", requests: 1, durationMs: 42, at: "2026-12-07T01:00:00Z" }] } };
      return undefined;
    });
    const { container } = renderWith(<Connectors app="crm" admin />);
    expect((await screen.findByTestId("plugin-row-wecom")).textContent).toContain("qyapi.weixin.qq.com");
    expect(screen.getByTestId("plugin-usedby").textContent).toBe("crm/notify_won");
    expect(screen.queryByTestId("plugin-remove-wecom")).toBeNull(); // built-in
    await screen.findByTestId("connector-config-wecom");
    expect(screen.getByTestId("connector-secret-key-state").textContent).toBe("Not set");
    expect((screen.getByTestId("connector-setting-msgtype") as HTMLSelectElement).value).toBe("text");
    fireEvent.click(screen.getByTestId("connector-enabled"));
    fireEvent.change(screen.getByTestId("connector-secret-key-input"), { target: { value: SECRET } });
    expect((screen.getByTestId("connector-secret-key-input") as HTMLInputElement).type).toBe("password");
    fireEvent.click(screen.getByTestId("connector-save"));
    await screen.findByTestId("connector-saved");
    const put = calls.find((c) => c.method === "PUT");
    expect(put?.body).toEqual({ enabled: true, settings: { msgtype: "text" }, secrets: { key: SECRET }, allowPrivate: false });
    expect(screen.getByTestId("connector-secret-key-state").textContent).toBe("Set");
    expect((screen.getByTestId("connector-secret-key-input") as HTMLInputElement).value).toBe("");
    expect(container.innerHTML).not.toContain(SECRET);

    fireEvent.change(screen.getByTestId("connector-test-send-input-content"), { target: { value: "hello" } });
    fireEvent.click(screen.getByTestId("connector-test-send-send"));
    expect((await screen.findByTestId("connector-test-send-result")).dataset.ok).toBe("true");
    expect(screen.getByTestId("connector-test-send-duration").textContent).toBe("42 ms");
    expect(screen.getByTestId("connector-test-send-logs").textContent).toBe("sent");
    expect(calls.find((c) => c.url.pathname.endsWith("/test"))?.body).toEqual({ action: "send", input: { content: "hello" } });
    await waitFor(() => expect(screen.getAllByTestId("call-row").length).toBe(1));
    expect(screen.getByTestId("call-status").textContent).toBe("OK");
  });

  it("clears a secret with null and hides allow-private from app designers", async () => {
    const cfg = { app: "crm", plugin: "wecom", enabled: true, settings: {}, secretsSet: { key: true }, allowPrivate: false, updatedAt: "" };
    const calls = mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/meta/apps") return { body: { items: [] } };
      if (p === "/api/meta/apps/crm/plugins") return { body: { items: [{ ...wecom, config: cfg }] } };
      if (p === "/api/meta/apps/crm/plugins/wecom" && c.method === "PUT") return { body: { ...cfg, secretsSet: { key: false } } };
      if (p.endsWith("/calls")) return { body: { items: [] } };
      return undefined;
    });
    renderWith(<Connectors app="crm" admin={false} />, "zh-CN");
    await screen.findByTestId("connector-config-wecom");
    expect(screen.queryByTestId("plugins-installed")).toBeNull();
    expect(screen.queryByTestId("connector-allow-private")).toBeNull();
    expect(screen.getByTestId("connector-secret-key-state").textContent).toBe("已设置");
    fireEvent.click(screen.getByTestId("connector-secret-key-clear"));
    fireEvent.click(screen.getByTestId("connector-save"));
    await screen.findByTestId("connector-saved");
    expect(calls.find((c) => c.method === "PUT")?.body).toEqual({ enabled: true, settings: { msgtype: "text" }, secrets: { key: null } });
    expect(screen.getByTestId("connector-secret-key-state").textContent).toBe("未设置");
  });

  it("shows a refused install with its pointers and an in-use refusal naming the automation", async () => {
    mockFetch((c) => {
      const p = c.url.pathname;
      if (p === "/api/meta/apps") return { body: { items: [] } };
      if (p === "/api/admin/plugins") return { body: { items: [{ ...wecom, name: "acme", builtin: false, signer: "0123456789abcdef", usedBy: [{ app: "crm", automation: "ping" }] }] } };
      if (p === "/api/admin/plugins/acme" && c.method === "DELETE") {
        return { status: 409, body: { error: { code: "plugin_in_use", message: "acme is used by crm/ping" } } };
      }
      return undefined;
    });
    renderWith(<Connectors admin />);
    fireEvent.click(await screen.findByTestId("plugin-remove-acme"));
    fireEvent.click(await screen.findByTestId("plugin-remove-confirm"));
    const err = await screen.findByTestId("plugin-remove-error");
    expect(err.textContent).toContain("in use");
    expect(err.textContent).toContain("crm/ping");
  });
});
