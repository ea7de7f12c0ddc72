import { describe, expect, it } from "vitest";
import type { Field } from "./api";
import {
  conditionText, defaultCondition, filterText, filterableFields, operatorsFor, quote, splitList, type Condition,
} from "./filter";

const fields: Field[] = [
  { id: "f1", name: "title", type: "text" },
  { id: "f2", name: "amount", type: "decimal", scale: 2 },
  { id: "f3", name: "stage", type: "select", options: ["lead", "won", "lost"] },
  { id: "f4", name: "qty", type: "integer" },
  { id: "f5", name: "closed_at", type: "date" },
  { id: "f6", name: "seen_at", type: "datetime" },
  { id: "f7", name: "done", type: "boolean" },
  { id: "f8", name: "tags", type: "multiselect", options: ["a", "vip"] },
  { id: "f9", name: "account", type: "ref", entity: "account" },
  { id: "f10", name: "assignee", type: "user" },
  { id: "f11", name: "meta", type: "json" },
  { id: "f12", name: "weighted", type: "formula", expr: "amount * 2" },
  { id: "f13", name: "is_big", type: "formula", expr: "amount > 10", returns: "boolean" },
  { id: "f14", name: "number", type: "autonumber" },
  { id: "f15", name: "email", type: "email" },
];

const one = (c: Condition) => conditionText(fields, c);
const all = (...cs: Condition[]) => filterText(fields, { join: "and", conditions: cs });
const any = (...cs: Condition[]) => filterText(fields, { join: "or", conditions: cs });

describe("quote", () => {
  it("wraps in double quotes", () => expect(quote("acme")).toBe('"acme"'));
  it("escapes quotes and backslashes", () => {
    expect(quote('say "hi"')).toBe('"say \\"hi\\""');
    expect(quote("C:\\temp\\")).toBe('"C:\\\\temp\\\\"');
    expect(quote('\\"')).toBe('"\\\\\\""');
  });
  it("leaves single quotes, unicode and operators alone", () => {
    expect(quote("O'Brien")).toBe(`"O'Brien"`);
    expect(quote("上海 汽配 🚗")).toBe('"上海 汽配 🚗"');
    expect(quote('a" || 1 = 1 || "')).toBe('"a\\" || 1 = 1 || \\""');
  });
  it("escapes control characters", () => {
    expect(quote("a\nb\tc\rd")).toBe('"a\\nb\\tc\\rd"');
    expect(quote("x\u0001y")).toBe('"x\\u0001y"');
  });
  it("handles the empty string", () => expect(quote("")).toBe('""'));
});

