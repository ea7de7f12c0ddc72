import { fireEvent, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { renderWith } from "../test/util";
import { NameLabelDialog } from "./Dialog";

describe("NameLabelDialog", () => {
  it("spells a Chinese label typed before pinyin-pro has loaded once it has", async () => {
    renderWith(
      <NameLabelDialog title="New app" testId="d" testIds={{ name: "n", label: "l", submit: "s", error: "e" }}
        nameLabel="Name" labelLabel="Label" submitText="Create" cancelText="Cancel" validate={() => null}
        onSave={() => undefined} onCancel={() => undefined} />,
    );
    // Typed at once, before the lazy chunk is there.
    fireEvent.change(screen.getByTestId("l"), { target: { value: "门店销售" } });
    await waitFor(() => expect((screen.getByTestId("n") as HTMLInputElement).value).toBe("mendian_xiaoshou"));
    // A name typed by hand is kept.
    fireEvent.change(screen.getByTestId("n"), { target: { value: "shop" } });
    fireEvent.change(screen.getByTestId("l"), { target: { value: "商店" } });
    expect((screen.getByTestId("n") as HTMLInputElement).value).toBe("shop");
  });
});
