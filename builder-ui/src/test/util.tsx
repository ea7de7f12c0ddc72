import { render } from "@testing-library/react";
import type { ReactElement } from "react";
import { vi } from "vitest";
import { I18nProvider, type Lang } from "../i18n";

export interface Call {
  method: string;
  url: URL;
  body: unknown;
  headers: Record<string, string>;
}

export type Handler = (c: Call) => { status?: number; body?: unknown; headers?: Record<string, string> } | undefined;

// mockFetch replaces fetch with a handler and records every call.
export function mockFetch(handler: Handler): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (input: string, init: RequestInit = {}) => {
    const call: Call = {
      method: init.method ?? "GET",
      url: new URL(input, "http://forma.test"),
      body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      headers: (init.headers ?? {}) as Record<string, string>,
    };
    calls.push(call);
    const r = handler(call) ?? { status: 404, body: { error: { code: "not_found", message: "no mock for " + input } } };
    const status = r.status ?? 200;
    const text = r.body === undefined ? "" : JSON.stringify(r.body);
    return {
      ok: status >= 200 && status < 300,
      status,
      statusText: "",
      headers: new Headers(r.headers ?? {}),
      text: async () => text,
    } as unknown as Response;
  }));
  return calls;
}

export function renderWith(ui: ReactElement, lang: Lang = "en") {
  return render(<I18nProvider lang={lang}>{ui}</I18nProvider>);
}
