import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppDocument, Field } from "../api";
import { suggest, utf16Index, wordAt, type ExprMode } from "../expr";
import { mockFetch, renderWith } from "../test/util";
import { ExpressionEditor, type ExpressionEditorProps } from "./ExpressionEditor";

const fields: Field[] = [
  { id: "f1", name: "amount", type: "decimal", label: "金额" },
  { id: "f2", name: "discount", type: "decimal", label: "Discount" },
  { id: "f3", name: "account", type: "ref", entity: "account", label: "客户" },
  { id: "f4", name: "stage", type: "select", label: "Stage", options: ["won", "lost"] },
];
const app: AppDocument = {
  name: "shop",
  entities: [
    { name: "sale", fields },
    { name: "account", fields: [{ id: "a1", name: "name", type: "text", label: "名称" }, { id: "a2", name: "tier", type: "select", label: "等级" }] },
  ],
};

function Harness(props: Partial<ExpressionEditorProps> & { mode: ExprMode; initial?: string; onValue?: (v: string) => void }) {
  const [v, setV] = useState(props.initial ?? "");
  return <ExpressionEditor fields={fields} {...props} value={v} onChange={(x) => { setV(x); props.onValue?.(x); }} />;
}

const input = () => screen.getByTestId("expr-input") as HTMLTextAreaElement;
const type = (text: string) => {
  fireEvent.change(input(), { target: { value: text, selectionStart: text.length } });
};

afterEach(() => vi.unstubAllGlobals());

describe("expr helpers", () => {
  it("finds the word at the cursor, in any script, never inside a string", () => {
    expect(wordAt("round(金", 7)).toEqual({ start: 6, word: "金" });
    expect(wordAt("account.ti", 10)).toEqual({ start: 0, word: "account.ti" });
    expect(wordAt('name ~ "静', 9)).toBeNull();
    expect(wordAt("amount * 12", 11)).toBeNull();
  });
  it("ranks names and labels that start with the word first", () => {
    const offers = [
      { insert: "discount", label: "Rabatt amount", type: "decimal", kind: "field" as const },
      { insert: "amount", label: "金额", type: "decimal", kind: "field" as const },
    ];
    expect(suggest(offers, "am").map((o) => o.insert)).toEqual(["amount", "discount"]);
    expect(suggest(offers, "金").map((o) => o.insert)).toEqual(["amount"]);
    expect(suggest(offers, "amount")).toEqual([{ insert: "discount", label: "Rabatt amount", type: "decimal", kind: "field" }]);
  });
  it("turns the server's code point offsets into string indexes", () => {
    expect(utf16Index("😀 x", 2)).toBe(3);
    expect(utf16Index("静安 x", 3)).toBe(3);
  });
});

