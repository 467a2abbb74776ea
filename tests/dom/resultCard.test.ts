import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import PictureResultCard from "../../src/components/PictureResultCard.vue";
import ResultCard from "../../src/components/ResultCard.vue";
import { FakeBackend, fakeId, type Fake } from "./fakeBackend";
import { pictureSummary, type ClassificationResult } from "./fixtures";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const classes = ["cat", "dog", "fox", "owl", "bee", "elk", "emu", "eel", "ant", "bat", "cow"];
const result: ClassificationResult = {
  versionId: fakeId("modelVersions", 2),
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
  return new FakeBackend().on(api.labels.set, ({ label }) => ({ verdict: label === "dog" ? "accepted" : "corrected", labelledSet: "added" }));
}

describe("ResultCard", () => {
  it("accepts the prediction with the button and reports the verdict", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.find("button.button").trigger("click");
    await flushPromises();
    expect(backend.callsTo(api.labels.set).map((call) => call.args)).toEqual([{ pictureId: "pictures:7", label: "dog" }]);
    expect(card.emitted("labelled")).toEqual([["dog", "accepted"]]);
  });

  it("accepts with A or Enter on the card", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "a" });
    await flushPromises();
    await card.trigger("keydown", { key: "Enter" });
    await flushPromises();
    expect(backend.callsTo(api.labels.set).map((call) => call.args.label)).toEqual(["dog", "dog"]);
  });

  it("corrects with number keys: 1 is the first class, 0 the tenth, 11th has no key", async () => {
    const backend = labelBackend();
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "1" });
    await flushPromises();
    await card.trigger("keydown", { key: "0" });
    await flushPromises();
    expect(backend.callsTo(api.labels.set).map((call) => call.args.label)).toEqual(["cat", "bat"]);
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
    expect(backend.callsTo(api.labels.set)[0].args).toEqual({ pictureId: "pictures:7", label: "owl" });
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
    const backend = new FakeBackend().on(api.labels.set, () => {
      throw new Error("Uncaught Error: picture pictures:7 does not exist or was removed");
    });
    const card = await mountCard(backend);
    await card.trigger("keydown", { key: "a" });
    await flushPromises();
    expect(card.find('[role="alert"]').text()).toBe("Label not saved: picture pictures:7 does not exist or was removed");
    expect(card.emitted("labelled")).toBeUndefined();
  });
});

describe("PictureResultCard: a failed re-classification", () => {
  const failedAt = Date.UTC(2026, 10, 28, 9, 5);
  let lastError: string | undefined = "the weights file of version 3 (candidate) is missing from storage: an admin must re-import it or activate another version";

  function pictureBackend(retry: Fake<typeof api.classifications.retry>) {
    return new FakeBackend()
      .on(api.pictures.get, () => ({
        picture: pictureSummary(7, {
          _creationTime: failedAt - 60_000,
          fileName: "pet.png",
          contentType: "image/png",
          attempts: 2,
          label: "dog",
          confidence: 0.6,
          versionId: fakeId("modelVersions", 2),
          lastError,
          lastErrorAt: lastError === undefined ? undefined : failedAt,
        }),
        result,
        classes,
        label: null,
      }))
      .on(api.classifications.retry, retry);
  }

  async function mountPictureCard(backend: FakeBackend, user = userWithRole("labeller")) {
    const { wrapper } = await mountWithBackend(PictureResultCard, backend, { user, props: { pictureId: "pictures:7", fileName: "pet.png" } });
    return wrapper;
  }

  const retryButton = (card: Awaited<ReturnType<typeof mountPictureCard>>) => card.findAll("button").find((button) => button.text() === "Retry classification");

  it("shows the reason and time next to the earlier result, and the retry clears it once it succeeds", async () => {
    lastError = "the weights file of version 3 (candidate) is missing from storage: an admin must re-import it or activate another version";
    const backend = pictureBackend(() => {
      lastError = undefined;
      return { ...result, versionId: fakeId("modelVersions", 3), versionNumber: 3, versionName: "candidate" };
    });
    const card = await mountPictureCard(backend);
    expect(card.find(".result-card__last-error").text()).toContain(
      "Last re-classification failed: the weights file of version 3 (candidate) is missing from storage: an admin must re-import it or activate another version (2026-11-28 09:05 UTC)",
    );
    expect(card.find('[aria-label="Top classes"]').text()).toContain("dog");

    await retryButton(card)!.trigger("click");
    await flushPromises();
    expect(backend.callsTo(api.classifications.retry).map((call) => call.args)).toEqual([{ pictureId: "pictures:7" }]);
    expect(card.find(".result-card__last-error").exists()).toBe(false);
  });

  it("a retry that fails again says why and keeps the earlier failure shown", async () => {
    lastError = "no active model version";
    const backend = pictureBackend(() => {
      throw new Error("Uncaught ConvexError: no model version is active: an admin must activate one");
    });
    const card = await mountPictureCard(backend);
    await retryButton(card)!.trigger("click");
    await flushPromises();
    expect(card.find('[role="alert"]').text()).toBe("Retry failed: no model version is active: an admin must activate one");
    expect(card.find(".result-card__last-error").text()).toContain("Last re-classification failed: no active model version");
  });

  it("offers the retry only to the uploader or an admin; others see the reason alone", async () => {
    lastError = "no active model version";
    const backend = pictureBackend(() => result);
    const otherLabeller = await mountPictureCard(backend, { ...userWithRole("labeller"), _id: fakeId("users", 2) });
    expect(otherLabeller.find(".result-card__last-error").text()).toContain("no active model version");
    expect(retryButton(otherLabeller)).toBeUndefined();
    const analyst = await mountPictureCard(backend, { ...userWithRole("analyst"), _id: fakeId("users", 1) });
    expect(retryButton(analyst)).toBeUndefined();
    const admin = await mountPictureCard(backend, { ...userWithRole("admin"), _id: fakeId("users", 9) });
    expect(retryButton(admin)).toBeDefined();
  });

  it("a result without a failed re-classification shows no failure line", async () => {
    lastError = undefined;
    const card = await mountPictureCard(pictureBackend(() => result));
    expect(card.find(".result-card__last-error").exists()).toBe(false);
    expect(retryButton(card)).toBeUndefined();
  });
});
