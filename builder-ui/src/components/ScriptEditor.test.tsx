import { fireEvent, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { mockFetch, renderWith } from "../test/util";
import { functionsOf, ScriptEditor, tokenize } from "./ScriptEditor";
import type { DDoc } from "../designer/model";

const doc: DDoc = {
  name: "crm", version: 2,
  entities: [{ name: "deal", fields: [{ id: "d1", name: "title", type: "text" }] }],
  scripts: { deal: "function beforeSave(record, ctx) {\n  // hi\n  record.title = 'x' + 1;\n}" },
};

describe("ScriptEditor", () => {
  it("tokenizes keywords, strings, numbers and comments without losing text", () => {
    const src = "function f(a) { // c\n  return 'x' + 12 + \"y\"; /* z */ }";
    const toks = tokenize(src);
    expect(toks.map((t) => t.text).join("")).toBe(src);
    const kinds = Object.fromEntries(toks.filter((t) => t.kind !== "plain").map((t) => [t.text, t.kind]));
    expect(kinds).toEqual({ function: "keyword", "// c": "comment", return: "keyword", "'x'": "string", 12: "number", '"y"': "string", "/* z */": "comment" });
    expect(functionsOf({ deal: "function a() {}\nasync function b() {}" })).toEqual(["deal#a", "deal#b"]);
  });

  it("edits a script and its hooks into the document", () => {
    let out: DDoc = doc;
    renderWith(<ScriptEditor app="crm" doc={doc} stored onChange={(d) => { out = d; }} />);
    expect(document.querySelector(".code-overlay .tok-comment")?.textContent).toBe("// hi");
    fireEvent.change(screen.getByTestId("script-source"), { target: { value: "function afterSave() {}" } });
    expect(out.scripts).toEqual({ deal: "function afterSave() {}" });
    fireEvent.change(screen.getByTestId("entity-hook-afterSave"), { target: { value: "deal#afterSave" } });
    expect(out.entities[0].hooks).toEqual({ afterSave: "deal#afterSave" });
  });

  it("runs a test and shows the result, changes and logs", async () => {
    const calls = mockFetch((c) => c.url.pathname === "/api/meta/apps/crm/scripts/test"
      ? { body: { ok: true, record: { title: "X" }, changes: { title: "X" }, logs: [{ level: "log", message: "hi 42" }], error: null } }
      : undefined);
    renderWith(<ScriptEditor app="crm" doc={doc} stored onChange={() => undefined} />);
    fireEvent.change(screen.getByTestId("script-test-record"), { target: { value: '{"title": "x"}' } });
    fireEvent.click(screen.getByTestId("script-test"));
    const res = await screen.findByTestId("script-test-result");
    expect(res.getAttribute("data-ok")).toBe("true");
    expect(screen.getByTestId("script-test-logs").textContent).toBe("[log] hi 42");
    expect(calls[0].body).toEqual({ entity: "deal", hook: "beforeSave", record: { title: "x" } });
  });

  it("shows a failed run with its script line", async () => {
    mockFetch(() => ({ body: { ok: false, error: { code: "script_failed", message: "boom", script: { line: 3 } } } }));
    renderWith(<ScriptEditor app="crm" doc={doc} stored onChange={() => undefined} />);
    fireEvent.click(screen.getByTestId("script-test"));
    expect((await screen.findByTestId("script-test-error")).textContent).toBe("boom (line 3)");
  });
});
