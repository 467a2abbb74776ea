/**
 * The bad-input and abuse cases not already told by the per-module stories
 * (see docs/reliability.md for the whole table): concurrency on one picture,
 * the rate limit across pictures, faults outside the classify steps, size
 * limits Convex enforces in production but convex-test does not, and a scan
 * of every public function's output for weights and full probability vectors.
 */
import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import fc from "fast-check";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { CLASSIFY_RATE_LIMIT, classificationSteps } from "../../convex/classifications";
import { MAX_ITEMS_PER_IMPORT_CALL } from "../../convex/labelledSet";
import { MAX_LABEL_LENGTH } from "../../convex/model/labels";
import { RESULT_DECIMALS, RESULT_TOP_K } from "../../convex/lib/classificationResult";
import { utcDay } from "../../convex/lib/days";
import { MAX_FEATURE_DIM } from "../../convex/lib/settings";
import { MAX_CLASSES, MAX_INPUT_DIM } from "../../convex/lib/versionChecks";
import { encodeWeights } from "../../convex/lib/weightsBinary";
import { mlpForward } from "../../convex/lib/mlpForward";
import type { MlpModel } from "../../convex/lib/weightsFormat";
import { asUser, ensureAuthEnv, makeBackend, publicFunctionNames, type Backend, type UserClient } from "./harness";
import { countedClassifications, dayCounters, makeTestModel, pictureFeaturesOf, sampleFeatures, seedActiveVersion, storeImage, testClasses } from "./fixtures";
import { weightsSource } from "../../convex/model/weights";
import { getConvexSize, type Value } from "convex/values";

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core machine the longer stories need more than 5 s.
vi.setConfig({ testTimeout: 60_000 });

const originalSteps = { ...classificationSteps };
const originalSource = { ...weightsSource };
afterEach(() => {
  Object.assign(classificationSteps, originalSteps);
  Object.assign(weightsSource, originalSource);
  vi.useRealTimers();
});

/** Convex's production limits, which convex-test does not enforce. */
const DOCUMENT_LIMIT_BYTES = 1024 * 1024;
const ARRAY_LIMIT = 8192;
const ARGUMENTS_LIMIT_BYTES = 16 * 1024 * 1024;

const pictureOf = (t: Backend, pictureId: Id<"pictures">) => t.run((ctx) => ctx.db.get(pictureId));
const classCount = (t: Backend) =>
  countedClassifications(t);

async function recordPicture(t: Backend, client: UserClient, fileName = "p.jpg") {
  return client.mutation(api.pictures.record, { storageId: await storeImage(t), fileName, contentType: "image/jpeg" });
}

async function registerModel(t: Backend, admin: UserClient, model: MlpModel, name = model.name, notes = "") {
  const storageId = await t.run((ctx) => ctx.storage.store(new Blob([encodeWeights(model) as Uint8Array<ArrayBuffer>])));
  return admin.action(api.models.register, { storageId, name, notes });
}

