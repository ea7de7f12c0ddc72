import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { renderWith } from "../test/util";
import { FileField } from "./FileField";
import { TOKEN_KEY } from "../api";
import { formatSize } from "../files";

// FakeXHR stands in for XMLHttpRequest: the test sees what was sent and
// answers when it likes, with progress in between.
class FakeXHR {
  static last: FakeXHR | null = null;
  method = "";
  url = "";
  headers: Record<string, string> = {};
  body: FormData | null = null;
  status = 0;
  statusText = "";
  responseText = "";
  upload: { onprogress: ((e: { lengthComputable: boolean; loaded: number; total: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  constructor() {
    FakeXHR.last = this;
  }
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(k: string, v: string) {
    this.headers[k] = v;
  }
  getResponseHeader() {
    return null;
  }
  send(body: FormData) {
    this.body = body;
  }
  abort() {
    this.onabort?.();
  }
  progress(loaded: number, total: number) {
    this.upload.onprogress?.({ lengthComputable: true, loaded, total });
  }
  answer(status: number, body: unknown) {
    this.status = status;
    this.responseText = JSON.stringify(body);
    this.onload?.();
  }
}

const metas: Record<string, unknown> = {
  f1: { id: "f1", name: "报价单.png", size: 2048, contentType: "image/png", thumbnail: true },
  f2: { id: "f2", name: "contract.pdf", size: 1536000, contentType: "application/pdf", thumbnail: false },
};

// serveFiles answers GET /api/files/{id}/meta and the bytes.
function serveFiles() {
  const calls: { url: URL; headers: Record<string, string> }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (input: string, init: RequestInit = {}) => {
    const url = new URL(input, "http://forma.test");
    calls.push({ url, headers: (init.headers ?? {}) as Record<string, string> });
    const m = /^\/api\/files\/([^/]+)(\/meta)?$/.exec(url.pathname);
    const meta = m && metas[decodeURIComponent(m[1])];
    if (!meta) {
      const text = JSON.stringify({ error: { code: "not_found", message: "no such file" } });
      return { ok: false, status: 404, statusText: "", headers: new Headers(), text: async () => text } as unknown as Response;
    }
    return {
      ok: true, status: 200, statusText: "", headers: new Headers(),
      text: async () => JSON.stringify(meta),
      blob: async () => new Blob(["bytes"], { type: "image/png" }),
    } as unknown as Response;
  }));
  return calls;
}

// Host keeps the field's value as a form would.
function Host({ initial, seen }: { initial: string; seen: string[] }) {
  const [v, setV] = useState(initial);
  return <FileField app="docs" value={v} onChange={(id) => { seen.push(id); setV(id); }} testId="field-contract" inputId="f-contract" />;
}

beforeEach(() => {
  localStorage.setItem(TOKEN_KEY, "tok-1");
  vi.stubGlobal("XMLHttpRequest", FakeXHR);
  URL.createObjectURL = vi.fn(() => "blob:thumb");
  URL.revokeObjectURL = vi.fn();
});

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
  FakeXHR.last = null;
});