describe("conditionText per type", () => {
  it("text: contains, equals, not contains", () => {
    expect(one({ field: "title", op: "~", value: "acme" }).text).toBe('title ~ "acme"');
    expect(one({ field: "title", op: "!~", value: "test" }).text).toBe('title !~ "test"');
    expect(one({ field: "title", op: "=", value: 'He said "no"' }).text).toBe('title = "He said \\"no\\""');
    expect(one({ field: "email", op: "=", value: "a@b.cn" }).text).toBe('email = "a@b.cn"');
  });
  it("text keeps spaces as typed", () => {
    expect(one({ field: "title", op: "=", value: " acme " }).text).toBe('title = " acme "');
  });
  it("numbers are unquoted and validated", () => {
    expect(one({ field: "amount", op: ">=", value: "1000" }).text).toBe("amount >= 1000");
    expect(one({ field: "amount", op: "<", value: " 12.50 " }).text).toBe("amount < 12.50");
    expect(one({ field: "amount", op: "=", value: "-3" }).text).toBe("amount = -3");
    expect(one({ field: "amount", op: "=", value: ".5" }).text).toBe("amount = 0.5");
    expect(one({ field: "amount", op: ">", value: "1,000,000" }).text).toBe("amount > 1000000");
    expect(one({ field: "qty", op: "!=", value: "3" }).text).toBe("qty != 3");
    expect(one({ field: "number", op: ">", value: "10" }).text).toBe("number > 10");
    expect(one({ field: "amount", op: "=", value: "12abc" }).problem).toBe("invalidNumber");
    expect(one({ field: "amount", op: "=", value: "1e5" }).problem).toBe("invalidNumber");
    expect(one({ field: "amount", op: "=", value: "" }).problem).toBe("incomplete");
  });
  it("formulas filter as what they return", () => {
    expect(one({ field: "weighted", op: ">", value: "5" }).text).toBe("weighted > 5");
    expect(one({ field: "is_big", op: "=", value: "true" }).text).toBe("is_big = true");
  });
  it("dates are quoted yyyy-mm-dd", () => {
    expect(one({ field: "closed_at", op: ">=", value: "2026-11-01" }).text).toBe('closed_at >= "2026-11-01"');
    expect(one({ field: "closed_at", op: "<", value: "2026/11/01" }).problem).toBe("incomplete");
  });
  it("datetimes are quoted as given (RFC 3339)", () => {
    expect(one({ field: "seen_at", op: ">", value: "2026-11-21T09:30:00+08:00" }).text).toBe('seen_at > "2026-11-21T09:30:00+08:00"');
  });
  it("booleans are bare true/false", () => {
    expect(one({ field: "done", op: "=", value: "true" }).text).toBe("done = true");
    expect(one({ field: "done", op: "!=", value: "false" }).text).toBe("done != false");
    expect(one({ field: "done", op: "=", value: "yes" }).problem).toBe("incomplete");
  });
  it("select: equals and in from chosen options", () => {
    expect(one({ field: "stage", op: "=", value: "won" }).text).toBe('stage = "won"');
    expect(one({ field: "stage", op: "in", value: ["won", "lost"] }).text).toBe('stage in ["won", "lost"]');
    expect(one({ field: "stage", op: "in", value: [] }).problem).toBe("incomplete");
  });
  it("in with typed comma-separated lists", () => {
    expect(one({ field: "qty", op: "in", value: "1, 2,3" }).text).toBe("qty in [1, 2, 3]");
    expect(one({ field: "title", op: "in", value: 'a, b"c' }).text).toBe('title in ["a", "b\\"c"]');
    expect(one({ field: "qty", op: "in", value: "1, x" }).problem).toBe("invalidNumber");
    expect(one({ field: "qty", op: "in", value: " , " }).problem).toBe("incomplete");
  });
  it("multiselect: has option", () => {
    expect(one({ field: "tags", op: "~", value: "vip" }).text).toBe('tags ~ "vip"');
    expect(one({ field: "tags", op: "!~", value: "a" }).text).toBe('tags !~ "a"');
    expect(one({ field: "tags", op: "=", value: "a" }).problem).toBe("incomplete");
  });
  it("ref and user: quoted ids, @me for users", () => {
    expect(one({ field: "account", op: "=", value: "01hz0000000000000000000000" }).text).toBe('account = "01hz0000000000000000000000"');
    expect(one({ field: "assignee", op: "=", value: "@me" }).text).toBe("assignee = @me");
    expect(one({ field: "account", op: "=", value: "@me" }).text).toBe('account = "@me"');
  });
  it("is empty / is not empty write = null / != null, whatever the value", () => {
    expect(one({ field: "closed_at", op: "empty", value: "" }).text).toBe("closed_at = null");
    expect(one({ field: "title", op: "notEmpty", value: "ignored" }).text).toBe("title != null");
    expect(one({ field: "meta", op: "empty", value: "" }).text).toBe("meta = null");
  });
  it("refuses operators a type does not have, and unknown fields", () => {
    expect(one({ field: "meta", op: "=", value: "x" }).problem).toBe("incomplete");
    expect(one({ field: "done", op: ">", value: "true" }).problem).toBe("incomplete");
    expect(one({ field: "nope", op: "=", value: "x" }).problem).toBe("incomplete");
  });
  it("empty values make a condition incomplete", () => {
    expect(one({ field: "title", op: "~", value: "" }).problem).toBe("incomplete");
    expect(one({ field: "closed_at", op: "=", value: "" }).problem).toBe("incomplete");
    expect(one({ field: "account", op: "=", value: "  " }).problem).toBe("incomplete");
  });
});

describe("filterText", () => {
  it("is empty without conditions", () => {
    expect(all()).toBe("");
    expect(any()).toBe("");
  });
  it("joins with && for AND", () => {
    expect(all(
      { field: "amount", op: ">=", value: "1000" },
      { field: "title", op: "~", value: "acme" },
      { field: "closed_at", op: "notEmpty", value: "" },
    )).toBe('amount >= 1000 && title ~ "acme" && closed_at != null');
  });
  it("joins with || for OR", () => {
    expect(any({ field: "stage", op: "=", value: "won" }, { field: "stage", op: "=", value: "lost" }))
      .toBe('stage = "won" || stage = "lost"');
  });
  it("leaves out incomplete conditions", () => {
    expect(all(
      { field: "title", op: "~", value: "" },
      { field: "amount", op: ">", value: "abc" },
      { field: "qty", op: ">", value: "2" },
    )).toBe("qty > 2");
    expect(all({ field: "title", op: "~", value: "" })).toBe("");
  });
});

describe("operators and defaults", () => {
  const f = (name: string) => fields.find((x) => x.name === name)!;
  it("offers operators per type", () => {
    expect(operatorsFor(f("title"))).toEqual(["~", "!~", "=", "!=", "in", "empty", "notEmpty"]);
    expect(operatorsFor(f("amount"))).toContain(">=");
    expect(operatorsFor(f("amount"))).not.toContain("~");
    expect(operatorsFor(f("done"))).toEqual(["=", "!=", "empty", "notEmpty"]);
    expect(operatorsFor(f("tags"))).toEqual(["~", "!~", "empty", "notEmpty"]);
    expect(operatorsFor(f("meta"))).toEqual(["empty", "notEmpty"]);
    expect(operatorsFor(f("closed_at"))).not.toContain("in");
  });
  it("starts a condition with the first operator", () => {
    expect(defaultCondition(f("title"))).toEqual({ field: "title", op: "~", value: "" });
    expect(defaultCondition(f("done"))).toEqual({ field: "done", op: "=", value: "true" });
  });
  it("adds system columns", () => {
    expect(filterableFields(fields).map((x) => x.name)).toEqual(expect.arrayContaining(["created_at", "owner", "id"]));
  });
  it("splits lists", () => expect(splitList(" a ,, b,")).toEqual(["a", "b"]));
});
