import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { TemplateInfo } from "../api";
import { mockFetch, renderWith, type Call } from "../test/util";
import { inLang, TemplateGallery } from "./Gallery";

const PIC = "data:image/svg+xml;base64,PHN2Zy8+";
const pipeline: TemplateInfo = {
  name: "pipeline", app: "pipeline", installed: false, picture: PIC,
  labels: { "zh-CN": "销售管理系统", en: "Sales pipeline" },
  descriptions: { "zh-CN": "从线索到回款", en: "From lead to won deal" },
};
const store: TemplateInfo = {
  name: "store-sales", app: "storesales", installed: true, picture: PIC,
  labels: { "zh-CN": "门店销售管理系统", en: "Store sales" },
  descriptions: { "zh-CN": "门店与库存", en: "Stores and stock" },
};

const installs = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.url.pathname.startsWith("/api/meta/templates/"));

// serve answers the list, and every install with answer(call).
function serve(answer: (c: Call) => { status?: number; body?: unknown } = (c) => ({
  status: 201, body: { app: (c.body as { app?: string }).app ?? [pipeline, store].find((t) => c.url.pathname.includes(`/${t.name}/`))!.app, version: 1 },
})) {
  return mockFetch((c) => {
    if (c.method === "GET" && c.url.pathname === "/api/meta/templates") return { body: { items: [pipeline, store] } };
    if (c.method === "POST" && c.url.pathname.startsWith("/api/meta/templates/")) return answer(c);
  });
}

beforeEach(() => {
  window.location.hash = "";
});
afterEach(() => vi.unstubAllGlobals());

async function open(name: string) {
  fireEvent.click(await screen.findByTestId(`template-install-${name}`));
  return screen.getByTestId("template-dialog");
}

