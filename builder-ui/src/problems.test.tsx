import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppDocument } from "./api";
import { mockFetch, renderWith } from "./test/util";
import { RecordForm } from "./components/RecordForm";
import { CODES, problemText } from "./problems";
import en from "./locales/en.json";
import zhCN from "./locales/zh-CN.json";
import { mapErrors, type DDoc } from "./designer/model";
import { translate } from "./i18n";

const app: AppDocument = {
  name: "crm", version: 1,
  entities: [{ name: "deal", label: "商机", fields: [
    { id: "d1", name: "title", label: "标题", type: "text", required: true },
    { id: "d2", name: "email", label: "邮箱", type: "email", unique: true },
    { id: "d3", name: "amount", label: "金额", type: "decimal" },
  ] }],
};

describe("problemText", () => {
  const label = (f: string) => ({ title: "Title" })[f] ?? f;
  it("words each code in the user's language with the field's label", () => {
    const en = (k: Parameters<typeof translate>[1], p?: Record<string, string | number | undefined>) => translate("en", k, p);
    const zh = (k: Parameters<typeof translate>[1], p?: Record<string, string | number | undefined>) => translate("zh-CN", k, p);
    expect(problemText({ path: "/title", code: "required", params: { field: "title" }, message: "title is required" }, en, label)).toBe("Title is required.");
    expect(problemText({ path: "/title", code: "required", params: { field: "title" }, message: "title is required" }, zh, label)).toBe("Title为必填项。");
    expect(problemText({ path: "/title", code: "max_length", params: { field: "title", limit: 200 }, message: "x" }, en, label)).toBe("Title may be at most 200 characters long.");
    expect(problemText({ path: "/s", code: "option", params: { field: "s", options: ["a", "b"] }, message: "x" }, en, label)).toBe("s must be one of: a, b.");
    // Unknown codes and designers' rules keep the server's words.
    expect(problemText({ path: "", code: "rule", params: { rule: 0 }, message: "Discount cannot exceed 50%" }, en, label)).toBe("Discount cannot exceed 50%");
    expect(problemText({ path: "/x", message: "plain" }, en, label)).toBe("plain");
  });
});

describe("problemText for an app document's problems", () => {
  const en_ = (k: Parameters<typeof translate>[1], p?: Record<string, string | number | undefined>) => translate("en", k, p);
  const zh = (k: Parameters<typeof translate>[1], p?: Record<string, string | number | undefined>) => translate("zh-CN", k, p);
  const label = (f: string) => ({ store: "门店" })[f] ?? f;
  it("has words in both languages for every code", () => {
    for (const c of CODES) {
      expect(Object.keys(en), c).toContain("problem." + c);
      expect(Object.keys(zhCN), c).toContain("problem." + c);
    }
  });
  it("words the publish checks' codes with their params", () => {
    expect(problemText({ path: "/entities/1/fields/2/name", code: "duplicate_name", params: { name: "title", entity: "deal" }, message: "duplicate field name" }, zh, label))
      .toBe("名称 title 被使用了两次。");
    expect(problemText({ path: "/entities/1/fields/2/entity", code: "unknown_entity", params: { entity: "shop" }, message: "no entity named" }, en_, label))
      .toBe("There is no entity shop in this app.");
    // A missing key is the subject; with no field nor key, "this value".
    expect(problemText({ path: "/entities/0/validations/0", code: "required", params: { key: "message" }, message: "x" }, en_, label)).toBe("message is required.");
    expect(problemText({ path: "/x", code: "type", message: "x" }, zh, label)).toBe("此值的值类型不正确。");
    // A field named by its label; an expression keeps the server's detail after words of the user's language.
    expect(problemText({ path: "/x", code: "not_writable", params: { field: "store" }, message: "x" }, zh, label)).toBe("门店 由系统计算或设置，不能写入。");
    expect(problemText({ path: "/roles/0/entities/deal/read/where", code: "expression", message: "filter: unknown field \"colour\"" }, zh, label))
      .toBe("表达式无效：filter: unknown field \"colour\"");
  });
  it("lets the designer place worded problems on the field", () => {
    const doc = { name: "crm", entities: [{ name: "deal", fields: [{ id: "d1", name: "title", type: "text" }] }] } as unknown as DDoc;
    const m = mapErrors([{ path: "/entities/0/fields/0/name", code: "duplicate_name", params: { name: "title" }, message: "duplicate field name" } as never],
      doc, (d) => problemText(d, zh, label));
    expect(Object.values(m.fields)[0]).toEqual(["名称 title 被使用了两次。"]);
  });
});

describe("RecordForm with problem codes", () => {
  it("says the label of a missing required field and marks a duplicate's unique field, in zh-CN", async () => {
    mockFetch((c) => {
      if (c.method === "POST") {
        return { status: 409, body: { error: { code: "duplicate_value", message: "another record already has this value in a unique field",
          details: [{ path: "/email", code: "duplicate_value", params: { field: "email", fields: ["email"] }, message: "another record already has this email" }] } } };
      }
    });
    renderWith(<RecordForm app={app} entity={app.entities[0]} />, "zh-CN");
    fireEvent.change(screen.getByTestId("field-title"), { target: { value: "x" } });
    fireEvent.click(screen.getByTestId("form-save"));
    expect((await screen.findByTestId("field-error-email")).textContent).toBe("已有其他记录使用了相同的邮箱。");
  });
});