describe("classification abuse", () => {
  test("more features than Convex's 8192-value array limit never reach the action: the deployment refuses the call and the picture is untouched", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: new Array(100_000).fill(0.25) }),
    ).rejects.toThrow(/clipFeatures has 100000 elements; Convex arrays hold at most 8192/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", attempts: 0 });
  });

  test("features that are not an array (an object, null, a string, a nested array) are refused by the validator and change nothing", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    for (const clipFeatures of [{ 0: 1 }, null, "0.1,0.2", [[0.1]], [0.1, null], [true]]) {
      await expect(
        labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: clipFeatures as unknown as number[] }),
      ).rejects.toThrow(/Validator error|clipFeatures/);
    }
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", attempts: 0 });
  });

  test("a pictureId of the wrong table is refused by the validator", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    await expect(
      labeller.client.action(api.classifications.classify, {
        pictureId: labeller.userId as unknown as Id<"pictures">,
        clipFeatures: sampleFeatures(1),
      }),
    ).rejects.toThrow(/Validator error|pictures/);
  });

  test("many labellers classifying at once all write the same day × version × class counters, and every counter stays exact", async () => {
    const t = makeBackend();
    const version = await seedActiveVersion(t);
    const labellers = await Promise.all(Array.from({ length: 8 }, () => asUser(t, "labeller")));
    const pictures = [];
    for (const [index, labeller] of labellers.entries()) {
      for (let k = 0; k < 5; k++) pictures.push({ labeller, pictureId: await recordPicture(t, labeller.client, `c${index}-${k}.jpg`), seed: index * 5 + k + 1 });
    }
    // Interleaved: every action's transactions run while the others' are in flight.
    const results = await Promise.all(pictures.map(({ labeller, pictureId, seed }) => labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(seed) })));
    const expected = new Map<string, number>();
    for (const result of results) expected.set(result.label, (expected.get(result.label) ?? 0) + 1);
    const rows = await t.run((ctx) => ctx.db.query("analyticsCounts").collect());
    for (const period of ["day", "month"] as const) {
      for (const versionId of [version.versionId, undefined]) {
        const classRows = rows.filter((row) => row.period === period && row.versionId === versionId && row.kind === "class");
        expect(new Map(classRows.map((row) => [row.key, row.count]))).toEqual(expected);
        const binRows = rows.filter((row) => row.period === period && row.versionId === versionId && row.kind === "confidence");
        expect(binRows.reduce((sum, row) => sum + row.count, 0)).toBe(pictures.length);
      }
    }
  });

  test("five concurrent classifications of one picture count it once", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((seed) => labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(seed) })),
    );
    expect(results).toHaveLength(5);
    expect(await classCount(t)).toBe(1);
    const picture = await pictureOf(t, pictureId);
    const counted = await t.run((ctx) => ctx.db.get(picture!.latestClassificationId!));
    const rows = await dayCounters(t);
    expect(rows.filter((row) => row.kind === "class")).toEqual([expect.objectContaining({ key: counted!.label, count: 1 })]);
    expect(picture).toMatchObject({ status: "classified", attempts: 5, label: counted!.label });
  });

  test("a classification racing the picture's removal leaves no counts, whichever wins", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    for (let seed = 1; seed <= 3; seed++) {
      const pictureId = await recordPicture(t, labeller.client, `race-${seed}.jpg`);
      await Promise.allSettled([
        labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(seed) }),
        labeller.client.mutation(api.pictures.remove, { pictureId }),
      ]);
      expect(await pictureOf(t, pictureId)).toMatchObject({ deleted: true });
    }
    expect(await classCount(t)).toBe(0);
  });

  test(`the rate limit is per user, not per picture: ${CLASSIFY_RATE_LIMIT.capacity} calls over many pictures exhaust it, retries included`, async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictures: Array<Id<"pictures">> = [];
    for (let i = 0; i < 12; i++) pictures.push(await recordPicture(t, labeller.client, `burst-${i}.jpg`));
    for (let call = 0; call < CLASSIFY_RATE_LIMIT.capacity; call++) {
      const pictureId = pictures[call % pictures.length];
      if (call < pictures.length) {
        await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(call + 1) });
      } else {
        await labeller.client.action(api.classifications.retry, { pictureId });
      }
    }
    const fresh = await recordPicture(t, labeller.client, "fresh.jpg");
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId: fresh, clipFeatures: sampleFeatures(99) }),
    ).rejects.toThrow(/too many classifications: at most 120 a minute \(bursts of 60\)/);
    await expect(labeller.client.action(api.classifications.retry, { pictureId: pictures[0] })).rejects.toThrow(/too many classifications/);
    // Nothing lost: the refused picture keeps its features and succeeds once the bucket refills.
    expect(await pictureOf(t, fresh)).toMatchObject({ status: "failed" });
    expect(await pictureFeaturesOf(t, fresh)).toEqual(sampleFeatures(99));
    vi.advanceTimersByTime(CLASSIFY_RATE_LIMIT.period);
    await labeller.client.action(api.classifications.retry, { pictureId: fresh });
    expect(await pictureOf(t, fresh)).toMatchObject({ status: "classified" });
    expect(await classCount(t)).toBe(13);
  });
});

