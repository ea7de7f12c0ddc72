// Connectors as plugins (issue 17), run by smoke.mjs after the bulk run
// (alone: E2E_ONLY=plugins node e2e/smoke.mjs). An app "hub" with a lead
// entity is installed through the API. On the Connectors screen the admin
// installs a small unsigned test plugin ("e2e-echo": refused without
// "allow unsigned", refused with the manifest's pointers when its
// plugin.json is wrong, installed with it — the server runs with
// FORMA_PLUGIN_ALLOW_UNSIGNED=1), configures the built-in WeCom plugin for
// the app with a secret and checks that neither the page (before and after
// a reload) nor the API ever shows it, enables the echo plugin and sends it
// a test (output, duration, log, the recent calls), and enables the web
// form plugin. In the designer an
// automation gets the "WeCom: send" action through its input form (a
// {{name}} template), and an inbound endpoint (web form → lead, mapping,
// a default, match on email) is published: its URL, token and HTML snippet
// show, and a submission posted with the token creates the lead. Removing
// the echo plugin while an automation uses it is refused, naming it.
// Screenshots: e2e/screenshots/plugins-<lang>-NN-<step>.png (en 1280×800;
// the Connectors screen also in zh-CN at 390×844, no sideways scroll).
import { join } from "node:path";
import { deflateRawSync } from "node:zlib";
import { install, waitFor } from "./day.mjs";

const app = {
  name: "hub", label: "Hub",
  entities: [{
    name: "lead", label: "Lead",
    fields: [
      { id: "fh1", name: "name", label: "Name", type: "text", required: true },
      { id: "fh2", name: "email", label: "Email", type: "email", unique: true },
      { id: "fh3", name: "phone", label: "Phone", type: "phone" },
      { id: "fh4", name: "source", label: "Source", type: "select", options: ["website", "expo"] },
    ],
  }],
};

const SECRET = "e2e-wecom-robot-key-9f3a7c";

const echoManifest = {
  name: "e2e-echo", version: "0.1.0", author: "Forma e2e", description: "Echoes its input (no network).",
  labels: { en: "Echo", "zh-CN": "回声" },
  actions: [{
    name: "echo", title: "Echo",
    input: { type: "object", required: ["text"], properties: { text: { type: "string", title: "Text" }, times: { type: "integer", default: 1 } } },
    output: { type: "object", properties: { text: { type: "string" } } },
  }],
};
const echoJS = 'function echo(input) { log.info("echo " + input.text); return { text: String(input.text).repeat(input.times || 1) }; }\n';

