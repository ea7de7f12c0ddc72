import { describe, expect, it } from "vitest";
import type { Field } from "./api";
import { fromInput, fromLocalInput, toInput, toLocalInput } from "./fields";

const f = (type: Field["type"], extra: Partial<Field> = {}): Field => ({ id: "x", name: "x", type, ...extra });

describe("datetime conversions (tests run in Asia/Shanghai)", () => {
  it("shows an instant in local time", () => {
    expect(toLocalInput("2026-11-21T01:30:00.000000Z")).toBe("2026-11-21T09:30");
    expect(toLocalInput("2026-11-21T01:30:15Z")).toBe("2026-11-21T09:30:15");
    expect(toLocalInput("")).toBe("");
    expect(toLocalInput("garbage")).toBe("");
  });
  it("sends local time as RFC 3339 with the offset", () => {
    expect(fromLocalInput("2026-11-21T09:30")).toBe("2026-11-21T09:30:00+08:00");
    expect(fromLocalInput("2026-11-21T23:59:59")).toBe("2026-11-21T23:59:59+08:00");
    expect(fromLocalInput("nope")).toBeNull();
  });
  it("round-trips", () => {
    const iso = fromLocalInput(toLocalInput("2026-01-02T03:04:05Z"))!;
    expect(new Date(iso).toISOString()).toBe("2026-01-02T03:04:05.000Z");
  });
});

describe("form values", () => {
  it("converts inputs to API values", () => {
    expect(fromInput(f("integer"), "42")).toEqual({ value: 42 });
    expect(fromInput(f("integer"), "4.2")).toEqual({ error: "form.invalidNumber" });
    expect(fromInput(f("decimal"), "10.50")).toEqual({ value: "10.50" });
    expect(fromInput(f("decimal"), "")).toEqual({ value: null });
    expect(fromInput(f("decimal"), "x")).toEqual({ error: "form.invalidNumber" });
    expect(fromInput(f("boolean"), true)).toEqual({ value: true });
    expect(fromInput(f("multiselect"), ["a"])).toEqual({ value: ["a"] });
    expect(fromInput(f("json"), '{"a":1}')).toEqual({ value: { a: 1 } });
    expect(fromInput(f("json"), "{")).toEqual({ error: "form.invalidJson" });
    expect(fromInput(f("text"), "")).toEqual({ value: null });
    expect(fromInput(f("datetime"), "2026-11-21T09:30")).toEqual({ value: "2026-11-21T09:30:00+08:00" });
  });
  it("fills inputs from API values", () => {
    expect(toInput(f("decimal"), 10.5)).toBe("10.50");
    expect(toInput(f("decimal", { scale: 3 }), 10.5)).toBe("10.500");
    expect(toInput(f("decimal"), null)).toBe("");
    expect(toInput(f("boolean"), null)).toBe(false);
    expect(toInput(f("multiselect"), null)).toEqual([]);
    expect(toInput(f("json"), { a: 1 })).toBe('{\n  "a": 1\n}');
    expect(toInput(f("datetime"), "2026-11-21T01:30:00.000000Z")).toBe("2026-11-21T09:30");
  });
});
