import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { AppShell } from "./AppShell";

// A document labelled per language, as the pipeline template is.
const doc = {
  name: "pipeline",
  label: "Sales pipeline",
  labels: { "zh-CN": "销售管道", en: "Sales pipeline" },
  entities: [
    { name: "lead", label: "Lead", labels: { "zh-CN": "线索", en: "Lead" }, fields: [
      { id: "l1", name: "title", type: "text", label: "Title", labels: { "zh-CN": "标题", en: "Title" } },
      { id: "l2", name: "industry", type: "select", label: "Industry", labels: { "zh-CN": "行业" }, options: ["manufacturing", "other"],
        optionLabels: { manufacturing: { "zh-CN": "制造业", en: "Manufacturing" } } },
    ] },
    { name: "customer", label: "Customer", labels: { en: "Customer" }, fields: [{ id: "c1", name: "name", type: "text" }] },
    { name: "opportunity", fields: [{ id: "o1", name: "title", type: "text" }] },
  ],
};

function serve() {
  return mockFetch((c) => {
    if (c.url.pathname === "/api/meta/apps/pipeline") return { body: doc };
    if (c.url.pathname === "/api/dash/pipeline")
      return { body: { items: [{ name: "funnel", label: "Funnel", labels: { "zh-CN": "销售漏斗" }, widgets: [] }, { name: "plain", widgets: [] }] } };
    if (c.url.pathname === "/api/data/pipeline/lead") return { body: { items: [{ id: "r1", title: "Acme", industry: "manufacturing" }] } };
    if (c.url.pathname === "/api/me/pools") return { body: { items: [] } };
    return undefined;
  });
}

afterEach(() => {
  window.location.hash = "";
});

describe("AppShell in the user's language", () => {
  it("names the app, its entities and dashboards in zh-CN, falling back to label then name", async () => {
    serve();
    renderWith(<AppShell route={{ name: "list", app: "pipeline", entity: "lead" }} menuOpen={false} />, "zh-CN");
    const lead = await screen.findByTestId("entity-link-lead");
    expect(lead.textContent).toBe("线索");
    expect(screen.getByTestId("entity-link-customer").textContent).toBe("Customer");
    expect(screen.getByTestId("entity-link-opportunity").textContent).toBe("opportunity");
    expect(screen.getByText("销售管道")).toBeTruthy();
    expect((await screen.findByTestId("dash-link-funnel")).textContent).toBe("销售漏斗");
    expect(screen.getByTestId("dash-link-plain").textContent).toBe("plain");
    // The list inside reads the same language.
    const row = await screen.findByTestId("list-row");
    expect(within(row).getByTestId("cell-industry").textContent).toBe("制造业");
    expect(screen.getAllByRole("columnheader").map((h) => h.textContent).slice(0, 2)).toEqual(["标题", "行业"]);
  });

  it("uses the en labels in English", async () => {
    serve();
    renderWith(<AppShell route={{ name: "list", app: "pipeline", entity: "lead" }} menuOpen={false} />, "en");
    await waitFor(() => expect(screen.getByTestId("entity-link-lead").textContent).toBe("Lead"));
    expect(screen.getByText("Sales pipeline")).toBeTruthy();
    expect((await screen.findByTestId("dash-link-funnel")).textContent).toBe("Funnel");
    const row = await screen.findByTestId("list-row");
    expect(within(row).getByTestId("cell-industry").textContent).toBe("Manufacturing");
    expect(screen.getAllByRole("columnheader").map((h) => h.textContent).slice(0, 2)).toEqual(["Title", "Industry"]);
  });
});
