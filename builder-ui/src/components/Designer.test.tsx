import { act, fireEvent, screen, within } from "@testing-library/react";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keyboardDrag, mockFetch, pointerDrag, renderWith, type Call } from "../test/util";
import { Designer } from "./Designer";
import { saveDraft } from "../designer/drafts";
import { loadPinyin } from "../designer/naming";
import type { DDoc } from "../designer/model";

const stored = (): DDoc => ({
  name: "crm", label: "CRM", version: 3,
  entities: [
    {
      name: "deal", label: "Deals", hooks: { beforeSave: "deal#beforeSave" },
      fields: [
        { id: "d1", name: "title", type: "text", required: true },
        { id: "d2", name: "amount", type: "decimal" },
        { id: "d3", name: "stage", type: "select", options: ["lead", "won"] },
      ],
    },
  ],
  scripts: { deal: "function beforeSave(record, ctx) {}" },
});

const plan = (over: Record<string, unknown> = {}) => ({
  app: "crm", version: 3, dryRun: true, applied: false,
  plan: { fromVersion: 3, toVersion: 4, destructive: false, steps: [{ op: "add_field", entity: "deal", field: "text_1", description: "add deal.text_1", path: "/entities/0/fields/3" }], ...over },
});

// handle: a field row's drag handle.
const handle = (name: string) => screen.getByTestId(`designer-field-${name}`).querySelector<HTMLElement>(".drag-handle")!;

const names = () => Array.from(screen.getByTestId("field-dropzone").querySelectorAll("[data-testid^='designer-field-']"))
  .filter((el) => !el.getAttribute("data-testid")!.startsWith("designer-field-error-"))
  .map((el) => el.getAttribute("data-testid")!.replace("designer-field-", ""));

function serve(handler: (c: Call) => ReturnType<Parameters<typeof mockFetch>[0]>) {
  return mockFetch((c) => {
    if (c.method === "GET" && c.url.pathname === "/api/meta/apps/crm") return { body: stored() };
    return handler(c);
  });
}

const posts = (calls: Call[]) => calls.filter((c) => c.method === "POST" && c.url.pathname === "/api/meta/apps");

beforeEach(() => {
  window.location.hash = "";
});
afterEach(() => sessionStorage.clear());

