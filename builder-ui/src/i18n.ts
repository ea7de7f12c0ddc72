// Message catalogs (zh-CN and en) for every UI string, the language choice,
// and date formatting in the user's time zone with Intl.
import { createContext, createElement, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";

export type Lang = "zh-CN" | "en";
export const LANGS: Lang[] = ["zh-CN", "en"];
export const LANG_KEY = "forma.lang";

const en = {
  "app.name": "Forma",
  "header.logout": "Log out",
  "header.language": "Language",
  "header.menu": "Menu",
  "header.allApps": "All apps",
  "lang.zh-CN": "简体中文",
  "lang.en": "English",

  "login.title": "Sign in to Forma",
  "login.email": "Email",
  "login.password": "Password",
  "login.submit": "Sign in",
  "login.submitting": "Signing in…",
  "login.badCredentials": "Wrong email or password.",
  "login.throttled": "Too many failed sign-in attempts. Try again in {minutes} min.",
  "login.throttledLater": "Too many failed sign-in attempts. Try again later.",
  "login.sessionEnded": "Your session has ended. Please sign in again.",

  "common.loading": "Loading…",
  "common.retry": "Retry",
  "common.empty": "—",
  "common.yes": "Yes",
  "common.no": "No",
  "common.close": "Close",

  "error.generic": "Something went wrong ({code}): {message}",
  "error.network": "Cannot reach the server. Check your connection and retry.",
  "error.forbidden": "You do not have permission to do this.",
  "error.notFound": "Not found, or you do not have access to it.",
  "error.invalidFilter": "The filter is not valid: {message}",

  "apps.title": "Apps",
  "apps.empty": "No apps have been installed yet.",
  "apps.version": "version {n}",

  "nav.entities": "Data",
  "nav.noEntities": "This app has no entities.",

  "list.new": "New",
  "list.empty": "No records match.",
  "list.next": "Next page",
  "list.prev": "Previous page",
  "list.page": "Page {n}",
  "list.sortBy": "Sort by {field}",
  "list.sortedAsc": "ascending",
  "list.sortedDesc": "descending",
  "list.open": "Open record",

  "filter.title": "Filter",
  "filter.add": "Add condition",
  "filter.remove": "Remove condition",
  "filter.apply": "Apply filter",
  "filter.clear": "Clear",
  "filter.join": "Match",
  "filter.all": "all conditions (AND)",
  "filter.any": "any condition (OR)",
  "filter.field": "Field",
  "filter.operator": "Operator",
  "filter.value": "Value",
  "filter.generated": "Filter text",
  "filter.none": "(no filter)",
  "filter.incomplete": "Incomplete: this condition is left out.",
  "filter.invalidNumber": "Not a number: this condition is left out.",
  "filter.listHint": "Separate values with commas",
  "filter.me": "me",

  "op.eq": "equals",
  "op.ne": "does not equal",
  "op.gt": "greater than",
  "op.ge": "at least",
  "op.lt": "less than",
  "op.le": "at most",
  "op.contains": "contains",
  "op.notContains": "does not contain",
  "op.hasOption": "has option",
  "op.lacksOption": "does not have option",
  "op.in": "is one of",
  "op.empty": "is empty",
  "op.notEmpty": "is not empty",
  "op.after": "after",
  "op.onOrAfter": "on or after",
  "op.before": "before",
  "op.onOrBefore": "on or before",

  "form.new": "New {entity}",
  "form.edit": "Edit {entity}",
  "form.save": "Save",
  "form.saving": "Saving…",
  "form.saved": "Saved.",
  "form.backToList": "Back to list",
  "form.history": "History",
  "form.readOnly": "read-only",
  "form.computed": "computed",
  "form.required": "required",
  "form.system": "System fields",
  "form.conflict": "Someone else changed this record after you opened it. Reload it to see their changes (your unsaved edits will be lost).",
  "form.reload": "Reload",
  "form.validation": "The record was not saved. Please correct the fields below.",
  "form.scriptFailed": "A script refused the save: {message}",
  "form.scriptAt": "Script “{script}”, function {function}, line {line}",
  "form.noChanges": "Nothing has changed.",
  "form.invalidJson": "Not valid JSON.",
  "form.invalidNumber": "Not a number.",
  "form.invalidDate": "Not a valid date and time.",
  "form.none": "— none —",
  "form.userHint": "user id",
  "form.forbidden": "You may not change this field: {message}",

  "ref.search": "Type to search…",
  "ref.clear": "Clear",
  "ref.noResults": "No matches.",
  "ref.searching": "Searching…",

  "sys.id": "ID",
  "sys.created_at": "Created",
  "sys.updated_at": "Updated",
  "sys.created_by": "Created by",
  "sys.owner": "Owner",
  "sys.version": "Version",

  "history.title": "History",
  "history.empty": "No changes recorded.",
  "history.by": "by {who}",
  "history.via": "via {path}",
  "history.version": "version {n}",
  "history.op.create": "Created",
  "history.op.update": "Updated",
  "history.op.delete": "Deleted",
  "history.field": "Field",
  "history.old": "Before",
  "history.new": "After",
  "history.more": "Load more",
  "history.backToRecord": "Back to record",
};

export type MessageKey = keyof typeof en;

const zhCN: Record<MessageKey, string> = {
  "app.name": "Forma",
  "header.logout": "退出登录",
  "header.language": "语言",
  "header.menu": "菜单",
  "header.allApps": "全部应用",
  "lang.zh-CN": "简体中文",
  "lang.en": "English",

  "login.title": "登录 Forma",
  "login.email": "邮箱",
  "login.password": "密码",
  "login.submit": "登录",
  "login.submitting": "正在登录…",
  "login.badCredentials": "邮箱或密码错误。",
  "login.throttled": "登录失败次数过多，请 {minutes} 分钟后再试。",
  "login.throttledLater": "登录失败次数过多，请稍后再试。",
  "login.sessionEnded": "登录已失效，请重新登录。",

  "common.loading": "加载中…",
  "common.retry": "重试",
  "common.empty": "—",
  "common.yes": "是",
  "common.no": "否",
  "common.close": "关闭",

  "error.generic": "出错了（{code}）：{message}",
  "error.network": "无法连接服务器，请检查网络后重试。",
  "error.forbidden": "你没有执行此操作的权限。",
  "error.notFound": "未找到，或你无权访问。",
  "error.invalidFilter": "筛选条件无效：{message}",

  "apps.title": "应用",
  "apps.empty": "还没有安装任何应用。",
  "apps.version": "版本 {n}",

  "nav.entities": "数据",
  "nav.noEntities": "此应用没有数据对象。",

  "list.new": "新建",
  "list.empty": "没有符合条件的记录。",
  "list.next": "下一页",
  "list.prev": "上一页",
  "list.page": "第 {n} 页",
  "list.sortBy": "按{field}排序",
  "list.sortedAsc": "升序",
  "list.sortedDesc": "降序",
  "list.open": "打开记录",

  "filter.title": "筛选",
  "filter.add": "添加条件",
  "filter.remove": "删除条件",
  "filter.apply": "应用筛选",
  "filter.clear": "清除",
  "filter.join": "匹配",
  "filter.all": "全部条件（AND）",
  "filter.any": "任一条件（OR）",
  "filter.field": "字段",
  "filter.operator": "运算符",
  "filter.value": "值",
  "filter.generated": "筛选表达式",
  "filter.none": "（无筛选）",
  "filter.incomplete": "条件不完整，已忽略。",
  "filter.invalidNumber": "不是有效的数字，此条件已忽略。",
  "filter.listHint": "多个值用逗号分隔",
  "filter.me": "我",

  "op.eq": "等于",
  "op.ne": "不等于",
  "op.gt": "大于",
  "op.ge": "大于等于",
  "op.lt": "小于",
  "op.le": "小于等于",
  "op.contains": "包含",
  "op.notContains": "不包含",
  "op.hasOption": "含有选项",
  "op.lacksOption": "不含选项",
  "op.in": "属于",
  "op.empty": "为空",
  "op.notEmpty": "不为空",
  "op.after": "晚于",
  "op.onOrAfter": "不早于",
  "op.before": "早于",
  "op.onOrBefore": "不晚于",

  "form.new": "新建{entity}",
  "form.edit": "编辑{entity}",
  "form.save": "保存",
  "form.saving": "正在保存…",
  "form.saved": "已保存。",
  "form.backToList": "返回列表",
  "form.history": "变更历史",
  "form.readOnly": "只读",
  "form.computed": "自动计算",
  "form.required": "必填",
  "form.system": "系统字段",
  "form.conflict": "你打开此记录后，已有其他人修改了它。请重新加载查看最新内容（未保存的修改将丢失）。",
  "form.reload": "重新加载",
  "form.validation": "记录未保存，请修正下面标出的字段。",
  "form.scriptFailed": "脚本拒绝了保存：{message}",
  "form.scriptAt": "脚本“{script}”，函数 {function}，第 {line} 行",
  "form.noChanges": "没有任何修改。",
  "form.invalidJson": "不是有效的 JSON。",
  "form.invalidNumber": "不是有效的数字。",
  "form.invalidDate": "不是有效的日期时间。",
  "form.none": "— 无 —",
  "form.userHint": "用户 ID",
  "form.forbidden": "你不能修改此字段：{message}",

  "ref.search": "输入关键字搜索…",
  "ref.clear": "清除",
  "ref.noResults": "没有匹配的记录。",
  "ref.searching": "搜索中…",

  "sys.id": "ID",
  "sys.created_at": "创建时间",
  "sys.updated_at": "更新时间",
  "sys.created_by": "创建人",
  "sys.owner": "负责人",
  "sys.version": "版本",

  "history.title": "变更历史",
  "history.empty": "暂无变更记录。",
  "history.by": "操作人 {who}",
  "history.via": "来源 {path}",
  "history.version": "版本 {n}",
  "history.op.create": "创建",
  "history.op.update": "修改",
  "history.op.delete": "删除",
  "history.field": "字段",
  "history.old": "修改前",
  "history.new": "修改后",
  "history.more": "加载更多",
  "history.backToRecord": "返回记录",
};

export const catalogs: Record<Lang, Record<MessageKey, string>> = { en, "zh-CN": zhCN };

export type Params = Record<string, string | number | undefined>;

export function translate(lang: Lang, key: MessageKey, params?: Params): string {
  const msg = catalogs[lang][key] ?? catalogs.en[key] ?? key;
  if (!params) return msg;
  return msg.replace(/\{(\w+)\}/g, (m, name: string) => {
    const v = params[name];
    return v === undefined ? m : String(v);
  });
}

// pickLanguage: a remembered choice wins; otherwise the first of the
// browser's preferred languages that we speak (any zh-* is Simplified
// Chinese, any en-* English); otherwise English.
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

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children, lang: fixed }: { children: ReactNode; lang?: Lang }) {
  const [lang, setLangState] = useState<Lang>(() => fixed ?? initialLanguage());
  const setLang = useCallback((l: Lang) => {
    setLangState(l);
    try {
      localStorage.setItem(LANG_KEY, l);
    } catch {
      /* not remembered */
    }
  }, []);
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const value = useMemo<I18n>(() => ({
    lang,
    setLang,
    t: (key, params) => translate(lang, key, params),
    date: (v) => formatDate(v, lang),
    dateTime: (v) => formatDateTime(v, lang),
  }), [lang, setLang]);
  return createElement(I18nContext.Provider, { value }, children);
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error("useI18n outside I18nProvider");
  return v;
}
