import { fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { UserPicker } from "./RefPicker";

function Harness({ initial }: { initial: string }) {
  const [v, setV] = useState(initial);
  return (
    <>
      <UserPicker value={v} onChange={setV} testId="field-assignee" />
      <output data-testid="value">{v}</output>
    </>
  );
}

describe("UserPicker", () => {
  it("searches the directory by name or email and shows the chosen colleague", async () => {
    const calls = mockFetch((c) => {
      if (c.url.pathname !== "/api/directory/users") return undefined;
      if (c.url.searchParams.get("id") === "u1") return { body: { items: [{ id: "u1", name: "Ann Lee", email: "ann@example.com" }] } };
      if (c.url.searchParams.get("q") === "bo") return { body: { items: [{ id: "u2", name: "Bob Ma", email: "bob@example.com" }] } };
      return { body: { items: [] } };
    });
    renderWith(<Harness initial="u1" />);
    // The current value reads as a name, not an id.
    await waitFor(() => expect(screen.getByTestId("field-assignee-label").textContent).toBe("Ann Lee <ann@example.com>"));
    fireEvent.change(screen.getByTestId("field-assignee"), { target: { value: "bo" } });
    const opt = await screen.findByTestId("ref-option");
    expect(opt.textContent).toContain("Bob Ma <bob@example.com>");
    fireEvent.click(opt);
    expect(screen.getByTestId("value").textContent).toBe("u2");
    expect(screen.getByTestId("field-assignee-label").textContent).toBe("Bob Ma <bob@example.com>");
    const search = calls.find((c) => c.url.searchParams.get("q") === "bo");
    expect(search?.url.searchParams.get("limit")).toBe("10");
  });
});
