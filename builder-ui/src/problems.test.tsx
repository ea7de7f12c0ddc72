import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { AppDocument } from "./api";
import { mockFetch, renderWith } from "./test/util";
import { RecordForm } from "./components/RecordForm";
import { problemText } from "./problems";
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
