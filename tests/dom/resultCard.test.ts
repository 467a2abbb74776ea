import { describe, expect, it } from "vitest";
import { flushPromises } from "@vue/test-utils";
import ResultCard from "../../src/components/ResultCard.vue";
import { FakeBackend } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const classes = ["cat", "dog", "fox", "owl", "bee", "elk", "emu", "eel", "ant", "bat", "cow"];
const result = {
  label: "dog",
  confidence: 0.6,
  top: [
    { label: "dog", probability: 0.6 },
    { label: "cat", probability: 0.3 },
  ],
  versionNumber: 2,
  versionName: "baseline",
};

async function mountCard(backend: FakeBackend) {
  const { wrapper } = await mountWithBackend(ResultCard, backend, {
    user: userWithRole("labeller"),
    props: { pictureId: "pictures:7", fileName: "pet.png", result, classes },
  });
  return wrapper;
}

function labelBackend() {
  return new FakeBackend().on("labels:set", ({ label }: { label: string }) => ({ verdict: label === "dog" ? "accepted" : "corrected" }));
}

describe("ResultCard", () => {
  it("accepts the prediction with the button and reports the verdict", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.find("button.button").trigger("click");
    await flushPromises();
    expect(backend.callsTo("labels:set").map((call) => call.args)).toEqual([{ pictureId: "pictures:7", label: "dog" }]);
    expect(card.emitted("labelled")).toEqual([["dog", "accepted"]]);
  });

  it("accepts with A or Enter on the card", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "a" });
    await flushPromises();
    await card.trigger("keydown", { key: "Enter" });
    await flushPromises();
    expect(backend.callsTo("labels:set").map((call) => call.args.label)).toEqual(["dog", "dog"]);
  });

  it("corrects with number keys: 1 is the first class, 0 the tenth, 11th has no key", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "1" });
    await flushPromises();
    await card.trigger("keydown", { key: "0" });
    await flushPromises();
    expect(backend.callsTo("labels:set").map((call) => call.args.label)).toEqual(["cat", "bat"]);
    expect(card.emitted("labelled")).toEqual([
      ["cat", "corrected"],
      ["bat", "corrected"],
    ]);
    const cowButton = card.findAll('[role="group"] button').find((button) => button.text().endsWith("cow"));
    expect(cowButton?.find("kbd").exists()).toBe(false);
  });

  it("corrects with the class picker buttons", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    const owl = card.findAll('[role="group"] button').find((button) => button.text() === "4 owl");
    await owl!.trigger("click");
    await flushPromises();
    expect(backend.callsTo("labels:set")[0].args).toEqual({ pictureId: "pictures:7", label: "owl" });
  });

  it("loads the stored picture in CORS mode, which the page's COEP require-corp accepts from the Convex origin", async () => {
    const { wrapper } = await mountWithBackend(ResultCard, labelBackend(), {
      user: userWithRole("labeller"),
      props: { pictureId: "pictures:7", fileName: "pet.png", result, classes, imageUrl: "https://happy-otter-123.convex.cloud/api/storage/abc" },
    });
    const image = wrapper.find("img");
    expect(image.attributes("src")).toBe("https://happy-otter-123.convex.cloud/api/storage/abc");
    expect(image.attributes("crossorigin")).toBe("anonymous");
  });

  it("shows why a label was not saved", async () => {
    const backend = new FakeBackend().on("labels:set", () => {
      throw new Error("Uncaught Error: picture pictures:7 does not exist or was removed");
    });
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "a" });
    await flushPromises();
    expect(card.find('[role="alert"]').text()).toBe("Label not saved: picture pictures:7 does not exist or was removed");
    expect(card.emitted("labelled")).toBeUndefined();
  });
});
