// Flows, run by smoke.mjs after the automations: an app "deals" (installed
// here through the API, with rep and manager roles and a user of each) gets
// a flow built in the designer's Flows tab — at 1280×800 in English the
// admin adds the flow, makes its states from the stage field's options,
// connects lead → proposal by dragging on the canvas, allows it to reps,
// adds proposal → won from the side panel's plain list with an approval
// step for managers, marks won and lost final and publishes (plan, apply);
// the rep opens a record, sees the stage bar on "lead", takes "Send
// proposal" and sees the bar move to "proposal", then takes "Win": sent for
// approval, the record shows it pending and its buttons wait; the manager
// approves it in the approvals inbox and the deal is won. At 390×844 in
// Chinese the admin adds proposal → lost with a required comment and lost
// reason from the plain list on the phone and publishes; the rep takes
// "propose" on another record, then "lose" with its comment, and opens the
// approvals inbox. No page scrolls sideways on the phone. Screenshots:
// e2e/screenshots/flow-<lang>-<width>-NN-<step>.png.
//
// The designer half needs only what builder-ui ships; the runtime half needs
// the server's flow routes (GET/POST /api/data/{app}/{entity}/{id}/transitions…):
// without them it stops with an error that says so.
import { join } from "node:path";
import { dragTo, install, waitFor } from "./day.mjs";

const app = {
  name: "deals", label: "Deals",
  entities: [{
    name: "deal", label: "Deal",
    fields: [
      { id: "fd1", name: "title", label: "Title", type: "text", required: true },
      { id: "fd2", name: "stage", label: "Stage", type: "select", options: ["lead", "proposal", "won", "lost"] },
      { id: "fd3", name: "amount", label: "Amount", type: "decimal" },
      { id: "fd4", name: "lost_reason", label: "Lost reason", type: "text" },
    ],
  }],
  roles: [
    { name: "rep", label: "Rep", entities: { deal: { create: "own", read: "own", update: "own", delete: "none" } } },
    { name: "manager", label: "Manager", entities: { deal: { create: "all", read: "all", update: "all", delete: "all" } } },
  ],
};

const rep = { email: "flow-rep@example.com", password: "flow rep pass 1", name: "Flo Rep", roles: ["rep"] };
const manager = { email: "flow-manager@example.com", password: "flow manager pass 1", name: "Mia Manager", roles: ["manager"] };

