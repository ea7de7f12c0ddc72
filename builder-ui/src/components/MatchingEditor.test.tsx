import { fireEvent, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { ErrorDetail } from "../api";
import type { DDoc } from "../designer/model";
import { renderWith } from "../test/util";
import { MatchingEditor } from "./MatchingEditor";

const base: DDoc = {
  name: "crm",
  entities: [{
    id: "e1", name: "customer", label: "Customers",
    fields: [
      { id: "f1", name: "company", type: "text", label: "Company" },
      { id: "f2", name: "phone", type: "phone", label: "Phone" },
      { id: "f3", name: "email", type: "email", label: "Email" },
      { id: "f4", name: "size", type: "integer" },
    ],
  }],
} as DDoc;

function Host({ start, problems, out }: { start: DDoc; problems?: ErrorDetail[]; out: { doc?: DDoc } }) {
  const [doc, setDoc] = useState(start);
  out.doc = doc;
  return <MatchingEditor doc={doc} problems={problems} onChange={(d) => { out.doc = d; setDoc(d); }} />;
}

describe("matching editor", () => {
  it("edits rules without JSON: fields, normalisation with its explanation, similarity, on create", () => {
    const out: { doc?: DDoc } = {};
    renderWith(<Host start={base} out={out} />);
    fireEvent.click(screen.getByTestId("match-add"));
    // The first text field, guessed as a company name.
    expect(out.doc!.matching).toEqual([{ name: "customer_duplicates", entity: "customer", keys: [{ fields: ["company"], normalize: "company" }] }]);
    expect(screen.getByTestId("match-key-0-explain").textContent).toContain("legal suffixes");
    fireEvent.click(screen.getByTestId("match-key-0-similar"));
    fireEvent.change(screen.getByTestId("match-key-0-similarity"), { target: { value: "0.9" } });
    fireEvent.click(screen.getByTestId("match-add-key"));
    fireEvent.click(screen.getByTestId("match-key-1-field-company"));
    fireEvent.click(screen.getByTestId("match-key-1-field-phone"));
    fireEvent.change(screen.getByTestId("match-key-1-normalize"), { target: { value: "phone" } });
    expect(screen.getByTestId("match-key-1-explain").textContent).toContain("+86");
    fireEvent.change(screen.getByTestId("match-oncreate"), { target: { value: "refuse" } });
    fireEvent.change(screen.getByTestId("match-label"), { target: { value: "Same customer" } });
    // Integers are no key fields.
    expect(screen.queryByTestId("match-key-0-field-size")).toBeNull();
    expect(out.doc!.matching).toEqual([{
      name: "customer_duplicates", label: "Same customer", entity: "customer", onCreate: "refuse",
      keys: [{ fields: ["company"], normalize: "company", similarity: 0.9 }, { fields: ["phone"], normalize: "phone" }],
    }]);
  });

  it("round-trips a stored rule and drops a similarity a key cannot have", () => {
    const start = { ...base, matching: [{ name: "m", entity: "customer", keys: [{ fields: ["email"], normalize: "email" }] }] } as DDoc;
    const out: { doc?: DDoc } = {};
    renderWith(<Host start={start} out={out} />);
    expect((screen.getByTestId("match-key-0-normalize") as HTMLSelectElement).value).toBe("email");
    expect(screen.queryByTestId("match-key-0-similar")).toBeNull();
    fireEvent.change(screen.getByTestId("match-key-0-normalize"), { target: { value: "text" } });
    fireEvent.click(screen.getByTestId("match-key-0-similar"));
    fireEvent.click(screen.getByTestId("match-key-0-field-phone"));
    expect(out.doc!.matching).toEqual([{ name: "m", entity: "customer", keys: [{ fields: ["phone", "email"] }] }]);
  });

  it("shows the server's problems at their inputs (in Chinese)", () => {
    const start = { ...base, matching: [{ name: "m", entity: "customer", keys: [{ fields: ["nope"] }] }] } as DDoc;
    const problems = [
      { path: "/matching/0/keys/0/fields/0", message: "unknown field nope", code: "unknown_field", params: { field: "nope" } },
      { path: "/matching/0/name", message: "duplicate name" },
    ] as ErrorDetail[];
    renderWith(<Host start={start} problems={problems} out={{}} />, "zh-CN");
    expect(screen.getByTestId("match-problem-key-0-fields").textContent).toBeTruthy();
    expect(screen.getByTestId("match-problem-name").textContent).toBe("duplicate name");
    expect(screen.getByTestId("match-item-m").className).toContain("has-error");
    expect(screen.getByTestId("match-add").textContent).toContain("添加规则");
  });
});
