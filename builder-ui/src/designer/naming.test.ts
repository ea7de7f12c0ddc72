import { beforeAll, describe, expect, it } from "vitest";
import { loadPinyin, nameFromLabel, uniqueName } from "./naming";
// Label → name vectors shared with the server (schema/derive_test.go).
import vectors from "../../../schema/testdata/names.json";

beforeAll(() => loadPinyin());

describe("nameFromLabel", () => {
  it("spells Chinese in pinyin, two characters to a word", () => {
    expect(nameFromLabel("门店销售")).toBe("mendian_xiaoshou");
    expect(nameFromLabel("客户名称")).toBe("kehu_mingcheng");
    expect(nameFromLabel("销售额")).toBe("xiaoshou_e");
    expect(nameFromLabel("绿色")).toBe("lvse"); // ü as v
  });
  it("keeps Latin letters and digits, breaks words elsewhere", () => {
    expect(nameFromLabel("Deal Amount (USD)")).toBe("deal_amount_usd");
    expect(nameFromLabel("Q3 报表")).toBe("q3_baobiao");
    expect(nameFromLabel("Café — 2026")).toBe("cafe_2026");
  });
  it("starts with a letter, fits the length, and may be empty", () => {
    expect(nameFromLabel("2026 目标")).toBe("n_2026_mubiao");
    expect(nameFromLabel("🙂🎉")).toBe("");
    expect(nameFromLabel("x".repeat(80))).toHaveLength(63);
    expect(nameFromLabel("a".repeat(62) + " b")).toMatch(/^[a-z][a-z0-9_]{0,62}$/);
  });
});

describe("uniqueName", () => {
  it("numbers collisions", () => {
    const taken = new Set(["store", "store_2"]);
    expect(uniqueName("store", (n) => taken.has(n))).toBe("store_3");
    expect(uniqueName("deal", (n) => taken.has(n))).toBe("deal");
  });
});

// The server derives the same names (schema.NameFromLabel); both test
// these vectors, so the live preview shows what publishing will give.

describe("nameFromLabel agrees with the server", () => {
  for (const [label, name] of vectors.vectors as [string, string][]) {
    it(`${JSON.stringify(label)} → ${JSON.stringify(name)}`, () => {
      expect(nameFromLabel(label)).toBe(name);
    });
  }
});
