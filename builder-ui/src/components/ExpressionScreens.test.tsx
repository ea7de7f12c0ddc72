import { fireEvent, screen, waitFor } from "@testing-library/react";
import { useState } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppDocument, Entity } from "../api";
import type { DDoc } from "../designer/model";
import { mockFetch, renderWith } from "../test/util";
import { FilterText } from "./FilterText";
import { ValidationsEditor } from "./ValidationsEditor";

const sale: Entity = { name: "sale", fields: [{ id: "f1", name: "discount", type: "decimal", label: "折扣" }, { id: "f2", name: "stage", type: "select", label: "Stage" }] };
const app: AppDocument = { name: "shop", entities: [sale] };

afterEach(() => vi.unstubAllGlobals());

describe("ValidationsEditor", () => {
  it("writes rules into the entity, checked against the draft", async () => {
    const calls = mockFetch(() => ({ body: { ok: true, problems: [], fields: ["discount"] } }));
    let last: DDoc | undefined;
    function Host() {
      const [doc, setDoc] = useState<DDoc>(app as DDoc);
      return <ValidationsEditor doc={doc} entityIndex={0} onChange={(d) => { last = d; setDoc(d); }} />;
    }
    renderWith(<Host />, "zh-CN");
    fireEvent.click(screen.getByTestId("rule-add"));
    fireEvent.change(screen.getByTestId("rule-expr-0-input"), { target: { value: "折", selectionStart: 1 } });
    fireEvent.keyDown(screen.getByTestId("rule-expr-0-input"), { key: "Enter" });
    fireEvent.change(screen.getByTestId("rule-expr-0-input"), { target: { value: "discount <= 50" } });
    fireEvent.change(screen.getByTestId("rule-message-0"), { target: { value: "折扣不能超过 50%" } });
    fireEvent.change(screen.getByTestId("rule-field-0"), { target: { value: "discount" } });
    expect(last?.entities[0].validations).toEqual([{ expr: "discount <= 50", message: "折扣不能超过 50%", field: "discount" }]);
    // The message per language; emptied, the map leaves the rule.
    fireEvent.change(screen.getByTestId("rule-message-0-label-en"), { target: { value: "A discount is at most 50%" } });
    expect(last?.entities[0].validations).toEqual([{ expr: "discount <= 50", message: "折扣不能超过 50%", messages: { en: "A discount is at most 50%" }, field: "discount" }]);
    fireEvent.change(screen.getByTestId("rule-message-0-label-en"), { target: { value: "" } });
    expect(last?.entities[0].validations).toEqual([{ expr: "discount <= 50", message: "折扣不能超过 50%", field: "discount" }]);
    await waitFor(() => expect(screen.getByTestId("rule-expr-0-ok")).toBeTruthy(), { timeout: 2000 });
    expect(calls.at(-1)?.body).toMatchObject({ entity: "sale", mode: "formula", expr: "discount <= 50", draft: true });
    fireEvent.click(screen.getByTestId("rule-remove-0"));
    expect(last?.entities[0].validations).toBeUndefined();
  });
});

describe("FilterText", () => {
  it("applies a valid filter and refuses one with a problem", async () => {
    let problem = true;
    mockFetch(() => ({ body: problem
      ? { ok: false, fields: [], problems: [{ code: "filter", message: "unknown field \"stag\"", offset: 0, length: 4 }] }
      : { ok: true, fields: ["stage"], problems: [], preview: { count: 3 } } }));
    const onApply = vi.fn();
    renderWith(<FilterText app={app} entity={sale} filter="" onApply={onApply} />);
    fireEvent.click(screen.getByTestId("filter-text-open"));
    fireEvent.change(screen.getByTestId("filter-expr-input"), { target: { value: 'stag = "won"' } });
    await waitFor(() => expect((screen.getByTestId("filter-text-apply") as HTMLButtonElement).disabled).toBe(true), { timeout: 2000 });
    expect(screen.getByTestId("filter-expr-mark").querySelector("mark")?.textContent).toBe("stag");
    problem = false;
    fireEvent.change(screen.getByTestId("filter-expr-input"), { target: { value: 'stage = "won"' } });
    await waitFor(() => expect(screen.getByTestId("filter-expr-preview").textContent).toBe("3 records match."), { timeout: 2000 });
    fireEvent.click(screen.getByTestId("filter-text-apply"));
    expect(onApply).toHaveBeenCalledWith('stage = "won"');
  });
});
