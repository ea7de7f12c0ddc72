import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { beforeEach, describe, expect, it } from "vitest";
import { mockFetch, renderWith, type Call } from "../test/util";
import { Admin } from "./Admin";

const counts = { queued: 2, scheduled: 1, running: 0, retryable: 3, completed: 40, discarded: 1, cancelled: 0, pending: 0 };
const longError = "hook after_create on deal: TypeError: cannot read property 'amount' of undefined at line 12 of the script pricing";
const jobs = [
  {
    id: 12, kind: "after_hook", state: "retryable", queue: "default", attempt: 2, maxAttempts: 5, createdAt: "2026-12-06T02:00:00Z",
    nextRunAt: "2026-12-06T03:30:00Z", lastError: longError,
    errors: [{ attempt: 1, at: "2026-12-06T02:00:01Z", error: "first failure" }, { attempt: 2, at: "2026-12-06T02:01:00Z", error: longError }],
    args: { app: "crm", entity: "deal", id: "d1" },
  },
  {
    id: 11, kind: "webhook", state: "completed", queue: "default", attempt: 1, maxAttempts: 5, createdAt: "2026-12-06T01:00:00Z",
    finalizedAt: "2026-12-06T01:00:02Z", errors: [], args: { url: "https://example.com" },
  },
];

function serve(extra: (c: Call) => ReturnType<Parameters<typeof mockFetch>[0]> = () => undefined) {
  return mockFetch((c) => {
    const r = extra(c);
    if (r) return r;
    if (c.method === "GET" && c.url.pathname === "/api/admin/jobs") {
      const state = c.url.searchParams.get("state");
      return { body: { items: jobs.filter((j) => !state || j.state === state), counts } };
    }
    return undefined;
  });
}
const lists = (calls: Call[]) => calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/admin/jobs");

