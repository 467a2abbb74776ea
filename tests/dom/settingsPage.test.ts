import { describe, expect, it, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import SettingsPage from "../../src/pages/SettingsPage.vue";
import type { FunctionReturnType } from "convex/server";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const featureDim = 4;

const settings: FunctionReturnType<typeof api.settings.get> = {
  privacyMode: "full",
  clipModelId: "Xenova/clip-vit-base-patch32",
  featureDim,
  promotion: { rule: "floors", nonInferiorityMargin: 0.01, maxAccuracyDrop: 0.02, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.1 },
  signUp: "open",
};

function adminBackend() {
  return new FakeBackend()
    .on(api.settings.get, settings)
    .on(api.settings.update, ({ privacyMode, promotion }) => ({
      ...settings,
      privacyMode: privacyMode ?? settings.privacyMode,
      promotion: {
        ...settings.promotion,
        ...Object.fromEntries(Object.entries(promotion ?? {}).filter(([, value]) => value !== undefined)),
      },
    }))
    .on(api.users.list, {
      users: [
        { _id: fakeId("users", 1), email: "admin@example.com", name: null, role: "admin" },
        { _id: fakeId("users", 2), email: "new@example.com", name: null, role: null },
      ],
      invitations: [],
    })
    .on(api.users.setRole, null)
    .on(api.labelledSet.summary, { total: 0, limit: 20_000, bySource: { picture: 0, import: 0 }, labels: [], imports: [] })
    .on(api.labelledSet.items, { page: [], isDone: true, continueCursor: "end" })
    .on(api.labelledSet.removeItem, null)
    .on(api.labelledSet.importItems, ({ items }) => ({
      importId: fakeId("labelledImports", 1),
      added: items.length,
      duplicates: 0,
      importItemCount: items.length,
      labelsUnknownToActive: [],
    }));
}

async function mountSettings(backend: FakeBackend) {
  const { wrapper } = await mountWithBackend(SettingsPage, backend, { user: userWithRole("admin"), path: "/settings" });
  const pickJsonl = async (name: string, content: string) => {
    const input = wrapper.find('form[aria-label="Import a labelled set"] input[type="file"]');
    const file = new File([content], name);
    Object.defineProperty(file, "text", { value: async () => content });
    Object.defineProperty(input.element, "files", { value: [file], configurable: true });
    await input.trigger("change");
    await flushPromises();
  };
  return { wrapper, pickJsonl };
}

const line = (label: string, value = 0.5) => JSON.stringify({ features: Array(featureDim).fill(value), label, file: `${label}/x.jpg` });

describe("SettingsPage", () => {
  it("saves the privacy mode and gate thresholds", async () => {
    const backend = adminBackend();
    const { wrapper } = await mountSettings(backend);
    await wrapper.find('input[type="radio"][value="thumbnail"]').setValue(true);
    await wrapper.find('form[aria-label="Deployment settings"]').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.settings.update)[0].args).toEqual({
      privacyMode: "thumbnail",
      promotion: { rule: "floors", nonInferiorityMargin: 0.01, maxAccuracyDrop: 0.02, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.1 },
    });
  });

  it("shows the clients' CLIP model and feature dimension under the names activation refusals use, and saves a change", async () => {
    const backend = adminBackend();
    const { wrapper } = await mountSettings(backend);
    const clipField = wrapper.findAll("label.field").find((label) => label.text().includes("Clients' CLIP model (clipModelId)"))!;
    const dimField = wrapper.findAll("label.field").find((label) => label.text().includes("Clients' feature dimension (featureDim)"))!;
    expect((clipField.find("input").element as HTMLInputElement).value).toBe("Xenova/clip-vit-base-patch32");
    expect((dimField.find("input").element as HTMLInputElement).value).toBe("4");
    await clipField.find("input").setValue("  Xenova/clip-vit-large-patch14 ");
    await dimField.find("input").setValue("768");
    await wrapper.find('form[aria-label="Deployment settings"]').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.settings.update)[0].args).toMatchObject({ clipModelId: "Xenova/clip-vit-large-patch14", featureDim: 768 });
  });

  it("sets the gate to no significant regression with a margin", async () => {
    const backend = adminBackend();
    const { wrapper } = await mountSettings(backend);
    expect(wrapper.text()).not.toContain("Non-inferiority margin");
    await wrapper.find('input[type="radio"][value="noSignificantRegression"]').setValue(true);
    const margin = wrapper.findAll("label.field").find((label) => label.text().startsWith("Non-inferiority margin"))!;
    await margin.find("input").setValue("0.03");
    await wrapper.find('form[aria-label="Deployment settings"]').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.settings.update)[0].args.promotion).toEqual({
      rule: "noSignificantRegression",
      nonInferiorityMargin: 0.03,
      maxAccuracyDrop: 0.02,
      minPerClassRecall: 0.5,
      maxPerClassRecallDrop: 0.1,
    });
  });

  it("says in a sentence what an empty or invalid field needs, and saves nothing", async () => {
    const backend = adminBackend();
    const { wrapper } = await mountSettings(backend);
    const field = (start: string) => wrapper.findAll("label.field").find((label) => label.text().startsWith(start))!.find("input");
    await field("Minimum recall of every class").setValue("");
    await field("Largest per-class recall drop allowed").setValue("1.5");
    await wrapper.find('input[type="radio"][value="noSignificantRegression"]').setValue(true);
    await field("Non-inferiority margin").setValue("0");
    await wrapper.find('form[aria-label="Deployment settings"]').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.settings.update)).toEqual([]);
    expect(wrapper.findAll('ul[aria-label="Settings problems"] li').map((item) => item.text())).toEqual([
      "The non-inferiority margin must be a number above 0 and at most 0.2; \"0\" is not.",
      "Give the minimum recall of every class: a number from 0 to 1.",
      "The largest per-class recall drop allowed must be a number from 0 to 1; \"1.5\" is not.",
    ]);
    expect(wrapper.text()).not.toContain("Validator");
  });

  it("gives a user a role", async () => {
    const backend = adminBackend();
    const { wrapper } = await mountSettings(backend);
    await wrapper.find('select[aria-label="Role of new@example.com"]').setValue("labeller");
    await flushPromises();
    expect(backend.callsTo(api.users.setRole)[0].args).toEqual({ userId: "users:2", role: "labeller" });
  });

  it("imports a labelled set in chunks of at most 200 items", async () => {
    const backend = adminBackend();
    const { wrapper, pickJsonl } = await mountSettings(backend);
    const lines = Array.from({ length: 450 }, (_, index) => line(index % 2 === 0 ? "cat" : "dog"));
    await pickJsonl("march.jsonl", lines.join("\n") + "\n");
    expect(wrapper.text()).toContain("450 items ready to import.");

    await wrapper.find('form[aria-label="Import a labelled set"]').trigger("submit");
    await flushPromises();
    const calls = backend.callsTo(api.labelledSet.importItems);
    expect(calls.map((call) => call.args.items.length)).toEqual([200, 200, 50]);
    expect(calls.every((call) => call.args.name === "march")).toBe(true);
    expect(calls[0].args.items[0]).toEqual({ features: [0.5, 0.5, 0.5, 0.5], label: "cat" });
    expect(wrapper.find('form[aria-label="Import a labelled set"] [role="status"]').text()).toBe('Imported 450 items as "march".');
  });

  it("lists every bad line and imports nothing", async () => {
    const backend = adminBackend();
    const { wrapper, pickJsonl } = await mountSettings(backend);
    await pickJsonl("bad.jsonl", [line("cat"), "{not json", JSON.stringify({ features: [1, 2], label: "dog" }), JSON.stringify({ features: [1, 2, 3, 4] })].join("\n"));
    const problems = wrapper.findAll('form[aria-label="Import a labelled set"] ul[aria-label="Problems"] li').map((item) => item.text());
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^line 2: not valid JSON/);
    expect(problems[1]).toBe("line 3: features has 2 values; expected 4");
    expect(problems[2]).toMatch(/^line 4: expected \{"features": number\[\], "label": string\}; label: /);
    await wrapper.find('form[aria-label="Import a labelled set"]').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.labelledSet.importItems)).toEqual([]);
  });

  it("says how far an import got when the server refuses a chunk", async () => {
    let calls = 0;
    const backend = adminBackend().on(api.labelledSet.importItems, ({ items }) => {
      calls += 1;
      if (calls === 2) throw new Error('Uncaught ConvexError: Labelled items not imported: items[3].label "zebra" is not a class of any model version.');
      return { importId: fakeId("labelledImports", 1), added: items.length, duplicates: 0, importItemCount: items.length, labelsUnknownToActive: [] };
    });
    const { wrapper, pickJsonl } = await mountSettings(backend);
    await pickJsonl("set.jsonl", Array.from({ length: 300 }, () => line("cat")).join("\n"));
    await wrapper.find('form[aria-label="Import a labelled set"]').trigger("submit");
    await flushPromises();
    expect(wrapper.find('form[aria-label="Import a labelled set"] [role="alert"]').text()).toBe(
      'Import stopped after 200 of 300 items: Labelled items not imported: items[3].label "zebra" is not a class of any model version.',
    );
  });

  it("says how many items of a file imported twice were already in the set", async () => {
    const backend = adminBackend().on(api.labelledSet.importItems, ({ items }) => ({
      importId: fakeId("labelledImports", 1),
      added: 0,
      duplicates: items.length,
      importItemCount: 0,
      labelsUnknownToActive: [],
    }));
    const { wrapper, pickJsonl } = await mountSettings(backend);
    await pickJsonl("march.jsonl", [line("cat"), line("dog")].join("\n"));
    await wrapper.find('form[aria-label="Import a labelled set"]').trigger("submit");
    await flushPromises();
    expect(wrapper.find('form[aria-label="Import a labelled set"] [role="status"]').text()).toBe(
      'Imported 0 items as "march". 2 items already in the set (same label and features) were skipped.',
    );
  });

  it("lists the set's items a page at a time and removes one", async () => {
    const rows = Array.from({ length: 30 }, (_, index) => ({
      _id: fakeId("labelledItems", index),
      _creationTime: Date.UTC(2026, 10, 1) + index * 60_000,
      label: index % 2 === 0 ? "cat" : "dog",
      source: index === 0 ? ("picture" as const) : ("import" as const),
      importName: index === 0 ? null : "march",
      pictureId: index === 0 ? fakeId("pictures", 1) : null,
      fileName: index === 0 ? "tabby.jpg" : null,
    }));
    const backend = adminBackend().on(api.labelledSet.items, ({ paginationOpts }) => {
      const start = paginationOpts.cursor === null ? 0 : Number(paginationOpts.cursor);
      const end = paginationOpts.endCursor == null ? Math.min(rows.length, start + paginationOpts.numItems) : Number(paginationOpts.endCursor);
      return { page: rows.slice(start, end), isDone: end >= rows.length, continueCursor: String(end) };
    });
    const confirm = vi.spyOn(window, "confirm").mockReturnValue(true);
    const { wrapper } = await mountSettings(backend);
    const shown = () => wrapper.findAll('table[aria-label="Labelled items"] tbody tr');
    expect(shown()).toHaveLength(25);
    expect(shown()[0].text()).toContain("picture tabby.jpg");
    expect(shown()[1].text()).toContain('import "march"');
    // Every page asks for at most 25 items: the list never reads the whole set.
    const pages = backend.subscriptions.filter((subscription) => subscription.name === "labelledSet:items");
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.every((subscription) => (subscription.args as { paginationOpts: { numItems: number } }).paginationOpts.numItems <= 25)).toBe(true);

    await wrapper.find('button[aria-label="Remove item tabby.jpg from the labelled set"]').trigger("click");
    await flushPromises();
    expect(confirm).toHaveBeenCalledWith("Remove tabby.jpg from the labelled set? Its picture stays, unlabelled.");
    expect(backend.callsTo(api.labelledSet.removeItem).map((call) => call.args)).toEqual([{ itemId: fakeId("labelledItems", 0) }]);

    await wrapper.findAll('nav[aria-label="Labelled item pages"] button').find((button) => button.text() === "Next")!.trigger("click");
    await flushPromises();
    expect(shown()).toHaveLength(5);
    confirm.mockRestore();
  });
});