describe("Designer", () => {
  it("adds fields from the palette by click and by drop, with ids and unique names", async () => {
    serve(() => undefined);
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("palette-text"));
    expect(names()).toEqual(["title", "amount", "stage", "text_1"]);
    // The new field is selected, with a fresh id.
    expect((screen.getByTestId("config-name") as HTMLInputElement).value).toBe("text_1");
    expect(screen.getByTestId("designer-field-text_1").getAttribute("data-id")).toMatch(/^f[0-9a-z]{8}$/);

    // Dropped on the lower half of "title" (jsdom rows have no height): inserted after it.
    await pointerDrag(screen.getByTestId("palette-text"), screen.getByTestId("designer-field-title"), screen.getByTestId("field-dropzone"));
    expect(names()).toEqual(["title", "text_2", "amount", "stage", "text_1"]);
    // Dropped on the empty part of the list: appended.
    const zone = screen.getByTestId("field-dropzone");
    await pointerDrag(screen.getByTestId("palette-date"), zone, zone);
    expect(names()).toEqual(["title", "text_2", "amount", "stage", "text_1", "date_1"]);
    const ids = Array.from(zone.querySelectorAll("li[data-id]")).map((li) => li.getAttribute("data-id"));
    expect(new Set(ids).size).toBe(6);
  });

  it("reorders by dragging and with the up/down buttons", async () => {
    serve(() => undefined);
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    await pointerDrag(handle("title"), screen.getByTestId("designer-field-stage"), screen.getByTestId("field-dropzone"));
    expect(names()).toEqual(["amount", "stage", "title"]);
    fireEvent.click(screen.getByTestId("field-up-title"));
    expect(names()).toEqual(["amount", "title", "stage"]);
    fireEvent.click(screen.getByTestId("field-down-amount"));
    expect(names()).toEqual(["title", "amount", "stage"]);
    expect((screen.getByTestId("field-up-title") as HTMLButtonElement).disabled).toBe(true);
  });

  it("reorders with the keyboard: Space lifts a field's handle, arrows move it, Space drops", async () => {
    serve(() => undefined);
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    const row = (n: string) => screen.getByTestId(`designer-field-${n}`);
    // title, amount, stage stacked 40 px apart; title's handle moved down 80 px lands on stage's lower half.
    await keyboardDrag(handle("title"), row("title"), [
      [screen.getByTestId("field-dropzone"), [0, 0, 300, 200]],
      [row("title"), [0, 0, 300, 40]], [row("amount"), [0, 40, 300, 40]], [row("stage"), [0, 80, 300, 40]],
      [handle("title"), [0, 10, 20, 20]],
    ], "ArrowDown", 4);
    expect(names()).toEqual(["amount", "stage", "title"]);
  });

  it("edits the config of a field into the document that is published", async () => {
    const calls = serve((c) => (posts([c]).length ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("designer-field-title"));
    const cfg = screen.getByTestId("field-config");
    fireEvent.change(within(cfg).getByTestId("config-name"), { target: { value: "subject" } });
    fireEvent.change(within(cfg).getByTestId("config-label"), { target: { value: "Subject" } });
    fireEvent.click(within(cfg).getByTestId("config-required"));
    fireEvent.click(within(cfg).getByTestId("config-unique"));
    fireEvent.change(within(cfg).getByTestId("config-maxLength"), { target: { value: "120" } });
    fireEvent.click(screen.getByTestId("designer-field-stage"));
    fireEvent.change(screen.getByTestId("config-options"), { target: { value: "lead\nqualified\n\nwon\n" } });
    fireEvent.change(screen.getByTestId("config-default"), { target: { value: "lead" } });
    fireEvent.click(screen.getByTestId("designer-field-amount"));
    fireEvent.change(screen.getByTestId("config-scale"), { target: { value: "4" } });
    fireEvent.change(screen.getByTestId("config-min"), { target: { value: "0" } });
    fireEvent.change(screen.getByTestId("config-type"), { target: { value: "formula" } });
    fireEvent.change(screen.getByTestId("config-expr"), { target: { value: "len(subject)" } });
    fireEvent.click(screen.getByTestId("palette-ref"));
    expect((screen.getByTestId("config-entity") as HTMLSelectElement).value).toBe("deal");
    fireEvent.change(screen.getByTestId("config-onDelete"), { target: { value: "setNull" } });
    fireEvent.click(screen.getByTestId("palette-boolean"));
    fireEvent.click(screen.getByTestId("field-delete"));
    expect(screen.queryByTestId("designer-field-boolean_1")).toBeNull();

    fireEvent.click(screen.getByTestId("publish"));
    await screen.findByTestId("plan-dialog");
    const sent = posts(calls)[0];
    expect(sent.url.searchParams.get("dryRun")).toBe("1");
    const body = sent.body as DDoc;
    expect(body.version).toBe(3);
    expect(body.scripts).toEqual(stored().scripts);
    expect(body.entities[0].hooks).toEqual({ beforeSave: "deal#beforeSave" });
    const [title, amount, stage, ref] = body.entities[0].fields;
    // "required" was on: the click turned it off (and the key is dropped).
    expect(title).toEqual({ id: "d1", name: "subject", label: "Subject", type: "text", unique: true, maxLength: 120 });
    expect(amount).toEqual({ id: "d2", name: "amount", type: "formula", expr: "len(subject)" });
    expect(stage).toEqual({ id: "d3", name: "stage", type: "select", options: ["lead", "qualified", "won"], default: "lead" });
    expect(ref).toMatchObject({ name: "ref_1", type: "ref", entity: "deal", onDelete: "setNull" });
    expect(body.entities[0].fields).toHaveLength(4);
  });

  it("publishes: dry run, the plan, apply, reload, success note", async () => {
    let version = 3;
    const calls = mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps/crm") return { body: { ...stored(), version } };
      if (c.method === "POST" && c.url.searchParams.get("dryRun")) {
        return { body: plan({ steps: [{ op: "rename_field", entity: "deal", field: "subject", description: "rename deal.title to subject" }] }) };
      }
      if (c.method === "POST") {
        version = 4;
        return { status: 201, body: { ...plan(), dryRun: false, applied: true, version: 4 } };
      }
    });
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("designer-field-title"));
    fireEvent.change(screen.getByTestId("config-name"), { target: { value: "subject" } });
    fireEvent.click(screen.getByTestId("publish"));
    const dlg = await screen.findByTestId("plan-dialog");
    const steps = within(dlg).getAllByTestId("plan-step");
    expect(steps).toHaveLength(1);
    expect(steps[0].textContent).toContain("rename deal.title to subject");
    expect(steps[0].classList.contains("destructive")).toBe(false);
    expect(screen.queryByTestId("plan-allow-destructive")).toBeNull();
    fireEvent.click(within(dlg).getByTestId("plan-apply"));
    expect((await screen.findByTestId("publish-ok")).textContent).toContain("version 4");
    expect(screen.queryByTestId("plan-dialog")).toBeNull();
    const applied = posts(calls)[1];
    expect(applied.url.search).toBe("");
    expect((applied.body as DDoc).entities[0].fields[0].name).toBe("subject");
    // Reloaded: the next publish carries the new version.
    expect(calls.filter((c) => c.method === "GET" && c.url.pathname === "/api/meta/apps/crm")).toHaveLength(2);
    fireEvent.click(screen.getByTestId("publish"));
    await screen.findByTestId("plan-dialog");
    expect((posts(calls)[2].body as DDoc).version).toBe(4);
  });

  it("cancel closes the plan without applying", async () => {
    const calls = serve((c) => (c.method === "POST" ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("publish"));
    fireEvent.click(await screen.findByTestId("plan-cancel"));
    expect(screen.queryByTestId("plan-dialog")).toBeNull();
    expect(posts(calls)).toHaveLength(1);
  });

  it("keeps Apply off for a destructive plan until allowed, then applies with allowDestructive=1", async () => {
    const calls = serve((c) => {
      if (c.method !== "POST") return undefined;
      if (c.url.searchParams.get("dryRun")) {
        return {
          body: plan({
            destructive: true,
            steps: [{ op: "drop_field", entity: "deal", field: "amount", description: "drop deal.amount", destructive: true, path: "/entities/0/fields/1" }],
            refused: [{ path: "/entities/0/fields/1", message: "drop deal.amount: this loses data; apply with allowDestructive to archive it and go ahead" }],
          }),
        };
      }
      return { status: 201, body: { ...plan(), applied: true, version: 4 } };
    });
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("designer-field-amount"));
    fireEvent.click(screen.getByTestId("field-delete"));
    fireEvent.click(screen.getByTestId("publish"));
    const dlg = await screen.findByTestId("plan-dialog");
    const step = within(dlg).getByTestId("plan-step");
    expect(step.classList.contains("destructive")).toBe(true);
    expect(within(dlg).getByTestId("plan-refused").textContent).toContain("this loses data");
    const apply = within(dlg).getByTestId("plan-apply") as HTMLButtonElement;
    expect(apply.disabled).toBe(true);
    fireEvent.click(within(dlg).getByTestId("plan-allow-destructive"));
    expect(apply.disabled).toBe(false);
    fireEvent.click(apply);
    await screen.findByTestId("publish-ok");
    expect(posts(calls)[1].url.searchParams.get("allowDestructive")).toBe("1");
    expect(posts(calls)[1].url.searchParams.get("dryRun")).toBeNull();
  });

  it("keeps Apply off while a change is refused for another reason", async () => {
    serve((c) => (c.method === "POST" ? {
      body: plan({ refused: [{ path: "/entities/0/fields/0/type", message: "deal.title: cannot convert text to integer" }] }),
    } : undefined));
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("publish"));
    const dlg = await screen.findByTestId("plan-dialog");
    expect(within(dlg).getByTestId("plan-refused").textContent).toContain("cannot convert text to integer");
    expect((within(dlg).getByTestId("plan-apply") as HTMLButtonElement).disabled).toBe(true);
  });

  it("points a 422's details at fields, entities and the top", async () => {
    serve((c) => (c.method === "POST" ? {
      status: 422,
      body: {
        error: {
          code: "validation_failed", message: "the app document is not valid",
          details: [
            { path: "/entities/0/fields/2/options", message: "must have at least 1 item" },
            { path: "/entities/0/name", message: "is a reserved word" },
            { path: "/scripts/deal", message: "line 1: unexpected token" },
          ],
        },
      },
    } : undefined));
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("publish"));
    expect((await screen.findByTestId("designer-field-error-stage")).textContent).toBe("must have at least 1 item");
    expect(screen.queryByTestId("designer-field-error-title")).toBeNull();
    // The field in trouble is opened, its config shows the message.
    expect(within(screen.getByTestId("field-config")).getByTestId("config-error").textContent).toContain("must have at least 1 item");
    expect(screen.getByTestId("designer-entity-error-deal").textContent).toContain("is a reserved word");
    expect(screen.getByTestId("publish-error").textContent).toContain("/scripts/deal: line 1: unexpected token");
    expect(screen.queryByTestId("plan-dialog")).toBeNull();
  });

  it("says so on 409 and reloads the app on request", async () => {
    const calls = serve((c) => (c.method === "POST" ? { status: 409, body: { error: { code: "version_conflict", message: "stale" } } } : undefined));
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("designer-field-title"));
    fireEvent.change(screen.getByTestId("config-name"), { target: { value: "mine" } });
    fireEvent.click(screen.getByTestId("publish"));
    const box = await screen.findByTestId("publish-conflict");
    expect(box.textContent).toContain("Someone else changed this app");
    fireEvent.click(screen.getByTestId("publish-reload"));
    await screen.findByTestId("designer-field-title");
    expect(screen.queryByTestId("designer-field-mine")).toBeNull();
    expect(screen.queryByTestId("publish-conflict")).toBeNull();
    expect(calls.filter((c) => c.method === "GET" && !/\/drafts?$/.test(c.url.pathname))).toHaveLength(2);
  });

  it("maps a 409 on apply too", async () => {
    serve((c) => {
      if (c.method !== "POST") return undefined;
      if (c.url.searchParams.get("dryRun")) return { body: plan() };
      return { status: 409, body: { error: { code: "version_conflict", message: "stale" } } };
    });
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-field-title");
    fireEvent.click(screen.getByTestId("publish"));
    fireEvent.click(await screen.findByTestId("plan-apply"));
    await screen.findByTestId("publish-conflict");
    expect(screen.queryByTestId("plan-dialog")).toBeNull();
  });

  it("derives API names from Chinese labels until the name is typed or published", async () => {
    await loadPinyin();
    saveDraft("shop", "Shop");
    mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps") return { body: { items: [] } };
      return undefined;
    });
    renderWith(<Designer app="shop" draft />);
    fireEvent.click(await screen.findByTestId("add-entity"));
    fireEvent.change(screen.getByTestId("entity-label"), { target: { value: "门店销售" } });
    expect((screen.getByTestId("entity-name") as HTMLInputElement).value).toBe("mendian_xiaoshou");
    fireEvent.click(screen.getByTestId("entity-save"));
    await screen.findByTestId("designer-entity-mendian_xiaoshou");
    fireEvent.click(screen.getByTestId("palette-text"));
    fireEvent.change(screen.getByTestId("config-label"), { target: { value: "客户名称" } });
    expect((screen.getByTestId("config-name") as HTMLInputElement).value).toBe("kehu_mingcheng");
    expect(screen.getByTestId("config-name-preview").textContent).toContain("kehu_mingcheng");
    // A second field of the same label is numbered.
    fireEvent.click(screen.getByTestId("palette-text"));
    fireEvent.change(screen.getByTestId("config-label"), { target: { value: "客户名称" } });
    expect((screen.getByTestId("config-name") as HTMLInputElement).value).toBe("kehu_mingcheng_2");
    // A name typed by hand stays.
    fireEvent.change(screen.getByTestId("config-name"), { target: { value: "contact" } });
    fireEvent.change(screen.getByTestId("config-label"), { target: { value: "联系人" } });
    expect((screen.getByTestId("config-name") as HTMLInputElement).value).toBe("contact");
  });

  it("keeps a published field's name when its label changes", async () => {
    serve(() => undefined);
    renderWith(<Designer app="crm" />);
    fireEvent.click(await screen.findByTestId("designer-field-amount"));
    fireEvent.change(screen.getByTestId("config-label"), { target: { value: "金额" } });
    expect((screen.getByTestId("config-name") as HTMLInputElement).value).toBe("amount");
  });

  it("designs a new app from a draft: add an entity, fields, publish, then it is stored", async () => {
    saveDraft("shop", "Shop");
    let created = false;
    const calls = mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps") return { body: { items: created ? [{ name: "shop", version: 1 }] : [] } };
      if (c.method === "GET" && c.url.pathname === "/api/meta/apps/shop") {
        return created ? { body: { ...(posts(calls)[1].body as DDoc), version: 1 } } : { status: 404, body: { error: { code: "not_found", message: "no app" } } };
      }
      if (c.method === "POST" && c.url.searchParams.get("dryRun")) {
        return { body: { app: "shop", version: 1, dryRun: true, applied: false, plan: { fromVersion: 0, toVersion: 1, destructive: false, steps: [{ op: "create_entity", entity: "customer", description: "create customer" }] } } };
      }
      if (c.method === "POST") {
        created = true;
        return { status: 201, body: { app: "shop", version: 1, dryRun: false, applied: true, plan: { fromVersion: 0, toVersion: 1, destructive: false, steps: [] } } };
      }
    });
    renderWith(<Designer app="shop" draft />);
    await screen.findByTestId("add-entity");
    fireEvent.click(screen.getByTestId("add-entity"));
    fireEvent.change(screen.getByTestId("entity-name"), { target: { value: "Bad Name" } });
    fireEvent.click(screen.getByTestId("entity-save"));
    expect(screen.getByTestId("entity-error")).toBeTruthy();
    fireEvent.change(screen.getByTestId("entity-name"), { target: { value: "customer" } });
    fireEvent.change(screen.getByTestId("entity-label"), { target: { value: "Customers" } });
    fireEvent.click(screen.getByTestId("entity-save"));
    await screen.findByTestId("designer-entity-customer");
    const zone = screen.getByTestId("field-dropzone");
    for (const ty of ["text", "integer", "date"]) await pointerDrag(screen.getByTestId(`palette-${ty}`), zone, zone);
    expect(names()).toEqual(["text_1", "integer_1", "date_1"]);
    fireEvent.click(screen.getByTestId("publish"));
    fireEvent.click(await screen.findByTestId("plan-apply"));
    await screen.findByTestId("publish-ok");
    const body = posts(calls)[0].body as DDoc;
    expect(body).toMatchObject({ name: "shop", label: "Shop", entities: [{ name: "customer", label: "Customers" }] });
    expect(body.version).toBeUndefined();
    expect(window.location.hash).toBe("#/design/shop");
    await act(async () => {});
    expect(screen.getByTestId("open-app").getAttribute("href")).toBe("#/a/shop");
    expect(sessionStorage.getItem("forma.draft.shop")).toBeNull();
  });

  it("deletes an entity", async () => {
    const calls = serve((c) => (c.method === "POST" ? { body: plan() } : undefined));
    renderWith(<Designer app="crm" />);
    await screen.findByTestId("designer-entity-deal");
    fireEvent.click(screen.getByTestId("entity-delete"));
    expect(screen.queryByTestId("designer-entity-deal")).toBeNull();
    fireEvent.click(screen.getByTestId("publish"));
    await screen.findByTestId("plan-dialog");
    expect((posts(calls)[0].body as DDoc).entities).toEqual([]);
  });
});