describe("classification: any array of numbers", () => {
  test("ends classified or failed with a reason, never stuck, never an unexpected error, and counts only classified pictures", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const value = fc.oneof(
      { weight: 8, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
      { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Infinity, -Infinity, 0, -0, 1e300, -1e300, Number.MIN_VALUE) },
    );
    const features = fc.oneof(
      fc.array(value, { minLength: 512, maxLength: 512 }),
      fc.integer({ min: 0, max: 1024 }).chain((length) => fc.array(value, { minLength: length, maxLength: length })),
    );
    let classified = 0;
    await fc.assert(
      fc.asyncProperty(features, async (clipFeatures) => {
        // A fresh labeller per case keeps the rate limit out of this property.
        const labeller = await asUser(t, "labeller");
        const pictureId = await recordPicture(t, labeller.client);
        let refusal: unknown = null;
        try {
          await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures });
        } catch (error) {
          refusal = error;
        }
        const picture = await pictureOf(t, pictureId);
        if (refusal === null) {
          classified++;
          expect(picture).toMatchObject({ status: "classified" });
        } else {
          expect(String(refusal)).toMatch(/classification_failed/);
          expect(picture?.status).toBe("failed");
          expect(picture?.error).toMatch(/Expected 512 CLIP features, got \d+|feature\[\d+\] is not a finite number|feature\[\d+\] is .*, beyond the float32 range|features are all zeros/);
        }
        expect(await classCount(t)).toBe(classified);
      }),
      { numRuns: 25 },
    );
  });
});

describe("faults outside the classify steps: nothing lost", () => {
  test("loading the active version fails before anything is touched: the picture stays uploaded and a later call succeeds", async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    classificationSteps.loadActiveVersion = async () => {
      throw new Error("simulated query failure");
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(1) }),
    ).rejects.toThrow(/simulated query failure/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", attempts: 0 });
    classificationSteps.loadActiveVersion = originalSteps.loadActiveVersion;
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(1) });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified", attempts: 1 });
  });

  test("the version row vanishes mid-classification: the picture is marked failed with the reason and a retry on a new version succeeds", async () => {
    const t = makeBackend();
    const first = await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    weightsSource.readBytes = async (ctx, version) => {
      const bytes = await originalSource.readBytes(ctx, version);
      await t.run((db) => db.db.delete(first.versionId));
      return bytes;
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(2) }),
    ).rejects.toThrow(/the classification could not be saved: model version 1 no longer exists/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed", error: expect.stringMatching(/model version 1 no longer exists/) });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(2));
    expect(await classCount(t)).toBe(0);

    weightsSource.readBytes = originalSource.readBytes;
    await seedActiveVersion(t, makeTestModel({ seed: 5, name: "replacement" }));
    const result = await labeller.client.action(api.classifications.retry, { pictureId });
    expect(result.versionName).toBe("replacement");
    expect(await classCount(t)).toBe(1);
  });
});

