import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderWith, type Call } from "../test/util";
import { Bell, relativeTime } from "./Bell";
import { TOKEN_KEY } from "../api";

// A server-sent events stream the test writes to.
function sseStream() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  const body = new ReadableStream<Uint8Array>({ start: (c) => { ctrl = c; } });
  const enc = new TextEncoder();
  return {
    body,
    unread: (n: number) => ctrl.enqueue(enc.encode(`event: unread\ndata: {"unread":${n}}\n\n`)),
    raw: (s: string) => ctrl.enqueue(enc.encode(s)),
    end: () => ctrl.close(),
  };
}

type Stream = ReturnType<typeof sseStream>;

const minutesAgo = (m: number) => new Date(Date.now() - m * 60000).toISOString();
const notes = () => [
  { id: "n2", app: "crm", entity: "quote", recordId: "q7", automation: "silence_alert", message: "Quote Q-7: no reply for 72 hours", createdAt: minutesAgo(5), readAt: null },
  { id: "n1", app: "crm", entity: "lead", recordId: "l1", automation: "grade", message: "Call Ann", createdAt: minutesAgo(60 * 26), readAt: minutesAgo(60) },
];

// serve answers the bell's calls: each stream request takes the next of
// streams (a 404 when none is left, or the status given instead).
function serve(streams: (Stream | number)[], api: (c: Call) => { status?: number; body?: unknown } | undefined = () => undefined) {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (input: string, init: RequestInit = {}) => {
    const c: Call = { method: init.method ?? "GET", url: new URL(input, "http://forma.test"), body: typeof init.body === "string" ? JSON.parse(init.body) : undefined,
      headers: (init.headers ?? {}) as Record<string, string> };
    calls.push(c);
    if (c.url.pathname === "/api/me/notifications/stream") {
      const s = streams.shift();
      if (typeof s === "number" || s === undefined) return { ok: false, status: s ?? 404, headers: new Headers(), text: async () => "{}" } as unknown as Response;
      return { ok: true, status: 200, headers: new Headers({ "Content-Type": "text/event-stream" }), body: s.body } as unknown as Response;
    }
    const r = api(c) ?? { status: 404, body: { error: { code: "not_found", message: "no mock" } } };
    const status = r.status ?? 200;
    return { ok: status < 300, status, statusText: "", headers: new Headers(), text: async () => JSON.stringify(r.body) } as unknown as Response;
  }));
  return calls;
}

const streamCalls = (calls: Call[]) => calls.filter((c) => c.url.pathname === "/api/me/notifications/stream");

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  window.location.hash = "";
});

