import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { Designer } from "./Designer";
import type { DDoc } from "../designer/model";

const published = (): DDoc => ({
  name: "crm", label: "CRM", version: 3,
  entities: [{ name: "deal", fields: [{ id: "d1", name: "title", type: "text" }] }],
});

describe("server drafts in the designer", () => {
  it("restores the saved draft, saves changes, names other admins, and discards", async () => {
    const draftDoc: DDoc = { ...published(), entities: [{ name: "deal", fields: [{ id: "d1", name: "title", type: "text" }, { id: "d9", name: "kept", type: "text" }] }] };
    let drafted = true;
    const calls = mockFetch((c) => {
      const p = c.url.pathname;
      if (c.method === "GET" && p === "/api/meta/apps/crm") return { body: published() };
      if (c.method === "GET" && p === "/api/meta/apps/crm/draft") {
        return { body: drafted ? { saved: true, baseVersion: 3, currentVersion: 3, stale: false, updatedAt: "2026-12-06T10:00:00Z", document: draftDoc }
          : { saved: false, baseVersion: 3, currentVersion: 3, stale: false, updatedAt: "0001-01-01T00:00:00Z", document: published() } };
      }
      if (c.method === "GET" && p === "/api/meta/apps/crm/drafts") {
        return { body: { items: [{ userId: "u2", name: "Ops Two", baseVersion: 3, updatedAt: "2026-12-06T09:00:00Z", mine: false, stale: false }] } };
      }
      if (c.method === "PUT" && p === "/api/meta/apps/crm/draft") {
        return { body: { saved: true, baseVersion: 3, currentVersion: 3, stale: false, updatedAt: "2026-12-06T10:05:00Z", document: (c.body as { document: DDoc }).document } };
      }
      if (c.method === "DELETE" && p === "/api/meta/apps/crm/draft") {
        drafted = false;
        return { status: 204 };
      }
      return undefined;
    });
    renderWith(<Designer app="crm" />);
    // The field only the draft has is back, and the bar says so.
    await screen.findByTestId("designer-field-kept");
    expect(screen.getByTestId("draft-restored")).toBeTruthy();
    expect(screen.getByTestId("draft-others").textContent).toContain("Ops Two");

    // A change is saved a moment later, with its base version.
    fireEvent.click(screen.getByTestId("designer-field-kept"));
    fireEvent.change(screen.getByTestId("config-name"), { target: { value: "kept_too" } });
    await waitFor(() => expect(calls.some((c) => c.method === "PUT")).toBe(true), { timeout: 3000 });
    const put = calls.filter((c) => c.method === "PUT").at(-1)!.body as { baseVersion: number; document: DDoc };
    expect(put.baseVersion).toBe(3);
    expect(put.document.entities[0].fields.map((f) => f.name)).toContain("kept_too");
    await screen.findByTestId("draft-saved");

    // Discard: the draft goes, the published version comes back.
    fireEvent.click(screen.getByTestId("draft-discard"));
    await waitFor(() => expect(screen.queryByTestId("designer-field-kept_too")).toBeNull());
    expect(calls.some((c) => c.method === "DELETE")).toBe(true);
  });
});
