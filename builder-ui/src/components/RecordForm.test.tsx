import { fireEvent, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { AppDocument } from "../api";
import { mockFetch, renderWith } from "../test/util";
import { RecordForm } from "./RecordForm";

const app: AppDocument = {
  name: "crm",
  version: 3,
  entities: [
    { name: "account", fields: [{ id: "a1", name: "name", type: "text" }] },
    {
      name: "deal",
      label: "Deal",
      fields: [
        { id: "d1", name: "title", type: "text", required: true },
        { id: "d2", name: "amount", type: "decimal" },
        { id: "d3", name: "stage", type: "select", options: ["lead", "won"] },
        { id: "d4", name: "account", type: "ref", entity: "account" },
        { id: "d5", name: "won", type: "boolean" },
        { id: "d6", name: "due_at", type: "datetime" },
        { id: "d7", name: "weighted", type: "formula", expr: "amount / 2" },
        { id: "d8", name: "tags", type: "multiselect", options: ["a", "b"] },
      ],
    },
  ],
};
const deal = app.entities[1];

const stored = {
  id: "d01", version: 4, title: "Big deal", amount: 100.5, stage: "lead", account: null, won: false,
  due_at: "2026-11-21T01:30:00.000000Z", weighted: 50.25, tags: ["a"],
  created_at: "2026-11-20T00:00:00Z", updated_at: "2026-11-21T00:00:00Z", created_by: "u1", owner: "u1",
};

afterEach(() => {
  window.location.hash = "";
});

const field = (name: string) => screen.getByTestId(`field-${name}`) as HTMLInputElement;

describe("RecordForm", () => {
  it("maps a 422 validation_failed to inline field errors and general ones to the top", async () => {
    mockFetch((c) => {
      if (c.method === "POST") {
        return {
          status: 422,
          body: {
            error: {
              code: "validation_failed", message: "the record is not valid",
              details: [
                { path: "/amount", message: "must be at least 0" },
                { path: "/title", message: "is required" },
                { path: "/tags/1", message: "not an option" },
                { path: "", message: "Discount cannot exceed 50%" },
              ],
            },
          },
        };
      }
    });
    renderWith(<RecordForm app={app} entity={deal} />);
    fireEvent.change(field("amount"), { target: { value: "-5" } });
    fireEvent.click(screen.getByTestId("form-save"));

    await screen.findByTestId("field-error-amount");
    expect(screen.getByTestId("field-error-amount").textContent).toBe("must be at least 0");
    expect(screen.getByTestId("field-error-title").textContent).toBe("is required");
    expect(screen.getByTestId("field-error-tags").textContent).toBe("not an option");
    expect(field("amount").getAttribute("aria-invalid")).toBe("true");
    expect(screen.queryByTestId("field-error-stage")).toBeNull();
    const top = screen.getByTestId("form-error");
    expect(top.dataset.code).toBe("validation_failed");
    expect(top.textContent).toContain("Discount cannot exceed 50%");

    // Editing a field clears its error.
    fireEvent.change(field("amount"), { target: { value: "5" } });
    expect(screen.queryByTestId("field-error-amount")).toBeNull();
  });

  it("creates with the filled fields only and opens the new record", async () => {
    const calls = mockFetch((c) => (c.method === "POST" ? { status: 201, body: { ...stored, id: "new1" } } : undefined));
    renderWith(<RecordForm app={app} entity={deal} />);
    fireEvent.change(field("title"), { target: { value: "New" } });
    fireEvent.change(field("amount"), { target: { value: "12.30" } });
    fireEvent.change(field("due_at"), { target: { value: "2026-11-21T09:30" } });
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/crm/deal/new1"));
    expect(calls[0].url.pathname).toBe("/api/data/crm/deal");
    expect(calls[0].body).toEqual({ title: "New", amount: "12.30", won: false, due_at: "2026-11-21T09:30:00+08:00" });
  });

  it("PATCHes only the changed fields plus version", async () => {
    const calls = mockFetch((c) => {
      if (c.method === "GET") return { body: stored };
      if (c.method === "PATCH") return { body: { ...stored, ...(c.body as object), version: 5 } };
    });
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    expect(field("due_at").value).toBe("2026-11-21T09:30");
    expect(field("weighted").tagName).toBe("DIV");
    expect(field("weighted").textContent).toBe("50.25");
    fireEvent.change(field("stage"), { target: { value: "won" } });
    fireEvent.click(field("won"));
    fireEvent.click(screen.getByTestId("form-save"));
    await screen.findByTestId("form-saved");
    const patch = calls.find((c) => c.method === "PATCH")!;
    expect(patch.url.pathname).toBe("/api/data/crm/deal/d01");
    expect(patch.body).toEqual({ stage: "won", won: true, version: 4 });
  });

  it("says nothing changed instead of sending an empty PATCH", async () => {
    const calls = mockFetch((c) => (c.method === "GET" ? { body: stored } : undefined));
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("form-error")).textContent).toBe("Nothing has changed.");
    expect(calls.filter((c) => c.method === "PATCH")).toHaveLength(0);
  });

  it("shows a reload message on 409 version_conflict, and reloads", async () => {
    let gets = 0;
    mockFetch((c) => {
      if (c.method === "GET") {
        gets++;
        return { body: gets === 1 ? stored : { ...stored, title: "Changed elsewhere", version: 5 } };
      }
      return { status: 409, body: { error: { code: "version_conflict", message: "stale version" } } };
    });
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    fireEvent.change(field("title"), { target: { value: "Mine" } });
    fireEvent.click(screen.getByTestId("form-save"));
    const banner = await screen.findByTestId("form-error");
    expect(banner.dataset.code).toBe("version_conflict");
    fireEvent.click(screen.getByTestId("form-reload"));
    await screen.findByDisplayValue("Changed elsewhere");
  });

  it("shows a script failure with its script name and line", async () => {
    mockFetch((c) => {
      if (c.method === "GET") return { body: stored };
      return {
        status: 422,
        body: {
          error: {
            code: "script_failed", message: "Discounts over 20% need a manager",
            script: { script: "deal", function: "beforeSave", line: 3, column: 11, kind: "runtime" },
          },
        },
      };
    });
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    fireEvent.change(field("amount"), { target: { value: "1" } });
    fireEvent.click(screen.getByTestId("form-save"));
    const banner = await screen.findByTestId("form-error");
    expect(banner.textContent).toContain("Discounts over 20% need a manager");
    expect(screen.getByTestId("form-error-script").textContent).toBe("Script “deal”, function beforeSave, line 3");
  });

  it("catches a bad number before sending", async () => {
    const calls = mockFetch(() => undefined);
    renderWith(<RecordForm app={app} entity={deal} />, "zh-CN");
    fireEvent.change(field("amount"), { target: { value: "abc" } });
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("field-error-amount")).textContent).toBe("不是有效的数字。");
    expect(calls).toHaveLength(0);
  });

  it("searches a ref's target by its first text field and shows the chosen label", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/account") return { body: { items: [{ id: "acc1", name: "Acme \"CN\"" }] } };
      if (c.url.pathname === "/api/data/crm/account/acc1") return { body: { id: "acc1", name: "Acme \"CN\"" } };
    });
    renderWith(<RecordForm app={app} entity={deal} />);
    fireEvent.change(field("account"), { target: { value: "acme \"c" } });
    const opt = await screen.findByTestId("ref-option");
    const search = calls.find((c) => c.url.pathname === "/api/data/crm/account")!;
    expect(search.url.searchParams.get("filter")).toBe('name ~ "acme \\"c"');
    fireEvent.click(opt);
    expect(screen.getByTestId("field-account-label").textContent).toBe('Acme "CN"');
  });

  it("deletes an existing record after an in-page confirmation and goes back to the list", async () => {
    window.location.hash = "#/a/crm/deal/d01";
    const calls = mockFetch((c) => {
      if (c.method === "GET" && c.url.pathname === "/api/data/crm/deal/d01") return { body: stored };
      if (c.method === "DELETE" && c.url.pathname === "/api/data/crm/deal/d01") return { status: 204 };
    });
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    fireEvent.click(screen.getByTestId("form-delete"));
    expect(calls.filter((c) => c.method === "DELETE")).toHaveLength(0);
    fireEvent.click(screen.getByTestId("form-delete-confirm"));
    await waitFor(() => expect(window.location.hash).toBe("#/a/crm/deal"));
    const del = calls.filter((c) => c.method === "DELETE");
    expect(del).toHaveLength(1);
    expect(del[0].url.pathname + del[0].url.search).toBe("/api/data/crm/deal/d01");
  });

  it("shows a beforeDelete script's refusal with its script and line, and stays on the record", async () => {
    window.location.hash = "#/a/crm/deal/d01";
    mockFetch((c) => {
      if (c.method === "GET") return { body: stored };
      if (c.method === "DELETE") {
        return {
          status: 422,
          body: {
            error: {
              code: "script_failed", message: "Won deals cannot be deleted",
              script: { script: "deal", function: "beforeDelete", line: 7, column: 5, kind: "runtime" },
            },
          },
        };
      }
    });
    renderWith(<RecordForm app={app} entity={deal} id="d01" />);
    await screen.findByDisplayValue("Big deal");
    fireEvent.click(screen.getByTestId("form-delete"));
    fireEvent.click(screen.getByTestId("form-delete-confirm"));
    const banner = await screen.findByTestId("form-error");
    expect(banner.getAttribute("data-code")).toBe("script_failed");
    expect(banner.textContent).toContain("A script refused the deletion: Won deals cannot be deleted");
    expect(screen.getByTestId("form-error-script").textContent).toBe("Script “deal”, function beforeDelete, line 7");
    expect(window.location.hash).toBe("#/a/crm/deal/d01");
    expect(screen.getByTestId("form-delete")).toBeTruthy();
  });

  it("has no Delete button on a new record", () => {
    mockFetch(() => undefined);
    renderWith(<RecordForm app={app} entity={deal} />);
    expect(screen.queryByTestId("form-delete")).toBeNull();
  });
});