describe("sizes: limits stated, Convex's document and array limits respected", () => {
  test(`a label longer than ${MAX_LABEL_LENGTH} characters is refused with the limit`, async () => {
    const t = makeBackend();
    await seedActiveVersion(t);
    const labeller = await asUser(t, "labeller");
    const pictureId = await recordPicture(t, labeller.client);
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(1) });
    await expect(labeller.client.mutation(api.labels.set, { pictureId, label: "x".repeat(MAX_LABEL_LENGTH + 1) })).rejects.toThrow(
      `label is ${MAX_LABEL_LENGTH + 1} characters; at most ${MAX_LABEL_LENGTH} are allowed`,
    );
  });

  test(`weights with more than ${MAX_CLASSES} classes or an input dim over ${MAX_INPUT_DIM} are refused before anything is stored`, async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const manyClasses = makeTestModel({ classes: Array.from({ length: MAX_CLASSES + 1 }, (_, i) => `class-${i}`), hidden: [2], dim: 4 });
    await expect(registerModel(t, admin.client, manyClasses)).rejects.toThrow(`the model has ${MAX_CLASSES + 1} classes; the limit is ${MAX_CLASSES}`);
    const wideInput = makeTestModel({ dim: MAX_INPUT_DIM + 1, hidden: [1], classes: ["a", "b"] });
    await expect(registerModel(t, admin.client, wideInput)).rejects.toThrow(`input.dim is ${MAX_INPUT_DIM + 1}; the limit is ${MAX_INPUT_DIM} features`);
    expect(await t.run((ctx) => ctx.db.query("modelVersions").collect())).toEqual([]);
    expect(await t.run(async (ctx) => (await ctx.db.system.query("_storage").collect()).length)).toBe(0);
  });

  test(`comparing two versions of ${MAX_CLASSES} classes each (their union twice that) returns inside Convex's 16 MiB`, async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await admin.client.mutation(api.settings.update, { featureDim: 4 });
    const classesA = Array.from({ length: MAX_CLASSES }, (_, i) => `a-${i}`);
    const classesB = [...classesA.slice(0, 2), ...Array.from({ length: MAX_CLASSES - 2 }, (_, i) => `b-${i}`)];
    const a = await registerModel(t, admin.client, makeTestModel({ classes: classesA, hidden: [2], dim: 4, seed: 1 }), "a");
    const b = await registerModel(t, admin.client, makeTestModel({ classes: classesB, hidden: [2], dim: 4, seed: 2 }), "b");
    await admin.client.mutation(api.labelledSet.importItems, { name: "set", items: [0, 1, 2, 3].map((i) => ({ features: sampleFeatures(i, 4), label: classesA[i % 2] })) });
    // The harness refuses a return value Convex would (over 16 MiB, or an array over 8192 values).
    const comparison = await admin.client.action(api.evaluation.compare, { candidateId: b.versionId, baselineId: a.versionId });
    expect(comparison.classes).toHaveLength(2 * MAX_CLASSES - 2);
    expect(comparison.itemCount).toBe(4);
  });

  test("a labelled-set chunk at its limits stays inside Convex's argument limits", () => {
    expect(MAX_ITEMS_PER_IMPORT_CALL).toBeLessThanOrEqual(ARRAY_LIMIT);
    // Convex stores a float64 in 8 bytes: the largest chunk of the widest features.
    expect(MAX_ITEMS_PER_IMPORT_CALL * MAX_FEATURE_DIM * 8).toBeLessThan(ARGUMENTS_LIMIT_BYTES);
    expect(MAX_FEATURE_DIM).toBeLessThanOrEqual(ARRAY_LIMIT);
    expect(MAX_INPUT_DIM).toBeLessThanOrEqual(ARRAY_LIMIT);
  });

  test("the biggest documents every flow writes, at the limits, stay under 1 MiB with no array over 8192 values", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    // The widest input and the most classes, with the longest names: the largest summary, feature and probability arrays.
    const classes = Array.from({ length: MAX_CLASSES }, (_, i) => `${i}-${"c".repeat(95)}`.slice(0, 100));
    const model = makeTestModel({ dim: MAX_FEATURE_DIM, hidden: [4], classes, normalize: "l2" });
    await admin.client.mutation(api.settings.update, { featureDim: MAX_FEATURE_DIM });
    const version = await registerModel(t, admin.client, model, "n".repeat(100), "w".repeat(2000));
    await admin.client.action(api.deployment.activate, { versionId: version.versionId, reason: "r".repeat(500) });
    const features = sampleFeatures(7, MAX_FEATURE_DIM);
    const pictureId = await admin.client.mutation(api.pictures.record, {
      storageId: await storeImage(t),
      fileName: `${"f".repeat(251)}.jpg`,
      contentType: "image/jpeg",
    });
    const result = await admin.client.action(api.classifications.classify, { pictureId, clipFeatures: features });
    await admin.client.mutation(api.labels.set, { pictureId, label: result.label });
    await admin.client.mutation(api.labelledSet.importItems, {
      name: "s".repeat(100),
      items: Array.from({ length: 20 }, (_, i) => ({ features: sampleFeatures(100 + i, MAX_FEATURE_DIM), label: classes[i] })),
    });
    await admin.client.mutation(api.replays.start, { versionId: version.versionId, filter: {} });
    await t.finishAllScheduledFunctions(vi.runAllTimers);

    const tables = ["pictures", "features", "classifications", "shadowClassifications", "labels", "modelVersions", "weightsChunks", "deployment", "auditLog", "settings", "analyticsCounts", "labelledItems", "labelledImports", "labelledCounts", "replays"] as const;
    const largest = await t.run(async (ctx) => {
      const sizes: Record<string, { bytes: number; longestArray: number }> = {};
      for (const table of tables) {
        for (const doc of await ctx.db.query(table).collect()) {
          const bytes = getConvexSize(doc as unknown as Value);
          const longestArray = longestArrayIn(doc);
          const seen = sizes[table] ?? { bytes: 0, longestArray: 0 };
          sizes[table] = { bytes: Math.max(seen.bytes, bytes), longestArray: Math.max(seen.longestArray, longestArray) };
        }
      }
      return sizes;
    });
    // Every table the flows write was measured.
    expect(Object.keys(largest).sort()).toEqual([...tables].sort());
    for (const [table, { bytes, longestArray }] of Object.entries(largest)) {
      expect(bytes, `${table}: largest document is ${bytes} bytes`).toBeLessThan(DOCUMENT_LIMIT_BYTES);
      expect(longestArray, `${table}: longest array has ${longestArray} values`).toBeLessThanOrEqual(ARRAY_LIMIT);
    }
    // The measurement sees the big values: probabilities are stored whole, features as 4 bytes each.
    expect(largest.classifications.longestArray).toBe(MAX_CLASSES);
    expect(largest.modelVersions.longestArray).toBe(MAX_CLASSES);
    expect(largest.features.bytes).toBeGreaterThan(MAX_FEATURE_DIM * 4);
  });
});

