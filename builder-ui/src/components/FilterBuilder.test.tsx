import { fireEvent, screen, within } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { Field } from "../api";
import { renderWith } from "../test/util";
import { FilterBuilder } from "./FilterBuilder";

const fields: Field[] = [
  { id: "f1", name: "title", type: "text", label: "Title" },
  { id: "f2", name: "amount", type: "decimal" },
  { id: "f3", name: "stage", type: "select", options: ["lead", "won", "lost"] },
  { id: "f4", name: "closed_on", type: "date" },
  { id: "f5", name: "done", type: "boolean" },
];

const rows = () => screen.getAllByTestId("filter-row");
const inRow = (i: number, id: string) => within(rows()[i]).getByTestId(id);

describe("FilterBuilder", () => {
  it("writes the filter text as rows are edited, and applies it", () => {
    const onApply = vi.fn();
    renderWith(<FilterBuilder fields={fields} onApply={onApply} />);
    expect(screen.getByTestId("filter-text").textContent).toBe("(no filter)");

    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(0, "filter-value"), { target: { value: 'Acme "Ltd"' } });
    expect(screen.getByTestId("filter-text").textContent).toBe('title ~ "Acme \\"Ltd\\""');

    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(1, "filter-field"), { target: { value: "amount" } });
    fireEvent.change(inRow(1, "filter-op"), { target: { value: ">=" } });
    fireEvent.change(inRow(1, "filter-value"), { target: { value: "1000" } });
    expect(screen.getByTestId("filter-text").textContent).toBe('title ~ "Acme \\"Ltd\\"" && amount >= 1000');

    fireEvent.change(screen.getByTestId("filter-join"), { target: { value: "or" } });
    expect(screen.getByTestId("filter-text").textContent).toBe('title ~ "Acme \\"Ltd\\"" || amount >= 1000');

    fireEvent.click(screen.getByTestId("filter-apply"));
    expect(onApply).toHaveBeenCalledWith('title ~ "Acme \\"Ltd\\"" || amount >= 1000', expect.objectContaining({ join: "or" }));
  });

  it("offers a select's options, including several for 'is one of'", () => {
    renderWith(<FilterBuilder fields={fields} onApply={() => undefined} />);
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(0, "filter-field"), { target: { value: "stage" } });
    const ops = within(inRow(0, "filter-op")).getAllByRole("option").map((o) => o.getAttribute("value"));
    expect(ops).toEqual(["=", "!=", "in", "empty", "notEmpty"]);
    const opts = within(inRow(0, "filter-value")).getAllByRole("option").map((o) => o.textContent);
    expect(opts).toEqual(["", "lead", "won", "lost"]);
    fireEvent.change(inRow(0, "filter-value"), { target: { value: "won" } });
    expect(screen.getByTestId("filter-text").textContent).toBe('stage = "won"');

    fireEvent.change(inRow(0, "filter-op"), { target: { value: "in" } });
    fireEvent.click(within(inRow(0, "filter-value")).getByLabelText("lost"));
    expect(screen.getByTestId("filter-text").textContent).toBe('stage in ["won", "lost"]');
  });

  it("writes 'is empty' as = null and dates as yyyy-mm-dd", () => {
    renderWith(<FilterBuilder fields={fields} onApply={() => undefined} />);
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(0, "filter-field"), { target: { value: "closed_on" } });
    fireEvent.change(inRow(0, "filter-op"), { target: { value: "empty" } });
    expect(within(rows()[0]).queryByTestId("filter-value")).toBeNull();
    expect(screen.getByTestId("filter-text").textContent).toBe("closed_on = null");

    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(1, "filter-field"), { target: { value: "closed_on" } });
    fireEvent.change(inRow(1, "filter-op"), { target: { value: ">" } });
    expect((inRow(1, "filter-value") as HTMLInputElement).type).toBe("date");
    fireEvent.change(inRow(1, "filter-value"), { target: { value: "2026-11-01" } });
    expect(screen.getByTestId("filter-text").textContent).toBe('closed_on = null && closed_on > "2026-11-01"');
  });

  it("marks and leaves out a bad number, removes rows", () => {
    renderWith(<FilterBuilder fields={fields} onApply={() => undefined} />);
    fireEvent.click(screen.getByTestId("filter-add"));
    fireEvent.change(inRow(0, "filter-field"), { target: { value: "amount" } });
    fireEvent.change(inRow(0, "filter-value"), { target: { value: "12x" } });
    expect(screen.getByText("Not a number: this condition is left out.")).toBeTruthy();
    expect(screen.getByTestId("filter-text").textContent).toBe("(no filter)");
    fireEvent.click(within(rows()[0]).getByTestId("filter-remove"));
    expect(screen.queryAllByTestId("filter-row")).toHaveLength(0);
  });

  it("speaks Chinese", () => {
    renderWith(<FilterBuilder fields={fields} onApply={() => undefined} />, "zh-CN");
    expect(screen.getByTestId("filter-add").textContent).toContain("添加条件");
    fireEvent.click(screen.getByTestId("filter-add"));
    expect(within(inRow(0, "filter-op")).getAllByRole("option")[0].textContent).toBe("包含");
  });
});
