import { describe, expect, it } from "vitest";
import { actionChoices, compact, enumValue, initialValues, missingRequired, schemaFields, secretChanges, type AppPlugin } from "./plugins";
import { pluginInputText, pluginInputValue } from "./designer/automations";
import { cleanConnector, guessMapping, itemProps, renameFieldInConnectors, typedDefault } from "./designer/connectors";
import type { DDoc } from "./designer/model";

const schema = {
  type: "object",
  required: ["content", "msgtype"],
  properties: {
    msgtype: { type: "string", enum: ["text", "markdown"], default: "text", title: "Type" },
    content: { type: "string", title: "Content", description: "The message" },
    retries: { type: "integer" },
    ratio: { type: "number" },
    atAll: { type: "boolean" },
    mentionedMobiles: { type: "array", items: { type: "string" } },
    body: { type: "string", format: "textarea" },
    extra: { type: "object" },
    level: { enum: [1, 2, 3] },
  },
};

describe("schemaFields", () => {
  it("maps every property kind, title, description, default and required", () => {
    const f = schemaFields(schema);
    expect(f.map((x) => [x.name, x.kind])).toEqual([
      ["msgtype", "enum"], ["content", "string"], ["retries", "integer"], ["ratio", "number"], ["atAll", "boolean"],
      ["mentionedMobiles", "strings"], ["body", "text"], ["extra", "json"], ["level", "enum"],
    ]);
    expect(f[0]).toMatchObject({ title: "Type", required: true, default: "text", options: ["text", "markdown"] });
    expect(f[1]).toMatchObject({ title: "Content", description: "The message", required: true });
    expect(f[2]).toMatchObject({ title: "retries", required: false });
    expect(schemaFields(undefined)).toEqual([]);
    expect(schemaFields({ type: "object" })).toEqual([]);
  });

  it("keeps an enum's own values, fills defaults, finds what is missing, drops empty optionals", () => {
    const f = schemaFields(schema);
    expect(enumValue(schema.properties.level as never, "2")).toBe(2);
    expect(initialValues(f, { content: "hi" })).toEqual({ content: "hi", msgtype: "text" });
    expect(missingRequired(f, { msgtype: "text", content: "" })).toEqual(["content"]);
    expect(compact(f, { msgtype: "text", content: "", retries: null, ratio: 0 })).toEqual({ msgtype: "text", content: "", ratio: 0 });
  });
});

describe("secrets", () => {
  it("sends only what changed: typed values set, cleared names null, nothing else", () => {
    expect(secretChanges({}, new Set())).toBeUndefined();
    expect(secretChanges({ key: "" }, new Set())).toBeUndefined();
    expect(secretChanges({ key: "K1" }, new Set(["old"]))).toEqual({ key: "K1", old: null });
  });
});

describe("plugin actions in the designer", () => {
  it("offers the actions of the plugins enabled in the app", () => {
    const p = (name: string, enabled: boolean, labels?: Record<string, string>) => ({
      name, labels, actions: [{ name: "send", labels: { "zh-CN": "发送" } }], config: { enabled },
    }) as unknown as AppPlugin;
    const c = actionChoices([p("wecom", true, { en: "WeCom", "zh-CN": "企业微信" }), p("dingtalk", false)], "en");
    expect(c).toEqual([{ plugin: "wecom", action: "send", label: "WeCom: send" }]);
    expect(actionChoices([p("wecom", true, { en: "WeCom", "zh-CN": "企业微信" })], "zh-CN")[0].label).toBe("企业微信: 发送");
  });

  it("stores text with a placeholder as a template, other text as a literal", () => {
    expect(pluginInputValue("New lead {{name}}")).toEqual({ template: "New lead {{name}}" });
    expect(pluginInputValue("hello")).toBe("hello");
    expect(pluginInputText({ template: "a {{b}}" })).toBe("a {{b}}");
    expect(pluginInputText("x")).toBe("x");
    expect(pluginInputText(undefined)).toBe("");
  });
});

describe("connectors", () => {
  const doc = {
    name: "crm", entities: [{ name: "lead", fields: [
      { id: "f1", name: "name", type: "text" }, { id: "f2", name: "email", type: "email", unique: true },
      { id: "f3", name: "score", type: "integer" }, { id: "f4", name: "total", type: "formula", expr: "1" },
    ] }],
    connectors: [{ name: "website", plugin: "webform", trigger: "submission", entity: "lead", mapping: { email: "email" }, match: "email", defaults: { score: 1 } }],
  } as unknown as DDoc;

  it("guesses a mapping by name over writable fields only", () => {
    expect(guessMapping(doc.entities[0], ["name", "email", "total", "phone"])).toEqual({ name: "name", email: "email" });
  });

  it("offers an open item's properties as the entity's text fields", () => {
    expect(itemProps({ additionalProperties: { type: "string" } }, doc.entities[0])).toEqual(["name", "email"]);
    expect(itemProps({ properties: { a: {} } }, doc.entities[0])).toEqual(["a"]);
    expect(itemProps(undefined, doc.entities[0])).toEqual([]);
  });

  it("cleans empty keys and follows a field rename", () => {
    expect(cleanConnector({ name: "w", plugin: "p", trigger: "t", entity: "lead", mapping: { a: "", b: "b" }, label: "", rateLimit: 0, enabled: true, defaults: {} }))
      .toEqual({ name: "w", plugin: "p", trigger: "t", entity: "lead", mapping: { b: "b" } });
    const c = (renameFieldInConnectors(doc, "lead", "email", "mail").connectors as { mapping: object; match: string }[])[0];
    expect(c.mapping).toEqual({ mail: "email" });
    expect(c.match).toBe("mail");
  });

  it("types a default by its field", () => {
    expect(typedDefault({ type: "integer" } as never, "12")).toBe(12);
    expect(typedDefault({ type: "boolean" } as never, "true")).toBe(true);
    expect(typedDefault({ type: "multiselect" } as never, "a, b")).toEqual(["a", "b"]);
    expect(typedDefault({ type: "text" } as never, "web")).toBe("web");
  });
});
