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

  "apps.new": "New app",
  "apps.newTitle": "New app",
  "apps.name": "Name",
  "apps.nameHint": "Lower-case letters, digits and _; starts with a letter. It cannot be changed later.",
  "apps.label": "Label",
  "apps.create": "Create and design",
  "apps.nameTaken": "An app with this name already exists.",
  "apps.design": "Design",
  "nav.design": "Design this app",
  "design.title": "Design: {app}",
  "design.unpublished": "not published yet",
  "design.unsaved": "You have changes that are not published.",
  "design.tabModel": "Data model",
  "design.tabScripts": "Scripts",
  "design.openApp": "Open app",
  "design.publish": "Publish",
  "design.checking": "Checking…",
  "design.published": "Published: the app is now at version {n}.",
  "design.conflict": "Someone else changed this app after you opened it. Reload to see their version (your unpublished changes will be lost).",
  "design.fixMarked": "The app was not published. Please fix the marked fields and entities.",
  "design.entities": "Entities",
  "design.noEntities": "No entities yet.",
  "design.addEntity": "Add entity",
  "design.addEntityFirst": "Add an entity to start adding fields.",
  "design.add": "Add",
  "design.entityName": "Entity name",
  "design.entityLabel": "Entity label",
  "design.entityTaken": "An entity with this name already exists.",
  "design.fields": "Fields",
  "design.palette": "Field types",
  "design.paletteHint": "Drag a type onto the field list, or click it to append:",
  "design.paletteAdd": "Add a {type} field",
  "design.dropHere": "Drop field types here.",
  "design.moveUp": "Move {field} up",
  "design.moveDown": "Move {field} down",
  "design.selectField": "Select a field to edit its settings.",
  "design.fieldSettings": "Field settings",
  "design.label": "Label",
  "design.name": "Name",
  "design.nameRule": "Use lower-case letters, digits and _, starting with a letter (at most 63).",
  "design.nameTaken": "This name is already used.",
  "design.idNote": "id {id} (stays the same when renamed, so the data is kept)",
  "design.type": "Type",
  "design.required": "Required",
  "design.unique": "Unique",
  "design.maxLength": "Max length",
  "design.min": "Minimum",
  "design.max": "Maximum",
  "design.precision": "Precision (digits)",
  "design.scale": "Scale (decimal places)",
  "design.options": "Options",
  "design.optionsHint": "One option per line; the order is the order users see.",
  "design.optionDuplicate": "“{option}” is listed more than once.",
  "design.refEntity": "Refers to entity",
  "design.onDelete": "When the referenced record is deleted",
  "design.onDeleteDefault": "default (restrict)",
  "design.onDelete.restrict": "refuse the delete (restrict)",
  "design.onDelete.cascade": "delete this record too (cascade)",
  "design.onDelete.setNull": "clear this field (setNull)",
  "design.expr": "Formula expression",
  "design.returns": "Result type",
  "design.returnsDefault": "default (decimal)",
  "design.rollup": "Rollup",
  "design.rollupEntity": "Child entity",
  "design.rollupVia": "Via ref field",
  "design.rollupNoVia": "{entity} has no ref field pointing at {target}.",
  "design.rollupOp": "Aggregate",
  "design.rollupField": "Field to aggregate",
  "design.rollupFilter": "Filter (optional)",
  "design.op.count": "count",
  "design.op.sum": "sum",
  "design.op.min": "minimum",
  "design.op.max": "maximum",
  "design.op.avg": "average",
  "design.default": "Default value",
  "design.defaultInvalid": "Not a valid value for this type.",
  "design.deleteField": "Delete field",
  "design.deleteEntity": "Delete entity",
  "type.text": "Text",
  "type.longtext": "Long text",
  "type.integer": "Integer",
  "type.decimal": "Decimal",
  "type.boolean": "Yes/No",
  "type.date": "Date",
  "type.datetime": "Date & time",
  "type.select": "Select",
  "type.multiselect": "Multi-select",
  "type.email": "Email",
  "type.phone": "Phone",
  "type.url": "URL",
  "type.ref": "Reference",
  "type.user": "User",
  "type.file": "File",
  "type.json": "JSON",
  "type.formula": "Formula",
  "type.rollup": "Rollup",
  "type.autonumber": "Auto number",
  "plan.title": "Publish: version {from} → {to}",
  "plan.empty": "Nothing to change.",
  "plan.refused": "These changes cannot be applied:",
  "plan.destructive": "This plan deletes or narrows data. The old values are archived before they are dropped.",
  "plan.destructiveTag": "loses data",
  "plan.allowDestructive": "I understand; apply the destructive steps",
  "plan.cancel": "Cancel",
  "plan.apply": "Apply",
  "plan.applying": "Applying…",
  "scripts.script": "Script",
  "scripts.none": "(no scripts)",
  "scripts.newName": "new script name",
  "scripts.add": "Add script",
  "scripts.delete": "Delete script",
  "scripts.test": "Test",
  "scripts.hooks": "Hooks",
  "scripts.hooksHint": "Each hook names a function of a script as script#function; publish to use it.",
  "scripts.publishFirst": "Publish the app first: tests run against the published version.",
  "scripts.testNote": "Runs on the published scripts with a sample record; nothing is written.",
  "scripts.entity": "Entity",
  "scripts.hook": "Hook",
  "scripts.record": "Sample record (JSON)",
  "scripts.run": "Test",
  "scripts.ok": "The run succeeded.",
  "scripts.failed": "The run failed.",
  "scripts.line": "line {line}",
  "scripts.result": "Result:",
  "scripts.changes": "Changes:",
  "scripts.recordOut": "Record:",
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

  "apps.new": "新建应用",
  "apps.newTitle": "新建应用",
  "apps.name": "名称",
  "apps.nameHint": "小写字母、数字和 _，以字母开头。创建后不能修改。",
  "apps.label": "显示名称",
  "apps.create": "创建并设计",
  "apps.nameTaken": "已存在同名应用。",
  "apps.design": "设计",
  "nav.design": "设计此应用",
  "design.title": "设计：{app}",
  "design.unpublished": "尚未发布",
  "design.unsaved": "有尚未发布的修改。",
  "design.tabModel": "数据模型",
  "design.tabScripts": "脚本",
  "design.openApp": "打开应用",
  "design.publish": "发布",
  "design.checking": "正在检查…",
  "design.published": "已发布：应用当前为版本 {n}。",
  "design.conflict": "你打开此应用后，已有其他人修改了它。请重新加载查看最新版本（未发布的修改将丢失）。",
  "design.fixMarked": "应用未发布，请修正标出的字段和数据对象。",
  "design.entities": "数据对象",
  "design.noEntities": "还没有数据对象。",
  "design.addEntity": "添加数据对象",
  "design.addEntityFirst": "先添加一个数据对象，再添加字段。",
  "design.add": "添加",
  "design.entityName": "数据对象名称",
  "design.entityLabel": "数据对象显示名称",
  "design.entityTaken": "已存在同名数据对象。",
  "design.fields": "字段",
  "design.palette": "字段类型",
  "design.paletteHint": "把类型拖到字段列表中，或点击追加：",
  "design.paletteAdd": "添加{type}字段",
  "design.dropHere": "把字段类型拖放到这里。",
  "design.moveUp": "上移 {field}",
  "design.moveDown": "下移 {field}",
  "design.selectField": "选择一个字段以编辑其设置。",
  "design.fieldSettings": "字段设置",
  "design.label": "显示名称",
  "design.name": "名称",
  "design.nameRule": "请使用小写字母、数字和 _，以字母开头（最多 63 个字符）。",
  "design.nameTaken": "此名称已被使用。",
  "design.idNote": "ID {id}（改名时保持不变，数据会保留）",
  "design.type": "类型",
  "design.required": "必填",
  "design.unique": "唯一",
  "design.maxLength": "最大长度",
  "design.min": "最小值",
  "design.max": "最大值",
  "design.precision": "精度（总位数）",
  "design.scale": "小数位数",
  "design.options": "选项",
  "design.optionsHint": "每行一个选项；顺序即用户看到的顺序。",
  "design.optionDuplicate": "“{option}”重复出现。",
  "design.refEntity": "引用的数据对象",
  "design.onDelete": "被引用的记录删除时",
  "design.onDeleteDefault": "默认（禁止删除）",
  "design.onDelete.restrict": "禁止删除（restrict）",
  "design.onDelete.cascade": "一并删除此记录（cascade）",
  "design.onDelete.setNull": "清空此字段（setNull）",
  "design.expr": "公式表达式",
  "design.returns": "结果类型",
  "design.returnsDefault": "默认（小数）",
  "design.rollup": "汇总",
  "design.rollupEntity": "子数据对象",
  "design.rollupVia": "通过引用字段",
  "design.rollupNoVia": "{entity} 没有指向 {target} 的引用字段。",
  "design.rollupOp": "汇总方式",
  "design.rollupField": "汇总的字段",
  "design.rollupFilter": "筛选条件（可选）",
  "design.op.count": "计数",
  "design.op.sum": "求和",
  "design.op.min": "最小值",
  "design.op.max": "最大值",
  "design.op.avg": "平均值",
  "design.default": "默认值",
  "design.defaultInvalid": "不是此类型的有效值。",
  "design.deleteField": "删除字段",
  "design.deleteEntity": "删除数据对象",
  "type.text": "文本",
  "type.longtext": "长文本",
  "type.integer": "整数",
  "type.decimal": "小数",
  "type.boolean": "是/否",
  "type.date": "日期",
  "type.datetime": "日期时间",
  "type.select": "单选",
  "type.multiselect": "多选",
  "type.email": "邮箱",
  "type.phone": "电话",
  "type.url": "网址",
  "type.ref": "引用",
  "type.user": "用户",
  "type.file": "文件",
  "type.json": "JSON",
  "type.formula": "公式",
  "type.rollup": "汇总",
  "type.autonumber": "自动编号",
  "plan.title": "发布：版本 {from} → {to}",
  "plan.empty": "没有需要变更的内容。",
  "plan.refused": "以下变更无法应用：",
  "plan.destructive": "此计划会删除或收窄数据。旧值会在删除前归档。",
  "plan.destructiveTag": "会丢失数据",
  "plan.allowDestructive": "我已了解，执行这些破坏性步骤",
  "plan.cancel": "取消",
  "plan.apply": "应用",
  "plan.applying": "正在应用…",
  "scripts.script": "脚本",
  "scripts.none": "（没有脚本）",
  "scripts.newName": "新脚本名称",
  "scripts.add": "添加脚本",
  "scripts.delete": "删除脚本",
  "scripts.test": "测试",
  "scripts.hooks": "钩子",
  "scripts.hooksHint": "每个钩子以 script#function 的形式指定脚本中的函数；发布后生效。",
  "scripts.publishFirst": "请先发布应用：测试使用已发布的版本运行。",
  "scripts.testNote": "用示例记录运行已发布的脚本，不会写入任何数据。",
  "scripts.entity": "数据对象",
  "scripts.hook": "钩子",
  "scripts.record": "示例记录（JSON）",
  "scripts.run": "测试",
  "scripts.ok": "运行成功。",
  "scripts.failed": "运行失败。",
  "scripts.line": "第 {line} 行",
  "scripts.result": "结果：",
  "scripts.changes": "变更：",
  "scripts.recordOut": "记录：",
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
