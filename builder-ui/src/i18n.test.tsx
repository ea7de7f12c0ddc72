import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { catalogs, formatDate, formatDateTime, I18nProvider, LANG_KEY, pickLanguage, translate, useI18n } from "./i18n";
import { LangSwitch } from "./App";

function Probe() {
  const { t, lang } = useI18n();
  return <p data-testid="probe" data-lang={lang}>{t("login.submit")}</p>;
}

function setLanguages(langs: string[]) {
  vi.spyOn(navigator, "languages", "get").mockReturnValue(langs);
  vi.spyOn(navigator, "language", "get").mockReturnValue(langs[0] ?? "");
}

afterEach(() => localStorage.clear());

describe("pickLanguage", () => {
  it("prefers Chinese when the browser does", () => {
    expect(pickLanguage(null, ["zh-CN", "en-US"])).toBe("zh-CN");
    expect(pickLanguage(null, ["zh-TW"])).toBe("zh-CN");
    expect(pickLanguage(null, ["zh"])).toBe("zh-CN");
    expect(pickLanguage(null, ["fr-FR", "zh-Hans-CN", "en"])).toBe("zh-CN");
  });
  it("falls back to English", () => {
    expect(pickLanguage(null, ["en-GB", "zh-CN"])).toBe("en");
    expect(pickLanguage(null, ["de-DE", "fr"])).toBe("en");
    expect(pickLanguage(null, [])).toBe("en");
    expect(pickLanguage(undefined, undefined)).toBe("en");
  });
  it("a remembered choice wins, an unknown one is ignored", () => {
    expect(pickLanguage("en", ["zh-CN"])).toBe("en");
    expect(pickLanguage("zh-CN", ["en-US"])).toBe("zh-CN");
    expect(pickLanguage("klingon", ["zh-CN"])).toBe("zh-CN");
  });
});

describe("I18nProvider", () => {
  it("starts in Chinese from navigator.languages", () => {
    setLanguages(["zh-CN", "en"]);
    render(<I18nProvider><Probe /></I18nProvider>);
    expect(screen.getByTestId("probe").textContent).toBe("登录");
    expect(document.documentElement.lang).toBe("zh-CN");
  });
  it("starts in English otherwise", () => {
    setLanguages(["en-US"]);
    render(<I18nProvider><Probe /></I18nProvider>);
    expect(screen.getByTestId("probe").textContent).toBe("Sign in");
  });
  it("switches from the header and remembers the choice", () => {
    setLanguages(["en-US"]);
    const { unmount } = render(<I18nProvider><LangSwitch /><Probe /></I18nProvider>);
    act(() => {
      fireEvent.change(screen.getByTestId("lang-switch"), { target: { value: "zh-CN" } });
    });
    expect(screen.getByTestId("probe").textContent).toBe("登录");
    expect(localStorage.getItem(LANG_KEY)).toBe("zh-CN");
    unmount();
    render(<I18nProvider><Probe /></I18nProvider>);
    expect(screen.getByTestId("probe").dataset.lang).toBe("zh-CN");
  });
});

describe("catalogs", () => {
  it("have the same keys and no empty message", () => {
    expect(Object.keys(catalogs["zh-CN"]).sort()).toEqual(Object.keys(catalogs.en).sort());
    for (const lang of ["en", "zh-CN"] as const) {
      for (const [k, v] of Object.entries(catalogs[lang])) expect(v, `${lang} ${k}`).not.toBe("");
    }
  });
  it("use the same placeholders in both languages", () => {
    const ph = (s: string) => (s.match(/\{\w+\}/g) ?? []).sort().join(",");
    for (const k of Object.keys(catalogs.en) as (keyof typeof catalogs.en)[]) {
      expect(ph(catalogs["zh-CN"][k]), k).toBe(ph(catalogs.en[k]));
    }
  });
  it("interpolates", () => {
    expect(translate("en", "list.page", { n: 3 })).toBe("Page 3");
    expect(translate("zh-CN", "list.page", { n: 3 })).toBe("第 3 页");
  });
});

describe("dates", () => {
  it("shows a date as its calendar day in any zone", () => {
    expect(formatDate("2026-11-21", "en")).toBe("Nov 21, 2026");
    expect(formatDate("2026-11-21", "zh-CN")).toBe("2026年11月21日");
  });
  it("shows a datetime in the user's time zone", () => {
    // The tests run in Asia/Shanghai (UTC+8).
    expect(formatDateTime("2026-11-21T01:30:00.000000Z", "en")).toMatch(/Nov 21, 2026.*09:30/);
    expect(formatDateTime("2026-11-21T20:00:00Z", "en", "America/New_York")).toMatch(/Nov 21, 2026.*03:00/);
    expect(formatDateTime("not a date", "en")).toBe("not a date");
  });
});
