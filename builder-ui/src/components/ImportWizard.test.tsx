import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { AppDocument } from "../api";
import type { ImportOptions, ImportStatus, Preview } from "../imports";
import { mockFetch, renderWith, type Call } from "../test/util";
import { ImportWizard, POLL_MS } from "./ImportWizard";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "customer",
    label: "Customers",
    fields: [
      { id: "1", name: "name", type: "text", label: "Name", required: true },
      { id: "2", name: "phone", type: "phone", label: "Phone", unique: true },
      { id: "3", name: "revenue", type: "decimal", label: "Revenue", scale: 2 },
      { id: "4", name: "since", type: "date", label: "Since" },
    ],
  }],
};
const entity = app.entities[0];
const fields = entity.fields.map((f) => ({ name: f.name, label: f.label, type: f.type, required: f.required }));

// sent: every multipart request (path and its options), answered by route.
interface Sent { path: string; options: ImportOptions; file: string }
let sent: Sent[] = [];
let route: (s: Sent) => { status: number; body: unknown } = () => ({ status: 404, body: {} });

class FakeXHR {
  url = "";
  status = 0;
  statusText = "";
  responseText = "";
  headers: Record<string, string> = {};
  upload = { onprogress: null as null | ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  open(_m: string, url: string) { this.url = url; }
  setRequestHeader(k: string, v: string) { this.headers[k] = v; }
  getResponseHeader() { return null; }
  send(form: FormData) {
    const s = { path: this.url, options: JSON.parse(String(form.get("options"))) as ImportOptions, file: (form.get("file") as File).name };
    sent.push(s);
    const r = route(s);
    queueMicrotask(() => {
      this.upload.onprogress?.({ lengthComputable: true, loaded: 1, total: 1 });
      this.status = r.status;
      this.responseText = JSON.stringify(r.body);
      this.onload?.();
    });
  }
}

// preview answers as the server would: the explicit map wins, else by label.
function preview(map?: Record<string, string>): Preview {
  const byLabel: Record<string, string> = { 客户名称: "name", 电话: "phone", 营收: "revenue" };
  const headers = ["客户名称", "电话", "营收", "地区"];
  const columns = headers.map((h, index) => {
    const field = map && h in map ? map[h] : byLabel[h];
    return { index, header: h, field: field || undefined, by: map && h in map ? "map" : field ? "label" : undefined };
  });
  return {
    format: "csv", encoding: "gb18030", delimiter: ",", headers,
    mapping: {
      columns,
      unknown: columns.filter((c) => !c.field && !c.by).map((c) => c.header),
      missing: columns.some((c) => c.field === "name") ? [] : ["name"],
    },
    rows: [
      { row: 2, values: { name: "华为", phone: "13800000000", revenue: "1200000.00" }, problems: [] },
      { row: 3, values: null, problems: [{ row: 3, column: "营收", field: "revenue", value: "一百万", reason: "not a number" }] },
    ],
    fields,
  };
}

function choose(name = "客户.csv") {
  const input = screen.getByTestId("import-file");
  fireEvent.change(input, { target: { files: [new File(["客户名称,电话\n"], name, { type: "text/csv" })] } });
}

const status = (p: Partial<ImportStatus>): ImportStatus => ({
  id: "imp1", status: "running", rows: 0, processed: 0, created: 0, updated: 0, skipped: 0, bad: 0, ...p,
});

beforeEach(() => {
  sent = [];
  vi.stubGlobal("XMLHttpRequest", FakeXHR);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function toMapping() {
  route = (s) => (s.path.endsWith("/imports/preview") ? { status: 200, body: preview(s.options.map) } : { status: 404, body: {} });
  mockFetch(() => undefined);
  renderWith(<ImportWizard app={app} entity={entity} onClose={() => undefined} onDone={() => undefined} />);
  choose();
  fireEvent.change(screen.getByTestId("import-encoding"), { target: { value: "gb18030" } });
  fireEvent.change(screen.getByTestId("import-upsert"), { target: { value: "phone" } });
  fireEvent.click(screen.getByTestId("import-next"));
  await screen.findByTestId("import-map");
}

describe("import wizard: upload and mapping", () => {
  it("sends the file with the options and shows the mapping, unknown columns and problems per cell", async () => {
    await toMapping();
    expect(sent).toHaveLength(1);
    expect(sent[0].path).toBe("/api/data/crm/customer/imports/preview");
    expect(sent[0].file).toBe("客户.csv");
    expect(sent[0].options).toMatchObject({ encoding: "gb18030", upsertBy: "phone" });
    expect(sent[0].options.timeZone).toBeTruthy();
    expect(sent[0].options.map).toBeUndefined();
    // Pre-filled from the server's mapping; the unknown column is highlighted.
    expect((screen.getByTestId("import-map-0") as HTMLSelectElement).value).toBe("name");
    const unknown = screen.getAllByTestId("import-col").find((r) => r.getAttribute("data-header") === "地区")!;
    expect(unknown.className).toContain("import-unknown");
    expect(screen.getByTestId("import-unknown-note")).toBeTruthy();
    // The bad cell says why.
    const bad = screen.getByTestId("import-bad-cell");
    expect(bad.textContent).toContain("一百万");
    expect(bad.textContent).toContain("not a number");
    expect(screen.getAllByTestId("import-preview-row")[0].textContent).toContain("华为");
  });

  it("previews again with options.map when a column's field changes; a required field unmapped blocks Next", async () => {
    await toMapping();
    fireEvent.change(screen.getByTestId("import-map-3"), { target: { value: "since" } });
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1].options.map).toEqual({ 客户名称: "name", 电话: "phone", 营收: "revenue", 地区: "since" });
    await waitFor(() => expect(screen.queryByTestId("import-unknown-note")).toBeNull());
    // Ignoring the name column leaves the required Name unfilled.
    fireEvent.change(screen.getByTestId("import-map-0"), { target: { value: "" } });
    await waitFor(() => expect(sent).toHaveLength(3));
    expect(sent[2].options.map?.["客户名称"]).toBe("");
    expect((await screen.findByTestId("import-missing")).textContent).toContain("Name");
    expect((screen.getByTestId("import-next") as HTMLButtonElement).disabled).toBe(true);
    // Back to the options and on again: the choices stay.
    fireEvent.click(screen.getByTestId("import-back"));
    fireEvent.change(screen.getByTestId("import-delimiter"), { target: { value: ";" } });
    fireEvent.click(screen.getByTestId("import-next"));
    await waitFor(() => expect(sent).toHaveLength(4));
    expect(sent[3].options).toMatchObject({ delimiter: ";", map: { 客户名称: "", 地区: "since" } });
  });

  it("says when the file is too large", async () => {
    route = () => ({ status: 413, body: { error: { code: "file_too_large", message: "over 200 MB" } } });
    mockFetch(() => undefined);
    renderWith(<ImportWizard app={app} entity={entity} onClose={() => undefined} onDone={() => undefined} />, "zh-CN");
    choose();
    fireEvent.click(screen.getByTestId("import-next"));
    expect((await screen.findByTestId("import-error")).textContent).toContain("文件太大");
  });
});

describe("import wizard: check and run", () => {
  it("a dry run lists every bad row before anything is written, with the errors.csv link", async () => {
    await toMapping();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    route = (s) => (s.path.endsWith("/imports") ? { status: 202, body: { id: "dry1", status: "queued" } } : { status: 404, body: {} });
    const polls: Call[] = mockFetch((c) => (c.url.pathname === "/api/data/crm/customer/imports/dry1"
      ? { body: status({ id: "dry1", status: "done", dryRun: true, rows: 3, processed: 3, bad: 1, errorCount: 1,
        errors: [{ row: 3, column: "营收", field: "revenue", value: "一百万", reason: "not a number" }] }) }
      : undefined));
    fireEvent.click(screen.getByTestId("import-next"));
    fireEvent.click(screen.getByTestId("import-dry"));
    await act(async () => { await vi.advanceTimersByTimeAsync(0); });
    expect(sent.at(-1)!.options).toMatchObject({ dryRun: true, map: { 地区: "" } });
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS); });
    expect(polls).toHaveLength(1);
    const bad = screen.getByTestId("import-dry-bad");
    expect(bad.textContent).toContain("1 of 3 rows are bad");
    const row = within(bad).getByTestId("import-problem");
    expect(row.textContent).toContain("3");
    expect(row.textContent).toContain("营收");
    expect(row.textContent).toContain("not a number");
    expect(screen.getByTestId("import-errors-csv").getAttribute("href")).toBe("/api/data/crm/customer/imports/dry1/errors.csv");
  });

  it("polls the run each second with a live progress bar, then shows the counts and the duplicates", async () => {
    await toMapping();
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    route = (s) => (s.path.endsWith("/imports") ? { status: 202, body: { id: "imp1", status: "queued" } } : { status: 404, body: {} });
    const answers = [
      status({ rows: 100, processed: 50, rowsPerSecond: 25 }),
      status({ status: "done", rows: 100, processed: 100, created: 97, updated: 2, bad: 0, duplicates: [{ row: 7, matches: ["c42"], rule: "by_phone" }] }),
    ];
    let n = 0;
    const polls = mockFetch((c) => (c.url.pathname === "/api/data/crm/customer/imports/imp1" ? { body: answers[Math.min(n++, 1)] } : undefined));
    fireEvent.click(screen.getByTestId("import-next"));
    fireEvent.click(screen.getByTestId("import-run"));
    await act(async () => { await vi.advanceTimersByTimeAsync(0); });
    expect(sent.at(-1)!.options.dryRun).toBeUndefined();
    expect(screen.getByTestId("import-progress-text").textContent).toContain("Waiting");
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS); });
    expect(polls).toHaveLength(1);
    expect(screen.getByTestId("import-progress-text").textContent).toBe("50 of 100 rows · 25 rows/s · 2s left");
    expect((screen.getByTestId("import-progress").querySelector("progress") as HTMLProgressElement).value).toBe(50);
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS - 1); });
    expect(polls).toHaveLength(1);
    await act(async () => { await vi.advanceTimersByTimeAsync(1); });
    expect(polls).toHaveLength(2);
    expect(screen.getByTestId("import-created").textContent).toBe("97");
    expect(screen.getByTestId("import-updated").textContent).toBe("2");
    const dup = screen.getByTestId("import-duplicate");
    expect(dup.textContent).toContain("Row 7");
    expect(dup.querySelector("a")!.getAttribute("href")).toBe("#/a/crm/customer/c42");
    // Done: no more polling.
    await act(async () => { await vi.advanceTimersByTimeAsync(POLL_MS * 3); });
    expect(polls).toHaveLength(2);
  });

  it("says nothing was written when an all-or-nothing import meets a bad row (in Chinese)", async () => {
    route = (s) => (s.path.endsWith("/preview") ? { status: 200, body: preview() }
      : { status: 202, body: { id: "imp2", status: "queued" } });
    mockFetch((c) => (c.url.pathname.endsWith("/imports/imp2")
      ? { body: status({ id: "imp2", status: "done", rows: 3, processed: 3, bad: 1, errorCount: 1, errors: [{ row: 3, column: "营收", reason: "not a number" }] }) }
      : undefined));
    renderWith(<ImportWizard app={app} entity={entity} onClose={() => undefined} onDone={() => undefined} />, "zh-CN");
    choose();
    fireEvent.click(screen.getByTestId("import-next"));
    await screen.findByTestId("import-map");
    fireEvent.click(screen.getByTestId("import-next"));
    fireEvent.click(screen.getByTestId("import-run"));
    const nothing = await screen.findByTestId("import-nothing", {}, { timeout: 4000 });
    expect(nothing.textContent).toContain("未写入任何数据");
    expect(screen.getByTestId("import-problem").textContent).toContain("not a number");
  });
});
