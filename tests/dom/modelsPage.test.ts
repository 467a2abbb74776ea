import { describe, expect, it } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import ModelsPage from "../../src/pages/ModelsPage.vue";
import type { FunctionReturnType } from "convex/server";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

type VersionRow = FunctionReturnType<typeof api.models.list>[number];
type Comparison = FunctionReturnType<typeof api.evaluation.compare>;

const summary = (classes: string[]): VersionRow["summary"] => ({
  name: "m",
  classes,
  input: { dim: 512, clipModel: "Xenova/clip-vit-base-patch32", normalize: "none" },
  outputActivation: "sigmoid-normalized",
  layerShapes: [
    { inDim: 512, outDim: 256, activation: "relu" },
    { inDim: 256, outDim: 128, activation: "relu" },
    { inDim: 128, outDim: 3, activation: "none" },
  ],
  parameterCount: 164_355,
});

const versions: VersionRow[] = [
  {
    _id: fakeId("modelVersions", 2),
    number: 2,
    name: "candidate",
    notes: "",
    sha256: "ab12cd34ef56ab12cd34ef56",
    byteLength: 657_000,
    summary: summary(["cat", "dog", "fox"]),
    status: "ready",
    createdByEmail: "admin@example.com",
    createdAt: Date.UTC(2026, 10, 27, 9, 30),
    metrics: null,
    isActive: false,
    isRollbackTarget: false,
    inputMismatch: null,
  },
  {
    _id: fakeId("modelVersions", 1),
    number: 1,
    name: "baseline",
    notes: "first",
    sha256: "99ff88ee77dd66cc55bb44aa",
    byteLength: 657_000,
    summary: summary(["cat", "dog", "fox"]),
    status: "ready",
    createdByEmail: "admin@example.com",
    createdAt: Date.UTC(2026, 10, 20, 9, 30),
    metrics: { accuracy: 0.875, macroF1: 0.8612, ece: 0.041, itemCount: 200, computedAt: 0 },
    isActive: true,
    isRollbackTarget: false,
    inputMismatch: null,
  },
];

const report = (accuracy: number): Comparison["candidateReport"] => ({
  itemCount: 4,
  classCount: 3,
  correctCount: accuracy * 4,
  accuracy,
  macroF1: accuracy,
  perClass: [0, 1, 2].map((classIndex) => ({ classIndex, precision: 1, recall: accuracy, f1: accuracy, support: 1, predictedCount: 1 })),
  confusion: [
    [1, 0, 0],
    [0, 1, 1],
    [0, 0, 1],
  ],
  expectedCalibrationError: 0.1,
  reliability: [],
});

const comparison: Comparison = {
  candidate: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" },
  baseline: { versionId: fakeId("modelVersions", 1), number: 1, name: "baseline" },
  baselineIsActive: true,
  classes: ["cat", "dog", "fox"],
  itemCount: 4,
  excluded: { itemCount: 0, labels: [] },
  skippedItemCount: 0,
  candidateReport: report(0.5),
  baselineReport: report(0.75),
  accuracyDifference: -0.25,
  agreementRate: 0.75,
  disagreementCount: 1,
  disagreements: [
    {
      index: 3,
      pictureId: fakeId("pictures", 42),
      fileName: "dog-42.jpg",
      trueLabel: "dog",
      baselineLabel: "dog",
      candidateLabel: "fox",
      baselineConfidence: 0.7,
      candidateConfidence: 0.6,
      margin: 0.4,
      correct: "baseline",
    },
  ],
  mcnemar: { baselineOnlyCorrect: 1, candidateOnlyCorrect: 0, pValue: 1 },
  paired: { n11: 2, n10: 1, n01: 0, n00: 1 },
  evidence: {
    difference: -0.25,
    discordantPairs: 1,
    mcnemar: { pValue: 1, midPValue: 0.5 },
    bootstrap: { lower: -0.75, upper: 0, level: 0.95, resamples: 10000, seed: 1 },
    itemsForPower: 126,
    nonInferiority: { margin: 0.01, alpha: 0.05, z: -1, pValue: 0.84, nonInferior: false },
    verdict: "too-small-to-tell",
    reasons: ["only 1 items are right for one version and wrong for the other (at least 10 are needed)"],
  },
  withoutSuspects: null,
  gate: { allowed: false, reasons: ["accuracy drops by 25.0 points; at most 2.0 allowed"], thresholds: { rule: "floors", nonInferiorityMargin: 0.01, maxAccuracyDrop: 0.02, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.1 } },
};

function adminBackend() {
  return new FakeBackend()
    .on(api.models.list, versions)
    .on(api.deployment.timeline, [
      {
        _id: fakeId("auditLog", 1),
        action: "activateVersion",
        at: Date.UTC(2026, 10, 20, 10, 0),
        actorEmail: "admin@example.com",
        from: null,
        to: { versionId: fakeId("modelVersions", 1), number: 1, name: "baseline" },
        reason: "first release",
        details: null,
        metrics: { accuracy: 0.875, macroF1: 0.8612, ece: 0.041, itemCount: 200, computedAt: 0 },
      },
    ])
    .on(api.evaluation.compare, comparison)
    .on(api.replays.list, []);
}

async function mountModels(backend: FakeBackend) {
  const { wrapper } = await mountWithBackend(ModelsPage, backend, { user: userWithRole("admin"), path: "/models", stubs: { ReliabilityChart: true } });
  return wrapper;
}