describe("ExpressionEditor", () => {
  it("offers fields by their label and inserts the API name", () => {
    const onValue = vi.fn();
    renderWith(<Harness mode="formula" onValue={onValue} />, "zh-CN");
    type("金");
    const offers = screen.getAllByTestId("expr-offer");
    expect(offers[0].textContent).toContain("金额");
    fireEvent.keyDown(input(), { key: "Enter" });
    expect(onValue).toHaveBeenLastCalledWith("amount");
    expect(screen.queryByTestId("expr-suggest")).toBeNull();
  });

  it("offers a reference's fields and the helpers, with the keyboard", () => {
    const onValue = vi.fn();
    renderWith(<Harness mode="formula" app={app} entity="sale" onValue={onValue} />);
    mockFetch(() => ({ status: 404, body: { error: { code: "not_found", message: "x" } } }));
    type("round(等级");
    expect(screen.getAllByTestId("expr-offer")[0].textContent).toContain("客户 › 等级");
    fireEvent.keyDown(input(), { key: "Tab" });
    expect(onValue).toHaveBeenLastCalledWith("round(account.tier");
    type("rou");
    expect(screen.getAllByTestId("expr-offer")[0].textContent).toContain("round(x, digits)");
    fireEvent.keyDown(input(), { key: "Enter" });
    expect(onValue).toHaveBeenLastCalledWith("round(");
  });

  it("lists the helpers with a description and an example in the user's language", () => {
    renderWith(<Harness mode="formula" />, "zh-CN");
    fireEvent.click(screen.getByTestId("expr-help-functions"));
    const round = screen.getAllByTestId("expr-fn")[0];
    expect(round.textContent).toContain("round(x, digits)");
    expect(round.textContent).toContain("四舍五入");
    expect(round.textContent).toContain("round(amount * 1.13, 2)");
    fireEvent.click(screen.getByText("round(x, digits)"));
    expect(input().value).toBe("round(");
  });

  it("lists the filter operators in English", () => {
    renderWith(<Harness mode="filter" />, "en");
    fireEvent.click(screen.getByTestId("expr-help-functions"));
    expect(screen.getByTestId("expr-functions").textContent).toContain("Contains the text (any case)");
    expect(screen.getByTestId("expr-functions").textContent).toContain("owner = @me");
  });

  it("shows the server's problem at its place, in the user's language", async () => {
    const calls = mockFetch((c) => c.url.pathname === "/api/meta/apps/shop/expressions/check" ? {
      body: { ok: false, fields: [], problems: [{ code: "unknown_function", message: "unknown function \"roud\"", offset: 5, length: 4, params: { function: "roud", suggestion: "round" } }] },
    } : undefined);
    const validity = vi.fn();
    renderWith(<Harness mode="formula" app={app} entity="sale" field="total" draft sampleId="r1" onValidity={validity} />, "zh-CN");
    type("静安 + roud(amount)");
    await waitFor(() => expect(screen.getByTestId("expr-problem")).toBeTruthy(), { timeout: 2000 });
    expect(screen.getByTestId("expr-problem").textContent).toContain("没有函数“roud”");
    expect(screen.getByTestId("expr-problem").textContent).toContain("是否要用 round");
    expect(screen.getByTestId("expr-mark").querySelector("mark")?.textContent).toBe("roud");
    expect(input().getAttribute("aria-invalid")).toBe("true");
    expect(validity).toHaveBeenLastCalledWith(false);
    const check = calls.find((c) => c.method === "POST");
    expect(check?.body).toEqual({ entity: "sale", mode: "formula", expr: "静安 + roud(amount)", field: "total", draft: true, recordId: "r1" });
  });

  it("previews a formula's value on the sample record", async () => {
    mockFetch(() => ({ body: { ok: true, fields: ["amount"], problems: [], preview: { value: 42.5 } } }));
    renderWith(<Harness mode="formula" app={app} entity="sale" sampleId="r1" initial="amount * 2" />);
    await waitFor(() => expect(screen.getByTestId("expr-preview").textContent).toBe("Value on this record: 42.5"), { timeout: 2000 });
    expect(screen.getByTestId("expr-ok")).toBeTruthy();
  });

  it("previews a filter: the sample matches and how many records do", async () => {
    const calls = mockFetch(() => ({ body: { ok: true, fields: ["stage"], problems: [], preview: { matches: true, count: 12 } } }));
    renderWith(<Harness mode="filter" app={app} entity="sale" sampleId="r1" initial='stage = "won"' />, "zh-CN");
    await waitFor(() => expect(screen.getByTestId("expr-preview").textContent).toBe("此记录符合条件。 共 12 条记录符合条件。"), { timeout: 2000 });
    expect(calls[0].body).toEqual({ entity: "sale", mode: "filter", expr: 'stage = "won"', recordId: "r1", count: true });
  });

  it("says when it cannot check, and keeps the text", async () => {
    mockFetch(() => ({ status: 404, body: { error: { code: "not_found", message: "no app" } } }));
    renderWith(<Harness mode="filter" app={app} entity="sale" scope="document" initial="amount > 1" />);
    await waitFor(() => expect(screen.getByTestId("expr-status").textContent).toContain("Not checked yet"), { timeout: 2000 });
    expect(input().value).toBe("amount > 1");
  });

  it("offers only the entity's own fields in document conditions", async () => {
    mockFetch(() => undefined);
    renderWith(<Harness mode="filter" app={app} entity="sale" scope="document" />);
    await act(async () => type("等级"));
    expect(screen.queryByTestId("expr-suggest")).toBeNull();
    type("own");
    expect(screen.getAllByTestId("expr-offer")[0].textContent).toContain("Owner");
  });

  it("offers a ref's fields in role conditions and checks them with scope role", async () => {
    const calls = mockFetch(() => ({ body: { ok: true, fields: [], problems: [] } }));
    renderWith(<Harness mode="filter" app={app} entity="sale" scope="role" initial='account.name ~ "x"' />);
    await waitFor(() => expect(calls.length).toBeGreaterThan(0), { timeout: 2000 });
    expect(calls[0].body).toMatchObject({ scope: "role", expr: 'account.name ~ "x"' });
    await act(async () => type("等级"));
    expect(screen.getAllByTestId("expr-offer")[0].textContent).toContain("客户 › 等级");
  });
});