export async function flows({ browser, base, shots, api, email, password }) {
  const { token } = await api(null, "POST", "/api/auth/login", { email, password });
  await install(api, token, app, [rep, manager]);
  const { token: repToken } = await api(null, "POST", "/api/auth/login", { email: rep.email, password: rep.password });

  for (const cfg of [
    { lang: "en", locale: "en-US", viewport: { width: 1280, height: 800 } },
    { lang: "zh-CN", locale: "zh-CN", viewport: { width: 390, height: 844 } },
  ]) {
    const ctx = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
    const page = await ctx.newPage();
    let n = 0;
    const shot = (p, name) => p.screenshot({ path: join(shots, `flow-${cfg.lang}-${cfg.viewport.width}-${String(++n).padStart(2, "0")}-${name}.png`), fullPage: true });
    const tid = (id) => page.getByTestId(id);
    const phone = cfg.viewport.width < 500;

    // ---- the designer (admin) ----
    await login(page, base, email, password);
    await tid("nav-admin").waitFor();
    await page.goto(base + "/#/design/deals");
    await tid("tab-flows").click();
    await tid("flow-editor").waitFor();

    if (!phone) {
      await tid("flow-add").click();
      await tid("flow-add-dialog").waitFor();
      await tid("flow-add-entity").selectOption("deal");
      await tid("flow-add-save").click();
      await tid("flow-missing-options").waitFor();
      await tid("flow-label").fill("Deal stages");
      await tid("flow-states-from-options").click();
      for (const s of ["lead", "proposal", "won", "lost"]) await tid("flow-node-" + s).waitFor();
      await page.waitForTimeout(500); // the canvas fits the new states into view
      // Drag from lead's source handle onto proposal's target handle: a transition.
      await connect(page, "lead", "proposal");
      if (!(await tid("flow-panel-transition").isVisible())) {
        // Once in a stubbed run the drag did not take; the tap-tap connection is the touch path.
        console.log("flows e2e: the drag did not connect; tapping the two handles instead");
        await shot(page, "drag-miss");
        await page.getByTestId("flow-node-lead").locator(".react-flow__handle.source").click();
        await page.getByTestId("flow-node-proposal").locator(".react-flow__handle.target").click();
      }
      await tid("flow-panel-transition").waitFor();
      if ((await tid("flow-tr-name").inputValue()) !== "lead_to_proposal") throw new Error("dragged transition: " + (await tid("flow-tr-name").inputValue()));
      await tid("flow-tr-name").fill("propose");
      await tid("flow-tr-label").fill("Send proposal");
      await tid("flow-tr-label-zh-CN").fill("发送方案");
      await tid("flow-tr-roles-rep").check();
      await tid("flow-tr-evidence-amount").check();
      await shot(page, "transition");
      // The plain list adds proposal → won without dragging.
      await tid("flow-panel-back").click();
      await tid("flow-add-from").selectOption("proposal");
      await tid("flow-add-to").selectOption("won");
      await tid("flow-add-transition").click();
      await tid("flow-tr-name").fill("win");
      await tid("flow-tr-label").fill("Win");
      // Winning waits for a manager's approval.
      await tid("flow-tr-approval-on").check();
      await tid("flow-step-manager-0").uncheck();
      await tid("flow-step-roles-0-manager").check();
      await tid("flow-step-deadline-0").fill("24h");
      await tid("flow-panel-back").click();
      for (const s of ["won", "lost"]) {
        await tid("flow-outline-state-" + s).click();
        await tid("flow-state-final").check();
        await tid("flow-panel-back").click();
      }
      await tid("flow-node-final-won").waitFor();
      await shot(page, "designer");
    } else {
      // On the phone: the flow exists; add proposal → lost from the plain list.
      await tid("flow-item-deal_flow").click();
      await tid("flow-outline").waitFor();
      await tid("flow-add-from").selectOption("proposal");
      await tid("flow-add-to").selectOption("lost");
      await tid("flow-add-transition").click();
      await tid("flow-tr-name").fill("lose");
      await tid("flow-tr-label").fill("Lose");
      await tid("flow-tr-label-zh-CN").fill("丢单");
      await tid("flow-tr-fields-lost_reason").check();
      await tid("flow-tr-fields-required-lost_reason").check();
      await tid("flow-tr-comment").selectOption("required");
      await tid("flow-tr-roles-rep").check();
      await shot(page, "phone-transition");
      await noSideways(page, "the Flows tab");
    }
    await tid("publish").click();
    await tid("plan-dialog").waitFor();
    await shot(page, "plan");
    await tid("plan-apply").click();
    await tid("publish-ok").waitFor();
    const doc = await api(token, "GET", "/api/meta/apps/deals");
    const f = (doc.flows ?? [])[0];
    const names = (f?.transitions ?? []).map((t) => t.name).sort().join(",");
    const want = phone ? "lose,propose,win" : "propose,win";
    if (!f || f.entity !== "deal" || f.field !== "stage" || names !== want) throw new Error("published flow: " + JSON.stringify(doc.flows));
    const propose = f.transitions.find((t) => t.name === "propose");
    if (JSON.stringify(propose.from) !== '["lead"]' || propose.to !== "proposal" || JSON.stringify(propose.roles) !== '["rep"]') {
      throw new Error("published transition propose: " + JSON.stringify(propose));
    }
    const win = f.transitions.find((t) => t.name === "win");
    if (JSON.stringify(win.approval) !== '{"steps":[{"name":"step_1","approvers":{"roles":["manager"]},"mode":"any","deadline":"24h"}]}') {
      throw new Error("published approval of win: " + JSON.stringify(win.approval));
    }
    if (!f.states.find((s) => s.name === "won")?.final || !f.states.every((s) => s.position)) throw new Error("published states: " + JSON.stringify(f.states));

    // ---- the runtime (rep): needs the server's flow routes ----
    const deal = await api(repToken, "POST", "/api/data/deals/deal", { title: `${cfg.lang} deal`, amount: "1200" });
    const probe = await fetch(`${base}/api/data/deals/deal/${deal.id}/transitions`, { headers: { Authorization: "Bearer " + repToken } });
    if (probe.status === 404 || probe.status === 405) {
      throw new Error(`flows e2e: GET /api/data/deals/deal/{id}/transitions answered ${probe.status}: the server has no flow routes yet `
        + "(the designer steps passed; the runtime steps need flow-core merged)");
    }
    if (!probe.ok) throw new Error(`flows e2e: GET …/transitions answered ${probe.status}: ${await probe.text()}`);
    if (deal.stage !== "lead") throw new Error("a created deal starts in the initial state, got " + JSON.stringify(deal.stage));

    const rc = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
    const rp = await rc.newPage();
    const rt = (id) => rp.getByTestId(id);
    await login(rp, base, rep.email, rep.password);
    await rt("app-link-deals").waitFor();
    await rp.goto(`${base}/#/a/deals/deal/${deal.id}`);
    await rt("stage-bar").waitFor();
    await waitFor(async () => (await rt("stage-lead").getAttribute("aria-current")) === "step", "the stage bar on lead");
    await shot(rp, "record-lead");
    await rt("flow-take-propose").click();
    await rt("flow-take-dialog").waitFor();
    await rt("flow-take-submit").click();
    await waitFor(async () => (await rt("stage-proposal").getAttribute("aria-current")) === "step", "the stage bar moved to proposal");
    await shot(rp, "record-proposal");
    const moved = await api(repToken, "GET", `/api/data/deals/deal/${deal.id}`);
    if (moved.stage !== "proposal") throw new Error("after the transition the deal is in " + moved.stage);

    if (!phone) {
      // Win it: sent for approval, the record waits, and a manager approves it in the inbox.
      await rt("flow-take-win").click();
      await rt("flow-take-dialog").waitFor();
      await rt("flow-take-submit").click();
      await rt("flow-pending").waitFor();
      if (!(await rt("flow-take-win").isDisabled())) throw new Error("a pending approval leaves the transition buttons enabled");
      await shot(rp, "record-pending");
      const mc = await browser.newContext({ locale: cfg.locale, viewport: cfg.viewport });
      const mp = await mc.newPage();
      await login(mp, base, manager.email, manager.password);
      await mp.getByTestId("nav-approvals").click();
      const item = mp.locator("[data-testid^=approval-][data-status=pending]").first();
      await item.waitFor();
      if (!(await item.textContent()).includes(rep.name)) throw new Error("the inbox item does not name the requester: " + (await item.textContent()));
      await shot(mp, "inbox-pending");
      await item.locator("[data-testid^=approve-]").click();
      await item.locator("[data-testid^=decide-confirm-]").click();
      await mp.getByTestId("inbox-notice").waitFor();
      await shot(mp, "inbox-approved");
      await mc.close();
      await waitFor(async () => (await api(repToken, "GET", `/api/data/deals/deal/${deal.id}`)).stage === "won", "the approved deal to be won");
      await rp.reload();
      await waitFor(async () => (await rt("stage-won").getAttribute("aria-current")) === "step", "the stage bar on won");
      await shot(rp, "record-won");
    }

    if (phone) {
      // Lose it: the comment and the lost reason are required.
      await rt("flow-take-lose").click();
      await rt("flow-take-dialog").waitFor();
      await rt("flow-take-submit").click();
      await rt("flow-take-comment-error").waitFor();
      await rt("field-take-lost_reason").fill("预算取消");
      await rt("flow-take-comment").fill("客户今年不采购");
      await shot(rp, "lose-dialog");
      await rt("flow-take-submit").click();
      await waitFor(async () => (await rt("stage-lost").getAttribute("aria-current")) === "step", "the stage bar moved to lost");
      await noSideways(rp, "the record form");
      await shot(rp, "record-lost");
      const hist = await api(repToken, "GET", `/api/data/deals/deal/${deal.id}/history`);
      if (!(hist.items ?? []).some((h) => h.comment === "客户今年不采购")) throw new Error("history has no transition comment: " + JSON.stringify(hist.items));
    }
    // The approvals inbox from the top bar.
    await rt("nav-approvals").click();
    await rt("approvals").waitFor();
    await rp.locator("[data-testid=inbox-empty], [data-testid^=approval-]").first().waitFor();
    if (phone) await noSideways(rp, "the approvals inbox");
    await shot(rp, "approvals");
    await rc.close();
    await ctx.close();
  }
}

export async function login(page, base, email, password) {
  await page.goto(base + "/#/login");
  await page.getByTestId("login-email").fill(email);
  await page.getByTestId("login-password").fill(password);
  await page.getByTestId("login-submit").click();
}

// connect drags from state a's source handle onto state b's target handle, in small steps.
async function connect(page, a, b) {
  await dragTo(page, page.getByTestId("flow-node-" + a).locator(".react-flow__handle.source"),
    page.getByTestId("flow-node-" + b).locator(".react-flow__handle.target"));
  await page.waitForTimeout(300);
}

// noSideways fails when the page is wider than the screen (a phone must not scroll sideways).
export async function noSideways(page, what) {
  const [sw, iw] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  if (sw > iw + 1) throw new Error(`${what} scrolls sideways on the phone: ${sw}px wide in ${iw}px`);
}
