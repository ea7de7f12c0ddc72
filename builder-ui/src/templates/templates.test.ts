import { describe, expect, it } from "vitest";
import { TEMPLATES } from "./index";
import repoPipeline from "../../../schema/testdata/pipeline.json";

describe("templates", () => {
  it("bundle the sample app exactly as the repository has it", async () => {
    const doc = await TEMPLATES.find((t) => t.name === "pipeline")!.load();
    expect(doc).toEqual(repoPipeline);
    expect((doc as { name: string }).name).toBe("pipeline");
  });
});
