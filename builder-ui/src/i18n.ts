// The UI's messages (zh-CN and en, JSON resources in locales/) served by
// i18next and react-i18next; the language choice (stored choice → browser →
// English); date formatting in the user's time zone with Intl.
import { createElement, useEffect, useMemo, useState, type ReactNode } from "react";
import i18next, { type i18n as I18next } from "i18next";
import { I18nextProvider, initReactI18next, useTranslation } from "react-i18next";
import en from "./locales/en.json";
import zhCN from "./locales/zh-CN.json";

export type Lang = "zh-CN" | "en";
export const LANGS: Lang[] = ["zh-CN", "en"];
export const LANG_KEY = "forma.lang";

export type MessageKey = keyof typeof en;

export const catalogs: Record<Lang, Record<MessageKey, string>> = { en, "zh-CN": zhCN as Record<MessageKey, string> };

export type Params = Record<string, string | number | undefined>;

// createI18n makes an i18next instance for one provider. Messages are flat
// ("login.submit", no nesting) and use single-brace placeholders ({minutes});
// a placeholder without a value stays as it is, as the old catalog did.
export function createI18n(lang: Lang): I18next {
  const inst = i18next.createInstance();
  void inst.use(initReactI18next).init({
    resources: { en: { translation: en }, "zh-CN": { translation: zhCN } },
    lng: lang,
    fallbackLng: "en",
    supportedLngs: LANGS,
    keySeparator: false,
    nsSeparator: false,
    initAsync: false,
    showSupportNotice: false,
    interpolation: {
      escapeValue: false, // React escapes
      prefix: "{",
      suffix: "}",
      missingInterpolationHandler: (_text: string, value: RegExpExecArray) => value[0],
    },
  } as Parameters<I18next["init"]>[0]);
  return inst;
}

// One shared instance for translate() outside React (tests, plain functions).
const shared = createI18n("en");

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  return shared.getFixedT(lang)(key, params as Record<string, unknown>) as string;
}

export function pickLanguage(stored: string | null | undefined, preferred: readonly string[] | undefined): Lang {
  if (stored && (LANGS as string[]).includes(stored)) return stored as Lang;
  for (const p of preferred ?? []) {
    const l = p.toLowerCase();
    if (l === "zh" || l.startsWith("zh-")) return "zh-CN";
    if (l === "en" || l.startsWith("en-")) return "en";
  }
  return "en";
}

function storedLang(): string | null {
  try {
    return localStorage.getItem(LANG_KEY);
  } catch {
    return null;
  }
}

export function initialLanguage(): Lang {
  const nav = typeof navigator !== "undefined" ? (navigator.languages?.length ? navigator.languages : [navigator.language]) : [];
  return pickLanguage(storedLang(), nav);
}

// Dates ("YYYY-MM-DD") are calendar days: shown as they are, never shifted by
// a time zone. Datetimes are instants: shown in the user's time zone.
export function formatDate(value: string, lang: Lang): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return value;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return new Intl.DateTimeFormat(lang, { year: "numeric", month: "short", day: "numeric", timeZone: "UTC" }).format(d);
}

export function formatDateTime(value: string, lang: Lang, timeZone?: string): string {
  const d = new Date(value);
  if (isNaN(d.getTime())) return value;
  return new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", timeZone,
  }).format(d);
}

export interface I18n {
  lang: Lang;
  setLang: (l: Lang) => void;
  t: (key: MessageKey, params?: Params) => string;
  date: (v: string) => string;
  dateTime: (v: string) => string;
}

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [inst] = useState(() => {
    const i = createI18n(fixed ?? initialLanguage());
    // Set at once, not in the effect below: children's effects run first,
    // and their requests say <html lang> as Accept-Language (api.ts).
    if (typeof document !== "undefined") document.documentElement.lang = i.language;
    return i;
  });
  useEffect(() => {
    const on = (l: string) => {
      document.documentElement.lang = l;
    };
    on(inst.language);
    inst.on("languageChanged", on);
    return () => inst.off("languageChanged", on);
  }, [inst]);
  return createElement(I18nextProvider, { i18n: inst }, children);
}

export function useI18n(): I18n {
  const { i18n } = useTranslation();
  const lang = (LANGS as string[]).includes(i18n.language) ? (i18n.language as Lang) : "en";
  return useMemo<I18n>(() => {
    const t = i18n.getFixedT(lang);
    return {
      lang,
      setLang: (l: Lang) => {
        void i18n.changeLanguage(l);
        try {
          localStorage.setItem(LANG_KEY, l);
        } catch {
          /* not remembered */
        }
      },
      t: (key, params) => t(key, params as Record<string, unknown>) as string,
      date: (v) => formatDate(v, lang),
      dateTime: (v) => formatDateTime(v, lang),
    };
  }, [i18n, lang]);
}