describe("the template gallery", () => {
  it("shows a card per template with its picture, label and description in English", async () => {
    serve();
    renderWith(<TemplateGallery taken={[]} />);
    const card = await screen.findByTestId("template-pipeline");
    expect(within(card).getByRole("heading").textContent).toBe("Sales pipeline");
    expect(card.textContent).toContain("From lead to won deal");
    expect(screen.getByTestId("template-picture-pipeline").getAttribute("src")).toBe(PIC);
    // The picture is decoration: the heading names the card for a screen reader.
    expect(screen.getByTestId("template-picture-pipeline").getAttribute("alt")).toBe("");
    expect(screen.getByRole("button", { name: "Use the template Sales pipeline" })).toBeTruthy();
    expect(screen.queryByTestId("template-installed-pipeline")).toBeNull();
    expect(screen.getByTestId("template-installed-store-sales").textContent).toBe("Installed");
    expect(screen.getByTestId("template-install-store-sales").textContent).toBe("Upgrade or copy");
    expect(screen.queryByTestId("start-blank")).toBeNull();
  });

  it("speaks Chinese in zh-CN and offers to start blank on the first start", async () => {
    serve();
    const blank = vi.fn();
    renderWith(<TemplateGallery taken={[]} onBlank={blank} />, "zh-CN");
    const card = await screen.findByTestId("template-store-sales");
    expect(within(card).getByRole("heading").textContent).toContain("门店销售管理系统");
    expect(card.textContent).toContain("门店与库存");
    expect(screen.getByTestId("template-installed-store-sales").textContent).toBe("已安装");
    fireEvent.click(screen.getByTestId("start-blank"));
    expect(blank).toHaveBeenCalledOnce();
  });

  it("falls back to English, then to any language, then to the name", () => {
    expect(inLang({ en: "Sales", fr: "Ventes" }, "zh-CN")).toBe("Sales");
    expect(inLang({ fr: "Ventes" }, "zh-CN")).toBe("Ventes");
    expect(inLang(undefined, "en")).toBe("");
  });

  it("installs with 1,000 sample rows by default and opens the app", async () => {
    const calls = serve();
    renderWith(<TemplateGallery taken={[]} />);
    const dialog = await open("pipeline");
    expect(within(dialog).getByRole("heading").textContent).toBe("Install Sales pipeline");
    // Focus starts inside the dialog, on the sample choice.
    expect(document.activeElement).toBe(screen.getByTestId("template-sample"));
    expect((screen.getByTestId("template-sample") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByTestId("template-rows") as HTMLInputElement).value).toBe("1000");
    expect(screen.queryByTestId("template-mode-upgrade")).toBeNull();
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/pipeline"));
    expect(installs(calls)).toHaveLength(1);
    expect(installs(calls)[0].url.pathname).toBe("/api/meta/templates/pipeline/install");
    expect(installs(calls)[0].body).toEqual({ sample: 1000 });
  });

  it("opens the installed app on its first dashboard when it has one", async () => {
    mockFetch((c) => {
      if (c.url.pathname === "/api/meta/templates") return { body: { items: [pipeline] } };
      if (c.method === "POST") return { status: 201, body: { app: "pipeline", version: 1 } };
      if (c.url.pathname === "/api/dash/pipeline") return { body: { items: [{ name: "funnel", widgets: [] }, { name: "leads", widgets: [] }] } };
    });
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(window.location.hash).toBe("#/d/pipeline/funnel"));
  });

  it("installs without sample data when it is unticked, and with the rows typed", async () => {
    const calls = serve();
    const { unmount } = renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    fireEvent.click(screen.getByTestId("template-sample"));
    expect(screen.queryByTestId("template-rows")).toBeNull();
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(installs(calls)).toHaveLength(1));
    expect(installs(calls)[0].body).toEqual({ sample: 0 });
    unmount();
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    fireEvent.change(screen.getByTestId("template-rows"), { target: { value: "20000" } });
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(installs(calls)).toHaveLength(2));
    expect(installs(calls)[1].body).toEqual({ sample: 20000 });
  });

  it("refuses sample sizes the API does not take, and sends nothing", async () => {
    const calls = serve();
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    for (const bad of ["99", "20001", "1e3", "-100", "", "12.5", "abc"]) {
      fireEvent.change(screen.getByTestId("template-rows"), { target: { value: bad } });
      fireEvent.click(screen.getByTestId("template-install-go"));
      expect(screen.getByTestId("template-problem").textContent).toBe("Enter a number of rows from 100 to 20,000.");
    }
    expect(installs(calls)).toHaveLength(0);
    expect(window.location.hash).toBe("");
  });

  it("offers an installed template as an upgrade that keeps the data (no sample rows on top)", async () => {
    const calls = serve();
    renderWith(<TemplateGallery taken={["storesales"]} />);
    await open("store-sales");
    expect((screen.getByTestId("template-mode-upgrade") as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("template-sample")).toBeNull();
    expect(screen.getByTestId("template-upgrade-note").textContent).toContain("loses no data");
    expect(screen.getByTestId("template-install-go").textContent).toBe("Upgrade");
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/storesales"));
    expect(installs(calls)[0].body).toEqual({ upgrade: true, sample: 0 });
  });

  it("installs a copy of an installed template under a new, free, valid name", async () => {
    const calls = serve();
    renderWith(<TemplateGallery taken={["storesales", "crm"]} />);
    await open("store-sales");
    fireEvent.click(screen.getByTestId("template-mode-copy"));
    expect(screen.getByTestId("template-sample")).toBeTruthy();
    for (const [name, why] of [["", "lower-case"], ["Shop!", "lower-case"], ["crm", "already exists"], ["storesales", "already exists"]]) {
      fireEvent.change(screen.getByTestId("template-app-name"), { target: { value: name } });
      fireEvent.click(screen.getByTestId("template-install-go"));
      expect(screen.getByTestId("template-problem").textContent).toContain(why);
    }
    expect(installs(calls)).toHaveLength(0);
    fireEvent.change(screen.getByTestId("template-app-name"), { target: { value: " shop2 " } });
    fireEvent.click(screen.getByTestId("template-install-go"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/shop2"));
    expect(installs(calls)[0].body).toEqual({ app: "shop2", sample: 1000 });
  });

  it("shows progress while the install runs and cannot be closed meanwhile", async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      let finish: (r: Response) => void = () => {};
      vi.stubGlobal("fetch", vi.fn(async (input: string, init: RequestInit = {}) => {
        const text = (body: unknown, status = 200) => ({ ok: status < 300, status, statusText: "", headers: new Headers(), text: async () => JSON.stringify(body) }) as unknown as Response;
        if ((init.method ?? "GET") === "GET") return input === "/api/meta/templates" ? text({ items: [pipeline] }) : text({ error: { code: "not_found" } }, 404);
        return new Promise<Response>((resolve) => { finish = () => resolve(text({ app: "pipeline", version: 1 }, 201)); });
      }));
      renderWith(<TemplateGallery taken={[]} />);
      const dialog = await open("pipeline");
      fireEvent.click(screen.getByTestId("template-install-go"));
      const progress = await screen.findByTestId("template-progress");
      expect(progress.getAttribute("role")).toBe("status");
      expect(progress.textContent).toContain("writing 1,000 sample rows");
      expect((screen.getByTestId("template-install-go") as HTMLButtonElement).disabled).toBe(true);
      await act(async () => { vi.advanceTimersByTime(3000); });
      expect(screen.getByTestId("template-progress").textContent).toMatch(/ [34] s$/);
      fireEvent.keyDown(dialog, { key: "Escape" });
      expect(screen.getByTestId("template-dialog")).toBeTruthy();
      await act(async () => finish(undefined as unknown as Response));
      await waitFor(() => expect(window.location.hash).toBe("#/a/pipeline"));
    } finally {
      vi.useRealTimers();
    }
  });

  it("words the install's errors by their code, keeps the dialog open and changes nothing", async () => {
    const answers = [
      { status: 409, body: { error: { code: "app_exists", message: "app pipeline exists", details: [{ path: "/app", code: "app_exists", params: { app: "pipeline" }, message: "installed already" }] } } },
      { status: 404, body: { error: { code: "template_not_found", message: "no template" } } },
      { status: 403, body: { error: { code: "forbidden", message: "admins only" } } },
      { status: 422, body: { error: { code: "invalid_value", message: "sample must be between 0 and 20000", details: [{ path: "/sample", code: "range", message: "must be between 0 and 20000" }] } } },
      { status: 422, body: { error: { code: "validation_failed", message: "1 problem", details: [{ path: "/entities/0/name", code: "invalid_name", message: "bad name" }] } } },
    ];
    const want = [
      "An app with this name is already installed; nothing was changed. Upgrade it, or install a copy under another name.",
      "This template is no longer on the server. Reload the page.",
      "You do not have permission to do this.",
      "The server refused a value; nothing was changed.",
      "The template does not pass the app checks; nothing was installed.",
    ];
    // The details that say which value or check are listed; a detail that repeats the wording is not.
    const listed = [null, null, null, "/sample", "/entities/0/name"];
    let n = 0;
    const calls = serve(() => answers[n++]);
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    for (let i = 0; i < answers.length; i++) {
      fireEvent.click(screen.getByTestId("template-install-go"));
      await waitFor(() => expect(installs(calls)).toHaveLength(i + 1));
      const alert = await screen.findByTestId("template-error");
      await waitFor(() => expect(alert.firstElementChild!.textContent).toBe(want[i]));
      const items = within(alert).queryAllByRole("listitem").map((li) => li.textContent);
      expect(items).toEqual(listed[i] ? [expect.stringContaining(listed[i]!)] : []);
      expect((screen.getByTestId("template-install-go") as HTMLButtonElement).disabled).toBe(false);
      expect(screen.queryByTestId("template-open-partly")).toBeNull();
    }
    expect(window.location.hash).toBe("");
  });

  it("offers to open the app when it was installed but its sample data failed", async () => {
    serve(() => ({ status: 500, body: { error: { code: "sample_failed", message: "sample data failed",
      details: [{ path: "/sample", code: "sample_failed", params: { app: "pipeline", version: 1 }, message: "sample data failed" }] } } }));
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    fireEvent.click(screen.getByTestId("template-install-go"));
    const alert = await screen.findByTestId("template-error");
    expect(alert.firstElementChild!.textContent).toContain("The app is installed, but its sample data could not be written");
    fireEvent.click(screen.getByTestId("template-open-partly"));
    expect(window.location.hash).toBe("#/a/pipeline");
  });

  it("words them in Chinese too", async () => {
    serve(() => ({ status: 409, body: { error: { code: "app_exists", message: "exists" } } }));
    renderWith(<TemplateGallery taken={[]} />, "zh-CN");
    await open("pipeline");
    fireEvent.click(screen.getByTestId("template-install-go"));
    expect((await screen.findByTestId("template-error")).textContent).toBe("同名应用已安装，未做任何更改。请选择升级，或以其他名称再安装一份。");
  });

  it("says when the list cannot be read, and retries", async () => {
    let fail = true;
    mockFetch((c) => {
      if (c.url.pathname !== "/api/meta/templates") return undefined;
      return fail ? { status: 500, body: { error: { code: "internal", message: "boom" } } } : { body: { items: [pipeline] } };
    });
    renderWith(<TemplateGallery taken={[]} />);
    const box = await screen.findByTestId("templates-error");
    expect(box.textContent).toContain("internal");
    fail = false;
    fireEvent.click(within(box).getByRole("button"));
    expect(await screen.findByTestId("template-pipeline")).toBeTruthy();
    expect(screen.queryByTestId("templates-error")).toBeNull();
  });

  it("names a template without labels or picture by its name", async () => {
    mockFetch((c) => (c.url.pathname === "/api/meta/templates" ? { body: { items: [{ name: "bare", app: "bare", installed: false }] } } : undefined));
    renderWith(<TemplateGallery taken={[]} />, "zh-CN");
    const card = await screen.findByTestId("template-bare");
    expect(within(card).getByRole("heading").textContent).toBe("bare");
    expect(screen.queryByTestId("template-picture-bare")).toBeNull();
    expect(screen.getByRole("button", { name: "使用模板bare" })).toBeTruthy();
  });

  it("says when the server has no templates", async () => {
    mockFetch((c) => (c.url.pathname === "/api/meta/templates" ? { body: { items: [] } } : undefined));
    renderWith(<TemplateGallery taken={[]} />);
    expect((await screen.findByTestId("templates-none")).textContent).toBe("This server has no templates.");
  });

  it("is closed with Cancel or Escape without a request", async () => {
    const calls = serve();
    renderWith(<TemplateGallery taken={[]} />);
    await open("pipeline");
    fireEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect(screen.queryByTestId("template-dialog")).toBeNull();
    const dialog = await open("pipeline");
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(screen.queryByTestId("template-dialog")).toBeNull();
    expect(installs(calls)).toHaveLength(0);
  });
});