describe("ModelsPage", () => {
  it("lists versions with short sha, shapes, parameters, classes, status and metrics", async () => {
    const page = await mountModels(adminBackend());
    const cells = page.findAll('table[aria-label="Versions"] tbody tr').map((row) => row.findAll("td").map((cell) => cell.text()));
    expect(cells[1].slice(0, 6)).toEqual(["v1", "baseline first", "99ff88ee77dd", "512→256, 256→128, 128→3", "164,355", "3"]);
    expect(cells[1][7]).toBe("active");
    expect(cells[1].slice(8, 11)).toEqual(["0.875", "0.861", "0.041"]);
    expect(cells[0][7]).toBe("ready");
    expect(page.text()).toContain('Active: v1 “baseline”');
    expect(page.find('table[aria-label="Activation timeline"]').text()).toContain("first release");
  });

  it("asks for a reason, then for an override reason when the gate blocks, and activates", async () => {
    const backend = adminBackend().on(api.deployment.activate, (args) => {
      if (args.overrideReason === undefined) {
        throw new Error("Uncaught ConvexError: Activation blocked by the promotion gate: v2 is worse than the active v1. To activate anyway, give an override reason.");
      }
      return { version: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" }, gate: { allowed: false, reasons: [], overridden: true, itemCount: 4 }, gateSkipped: null };
    });
    const page = await mountModels(backend);
    await page.find('button[aria-label="Activate v2"]').trigger("click");
    const dialog = () => page.find("dialog");
    expect(dialog().find("h2").text()).toBe('Activate v2 “candidate”');

    await dialog().find("form").trigger("submit");
    expect(dialog().find('[role="alert"]').text()).toBe("Give a reason: it is recorded in the activation timeline.");
    expect(backend.callsTo(api.deployment.activate)).toHaveLength(0);

    await dialog().find("textarea").setValue("better on night photos");
    await dialog().find("form").trigger("submit");
    await flushPromises();
    expect(dialog().find('[role="alert"]').text()).toContain("Activation blocked by the promotion gate");
    const textareas = dialog().findAll("textarea");
    expect(textareas).toHaveLength(2);

    await textareas[1].setValue("night photos matter more this month");
    await dialog().find("form").trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.deployment.activate).map((call) => call.args)).toEqual([
      { versionId: fakeId("modelVersions", 2), reason: "better on night photos", overrideReason: undefined },
      { versionId: fakeId("modelVersions", 2), reason: "better on night photos", overrideReason: "night photos matter more this month" },
    ]);
    expect(page.find("dialog").exists()).toBe(false);
  });

  it("compares a candidate with the active version and links disagreements to their pictures", async () => {
    const backend = adminBackend();
    const page = await mountModels(backend);
    await page.find('button[aria-label="Compare v2"]').trigger("click");
    await page.find('form[aria-label="Versions to compare"]').trigger("submit");
    await flushPromises();

    expect(backend.callsTo(api.evaluation.compare)[0].args).toEqual({ candidateId: fakeId("modelVersions", 2), baselineId: undefined });
    expect(page.find('[data-testid="gate-verdict"]').text()).toBe("blocks activation");
    expect(page.text()).toContain("accuracy drops by 25.0 points; at most 2.0 allowed");
    expect(page.text()).toContain("McNemar exact p = 1.00");
    const headline = page.findAll('table[aria-label="Headline metrics"] tbody tr').map((row) => row.text());
    expect(headline[0]).toBe("Accuracy75.0%50.0%");
    const link = page.find('table[aria-label="Disagreements"] a');
    expect(link.attributes("href")).toBe("/history?picture=pictures:42");
  });

  it("offers replay with the page's versions", async () => {
    const page = await mountModels(adminBackend());
    const replay = page.find('form[aria-label="Replay"]');
    expect(replay.findAll("select")[0].findAll("option").map((option) => option.text())).toEqual([
      "choose a version",
      'v2 “candidate”',
      'v1 “baseline” (active)',
    ]);
    expect(page.text()).toContain("No replays yet.");
  });

  it("rolls back only with a reason", async () => {
    const backend = adminBackend()
      .on(api.models.list, [
        { ...versions[0], isActive: true },
        { ...versions[1], isActive: false, isRollbackTarget: true },
      ])
      .on(api.deployment.rollback, {
        from: { versionId: fakeId("modelVersions", 2), number: 2, name: "candidate" },
        to: { versionId: fakeId("modelVersions", 1), number: 1, name: "baseline" },
      });
    const page = await mountModels(backend);
    await page.findAll("button").find((button) => button.text() === "Roll back")!.trigger("click");
    await page.find('dialog textarea').setValue("v2 misreads foxes");
    await page.find('dialog form').trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.deployment.rollback)[0].args).toEqual({ reason: "v2 misreads foxes", expectedActiveVersionId: fakeId("modelVersions", 2) });
  });

  it("closes a reason dialog with Escape without doing anything", async () => {
    const backend = adminBackend();
    const page = await mountModels(backend);
    await page.find('button[aria-label="Archive v2"]').trigger("click");
    expect(page.find('dialog h2').text()).toBe('Archive v2 “candidate”');
    // The dialog hears Esc on the whole window (wherever the focus is), as a modal does.
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    await flushPromises();
    expect(page.find("dialog").exists()).toBe(false);
    expect(backend.calls.filter((call) => call.kind !== "query")).toEqual([]);
  });
});