// zip writes a .zip of files (stored deflated) with no dependency: local
// headers, the central directory and its end record.
function zip(files) {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (b) => {
    let c = 0xffffffff;
    for (const x of b) c = crcTable[(c ^ x) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, text] of Object.entries(files)) {
    const data = Buffer.from(text);
    const packed = deflateRawSync(data);
    const nameB = Buffer.from(name);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(0, 6); local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 10); local.writeUInt32LE(crc, 14); local.writeUInt32LE(packed.length, 18); local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameB.length, 26); local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6); central.writeUInt16LE(0, 8);
    central.writeUInt16LE(8, 10); central.writeUInt32LE(0, 12); central.writeUInt32LE(crc, 16); central.writeUInt32LE(packed.length, 20);
    central.writeUInt32LE(data.length, 24); central.writeUInt16LE(nameB.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, nameB, packed);
    centrals.push(central, nameB);
    offset += 30 + nameB.length + packed.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(centrals.length / 2, 8); end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(dir.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

export async function plugins({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await install(api, token, app, []);
  try {
    await api(token, "GET", "/api/admin/plugins");
  } catch (e) {
    throw new Error("plugins e2e: the server has no plugin routes yet (issue 17's engine/api/plugins.go): " + e.message);
  }

  const ctx = await browser.newContext({ locale: "en-US", viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  let n = 0;
  const shot = (name, p = page, lang = "en") => p.screenshot({ path: join(shots, `plugins-${lang}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
  const tid = (id) => page.getByTestId(id);
  const noSecret = async (where) => {
    const html = await page.content();
    if (html.includes(SECRET)) throw new Error("the WeCom secret is on the page: " + where);
  };

  await page.goto(base + "/#/login");
  await tid("login-email").fill(email);
  await tid("login-password").fill(password);
  await tid("login-submit").click();
  await tid("nav-admin").waitFor();

  // The Connectors screen from the admin area: the built-ins are listed.
  await tid("nav-admin").click();
  await tid("admin-connectors").click();
  await tid("plugins-table").waitFor();
  await tid("plugin-row-wecom").waitFor();
  if (!(await tid("plugin-row-wecom").textContent()).includes("qyapi.weixin.qq.com")) throw new Error("wecom's hosts are not listed");

  // Install: unsigned is refused unless asked; a wrong manifest is refused with pointers; then installed.
  const upload = async (name, buf, unsigned) => {
    await tid("plugin-file").setInputFiles({ name, mimeType: "application/zip", buffer: buf });
    if ((await tid("plugin-allow-unsigned").isChecked()) !== unsigned) await tid("plugin-allow-unsigned").click();
    await tid("plugin-install-submit").click();
  };
  const good = zip({ "plugin.json": JSON.stringify(echoManifest), "index.js": echoJS });
  await upload("e2e-echo-0.1.0.zip", good, false);
  await tid("plugin-install-error").waitFor();
  if ((await tid("plugin-install-error").getAttribute("data-code")) !== "plugin_unsigned") throw new Error("an unsigned zip was not refused as unsigned: " + await tid("plugin-install-error").textContent());
  await shot("unsigned-refused");
  const bad = zip({ "plugin.json": JSON.stringify({ ...echoManifest, version: "one", actions: [{ name: "Bad Name" }] }), "index.js": echoJS });
  await upload("e2e-echo-bad.zip", bad, true);
  await waitFor(async () => (await tid("plugin-install-error").getAttribute("data-code")) === "plugin_invalid", "plugin_invalid");
  const details = await tid("plugin-install-error-details").textContent();
  if (!details.includes("/version") || !details.includes("/actions/0/name")) throw new Error("the manifest's problems lack their pointers: " + details);
  await shot("invalid-refused");
  await upload("e2e-echo-0.1.0.zip", good, true);
  await tid("plugin-row-e2e-echo").waitFor();
  await tid("plugins-notice").waitFor();
  await shot("installed");

  // WeCom in the app: enabled with its secret; the page shows only "set".
  await tid("connectors-app").selectOption("hub");
  await page.waitForURL(/#\/connectors\/hub/);
  await tid("connector-item-wecom").click();
  await tid("connector-config-wecom").waitFor();
  if (!(await tid("connector-enabled").isChecked())) await tid("connector-enabled").click();
  await tid("connector-secret-key-input").fill(SECRET);
  await tid("connector-save").click();
  await tid("connector-saved").waitFor();
  await waitFor(async () => (await tid("connector-secret-key-state").textContent()) === "Set", "the secret set");
  await noSecret("after saving");
  await shot("wecom-configured");
  await page.reload();
  await tid("connector-item-wecom").click();
  await tid("connector-secret-key-state").waitFor();
  if ((await tid("connector-secret-key-state").textContent()) !== "Set") throw new Error("the secret is not shown as set after a reload");
  if ((await tid("connector-secret-key-input").inputValue()) !== "") throw new Error("the secret input is filled after a reload");
  await noSecret("after a reload");
  for (const path of ["/api/meta/apps/hub/plugins", "/api/meta/apps/hub/plugins/wecom", "/api/admin/plugins"]) {
    if (JSON.stringify(await api(token, "GET", path)).includes(SECRET)) throw new Error("the secret is in the answer of " + path);
  }

  // The echo plugin: enabled, a test sent from the screen, the call listed.
  await tid("connector-item-e2e-echo").click();
  await tid("connector-config-e2e-echo").waitFor();
  await tid("connector-enabled").click();
  await tid("connector-save").click();
  await tid("connector-saved").waitFor();
  await tid("connector-test-echo").locator("summary").click();
  await tid("connector-test-echo-input-text").fill("hi ");
  await tid("connector-test-echo-input-times").fill("2");
  await tid("connector-test-echo-send").click();
  await tid("connector-test-echo-result").waitFor();
  if ((await tid("connector-test-echo-result").getAttribute("data-ok")) !== "true") throw new Error("the echo test failed: " + await tid("connector-test-echo-result").textContent());
  if (!(await tid("connector-test-echo-output").textContent()).includes("hi hi ")) throw new Error("the echo output is missing");
  if (!(await tid("connector-test-echo-logs").textContent()).includes("echo hi")) throw new Error("the echo log is missing");
  await waitFor(async () => (await tid("call-row").count()) > 0, "the recent calls list the test");
  await shot("echo-tested");

  // The web form plugin enabled too: the inbound endpoint below uses it.
  await tid("connector-item-webform").click();
  await tid("connector-config-webform").waitFor();
  await tid("connector-enabled").click();
  await tid("connector-save").click();
  await tid("connector-saved").waitFor();

  // The designer: an automation with the WeCom action through its form.
  await page.goto(base + "/#/design/hub");
  await tid("tab-automations").click();
  await tid("auto-add").click();
  await tid("auto-add-blank").click();
  await tid("auto-action-remove-actions-0").click();
  const adding = tid("auto-action-type-actions");
  await waitFor(async () => (await adding.locator("option[value='plugin:wecom:send']").count()) === 1, "WeCom: send offered");
  await adding.selectOption("plugin:wecom:send");
  await tid("auto-action-add-actions").click();
  await tid("auto-plugin-input-actions-0-content-value").fill("New lead {{name}}");
  await shot("automation-wecom");

  // The inbound endpoint: web form → lead.
  await tid("tab-connectors").click();
  await tid("conn-add").click();
  await tid("conn-form").waitFor();
  await waitFor(async () => (await tid("conn-plugin").inputValue()) === "webform", "the web form plugin chosen");
  await tid("conn-default-add").selectOption("source");
  await tid("conn-default-value-source").selectOption("website");
  await tid("conn-match").selectOption("email");
  await tid("publish").click();
  await tid("plan-dialog").waitFor();
  await tid("plan-apply").click();
  await tid("publish-ok").waitFor();
  const doc = await api(token, "GET", "/api/meta/apps/hub");
  const action = doc.automations?.[0]?.actions?.[0];
  if (action?.type !== "plugin" || action.plugin !== "wecom" || action.action !== "send") throw new Error("the plugin action was not published: " + JSON.stringify(action));
  const conn = doc.connectors?.[0];
  if (conn?.plugin !== "webform" || conn.mapping?.email !== "email" || conn.match !== "email") throw new Error("the connector was not published: " + JSON.stringify(conn));

  await tid("tab-connectors").click();
  await tid("conn-snippet").waitFor();
  const snippet = await tid("conn-snippet").inputValue();
  const url = await tid("conn-endpoint-url").inputValue();
  const epToken = await tid("conn-endpoint-token").inputValue();
  if (!url.endsWith("/api/in/hub/" + conn.name) || !snippet.includes("/api/in/hub/" + conn.name) || !epToken) throw new Error("the endpoint is incomplete: " + url);
  await shot("endpoint");
  const r = await fetch(base + "/api/in/hub/" + conn.name, {
    method: "POST", headers: { "Content-Type": "application/json", "X-Forma-Token": epToken },
    body: JSON.stringify({ name: "Web Lead", email: "web@example.com", phone: "13800000000" }),
  });
  if (r.status !== 202) throw new Error("the endpoint answered " + r.status + " " + await r.text());
  await waitFor(async () => {
    const l = await api(token, "GET", "/api/data/hub/lead?filter=" + encodeURIComponent('email = "web@example.com"'));
    return (l.items ?? []).some((x) => x.name === "Web Lead" && x.source === "website");
  }, "the submitted lead");

  // Removing a plugin an automation uses is refused, naming it.
  const echoStep = { name: "echo_new", entity: "lead", enabled: true, trigger: { type: "created" }, actions: [{ type: "plugin", plugin: "e2e-echo", action: "echo", input: { text: "x" } }] };
  await api(token, "POST", "/api/meta/apps", { ...doc, automations: [...doc.automations, echoStep] });
  await page.goto(base + "/#/connectors/hub");
  await tid("plugin-remove-e2e-echo").click();
  await tid("plugin-remove-confirm").click();
  await tid("plugin-remove-error").waitFor();
  const refusal = await tid("plugin-remove-error").textContent();
  if (!refusal.includes("echo_new")) throw new Error("the in-use refusal does not name the automation: " + refusal);
  await shot("remove-refused");
  await ctx.close();

  // The screen in Chinese on a phone.
  const zh = await browser.newContext({ locale: "zh-CN", viewport: { width: 390, height: 844 } });
  const zp = await zh.newPage();
  await zp.goto(base + "/#/login");
  await zp.getByTestId("login-email").fill(email);
  await zp.getByTestId("login-password").fill(password);
  await zp.getByTestId("login-submit").click();
  await zp.getByTestId("logout").waitFor();
  await zp.goto(base + "/#/connectors/hub");
  await zp.getByTestId("connector-item-wecom").click();
  await zp.getByTestId("connector-secret-key-state").waitFor();
  if ((await zp.getByTestId("connector-secret-key-state").textContent()) !== "已设置") throw new Error("zh-CN: the secret state is not in Chinese");
  if ((await zp.content()).includes(SECRET)) throw new Error("zh-CN: the secret is on the page");
  const wide = await zp.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await shot("connectors", zp, "zh-CN");
  if (wide > 1) throw new Error(`zh-CN: the Connectors screen scrolls sideways by ${wide}px`);
  await zh.close();
}
