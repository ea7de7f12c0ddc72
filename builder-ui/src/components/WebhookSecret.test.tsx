import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { VERIFY_SNIPPET, WebhookSecret } from "./WebhookSecret";

const first = "a".repeat(64);
const second = "b".repeat(64);

function serve() {
  let secret = first;
  return mockFetch((c) => {
    if (c.method === "GET" && c.url.pathname === "/api/meta/apps/crm%20x/webhook-secret") return { body: { secret } };
    if (c.method === "POST" && c.url.pathname === "/api/meta/apps/crm%20x/webhook-secret/rotate") {
      secret = second;
      return { body: { secret } };
    }
    return undefined;
  });
}

describe("WebhookSecret", () => {
  it("keeps the secret hidden until asked, then shows and copies it", async () => {
    const calls = serve();
    const writeText = vi.fn(async () => undefined);
    Object.assign(navigator, { clipboard: { writeText } });
    renderWith(<WebhookSecret app="crm x" />);
    const value = screen.getByTestId("webhook-secret-value") as HTMLInputElement;
    expect(value.value).not.toContain("a");
    expect(calls.length).toBe(0); // reading it is audited: not fetched on sight
    fireEvent.click(screen.getByTestId("webhook-secret-show"));
    await waitFor(() => expect(value.value).toBe(first));
    fireEvent.click(screen.getByTestId("webhook-secret-copy"));
    await waitFor(() => expect(writeText).toHaveBeenCalledWith(first));
    await screen.findByText("Copied");
    fireEvent.click(screen.getByTestId("webhook-secret-hide"));
    expect(value.value).not.toContain("a");
  });

  it("rotates only after a confirmation, and shows the new secret", async () => {
    const calls = serve();
    renderWith(<WebhookSecret app="crm x" />);
    fireEvent.click(screen.getByTestId("webhook-secret-rotate"));
    expect(screen.getByTestId("webhook-secret-confirm").textContent).toContain("receivers reject");
    fireEvent.click(screen.getByTestId("webhook-secret-rotate-cancel"));
    expect(screen.queryByTestId("webhook-secret-confirm")).toBeNull();
    expect(calls.length).toBe(0);
    fireEvent.click(screen.getByTestId("webhook-secret-rotate"));
    fireEvent.click(screen.getByTestId("webhook-secret-rotate-confirm"));
    await waitFor(() => expect((screen.getByTestId("webhook-secret-value") as HTMLInputElement).value).toBe(second));
    expect(calls.filter((c) => c.method === "POST").length).toBe(1);
    expect(screen.getByTestId("webhook-secret-rotated")).toBeTruthy();
    expect(screen.queryByTestId("webhook-secret-confirm")).toBeNull();
  });

  it("shows a refusal and keeps the secret hidden", async () => {
    mockFetch(() => ({ status: 403, body: { error: { code: "forbidden", message: "only an admin may do this" } } }));
    renderWith(<WebhookSecret app="crm" />);
    fireEvent.click(screen.getByTestId("webhook-secret-show"));
    await screen.findByTestId("webhook-secret-error");
    expect((screen.getByTestId("webhook-secret-value") as HTMLInputElement).value).not.toMatch(/[0-9a-f]{8}/);
  });

  it("explains how to verify, in English and Chinese", () => {
    mockFetch(() => undefined);
    const { unmount } = renderWith(<WebhookSecret app="crm" />);
    expect(screen.getByTestId("webhook-verify").textContent).toContain("X-Forma-Signature");
    expect(screen.getByTestId("webhook-verify").textContent).toContain("HMAC-SHA256");
    expect(screen.getByTestId("webhook-verify-code").textContent).toBe(VERIFY_SNIPPET);
    unmount();
    renderWith(<WebhookSecret app="crm" />, "zh-CN");
    expect(screen.getByTestId("webhook-verify").textContent).toContain("恒定时间");
    expect(screen.getByText("Webhook 签名密钥")).toBeTruthy();
  });
});