describe("Admin: jobs", () => {
  beforeEach(() => {
    window.location.hash = "#/admin/jobs";
  });

  it("shows the counts by state and the jobs, times in the user's zone, errors and args on expand", async () => {
    serve();
    renderWith(<Admin tab="jobs" />);
    const row = await screen.findByTestId("job-row-12");
    expect(screen.getByTestId("job-count-retryable").textContent).toBe("3");
    expect(screen.getByTestId("job-count-completed").textContent).toBe("40");
    expect(screen.getByTestId("job-state-all").textContent).toContain("47");
    expect(row.textContent).toContain("after_hook");
    expect(row.textContent).toContain("Will retry");
    expect(row.textContent).toContain("2 / 5");
    // Truncated in the row; Asia/Shanghai (the tests' zone) is UTC+8.
    expect(row.textContent).not.toContain("script pricing");
    expect(row.textContent).toContain("11:30");
    expect(screen.getByTestId("job-row-11").textContent).toContain("Finished");
    // A completed job offers neither retry nor cancel; a retryable one both.
    expect(within(screen.getByTestId("job-row-11")).queryByTestId("job-retry")).toBeNull();
    expect(within(screen.getByTestId("job-row-11")).queryByTestId("job-cancel")).toBeNull();
    fireEvent.click(within(row).getByTestId("job-expand"));
    const detail = screen.getByTestId("job-detail-12");
    const errs = within(detail).getByTestId("job-errors").querySelectorAll("li");
    expect(errs.length).toBe(2);
    expect(errs[0].textContent).toContain("first failure");
    expect(errs[1].textContent).toContain("script pricing");
    expect(JSON.parse(within(detail).getByTestId("job-args").textContent!)).toEqual({ app: "crm", entity: "deal", id: "d1" });
  });

  it("filters by state and kind, keeping them in the URL", async () => {
    const calls = serve();
    renderWith(<Admin tab="jobs" />);
    await screen.findByTestId("job-row-11");
    fireEvent.click(screen.getByTestId("job-state-retryable"));
    await waitFor(() => expect(lists(calls).pop()!.url.searchParams.get("state")).toBe("retryable"));
    expect(window.location.hash).toContain("state=retryable");
    await waitFor(() => expect(screen.queryByTestId("job-row-11")).toBeNull());
    expect(screen.getByTestId("job-state-retryable").getAttribute("aria-pressed")).toBe("true");
    fireEvent.change(screen.getByTestId("job-kind"), { target: { value: "after_hook" } });
    fireEvent.submit(screen.getByTestId("job-kind").closest("form")!);
    await waitFor(() => expect(lists(calls).pop()!.url.searchParams.get("kind")).toBe("after_hook"));
    expect(lists(calls).pop()!.url.searchParams.get("state")).toBe("retryable");
    expect(window.location.hash).toMatch(/state=retryable.*kind=after_hook|kind=after_hook.*state=retryable/);
  });

  it("starts from the state in the URL and pages with the cursor", async () => {
    window.location.hash = "#/admin/jobs?state=completed";
    const calls = serve((c) => {
      if (c.url.pathname !== "/api/admin/jobs") return undefined;
      return c.url.searchParams.get("cursor") === "c1"
        ? { body: { items: [{ ...jobs[1], id: 5 }], counts } }
        : { body: { items: [jobs[1]], nextCursor: "c1", counts } };
    });
    renderWith(<Admin tab="jobs" />);
    await screen.findByTestId("job-row-11");
    expect(lists(calls)[0].url.searchParams.get("state")).toBe("completed");
    fireEvent.click(screen.getByTestId("jobs-more"));
    await screen.findByTestId("job-row-5");
    expect(screen.getByTestId("job-row-11")).toBeTruthy();
    expect(lists(calls).pop()!.url.searchParams.get("state")).toBe("completed");
    expect(screen.queryByTestId("jobs-more")).toBeNull();
  });

  it("retries and cancels after a confirmation, then fetches the list again", async () => {
    const calls = serve((c) => (c.method === "POST" ? { body: { ...jobs[0], state: "queued" } } : undefined));
    renderWith(<Admin tab="jobs" />);
    const row = await screen.findByTestId("job-row-12");
    fireEvent.click(within(row).getByTestId("job-retry"));
    expect(calls.filter((c) => c.method === "POST")).toHaveLength(0);
    fireEvent.click(within(row).getByTestId("job-confirm"));
    await waitFor(() => expect(lists(calls)).toHaveLength(2));
    expect(calls.find((c) => c.method === "POST")!.url.pathname).toBe("/api/admin/jobs/12/retry");
    fireEvent.click(within(screen.getByTestId("job-row-12")).getByTestId("job-cancel"));
    fireEvent.click(within(screen.getByTestId("job-row-12")).getByTestId("job-confirm"));
    await waitFor(() => expect(lists(calls)).toHaveLength(3));
    expect(calls.filter((c) => c.method === "POST").pop()!.url.pathname).toBe("/api/admin/jobs/12/cancel");
    // The refresh button fetches again too.
    fireEvent.click(screen.getByTestId("job-refresh"));
    await waitFor(() => expect(lists(calls)).toHaveLength(4));
  });

  it("shows the server's refusal on the row", async () => {
    serve((c) => (c.method === "POST" ? { status: 404, body: { error: { code: "gone_away", message: "no such job" } } } : undefined));
    renderWith(<Admin tab="jobs" />);
    const row = await screen.findByTestId("job-row-12");
    fireEvent.click(within(row).getByTestId("job-cancel"));
    fireEvent.click(within(row).getByTestId("job-confirm"));
    expect((await within(screen.getByTestId("job-row-12")).findByTestId("job-error")).textContent).toContain("no such job");
  });

  it("shows an error answer of the list", async () => {
    window.location.hash = "#/admin/jobs?state=bogus";
    mockFetch(() => ({ status: 400, body: { error: { code: "invalid_query", message: "state must be one of queued, …", details: [{ path: "/state", message: "state must be one of queued, …" }] } } }));
    renderWith(<Admin tab="jobs" />, "zh-CN");
    const box = await screen.findByTestId("jobs-error");
    expect(box.textContent).toContain("state must be one of");
    expect(box.textContent).toContain("/state");
  });
});