describe("Bell", () => {
  it("shows the unread count live from the stream, with the token in the header", async () => {
    localStorage.setItem(TOKEN_KEY, "tok-1");
    const s = sseStream();
    const calls = serve([s]);
    renderWith(<Bell />);
    expect(screen.queryByTestId("bell-count")).toBeNull();
    expect(screen.getByTestId("bell").getAttribute("aria-label")).toBe("Notifications");
    await act(async () => s.unread(3));
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("3"));
    expect(screen.getByTestId("bell").getAttribute("aria-label")).toBe("Notifications, 3 unread");
    // Split across chunks, with a comment line and another event between.
    await act(async () => {
      s.raw(": keep-alive\n\nevent: other\ndata: {\"unread\":1}\n\nevent: unr");
      s.raw("ead\ndata: {\"unread\":120}\n\n");
    });
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("99+"));
    await act(async () => s.unread(0));
    await waitFor(() => expect(screen.queryByTestId("bell-count")).toBeNull());
    expect(streamCalls(calls)[0].headers.Authorization).toBe("Bearer tok-1");
  });

  it("reconnects after the stream drops or the server is away, and stops on 401", async () => {
    const first = sseStream();
    const second = sseStream();
    const calls = serve([first, 502, second, 401]);
    renderWith(<Bell retryMs={5} />);
    await act(async () => first.unread(2));
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("2"));
    await act(async () => first.end());
    await waitFor(() => expect(streamCalls(calls).length).toBe(3));
    await act(async () => second.unread(4));
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("4"));
    await act(async () => second.end());
    await waitFor(() => expect(streamCalls(calls).length).toBe(4));
    await act(() => new Promise((r) => setTimeout(r, 80)));
    expect(streamCalls(calls).length).toBe(4); // a 401 ends it
  });

  it("lists the notifications, opens one's record and marks it read", async () => {
    const s = sseStream();
    const calls = serve([s], (c) => {
      if (c.method === "GET" && c.url.pathname === "/api/me/notifications") return { body: { items: notes(), unread: 1, nextCursor: null } };
      if (c.method === "POST" && c.url.pathname === "/api/me/notifications/n2/read") return { body: { unread: 0 } };
      if (c.url.pathname === "/api/meta/apps") return { body: { items: [{ name: "crm", label: "Sales CRM", version: 1 }] } };
      return undefined;
    });
    renderWith(<Bell />);
    await act(async () => s.unread(1));
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("1"));
    fireEvent.click(screen.getByTestId("bell"));
    expect(screen.getByTestId("bell").getAttribute("aria-expanded")).toBe("true");
    const items = await screen.findAllByTestId("bell-item");
    expect(items).toHaveLength(2);
    expect(items[0].textContent).toContain("Quote Q-7: no reply for 72 hours");
    await waitFor(() => expect(items[0].textContent).toContain("Sales CRM")); // the app's label
    expect(items[0].textContent).toContain("5 minutes ago");
    expect(items[0].dataset.read).toBe("false");
    expect(items[1].textContent).toContain("yesterday");
    expect(items[1].dataset.read).toBe("true");
    const list = calls.find((c) => c.url.pathname === "/api/me/notifications")!;
    expect(list.url.searchParams.get("limit")).toBe("20");
    fireEvent.click(items[0]);
    await waitFor(() => expect(window.location.hash).toBe("#/a/crm/quote/q7"));
    expect(calls.some((c) => c.method === "POST" && c.url.pathname === "/api/me/notifications/n2/read")).toBe(true);
    expect(screen.queryByTestId("bell-panel")).toBeNull();
    await waitFor(() => expect(screen.queryByTestId("bell-count")).toBeNull());
    // A read one opens without marking again.
    fireEvent.click(screen.getByTestId("bell"));
    fireEvent.click((await screen.findAllByTestId("bell-item"))[1]);
    await waitFor(() => expect(window.location.hash).toBe("#/a/crm/lead/l1"));
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(1);
  });

  it("marks all read, pages on, and shows an empty state in Chinese", async () => {
    const s = sseStream();
    let page = 0;
    let allRead = false; // the server's state: the list reloads when the count changes
    const calls = serve([s], (c) => {
      if (c.method === "GET" && c.url.pathname === "/api/me/notifications") {
        page++;
        const read = (n: ReturnType<typeof notes>[number]) => (allRead ? { ...n, readAt: n.readAt ?? minutesAgo(0) } : n);
        return c.url.searchParams.get("cursor") === "n1"
          ? { body: { items: [read({ ...notes()[0], id: "n0", message: "older" })], unread: allRead ? 0 : 1, nextCursor: null } }
          : { body: { items: notes().map(read), unread: allRead ? 0 : 1, nextCursor: "n1" } };
      }
      if (c.method === "POST" && c.url.pathname === "/api/me/notifications/read-all") {
        allRead = true;
        return { body: { marked: 1, unread: 0 } };
      }
      return undefined;
    });
    renderWith(<Bell />);
    await act(async () => s.unread(1));
    await waitFor(() => expect(screen.getByTestId("bell-count").textContent).toBe("1"));
    fireEvent.click(screen.getByTestId("bell"));
    fireEvent.click(await screen.findByTestId("bell-more"));
    await waitFor(() => expect(screen.getAllByTestId("bell-item")).toHaveLength(3));
    expect(page).toBe(2);
    fireEvent.click(screen.getByTestId("bell-read-all"));
    await waitFor(() => expect(screen.queryByTestId("bell-count")).toBeNull());
    await waitFor(() => expect(screen.getAllByTestId("bell-item").every((b) => b.dataset.read === "true")).toBe(true));
    expect(screen.getAllByTestId("bell-item")).toHaveLength(3); // the pages shown stay
    // A new notification while open: the newest page is read again.
    await act(async () => s.unread(1));
    await waitFor(() => expect(page).toBe(3));
    expect(calls.some((c) => c.method === "POST" && c.url.pathname === "/api/me/notifications/read-all")).toBe(true);
  });

  it("shows the empty state in the user's language", async () => {
    serve([sseStream()], (c) => (c.url.pathname === "/api/me/notifications" ? { body: { items: [], unread: 0, nextCursor: null } } : undefined));
    renderWith(<Bell />, "zh-CN");
    expect(screen.getByTestId("bell").getAttribute("aria-label")).toBe("通知");
    fireEvent.click(screen.getByTestId("bell"));
    expect((await screen.findByTestId("bell-empty")).textContent).toContain("还没有通知");
    expect((screen.getByTestId("bell-read-all") as HTMLButtonElement).disabled).toBe(true);
  });

  it("is usable from the keyboard: arrows move, Escape closes back to the bell", async () => {
    serve([sseStream()], (c) => (c.url.pathname === "/api/me/notifications" ? { body: { items: notes(), unread: 1, nextCursor: null } } : undefined));
    renderWith(<Bell />);
    const bell = screen.getByTestId("bell");
    bell.focus();
    fireEvent.keyDown(bell, { key: "ArrowDown" });
    const panel = await screen.findByTestId("bell-panel");
    const items = await screen.findAllByTestId("bell-item");
    fireEvent.keyDown(panel, { key: "ArrowDown" });
    expect(document.activeElement).toBe(screen.getByTestId("bell-read-all"));
    fireEvent.keyDown(panel, { key: "ArrowDown" });
    expect(document.activeElement).toBe(items[0]);
    fireEvent.keyDown(panel, { key: "End" });
    expect(document.activeElement).toBe(items[1]);
    fireEvent.keyDown(panel, { key: "ArrowUp" });
    expect(document.activeElement).toBe(items[0]);
    fireEvent.keyDown(panel, { key: "Escape" });
    expect(screen.queryByTestId("bell-panel")).toBeNull();
    expect(document.activeElement).toBe(bell);
    // Open again: ↓ on the bell moves into the list; Escape on the bell closes.
    fireEvent.keyDown(bell, { key: "ArrowDown" });
    await screen.findAllByTestId("bell-item");
    bell.focus();
    fireEvent.keyDown(bell, { key: "ArrowDown" });
    expect(document.activeElement).toBe(screen.getByTestId("bell-read-all"));
    bell.focus();
    fireEvent.keyDown(bell, { key: "Escape" });
    expect(screen.queryByTestId("bell-panel")).toBeNull();
  });

  it("skips a disabled “mark all read” when moving with the arrows", async () => {
    serve([sseStream()], (c) => (c.url.pathname === "/api/me/notifications" ? { body: { items: [{ ...notes()[1] }], unread: 0, nextCursor: null } } : undefined));
    renderWith(<Bell />);
    fireEvent.click(screen.getByTestId("bell"));
    const [item] = await screen.findAllByTestId("bell-item");
    fireEvent.keyDown(screen.getByTestId("bell-panel"), { key: "ArrowDown" });
    expect(document.activeElement).toBe(item);
  });

  it("shows an error from the list and closes on a click outside", async () => {
    serve([sseStream()], (c) => (c.url.pathname === "/api/me/notifications" ? { status: 500, body: { error: { code: "internal", message: "internal error" } } } : undefined));
    renderWith(<Bell />);
    fireEvent.click(screen.getByTestId("bell"));
    expect((await screen.findByTestId("bell-error")).textContent).not.toBe("");
    fireEvent.mouseDown(document.body);
    expect(screen.queryByTestId("bell-panel")).toBeNull();
  });
});

describe("relativeTime", () => {
  const now = Date.parse("2026-12-06T12:00:00Z");
  it("says how long ago in either language", () => {
    expect(relativeTime("2026-12-06T11:59:30Z", "en", "just now", now)).toBe("just now");
    expect(relativeTime("2026-12-06T11:55:00Z", "en", "just now", now)).toBe("5 minutes ago");
    expect(relativeTime("2026-12-06T11:55:00Z", "zh-CN", "刚刚", now)).toBe("5分钟前");
    expect(relativeTime("2026-12-06T09:00:00Z", "en", "", now)).toBe("3 hours ago");
    expect(relativeTime("2026-12-05T12:00:00Z", "zh-CN", "", now)).toBe("昨天");
    expect(relativeTime("2026-11-20T12:00:00Z", "en", "", now)).toBe("2 weeks ago");
    expect(relativeTime("not a date", "en", "", now)).toBe("not a date");
  });
});