function longestArrayIn(value: unknown): number {
  if (Array.isArray(value)) return Math.max(value.length, ...value.map(longestArrayIn));
  if (typeof value === "object" && value !== null) return Math.max(0, ...Object.values(value).map(longestArrayIn));
  return 0;
}

type Outputs = Map<string, unknown[]>;

/**
 * One story through every public function (Convex Auth's own endpoints aside),
 * recording what each returned, for the leak and extraction checks below.
 */
async function everyPublicOutput() {
  vi.useFakeTimers();
  const t = makeBackend();
  const admin = await asUser(t, "admin");
  const labeller = await asUser(t, "labeller");
  const analyst = await asUser(t, "analyst");
  const teacher = makeTestModel({ seed: 1, name: "teacher" });
  const outputs: Outputs = new Map();
  const record = async <T>(name: string, call: Promise<T>): Promise<T> => {
    const result = await call;
    outputs.set(name, [...(outputs.get(name) ?? []), result]);
    return result;
  };

  await record("models:generateUploadUrl", admin.client.mutation(api.models.generateUploadUrl, {}));
  const v1 = await record("models:register", registerModel(t, admin.client, teacher, "teacher"));
  const v2 = await record("models:register", registerModel(t, admin.client, makeTestModel({ seed: 2 }), "candidate"));
  await record("deployment:activate", admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" }));
  const items = Array.from({ length: 12 }, (_, i) => ({ features: sampleFeatures(500 + i), label: mlpForward(teacher, sampleFeatures(500 + i)).label }));
  const imported = await record("labelledSet:importItems", admin.client.mutation(api.labelledSet.importItems, { name: "set", items }));
  await record("labelledSet:summary", admin.client.query(api.labelledSet.summary, {}));
  // Enough items for a search for suspect labels (5 per class).
  const moreItems = Array.from({ length: 60 }, (_, i) => ({ features: sampleFeatures(600 + i), label: testClasses[i % testClasses.length] }));
  await admin.client.mutation(api.labelledSet.importItems, { name: "set", items: moreItems });
  await record("suspects:start", admin.client.mutation(api.suspects.start, { method: "kfold" }));
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  await record("suspects:status", analyst.client.query(api.suspects.status, {}));
  const flagged = await record("suspects:queue", labeller.client.query(api.suspects.queue, { limit: 10 }));
  if (flagged.length < 2) throw new Error(`the story needs two flagged items, got ${flagged.length}`);
  await record("suspects:keep", labeller.client.mutation(api.suspects.keep, { suspectId: flagged[0]._id }));
  await record("suspects:fix", labeller.client.mutation(api.suspects.fix, { suspectId: flagged[1]._id, label: flagged[1].suspectedLabel }));

  await record("pictures:generateUploadUrl", labeller.client.mutation(api.pictures.generateUploadUrl, {}));
  const pictureIds: Array<Id<"pictures">> = [];
  for (let seed = 1; seed <= 4; seed++) {
    const pictureId = await record("pictures:record", recordPicture(t, labeller.client, `p${seed}.jpg`));
    await record("classifications:classify", labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(seed) }));
    pictureIds.push(pictureId);
  }
  await record("classifications:retry", labeller.client.action(api.classifications.retry, { pictureId: pictureIds[0] }));
  await record("labels:set", labeller.client.mutation(api.labels.set, { pictureId: pictureIds[0], label: testClasses[0] }));
  await record("labels:set", labeller.client.mutation(api.labels.set, { pictureId: pictureIds[1], label: testClasses[1] }));
  for (const viewer of [labeller, analyst, admin]) {
    await record("pictures:list", viewer.client.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 20, cursor: null } }));
    for (const pictureId of pictureIds) await record("pictures:get", viewer.client.query(api.pictures.get, { pictureId }));
  }
  await record("pictures:reviewQueue", labeller.client.query(api.pictures.reviewQueue, { limit: 10 }));

  const replayId = await record("replays:start", admin.client.mutation(api.replays.start, { versionId: v2.versionId, filter: {} }));
  await t.finishAllScheduledFunctions(vi.runAllTimers);
  await record("replays:status", analyst.client.query(api.replays.status, { replayId }));
  await record("replays:list", analyst.client.query(api.replays.list, {}));
  await record("replays:results", analyst.client.query(api.replays.results, { replayId, paginationOpts: { numItems: 20, cursor: null } }));
  // A finished replay cannot be resumed: the refusal is what this caller sees.
  await record("replays:resume", admin.client.mutation(api.replays.resume, { replayId }).catch((error: Error) => ({ refused: error.message })));

  const today = Date.now();
  const range = { from: utcDay(today - 30 * 86_400_000), to: utcDay(today + 86_400_000) };
  await record("analytics:classDistribution", analyst.client.query(api.analytics.classDistribution, range));
  await record("analytics:timeSeries", analyst.client.query(api.analytics.timeSeries, range));
  await record("analytics:confidenceHistogram", analyst.client.query(api.analytics.confidenceHistogram, range));
  await record("analytics:predictedVsConfirmed", analyst.client.query(api.analytics.predictedVsConfirmed, range));
  await record("analytics:drift", analyst.client.query(api.analytics.drift, { a: range, b: range }));
  await record("embeddings:map", analyst.client.action(api.embeddings.map, { a: range, b: range, pointsPerWindow: 10 }));

  await record("models:list", admin.client.query(api.models.list, {}));
  for (const viewer of [labeller, analyst, admin]) await record("models:choices", viewer.client.query(api.models.choices, {}));
  await record("models:get", admin.client.query(api.models.get, { versionId: v1.versionId }));
  await record("deployment:timeline", admin.client.query(api.deployment.timeline, {}));
  await record("evaluation:compare", admin.client.action(api.evaluation.compare, { candidateId: v2.versionId }));
  await record("evaluation:refreshMetrics", admin.client.mutation(api.evaluation.refreshMetrics, {}));
  await record("deployment:activate", admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "try", overrideReason: "testing" }));
  await record("deployment:rollback", admin.client.mutation(api.deployment.rollback, { reason: "back" }));
  await record("models:archive", admin.client.mutation(api.models.archive, { versionId: v2.versionId, reason: "done" }));
  await record("settings:get", labeller.client.query(api.settings.get, {}));
  await record("settings:update", admin.client.mutation(api.settings.update, { privacyMode: "thumbnail" }));
  await record("users:me", labeller.client.query(api.users.me, {}));
  for (const group of ["all", "versions", "labels", "users", "settings", "labelledSet"] as const) {
    await record("auditLog:list", admin.client.query(api.auditLog.list, { group, paginationOpts: { numItems: 50, cursor: null } }));
  }
  await record("users:list", admin.client.query(api.users.list, {}));
  await record("users:setRole", admin.client.mutation(api.users.setRole, { userId: analyst.userId, role: "labeller" }));
  await record("users:invite", admin.client.mutation(api.users.invite, { email: "new@example.com", role: "labeller" }));
  const invitation = (await admin.client.query(api.users.list, {})).invitations[0];
  await record("users:revokeInvitation", admin.client.mutation(api.users.revokeInvitation, { invitationId: invitation._id }));
  await record("models:findBySha256", admin.client.query(api.models.findBySha256, { sha256: "0".repeat(64) }));
  const listedItems = await record("labelledSet:items", admin.client.query(api.labelledSet.items, { paginationOpts: { numItems: 20, cursor: null } }));
  const importedItem = listedItems.page.find((item) => item.source === "import")!;
  await record("labelledSet:removeItem", admin.client.mutation(api.labelledSet.removeItem, { itemId: importedItem._id }));
  await record("labels:remove", labeller.client.mutation(api.labels.remove, { pictureId: pictureIds[1] }));
  await record("pictures:remove", labeller.client.mutation(api.pictures.remove, { pictureId: pictureIds[3] }));
  await record("labelledSet:removeImport", admin.client.mutation(api.labelledSet.removeImport, { importId: imported.importId }));
  await record("labelledSet:clear", admin.client.mutation(api.labelledSet.clear, {}));

  const weights = await t.run(async (ctx) => {
    const versions = await ctx.db.query("modelVersions").collect();
    return Promise.all(versions.map(async (version) => ({ storageId: version.storageId, url: await ctx.storage.getUrl(version.storageId) })));
  });
  return { outputs, weights, teacher, classCount: teacher.classes.length };
}

