import { fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Automation } from "../designer/automations";
import type { Connector } from "../designer/connectors";
import type { DDoc } from "../designer/model";
import { forgetAppPlugins } from "../plugins";
import { mockFetch, renderWith } from "../test/util";
import { AutomationsEditor } from "./AutomationsEditor";
import { ConnectorsEditor } from "./ConnectorsEditor";

const plugins = [
  {
    name: "wecom", version: "1.0.0", labels: { en: "WeCom", "zh-CN": "企业微信" }, builtin: true, hosts: [], triggers: [],
    actions: [{ name: "send", title: "Send", input: { type: "object", required: ["content"], properties: {
      msgtype: { type: "string", enum: ["text", "markdown"], default: "text" }, content: { type: "string", title: "Content" },
      mentionedMobiles: { type: "array", items: { type: "string" } },
    } } }],
    config: { enabled: true },
  },
  { name: "dingtalk", version: "1.0.0", builtin: true, hosts: [], triggers: [], actions: [{ name: "send" }], config: { enabled: false } },
  {
    name: "webform", version: "1.0.0", labels: { en: "Web form" }, builtin: true, hosts: [], actions: [],
    triggers: [{ name: "submission", title: "Submission", output: { type: "object", additionalProperties: { type: "string" } } }],
    config: { enabled: true },
  },
];

const doc = (extra: Partial<DDoc> = {}): DDoc => ({
  name: "crm", version: 3,
  entities: [{ name: "lead", label: "Lead", fields: [
    { id: "l1", name: "name", label: "Name", type: "text" }, { id: "l2", name: "email", label: "Email", type: "email", unique: true },
    { id: "l3", name: "phone", label: "Phone", type: "phone" }, { id: "l4", name: "source", label: "Source", type: "select", options: ["website", "expo"] },
  ] }],
  roles: [{ name: "rep" }],
  ...extra,
});

let latest: DDoc;
function Auto({ initial }: { initial: DDoc }) {
  const [d, setD] = useState(initial);
  latest = d;
  return <AutomationsEditor doc={d} onChange={setD} stored />;
}
function Conn({ initial }: { initial: DDoc }) {
  const [d, setD] = useState(initial);
  latest = d;
  return <ConnectorsEditor doc={d} onChange={setD} stored />;
}

beforeEach(() => forgetAppPlugins());
afterEach(() => vi.unstubAllGlobals());

describe("plugin actions in the automation designer", () => {
  it("offers the enabled plugins' actions and edits the input from its schema", async () => {
    mockFetch((c) => (c.url.pathname === "/api/meta/apps/crm/plugins" ? { body: { items: plugins } } : undefined));
    const a: Automation = { name: "new_lead", entity: "lead", trigger: { type: "created" }, actions: [] };
    renderWith(<Auto initial={doc({ automations: [a] })} />);
    const sel = (await screen.findByTestId("auto-action-type-actions")) as HTMLSelectElement;
    await waitFor(() => expect([...sel.options].map((o) => o.textContent)).toContain("WeCom: Send"));
    expect([...sel.options].map((o) => o.value)).not.toContain("plugin:dingtalk:send");
    fireEvent.change(sel, { target: { value: "plugin:wecom:send" } });
    fireEvent.click(screen.getByTestId("auto-action-add-actions"));
    expect(screen.getByTestId("auto-action-type-actions-0").textContent).toContain("WeCom: Send");
    fireEvent.change(screen.getByTestId("auto-plugin-input-actions-0-content-value"), { target: { value: "New lead {{name}}" } });
    fireEvent.change(screen.getByTestId("auto-plugin-input-actions-0-mentionedMobiles-value"), { target: { value: "13800000000\n13900000000" } });
    const act = (latest.automations as Automation[])[0].actions![0];
    expect(act).toEqual({ type: "plugin", plugin: "wecom", action: "send", input: {
      msgtype: "text", content: { template: "New lead {{name}}" }, mentionedMobiles: ["13800000000", "13900000000"],
    } });
  });
});

describe("inbound endpoints in the designer", () => {
  it("adds a web-form endpoint with a guessed mapping, a default and a match, and shows a published one's snippet", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname === "/api/meta/apps/crm/plugins") return { body: { items: plugins } };
      if (c.url.pathname === "/api/meta/apps/crm") return { body: doc({ connectors: [{ name: "website", plugin: "webform", trigger: "submission", entity: "lead", mapping: { name: "name" } }] }) };
      if (c.url.pathname === "/api/meta/apps/crm/connectors/website") {
        return { body: { app: "crm", name: "website", path: "/api/in/crm/website", token: "tok1", snippet: '<form action="/api/in/crm/website">' } };
      }
      if (c.url.pathname === "/api/meta/apps/crm/connectors/website/token") return { body: { app: "crm", name: "website", path: "/api/in/crm/website", token: "tok2", snippet: "<form>" } };
      return undefined;
    });
    renderWith(<Conn initial={doc()} />);
    await waitFor(() => expect(calls.some((c) => c.url.pathname === "/api/meta/apps/crm/plugins")).toBe(true));
    await waitFor(() => expect((screen.getByTestId("conn-add") as HTMLButtonElement).disabled).toBe(false));
    await new Promise((r) => setTimeout(r, 0));
    fireEvent.click(screen.getByTestId("conn-add"));
    const c0 = () => (latest.connectors as Connector[])[0];
    await waitFor(() => expect(c0().plugin).toBe("webform"));
    expect(c0()).toMatchObject({ name: "website", trigger: "submission", entity: "lead", mapping: { name: "name", email: "email", phone: "phone" }, honeypot: "company_url" });
    fireEvent.change(screen.getByTestId("conn-default-add"), { target: { value: "source" } });
    fireEvent.change(screen.getByTestId("conn-default-value-source"), { target: { value: "website" } });
    fireEvent.change(screen.getByTestId("conn-match"), { target: { value: "email" } });
    fireEvent.change(screen.getByTestId("conn-rate"), { target: { value: "60" } });
    fireEvent.change(screen.getByTestId("conn-role"), { target: { value: "rep" } });
    expect(c0()).toMatchObject({ defaults: { source: "website" }, match: "email", rateLimit: 60, role: "rep" });
    // The published app has it: URL, token and snippet.
    expect((await screen.findByTestId("conn-snippet") as HTMLTextAreaElement).value).toContain("/api/in/crm/website");
    expect((screen.getByTestId("conn-endpoint-url") as HTMLInputElement).value).toMatch(/\/api\/in\/crm\/website$/);
    expect((screen.getByTestId("conn-endpoint-token") as HTMLInputElement).value).toBe("tok1");
    fireEvent.click(screen.getByTestId("conn-rotate"));
    fireEvent.click(screen.getByTestId("conn-rotate-confirm"));
    await waitFor(() => expect((screen.getByTestId("conn-endpoint-token") as HTMLInputElement).value).toBe("tok2"));
  });
});
