// Lead distribution, run by smoke.mjs after the flows: an app "leads"
// (installed here through the API) with its own rep and manager roles (sdr,
// lead_manager: a user's roles count in every app, and the other scripts
// have users in "rep" and "manager"), two reps and a manager, and two
// assignment rules — "new_leads" scores the reps (open load) and counts
// down four hours to first contact, "hot_pool" puts retail leads in the
// claim pool "hot" — applied by two automations on creation.
// In each language and size (en 1280×800, zh-CN 390×844): the admin opens
// the designer's Assignment tab, the rule, and previews it on a lead (the
// candidates table and the winner); the lead's rep sees the countdown on the
// list, opens the "hot" pool from the sidebar and claims a lead; the
// manager opens an assigned lead, sees its countdown and the Assignment
// panel, and reassigns it to the other rep with a reason. No page scrolls
// sideways on the phone. Screenshots: e2e/screenshots/assign-<lang>-<width>-NN-<step>.png.
//
// It needs the server's assignment routes (issue 14: …/assignments/{name}/preview,
// …/{id}/assign, …/{id}/claim, ?pool=, /api/me/pools): without them it stops
// with an error that says so.
import { join } from "node:path";
import { install, waitFor } from "./day.mjs";

const app = {
  name: "leads", label: "Leads",
  entities: [{
    name: "lead", label: "Lead",
    fields: [
      { id: "fl1", name: "name", label: "Name", type: "text", required: true },
      { id: "fl2", name: "industry", label: "Industry", type: "select", options: ["energy", "retail"] },
      { id: "fl3", name: "contacted_at", label: "Contacted at", type: "datetime" },
    ],
  }],
  roles: [
    { name: "sdr", label: "SDR", entities: { lead: { create: "own", read: "own", update: "own", delete: "none" } } },
    { name: "lead_manager", label: "Lead manager", entities: { lead: { create: "all", read: "all", update: "all", delete: "all" } } },
  ],
  assignments: [
    {
      name: "new_leads", label: "New leads", entity: "lead", candidates: { roles: ["sdr"] }, strategy: "score",
      statistics: [{ name: "load", kind: "openLoad" }], score: "0 - load", reassigners: ["lead_manager"],
      countdown: { until: "contacted_at", within: "4h", steps: [{ after: "4h", do: "remind", message: "Call {{name}}" }, { after: "5h", do: "notifyManager" }, { after: "6h", do: "reassign" }] },
    },
    {
      name: "hot_pool", label: "Hot leads", entity: "lead", candidates: { roles: ["sdr"] }, strategy: "roundRobin",
      pool: { name: "hot", dailyLimit: 10, deadline: "2h" },
    },
  ],
  automations: [
    { name: "route_new", entity: "lead", enabled: true, trigger: { type: "created" }, condition: 'industry = "energy"', actions: [{ type: "assign", rule: "new_leads" }] },
    { name: "route_hot", entity: "lead", enabled: true, trigger: { type: "created" }, condition: 'industry = "retail"', actions: [{ type: "assign", rule: "hot_pool" }] },
  ],
};

const reps = [
  { email: "asg-rep1@example.com", password: "assign rep pass 1", name: "Rae One", roles: ["sdr"] },
  { email: "asg-rep2@example.com", password: "assign rep pass 2", name: "Rex Two", roles: ["sdr"] },
];
const manager = { email: "asg-manager@example.com", password: "assign manager pass 1", name: "Max Manager", roles: ["lead_manager"] };