describe("FileField", () => {
  it("shows the current file with its size, thumbnail and a download, fetched with the token", async () => {
    const calls = serveFiles();
    renderWith(<Host initial="f1" seen={[]} />);
    expect(await screen.findByTestId("field-contract-download")).toHaveProperty("textContent", "报价单.png");
    expect(screen.getByTestId("field-contract-current").textContent).toContain("2 KB");
    await waitFor(() => expect(screen.getByTestId("field-contract-thumb").getAttribute("src")).toBe("blob:thumb"));
    expect(calls.map((c) => c.url.pathname + c.url.search)).toEqual(["/api/files/f1/meta", "/api/files/f1?thumb=1"]);
    expect(calls.every((c) => c.headers.Authorization === "Bearer tok-1")).toBe(true);

    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(() => {});
    fireEvent.click(screen.getByTestId("field-contract-download"));
    await waitFor(() => expect(click).toHaveBeenCalled());
    expect(calls.map((c) => c.url.pathname + c.url.search)).toContain("/api/files/f1");
    click.mockRestore();
  });

  it("uploads a chosen file with progress and takes its id", async () => {
    serveFiles();
    const seen: string[] = [];
    renderWith(<Host initial="" seen={seen} />);
    const file = new File(["%PDF-1.4"], "contract.pdf", { type: "text/plain" });
    fireEvent.change(screen.getByTestId("field-contract-input"), { target: { files: [file] } });
    const xhr = FakeXHR.last!;
    expect(xhr.method).toBe("POST");
    expect(xhr.url).toBe("/api/files");
    expect(xhr.headers.Authorization).toBe("Bearer tok-1");
    expect(xhr.body!.get("app")).toBe("docs");
    expect((xhr.body!.get("file") as File).name).toBe("contract.pdf");
    act(() => xhr.progress(50, 200));
    expect(screen.getByTestId("field-contract-progress").textContent).toContain("25%");
    await act(async () => xhr.answer(201, metas.f2));
    expect(seen).toEqual(["f2"]);
    expect(screen.queryByTestId("field-contract-progress")).toBeNull();
    expect((await screen.findByTestId("field-contract-download")).textContent).toBe("contract.pdf");
    expect(screen.getByTestId("field-contract-current").textContent).toContain(formatSize(1536000));
    expect(screen.queryByTestId("field-contract-thumb")).toBeNull();

    fireEvent.click(screen.getByTestId("field-contract-remove"));
    expect(seen).toEqual(["f2", ""]);
    expect(screen.queryByTestId("field-contract-current")).toBeNull();
  });

  it("takes a dropped file", async () => {
    serveFiles();
    const seen: string[] = [];
    renderWith(<Host initial="" seen={seen} />);
    const file = new File(["x"], "dropped.pdf");
    fireEvent.drop(screen.getByTestId("field-contract"), { dataTransfer: { files: [file] } });
    expect((FakeXHR.last!.body!.get("file") as File).name).toBe("dropped.pdf");
    await act(async () => FakeXHR.last!.answer(201, metas.f2));
    expect(seen).toEqual(["f2"]);
  });

  it("shows the server's refusal of a file over the app's limit, in the user's language", async () => {
    serveFiles();
    const seen: string[] = [];
    renderWith(<Host initial="" seen={seen} />, "zh-CN");
    expect(screen.getByText("选择文件")).toBeTruthy();
    fireEvent.change(screen.getByTestId("field-contract-input"), { target: { files: [new File(["x"], "big.bin")] } });
    await act(async () => FakeXHR.last!.answer(413, { error: { code: "file_too_large", message: "the file is larger than this app's limit of 1 MB" } }));
    const err = screen.getByTestId("field-contract-error");
    expect(err.textContent).toContain("文件超过了此应用允许的大小");
    expect(err.textContent).toContain("1 MB");
    expect(seen).toEqual([]);
  });

  it("says when the current file is not available to the viewer, and is read-only when asked", async () => {
    serveFiles();
    renderWith(<FileField app="docs" value="gone" onChange={() => {}} readOnly testId="field-contract" inputId="f-contract" />);
    expect(await screen.findByTestId("field-contract-missing")).toBeTruthy();
    expect(screen.queryByTestId("field-contract-input")).toBeNull();
    expect(screen.queryByTestId("field-contract-remove")).toBeNull();
  });
});

describe("formatSize", () => {
  it("counts in 1024s", () => {
    expect(formatSize(0)).toBe("0 B");
    expect(formatSize(1023)).toBe("1,023 B");
    expect(formatSize(1536)).toBe("1.5 KB");
    expect(formatSize(10 * 1024 * 1024)).toBe("10 MB");
    expect(formatSize(150 * 1024 * 1024)).toBe("150 MB");
  });
});
