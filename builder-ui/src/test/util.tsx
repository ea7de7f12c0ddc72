import { act, fireEvent, render } from "@testing-library/react";
import type { ReactElement } from "react";
import { vi } from "vitest";
import { I18nProvider, type Lang } from "../i18n";
import { Router } from "../router";
import { clearNames } from "../names";

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

// renderWith renders a screen as the app does: in a language, under the
// hash router (App brings its own); the name caches start empty.
export function renderWith(ui: ReactElement, lang: Lang = "en") {
  clearNames();
  return render(<I18nProvider lang={lang}><Router>{ui}</Router></I18nProvider>);
}

// pointerDrag drags `handle` with the pointer (as @dnd-kit sees it) and
// drops it over `over`: a row's upper half (before) or lower half, or the
// empty end of a zone (over === zone). jsdom has no layout, so the zone,
// the row and the handle get boxes for the drag and nothing else has one.
export async function pointerDrag(handle: HTMLElement, over: HTMLElement, zone: HTMLElement, before = false) {
  const box = (left: number, top: number, width: number, height: number) =>
    ({ x: left, y: top, left, top, width, height, right: left + width, bottom: top + height, toJSON() {} }) as DOMRect;
  const rects = new Map<Element, DOMRect>();
  rects.set(zone, box(0, 0, 300, 1000));
  if (over !== zone) rects.set(over, box(0, 400, 300, 40));
  rects.set(handle, box(1000, 2000, 40, 20));
  const spy = vi.spyOn(Element.prototype, "getBoundingClientRect").mockImplementation(function (this: Element) {
    return rects.get(this) ?? box(-5000, -5000, 0, 0);
  });
  const y = over === zone ? 900 : before ? 405 : 435;
  const at = (clientX: number, clientY: number) => ({ clientX, clientY, isPrimary: true, button: 0, pointerId: 1 });
  try {
    await act(async () => { fireEvent.pointerDown(handle, at(1010, 2010)); });
    await act(async () => { fireEvent.pointerMove(document, at(1010, 2000)); });
    await act(async () => { fireEvent.pointerMove(document, at(150, y + 2)); });
    await act(async () => { fireEvent.pointerMove(document, at(150, y)); });
    await act(async () => { fireEvent.pointerUp(document, at(150, y)); });
    // @dnd-kit swallows clicks for 50 ms after a drop (the browser's click
    // where the pointer is let go): wait that out.
    await act(() => new Promise((r) => setTimeout(r, 60)));
  } finally {
    spy.mockRestore();
  }
}

// keyboardDrag lifts `handle` with Space, presses `key` n times (@dnd-kit's
// keyboard sensor moves 25 px a press) and drops with Space. boxes lays out
// the elements the drag measures ([left, top, width, height]); jsdom has
// none. The drag overlay (what moves) starts where `lifted` is.
export async function keyboardDrag(handle: HTMLElement, lifted: Element, boxes: [Element, [number, number, number, number]][], key: string, n: number) {
  const rects = new Map(boxes.map(([el, [left, top, width, height]]) =>
    [el, { x: left, y: top, left, top, width, height, right: left + width, bottom: top + height, toJSON() {} } as DOMRect]));
  const spy = vi.spyOn(Element.prototype, "getBoundingClientRect").mockImplementation(function (this: Element) {
    if (this.classList.contains("drag-overlay") || this.querySelector(":scope > .drag-overlay")) return rects.get(lifted)!;
    return rects.get(this) ?? ({ x: -5000, y: -5000, left: -5000, top: -5000, width: 0, height: 0, right: -5000, bottom: -5000, toJSON() {} } as DOMRect);
  });
  try {
    handle.focus();
    await act(async () => { fireEvent.keyDown(handle, { code: "Space", key: " " }); });
    // The sensor listens for the next keys from the next tick on.
    await act(() => new Promise((r) => setTimeout(r, 10)));
    for (let i = 0; i < n; i++) await act(async () => { fireEvent.keyDown(document, { code: key, key }); });
    await act(async () => { fireEvent.keyDown(document, { code: "Space", key: " " }); });
  } finally {
    spy.mockRestore();
  }
}