export async function assign({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await install(api, token, app, [...reps, manager]);
  try {
    await api(token, "GET", "/api/me/pools");
  } catch (e) {
    throw new Error("assign e2e: the server has no assignment routes yet (issue 14's server side): " + e.message);
  }

  for (const cfg of [
    { lang: "en", locale: "en-US", viewport: { width: 1280, height: 800 }, tag: "A" },
    { lang: "zh-CN", locale: "zh-CN", viewport: { width: 390, height: 844 }, tag: "B" },
  ]) {
    // Leads of this round: one routed by score (countdown, reassign), two in the pool.
    const energy = await api(token, "POST", "/api/data/leads/lead", { name: `Energy lead ${cfg.tag}`, industry: "energy" });
    for (const i of [1, 2]) await api(token, "POST", "/api/data/leads/lead", { name: `Retail lead ${cfg.tag}${i}`, industry: "retail" });
    await waitFor(async () => {
      const r = await api(token, "GET", `/api/data/leads/lead/${energy.id}/assignments`);
      return (r.items ?? []).length > 0;
    }, "the automation assigns the energy lead");
    // The rep who sees the countdown on their list is the one the score chose
    // (a tie between the two is broken by the stored round-robin turn).
    const ownerId = (await api(token, "GET", `/api/data/leads/lead/${energy.id}`)).owner;
    const people = (await api(token, "GET", "/api/admin/users")).items;
    const owner = reps.find((r) => people.some((u) => u.email === r.email && u.id === ownerId));
    if (!owner) throw new Error("the energy lead went to no rep: " + ownerId);

    let n = 0;
    const phone = cfg.viewport.width < 500;
    const open = async (who) => {
      const ctx = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
      const page = await ctx.newPage();
      await page.goto(base + "/#/login");
      await page.getByTestId("login-email").fill(who.email);
      await page.getByTestId("login-password").fill(who.password);
      await page.getByTestId("login-submit").click();
      await page.getByTestId("logout").waitFor();
      const shot = (name) => page.screenshot({ path: join(shots, `assign-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
      return { ctx, page, shot, tid: (id) => page.getByTestId(id) };
    };

    // ---- the designer: the rule and its preview (admin) ----
    {
      const { ctx, page, shot, tid } = await open({ email, password });
      await page.goto(base + "/#/design/leads");
      await tid("tab-assignments").click();
      await tid("asg-editor").waitFor();
      await tid("asg-item-new_leads").click();
      await tid("asg-countdown").waitFor();
      if (await tid("asg-step-2").count() !== 1) throw new Error("the countdown's three steps are not shown");
      await tid("asg-score-expr-input").scrollIntoViewIfNeeded();
      await shot("designer");
      await tid("asg-panel-preview").click();
      await tid("asg-preview-record").fill(`Energy lead ${cfg.tag}`);
      await tid("ref-option").first().click();
      await tid("asg-preview-run").click();
      await tid("asg-preview-result").waitFor();
      await tid("asg-winner-row").waitFor();
      await shot("preview");
      if (phone) await noSideways(page, "the Assignment tab");
      await ctx.close();
    }

    // ---- the lead's rep: the countdown on the list, the pool, a claim ----
    {
      const { ctx, page, shot, tid } = await open(owner);
      await page.goto(base + "/#/a/leads/lead");
      await tid("list-row").first().waitFor();
      await shot("list");
      if (phone) await tid("menu-toggle").click();
      await tid("pool-link-hot").click();
      await tid("pool-page").waitFor();
      await tid("pool-row").first().waitFor();
      const before = await tid("pool-row").count();
      await tid("pool-claim").first().click();
      await tid("pool-message").waitFor();
      await waitFor(async () => (await tid("pool-row").count()) < before, "the claimed lead leaves the pool");
      await shot("pool-claimed");
      if (phone) await noSideways(page, "the pool page");
      await ctx.close();
    }

    // ---- the manager: countdown, Assignment panel, reassign with a reason ----
    {
      const { ctx, page, shot, tid } = await open(manager);
      await page.goto(base + `/#/a/leads/lead/${energy.id}`);
      await tid("asg-panel").waitFor();
      await tid("countdown").waitFor();
      await tid("asg-decision").first().waitFor();
      await shot("record");
      await tid("asg-reassign").click();
      await tid("asg-reassign-dialog").waitFor();
      const current = (await api(token, "GET", `/api/data/leads/lead/${energy.id}`)).owner;
      const other = (await api(token, "GET", "/api/admin/users")).items.find((u) => reps.some((r) => r.email === u.email) && u.id !== current);
      await tid("asg-reassign-user").fill(other.name);
      await tid("ref-option").first().click();
      await tid("asg-reassign-reason").fill(cfg.lang === "en" ? "Rex covers energy this week" : "本周由 Rex 负责能源客户");
      await shot("reassign-dialog");
      await tid("asg-reassign-submit").click();
      await tid("asg-reassigned").waitFor();
      await waitFor(async () => (await api(token, "GET", `/api/data/leads/lead/${energy.id}`)).owner === other.id, "the lead goes to the other rep");
      await shot("reassigned");
      if (phone) await noSideways(page, "the record page");
      await ctx.close();
    }
  }
}

// noSideways fails when the page is wider than the screen (a phone must not scroll sideways).
async function noSideways(page, what) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (sw > iw + 1) throw new Error(`${what} scrolls sideways on the phone: ${sw}px wide in ${iw}px`);
}
