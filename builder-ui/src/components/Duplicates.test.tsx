import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppDocument, DataRecord } from "../api";
import { createdDuplicates, rememberCreated } from "../imports";
import { RecordForm } from "./RecordForm";
import { mockFetch, renderWith } from "../test/util";
import { defaultChoices, DuplicatesNotice, DuplicatesPage, MergeDialog, mergeableFields } from "./Duplicates";

const app: AppDocument = {
  name: "crm",
  entities: [{
    name: "customer",
    label: "Customers",
    fields: [
      { id: "1", name: "name", type: "text", label: "Name" },
      { id: "2", name: "phone", type: "phone", label: "Phone" },
      { id: "3", name: "city", type: "text", label: "City" },
      { id: "4", name: "email", type: "email", label: "Email" },
      { id: "5", name: "score", type: "formula", expr: "1", returns: "integer" },
    ],
  }],
  matching: [{ name: "by_phone", label: "Same phone", entity: "customer", keys: [{ fields: ["phone"], normalize: "phone" }] }],
};
const entity = app.entities[0];
const a: DataRecord = { id: "c1", version: 3, name: "华为技术有限公司", phone: "138 0000 0000", city: "深圳", email: "" , score: 1 };
const b: DataRecord = { id: "c2", version: 1, name: "华为", phone: "+86 13800000000", city: "深圳", email: "info@huawei.com", score: 2 };

afterEach(() => vi.unstubAllGlobals());

describe("merge dialog", () => {
  it("defaults to the survivor's value unless it is empty, and skips computed fields", () => {
    expect(defaultChoices(mergeableFields(entity), a, b)).toEqual({ name: "survivor", phone: "survivor", email: "duplicate" });
  });

  it("chooses the survivor, then per differing field which value to keep, and posts the merge", async () => {
    const calls = mockFetch((c) => (c.url.pathname === "/api/data/crm/customer/c2/merge" ? { body: { record: { ...b, version: 2 } } } : undefined));
    const merged = vi.fn();
    renderWith(<MergeDialog app={app} entity={entity} records={[a, b]} onClose={() => undefined} onMerged={merged} onReload={() => undefined} />);
    fireEvent.click(screen.getByTestId("merge-survivor-c2"));
    fireEvent.click(screen.getByTestId("merge-next"));
    // Side by side, only the fields that differ.
    expect(screen.getByTestId("merge-field-name").textContent).toContain("华为技术有限公司");
    expect(screen.queryByTestId("merge-field-city")).toBeNull();
    expect(screen.queryByTestId("merge-field-score")).toBeNull();
    expect((screen.getByTestId("merge-name-survivor") as HTMLInputElement).checked).toBe(true);
    fireEvent.click(screen.getByTestId("merge-name-duplicate"));
    fireEvent.click(screen.getByTestId("merge-confirm"));
    await waitFor(() => expect(merged).toHaveBeenCalled());
    const post = calls.find((c) => c.method === "POST")!;
    expect(post.url.pathname).toBe("/api/data/crm/customer/c2/merge");
    expect(post.body).toEqual({ duplicate: "c1", fields: { name: "duplicate", phone: "survivor", email: "survivor" }, version: 1 });
  });

  it("a stale survivor (409) asks to reload", async () => {
    mockFetch(() => ({ status: 409, body: { error: { code: "version_conflict", message: "stale" } } }));
    const reload = vi.fn();
    renderWith(<MergeDialog app={app} entity={entity} records={[a, b]} onClose={() => undefined} onMerged={() => undefined} onReload={reload} />, "zh-CN");
    fireEvent.click(screen.getByTestId("merge-next"));
    fireEvent.click(screen.getByTestId("merge-confirm"));
    expect((await screen.findByTestId("merge-error")).textContent).toContain("重新加载");
    fireEvent.click(screen.getByTestId("merge-reload"));
    expect(reload).toHaveBeenCalled();
  });
});

describe("duplicates page and notice", () => {
  it("lists the groups and merges one", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/data/crm/customer/duplicates") return { body: { items: [{ rule: "by_phone", records: [a, b] }] } };
      if (c.url.pathname === "/api/data/crm/customer/c1/merge") return { body: { record: a } };
      return undefined;
    });
    renderWith(<DuplicatesPage app={app} entity={entity} />);
    const g = await screen.findByTestId("dup-group");
    expect(g.textContent).toContain("2 records · Same phone");
    fireEvent.click(within(g).getByTestId("dup-merge"));
    fireEvent.click(screen.getByTestId("merge-next"));
    fireEvent.click(screen.getByTestId("merge-confirm"));
    await screen.findByTestId("dup-merged");
    expect(calls.filter((c) => c.url.pathname.endsWith("/duplicates")).length).toBe(2);
  });

  it("shows the possible duplicates of a record, and those a create answered", async () => {
    rememberCreated("c9", [{ rule: "by_phone", id: "c7" }]);
    mockFetch((c) => (c.url.pathname === "/api/data/crm/customer/c9/duplicates" ? { body: { items: [{ rule: "by_phone", record: b, score: 1 }] } } : undefined));
    renderWith(<DuplicatesNotice app={app} entity={entity} record={{ ...a, id: "c9" }} onMerged={() => undefined} />);
    await waitFor(() => expect(screen.getAllByTestId("dup-match")).toHaveLength(2));
    const links = screen.getAllByTestId("dup-match").map((m) => m.querySelector("a")!.getAttribute("href"));
    expect(links).toEqual(["#/a/crm/customer/c2", "#/a/crm/customer/c7"]);
    expect(screen.getByTestId("dup-notice").textContent).toContain("Possible duplicates");
  });
});

describe("create with matching rules", () => {
  it("keeps the _duplicates a create answered for the record page", async () => {
    mockFetch((c) => (c.method === "POST" ? { status: 201, body: { id: "c5", version: 1, name: "华为", _duplicates: [{ rule: "by_phone", id: "c1" }] } } : undefined));
    renderWith(<RecordForm app={app} entity={entity} />);
    fireEvent.change(screen.getByTestId("field-name"), { target: { value: "华为" } });
    fireEvent.click(screen.getByTestId("form-save"));
    await waitFor(() => expect(createdDuplicates("c5")).toEqual([{ rule: "by_phone", id: "c1" }]));
  });

  it("a refusing rule's 409 shows at the field", async () => {
    mockFetch(() => ({ status: 409, body: { error: { code: "duplicate", message: "duplicate", details: [{ path: "/phone", message: "probable duplicate", code: "duplicate", params: { rule: "by_phone", id: "c1" } }] } } }));
    renderWith(<RecordForm app={app} entity={entity} />);
    fireEvent.change(screen.getByTestId("field-phone"), { target: { value: "13800000000" } });
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("field-error-phone")).textContent).toBe("Probably a duplicate of record c1 (rule “by_phone”).");
  });
});
