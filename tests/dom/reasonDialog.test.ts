import { flushPromises, mount } from "@vue/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import ReasonDialog from "../../src/components/ReasonDialog.vue";

function mountDialog(run: (reason: string, overrideReason: string | undefined) => Promise<void>) {
  return mount(ReasonDialog, {
    attachTo: document.body,
    props: { title: "Activate v2", description: "New classifications will use this version.", confirmText: "Activate", run },
  });
}

afterEach(() => {
  document.body.innerHTML = "";
});

describe("ReasonDialog", () => {
  it("is a modal <dialog> that Esc closes, also after the server refused a submit and the focus left the dialog", async () => {
    const wrapper = mountDialog(async () => {
      throw new Error("The promotion gate blocks v2: accuracy 0.700 is 0.100 below the baseline's 0.800.");
    });
    const dialog = wrapper.find("dialog");
    expect(dialog.exists()).toBe(true);
    expect((dialog.element as HTMLDialogElement).open).toBe(true);

    await wrapper.find("textarea").setValue("better on fog");
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toContain("promotion gate blocks v2");
    expect(wrapper.find('button[type="submit"]').text()).toBe("Activate anyway");
    // The refusal moves the focus to the override field, which now needs an answer.
    expect(document.activeElement).toBe(wrapper.findAll("textarea")[1]!.element);

    // Where the browser leaves the focus after a disabled button: <body>.
    (document.activeElement as HTMLElement).blur();
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(wrapper.emitted("close")).toHaveLength(1);
    wrapper.unmount();
  });

  it("stops listening for Esc once it is gone", async () => {
    const wrapper = mountDialog(async () => {});
    wrapper.unmount();
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(wrapper.emitted("close")).toBeUndefined();
  });
});