const publicModules = import.meta.glob<Record<string, unknown>>(
  ["../../convex/*.ts", "!../../convex/*.test.ts", "!../../convex/schema.ts", "!../../convex/*.config.ts", "!../../convex/auth.ts"],
  { eager: true },
);

/** Weight values as the decimal strings a leak would carry: float32 values widened to doubles are long and distinctive. */
function distinctiveWeightStrings(model: MlpModel, count: number): string[] {
  const values = model.layers.flatMap((layer) => [...layer.weight.subarray(0, count), ...layer.bias.subarray(0, 4)]);
  return values.map(String).filter((text) => text.replace(/[^0-9]/g, "").length >= 10);
}

/** Every [path, value] pair of a JSON value. */
function* walk(value: unknown, path = "$"): Generator<[string, unknown]> {
  yield [path, value];
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) yield* walk(value[i], `${path}[${i}]`);
  else if (typeof value === "object" && value !== null) for (const [key, inner] of Object.entries(value)) yield* walk(inner, `${path}.${key}`);
}

describe("no weights leak and no full probability vectors, from any public function", () => {
  let story: Awaited<ReturnType<typeof everyPublicOutput>>;
  beforeAll(async () => {
    story = await everyPublicOutput();
  }, 120_000);

  test("the story calls every public function (Convex Auth's endpoints aside)", () => {
    const unchecked = publicFunctionNames(publicModules).filter((name) => !story.outputs.has(name));
    expect(unchecked, `public functions the leak story does not call: ${unchecked.join(", ")}`).toEqual([]);
  });

  test("no output carries a weights storage id, a weights URL, weight values or a storageId field", () => {
    const text = JSON.stringify([...story.outputs.entries()]);
    expect(story.weights.length).toBe(2);
    for (const { storageId, url } of story.weights) {
      expect(text).not.toContain(storageId);
      expect(url).not.toBeNull();
      expect(text).not.toContain(url!);
    }
    const samples = distinctiveWeightStrings(story.teacher, 200);
    expect(samples.length).toBeGreaterThan(100);
    for (const sample of samples) expect(text, `weight value ${sample} leaked`).not.toContain(sample);
    for (const [path] of walk([...story.outputs.values()])) expect(path).not.toMatch(/\.(storageId|weights|weight|bias|features|probabilities)$/);
  });

  test("image URLs are only the pictures' own images", () => {
    const urls = [...walk([...story.outputs.values()])].filter(([, value]) => typeof value === "string" && /^https?:\/\//.test(value));
    expect(urls.length).toBeGreaterThan(0);
    for (const [path] of urls) expect(path).toMatch(/\.imageUrl$|^\$\[\d+\]\[\d+\]$/);
    // The only bare URLs are the two upload URLs (write-only by design).
    const bare = urls.filter(([path]) => !path.endsWith(".imageUrl"));
    expect(bare).toHaveLength(2);
  });

  test(`results are top-${RESULT_TOP_K}, rounded to ${RESULT_DECIMALS} decimals, and no output holds a full probability vector`, () => {
    const scale = 10 ** RESULT_DECIMALS;
    let scores = 0;
    for (const [path, value] of walk([...story.outputs.values()])) {
      if (/\.top$/.test(path)) expect((value as unknown[]).length, path).toBeLessThanOrEqual(RESULT_TOP_K);
      if (/\.(probability|confidence|shadowConfidence|liveConfidence)$/.test(path) && typeof value === "number") {
        scores++;
        expect(Math.round(value * scale) / scale, `${path} = ${value} is not rounded`).toBe(value);
      }
      if (Array.isArray(value) && value.length >= story.classCount && value.every((x) => typeof x === "number")) {
        const numbers = value as number[];
        const looksLikeDistribution = numbers.some((x) => !Number.isInteger(x)) && numbers.every((x) => x >= 0 && x <= 1) && Math.abs(numbers.reduce((a, b) => a + b, 0) - 1) < 1e-3;
        expect(looksLikeDistribution, `${path} looks like a full probability vector`).toBe(false);
      }
    }
    expect(scores).toBeGreaterThan(20);
  });
});
