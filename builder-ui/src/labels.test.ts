import { describe, expect, it } from "vitest";
import { flowStates, labelIn, optionLabel, titleIn } from "./labels";
import { labelIn as exprLabelIn } from "./expr";
import { displayValue, fieldLabel } from "./fields";
import type { Field } from "./api";

const industry = {
  name: "industry", label: "Industry", labels: { "zh-CN": "行业", en: "Industry" }, type: "select", options: ["manufacturing", "other"],
  optionLabels: { manufacturing: { "zh-CN": "制造业", en: "Manufacturing" } },
} as unknown as Field;

describe("labelIn", () => {
  it("takes the language's label, then label, then name", () => {
    expect(labelIn(industry, "zh-CN")).toBe("行业");
    expect(labelIn(industry, "en")).toBe("Industry");
    expect(labelIn({ name: "title", label: "Title", labels: { en: "Title" } }, "zh-CN")).toBe("Title");
    expect(labelIn({ name: "title" }, "zh-CN")).toBe("title");
    expect(labelIn({ name: "title", labels: { "zh-CN": "" } }, "zh-CN")).toBe("title");
  });
  it("is the one expr.ts exports", () => {
    expect(exprLabelIn).toBe(labelIn);
  });
  it("backs fieldLabel when a language is given", () => {
    expect(fieldLabel(industry, "zh-CN")).toBe("行业");
    expect(fieldLabel(industry)).toBe("Industry");
  });
});

describe("optionLabel", () => {
  it("reads optionLabels in both languages, else the value", () => {
    expect(optionLabel(industry, "manufacturing", "zh-CN")).toBe("制造业");
    expect(optionLabel(industry, "manufacturing", "en")).toBe("Manufacturing");
    expect(optionLabel(industry, "manufacturing", "fr")).toBe("manufacturing");
    expect(optionLabel(industry, "other", "zh-CN")).toBe("other");
    expect(optionLabel(undefined, "x", "en")).toBe("x");
  });
  it("falls back to a flow state's labels", () => {
    const doc = { flows: [{ entity: "opportunity", field: "stage", states: [{ name: "discovery", labels: { "zh-CN": "需求发现" } }, { name: "won", label: "Won" }] }] };
    const states = flowStates(doc, "opportunity", "stage");
    const stage = { name: "stage", type: "select", options: ["discovery", "won", "lost"] };
    expect(optionLabel(stage, "discovery", "zh-CN", states)).toBe("需求发现");
    expect(optionLabel(stage, "won", "zh-CN", states)).toBe("Won");
    expect(optionLabel(stage, "lost", "zh-CN", states)).toBe("lost");
    expect(flowStates(doc, "opportunity", "amount")).toBeUndefined();
    expect(flowStates({}, "opportunity", "stage")).toBeUndefined();
  });
  it("shows select and multiselect values by label in displayValue", () => {
    const i18n = { t: (k: string) => k, date: (s: string) => s, dateTime: (s: string) => s, lang: "zh-CN" } as never;
    expect(displayValue(industry, "manufacturing", i18n)).toBe("制造业");
    expect(displayValue({ ...industry, type: "multiselect" }, ["manufacturing", "other"], i18n)).toBe("制造业, other");
  });
});

describe("titleIn", () => {
  it("is a widget's title in the language, else its title, else its id", () => {
    const w = { id: "takings", title: "营收", titles: { "zh-CN": "今日营收", en: "Today's takings" } };
    expect(titleIn(w, "en")).toBe("Today's takings");
    expect(titleIn(w, "zh-CN")).toBe("今日营收");
    expect(titleIn({ id: "takings", title: "营收", titles: { "zh-CN": "今日营收" } }, "en")).toBe("营收");
    expect(titleIn({ id: "takings", title: "", titles: { en: "" } }, "en")).toBe("takings");
    expect(titleIn({}, "en")).toBe("");
  });
});