describe("RecordForm in the user's language", () => {
  const doc = {
    name: "sales",
    entities: [{
      name: "opportunity",
      label: "Opportunity",
      labels: { "zh-CN": "商机", en: "Opportunity" },
      fields: [
        { id: "1", name: "title", type: "text", label: "Title", labels: { "zh-CN": "标题", en: "Title" } },
        { id: "2", name: "industry", type: "select", label: "Industry", labels: { en: "Industry" }, options: ["manufacturing", "other"],
          optionLabels: { manufacturing: { "zh-CN": "制造业", en: "Manufacturing" } } },
        { id: "3", name: "stage", type: "select", labels: { "zh-CN": "阶段" }, options: ["discovery", "won"] },
        { id: "4", name: "tags", type: "multiselect", label: "Tags", options: ["hot", "cold"], optionLabels: { hot: { "zh-CN": "热门", en: "Hot" } } },
      ],
    }],
    flows: [{ name: "deal", entity: "opportunity", field: "stage", states: [{ name: "discovery", labels: { "zh-CN": "需求发现" } }, { name: "won", label: "Won" }] }],
  } as unknown as AppDocument;
  const opp = doc.entities[0];
  const labelOf = (name: string) => field(name).closest(".field")!.querySelector(".field-label")!.firstChild!.textContent;

  it("labels fields in zh-CN (label, then name, when zh-CN is missing) and offers options by label, sending the values", async () => {
    const calls = mockFetch((c) => (c.method === "POST" ? { status: 201, body: { id: "n1", version: 1 } } : undefined));
    renderWith(<RecordForm app={doc} entity={opp} />, "zh-CN");
    expect(screen.getByRole("heading", { level: 1 }).textContent).toContain("商机");
    expect(labelOf("title")).toBe("标题");
    expect(labelOf("industry")).toBe("Industry");
    expect(labelOf("stage")).toBe("阶段");
    const industry = field("industry") as unknown as HTMLSelectElement;
    expect(Array.from(industry.options).slice(1).map((o) => [o.value, o.textContent])).toEqual([["manufacturing", "制造业"], ["other", "other"]]);
    expect(Array.from(field("tags").querySelectorAll("label")).map((l) => l.textContent)).toEqual(["热门", "cold"]);

    fireEvent.change(field("title"), { target: { value: "Big" } });
    fireEvent.change(industry, { target: { value: "manufacturing" } });
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(calls.some((c) => c.method === "POST")).toBe(true));
    expect(calls.find((c) => c.method === "POST")!.body).toMatchObject({ title: "Big", industry: "manufacturing" });
  });

  it("shows a stored record's select and flow state (read-only) by label", async () => {
    mockFetch((c) => (c.method === "GET" && c.url.pathname === "/api/data/sales/opportunity/o1"
      ? { body: { id: "o1", version: 1, title: "Big", industry: "manufacturing", stage: "discovery", tags: ["hot"] } } : undefined));
    renderWith(<RecordForm app={doc} entity={opp} id="o1" />, "zh-CN");
    await screen.findByDisplayValue("Big");
    expect(field("stage").tagName).toBe("DIV");
    expect(field("stage").textContent).toBe("需求发现");
    const industry = field("industry") as unknown as HTMLSelectElement;
    expect(industry.value).toBe("manufacturing");
    expect(industry.selectedOptions[0].textContent).toBe("制造业");
  });

  it("shows the en labels in English", () => {
    mockFetch(() => undefined);
    renderWith(<RecordForm app={doc} entity={opp} />, "en");
    expect(labelOf("title")).toBe("Title");
    expect(labelOf("stage")).toBe("stage");
    const industry = field("industry") as unknown as HTMLSelectElement;
    expect(industry.options[1].textContent).toBe("Manufacturing");
    expect(Array.from(field("tags").querySelectorAll("label")).map((l) => l.textContent)).toEqual(["Hot", "cold"]);
  });
});
