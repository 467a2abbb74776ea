import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { classificationSteps, NO_ACTIVE_VERSION_MESSAGE } from "../../convex/classifications";
import { weightsSource } from "../../convex/model/weights";
import { decodeWeights, encodeWeights, sha256Hex } from "../../convex/lib/weightsBinary";
import { mlpForward } from "../../convex/lib/mlpForward";
import { topClasses } from "../../convex/lib/classificationResult";
import { parseFeatureLines, predictFeatureRows } from "../../tools/commands/predict";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { dayCounters, deleteStoredWeights, featuresOf, makeTestModel, pictureFeaturesOf, replaceStoredWeights, sampleFeatures, seedActiveVersion, storeImage, withLastByteFlipped } from "./fixtures";
import { activateDirectly, seedVersion } from "../../tools/convexTest/seedVersions";

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core CI machine the heavier stories need more than the default 5 s.
vi.setConfig({ testTimeout: 30_000 });

const originalSteps = { ...classificationSteps };
const originalSource = { ...weightsSource };
afterEach(() => {
  Object.assign(classificationSteps, originalSteps);
  Object.assign(weightsSource, originalSource);
  vi.useRealTimers();
});

async function setup(options: { active?: boolean } = {}) {
  const t = makeBackend();
  const model = makeTestModel();
  const version = options.active === false ? null : await seedActiveVersion(t, model);
  const labeller = await asUser(t, "labeller");
  const pictureId = await labeller.client.mutation(api.pictures.record, {
    storageId: await storeImage(t),
    fileName: "kitten.jpg",
    contentType: "image/jpeg",
    width: 640,
    height: 480,
  });
  return { t, model, version, labeller, pictureId };
}

const pictureOf = (t: Backend, pictureId: Id<"pictures">) => t.run((ctx) => ctx.db.get(pictureId));
const countersOf = (t: Backend) => dayCounters(t);
const classificationsOf = (t: Backend, pictureId: Id<"pictures">) =>
  t.run((ctx) => ctx.db.query("classifications").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect());

function sumCounts(rows: Array<{ kind: string; count: number }>, kind: "class" | "confidence") {
  return rows.filter((row) => row.kind === kind).reduce((sum, row) => sum + row.count, 0);
}

describe("classifications.classify", () => {
  test("returns the top 3 classes, rounded, with the same probabilities as mlpForward on the stored weights", async () => {
    const { t, labeller, pictureId, version } = await setup();
    const features = sampleFeatures(1);
    const result = await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features });

    // The model the server used is whatever is in storage: decode it the same way.
    const stored = new Uint8Array(await t.run(async (ctx) => (await ctx.storage.get(version!.storageId))!.arrayBuffer()));
    const expected = mlpForward(decodeWeights(stored), features);
    const [classification] = await classificationsOf(t, pictureId);
    expect(classification.probabilities).toEqual(expected.probabilities);
    expect(classification).toMatchObject({ label: expected.label, labelIndex: expected.labelIndex, confidence: expected.confidence, versionId: version!.versionId });
    expect(await featuresOf(t, classification.featuresId)).toEqual(features);

    expect(result.top).toEqual(topClasses(expected.probabilities, decodeWeights(stored).classes));
    expect(result).toMatchObject({ label: expected.label, versionId: version!.versionId, versionNumber: 1, versionName: "test-model-1" });
    expect(result.confidence).toBeCloseTo(expected.confidence, 3);

    const picture = await pictureOf(t, pictureId);
    expect(picture).toMatchObject({
      status: "classified",
      attempts: 1,
      label: expected.label,
      confidence: expected.confidence,
      versionId: version!.versionId,
      latestClassificationId: classification._id,
    });
    expect(picture?.error).toBeUndefined();
  });

  test("gives the same probabilities as the CLI's predict for the same version and features", async () => {
    const { t, labeller, pictureId, version } = await setup();
    // The CLI packs rows into a Float32Array; the server stores and scores float32 features too.
    const features = sampleFeatures(21).map(Math.fround);
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features });
    const stored = new Uint8Array(await t.run(async (ctx) => (await ctx.storage.get(version!.storageId))!.arrayBuffer()));
    const [cli] = predictFeatureRows(decodeWeights(stored), parseFeatureLines(JSON.stringify(features) + "\n", 512, "features.jsonl"));
    const [classification] = await classificationsOf(t, pictureId);
    expect(classification.label).toBe(cli.label);
    classification.probabilities.forEach((p, i) => expect(Math.abs(p - cli.probabilities[i])).toBeLessThan(1e-12));
  });

  test("the result is limited to what the UI needs: 3 classes, 3 decimals, no probability vector", async () => {
    const { labeller, pictureId } = await setup();
    const result = await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(2) });
    expect(Object.keys(result).sort()).toEqual(["confidence", "label", "top", "versionId", "versionName", "versionNumber"]);
    expect(result.top).toHaveLength(3);
    for (const score of [...result.top.map((s) => s.probability), result.confidence]) {
      expect(Math.round(score * 1000) / 1000).toBe(score);
    }
    expect(result.top[0].probability).toBeGreaterThanOrEqual(result.top[1].probability);
    expect(result.top[1].probability).toBeGreaterThanOrEqual(result.top[2].probability);
  });

  test("a failed classification leaves the picture stored, marked failed, and retryable to success after activation", async () => {
    const { t, labeller, pictureId } = await setup({ active: false });
    const features = sampleFeatures(3);
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features }),
    ).rejects.toThrow(NO_ACTIVE_VERSION_MESSAGE);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed", error: NO_ACTIVE_VERSION_MESSAGE, attempts: 1 });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(features);

    // An admin imports and activates a version through the real activation path.
    const admin = await asUser(t, "admin");
    const { versionId } = await seedVersion(t, makeTestModel(), { createdBy: admin.userId });
    await admin.client.action(api.deployment.activate, { versionId, reason: "first version" });

    const result = await labeller.client.action(api.classifications.retry, { pictureId });
    expect(result.versionId).toBe(versionId);
    const picture = await pictureOf(t, pictureId);
    expect(picture).toMatchObject({ status: "classified", attempts: 2, label: result.label });
    expect(picture?.error).toBeUndefined();
  });

  const badFeatures: Array<[string, () => number[], RegExp]> = [
    ["no features", () => [], /Expected 512 CLIP features, got 0/],
    ["511 features", () => sampleFeatures(4).slice(0, 511), /Expected 512 CLIP features, got 511/],
    ["513 features", () => [...sampleFeatures(4), 0.5], /Expected 512 CLIP features, got 513/],
    ["8192 features", () => Array.from({ length: 8192 }, (_, i) => (i % 7) + 1), /Expected 512 CLIP features, got 8192/],
    ["a NaN", () => sampleFeatures(4).map((x, i) => (i === 17 ? NaN : x)), /feature\[17\] is not a finite number \(NaN\)/],
    ["an Infinity", () => sampleFeatures(4).map((x, i) => (i === 3 ? Infinity : x)), /feature\[3\] is not a finite number/],
    ["all zeros", () => new Array(512).fill(0), /features are all zeros: CLIP extraction failed/],
  ];
  for (const [name, makeFeatures, message] of badFeatures) {
    test(`${name}: refused, the picture is marked failed without the bad features, and a good retry succeeds`, async () => {
      const { t, labeller, pictureId } = await setup();
      await expect(
        labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: makeFeatures() }),
      ).rejects.toThrow(message);
      const failed = await pictureOf(t, pictureId);
      expect(failed).toMatchObject({ status: "failed", attempts: 1 });
      expect(failed?.error).toMatch(message);
      expect(failed?.featuresId).toBeUndefined();
      expect(await classificationsOf(t, pictureId)).toEqual([]);
      expect(await countersOf(t)).toEqual([]);
      // Nothing stored to retry with: the message says what to do.
      await expect(labeller.client.action(api.classifications.retry, { pictureId })).rejects.toThrow(
        /holds no features for this picture \(they never arrived\): extract them again from its image/,
      );
      await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(5) });
      expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified", attempts: 3 });
    });
  }

  test("stored features are re-checked on retry against the version active now", async () => {
    const { t, labeller, pictureId } = await setup();
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(20) });
    const narrow = await seedVersion(t, makeTestModel({ seed: 5, name: "narrow", dim: 256 }));
    await activateDirectly(t, narrow.versionId);
    await expect(labeller.client.action(api.classifications.retry, { pictureId })).rejects.toThrow(
      /Expected 256 CLIP features, got 512/,
    );
    // The old result stays counted and shown, so the picture stays classified; the features stay for a later retry.
    const picture = await pictureOf(t, pictureId);
    expect(picture).toMatchObject({ status: "classified", versionId: expect.any(String) });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(20));
    expect(picture?.lastError).toMatch(/Expected 256 CLIP features, got 512/);
    expect(picture?.error).toBeUndefined();
    expect(sumCounts(await countersOf(t), "class")).toBe(1);
  });

  test("strings where numbers belong are refused by the argument validator before anything changes", async () => {
    const { t, labeller, pictureId } = await setup();
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: ["0.1", "0.2"] as unknown as number[] }),
    ).rejects.toThrow(/Validator error|clipFeatures/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", attempts: 0 });
  });

  test("another user's picture is refused and left untouched; an admin may classify it", async () => {
    const { t, pictureId } = await setup();
    const other = await asUser(t, "labeller");
    await expect(
      other.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(6) }),
    ).rejects.toThrow(/only the picture's uploader or an admin may classify it/);
    await expect(other.client.action(api.classifications.retry, { pictureId })).rejects.toThrow(/uploader or an admin/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", attempts: 0 });
    expect((await pictureOf(t, pictureId))?.featuresId).toBeUndefined();

    const admin = await asUser(t, "admin");
    await admin.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(6) });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
  });

  test("a removed picture and a picture that never existed are refused", async () => {
    const { t, labeller, pictureId } = await setup();
    await labeller.client.mutation(api.pictures.remove, { pictureId });
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(7) }),
    ).rejects.toThrow(/does not exist or was removed/);
    const goneId = await t.run(async (ctx) => {
      const { _id, _creationTime, ...fields } = (await ctx.db.get(pictureId))!;
      const id = await ctx.db.insert("pictures", { ...fields, deleted: undefined });
      await ctx.db.delete(id);
      return id;
    });
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId: goneId, clipFeatures: sampleFeatures(7) }),
    ).rejects.toThrow(/does not exist or was removed/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded", deleted: true });
  });

  test("classifying a picture twice counts it once; a new version moves its counts", async () => {
    const { t, labeller, pictureId, version } = await setup();
    const features = sampleFeatures(8);
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features });
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features });
    let counters = await countersOf(t);
    expect(sumCounts(counters, "class")).toBe(1);
    expect(sumCounts(counters, "confidence")).toBe(1);
    expect(await classificationsOf(t, pictureId)).toHaveLength(2);

    // Two at once: each store moves the picture's counted classification, so it still counts once.
    await Promise.all([
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features }),
      labeller.client.action(api.classifications.retry, { pictureId }),
    ]);
    counters = await countersOf(t);
    expect(sumCounts(counters, "class")).toBe(1);
    expect(sumCounts(counters, "confidence")).toBe(1);
    expect(await classificationsOf(t, pictureId)).toHaveLength(4);

    const second = await seedActiveVersion(t, makeTestModel({ seed: 2, name: "second" }));
    await labeller.client.action(api.classifications.retry, { pictureId });
    counters = await countersOf(t);
    expect(sumCounts(counters, "class")).toBe(1);
    expect(counters.every((row) => row.versionId === second.versionId)).toBe(true);
    expect(counters.some((row) => row.versionId === version!.versionId)).toBe(false);
    const picture = await pictureOf(t, pictureId);
    expect(picture?.versionId).toBe(second.versionId);
  });

  test("the per-user rate limit refuses with a retry time, keeps the picture retryable, and spares other users", async () => {
    vi.useFakeTimers();
    const { t, labeller, pictureId } = await setup();
    const features = sampleFeatures(9);
    for (let i = 0; i < 60; i++) {
      await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features });
    }
    const refusedAt = Date.now();
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: features }),
    ).rejects.toThrow(/too many classifications: at most 120 a minute \(bursts of 60\); try again in 1 s/);
    // Classified 60 times already: the refusal is noted beside the counted result, which stays.
    const limited = await pictureOf(t, pictureId);
    expect(limited).toMatchObject({ status: "classified", attempts: 61 });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(features);
    expect(limited?.lastError).toMatch(/too many classifications/);
    expect(limited?.lastErrorAt).toBeGreaterThanOrEqual(refusedAt);
    expect(limited?.lastErrorAt).toBeLessThan(refusedAt + 1_000);

    const fresh = await labeller.client.mutation(api.pictures.record, { fileName: "c.png", contentType: "image/png" });
    await expect(labeller.client.action(api.classifications.classify, { pictureId: fresh, clipFeatures: features })).rejects.toThrow(
      /too many classifications/,
    );
    // Never classified: failed with the reason, and the features kept for the retry.
    expect(await pictureOf(t, fresh)).toMatchObject({ status: "failed", error: expect.stringMatching(/too many classifications/) });
    expect(await pictureFeaturesOf(t, fresh)).toEqual(features);

    const other = await asUser(t, "labeller");
    const otherPicture = await other.client.mutation(api.pictures.record, { fileName: "b.png", contentType: "image/png" });
    await other.client.action(api.classifications.classify, { pictureId: otherPicture, clipFeatures: features });

    vi.advanceTimersByTime(2_000);
    await labeller.client.action(api.classifications.retry, { pictureId });
    await labeller.client.action(api.classifications.retry, { pictureId: fresh });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
    expect(await pictureOf(t, fresh)).toMatchObject({ status: "classified" });
    expect(sumCounts(await countersOf(t), "class")).toBe(3);
  });
});

describe("a failed re-classification keeps the picture's counted result", () => {
  test("bad features on a classified picture: it stays classified with lastError, its result shown, counted and queued for review", async () => {
    const { t, labeller, pictureId } = await setup();
    const first = await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(30) });
    const countersBefore = await countersOf(t);

    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(30).slice(0, 511) }),
    ).rejects.toThrow(/Expected 512 CLIP features, got 511/);

    const shown = await labeller.client.query(api.pictures.get, { pictureId });
    expect(shown?.picture).toMatchObject({ status: "classified", label: first.label, lastError: "Expected 512 CLIP features, got 511" });
    expect(shown?.picture.error).toBeUndefined();
    expect(typeof shown?.picture.lastErrorAt).toBe("number");
    expect(shown?.result).toEqual(first);
    expect(await countersOf(t)).toEqual(countersBefore);
    expect((await labeller.client.query(api.pictures.reviewQueue, { limit: 10 })).map((p) => p._id)).toEqual([pictureId]);

    // The next success is the truth again, and the note of the failure goes.
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(31) });
    const recovered = await labeller.client.query(api.pictures.get, { pictureId });
    expect(recovered?.picture.status).toBe("classified");
    expect(recovered?.picture.lastError).toBeUndefined();
    expect(recovered?.picture.lastErrorAt).toBeUndefined();
    expect(sumCounts(await countersOf(t), "class")).toBe(1);
  });

  test("a fault while re-classifying (the engine throws) is noted in lastError; the old result and features for a retry stay", async () => {
    const { t, labeller, pictureId } = await setup();
    const first = await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(32) });
    classificationSteps.score = () => {
      throw new Error("simulated forward failure");
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(33) }),
    ).rejects.toThrow(/simulated forward failure/);
    const picture = await pictureOf(t, pictureId);
    expect(picture).toMatchObject({ status: "classified", lastError: "simulated forward failure", label: first.label });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(33));
    expect(picture?.error).toBeUndefined();
    const listed = await labeller.client.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 10, cursor: null } });
    expect(listed.page[0]).toMatchObject({ _id: pictureId, status: "classified", lastError: "simulated forward failure" });
    expect(sumCounts(await countersOf(t), "class")).toBe(1);

    classificationSteps.score = originalSteps.score;
    await labeller.client.action(api.classifications.retry, { pictureId });
    const retried = await pictureOf(t, pictureId);
    expect(retried?.lastError).toBeUndefined();
    expect(await classificationsOf(t, pictureId)).toHaveLength(2);
    expect(sumCounts(await countersOf(t), "class")).toBe(1);
  });
});

describe("failure injection: the picture remains, is marked failed with the reason, and succeeds on retry", () => {
  test("storage read: the active version's weights file was deleted", async () => {
    const { t, labeller, pictureId, version } = await setup();
    await deleteStoredWeights(t, version!.versionId);
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(10) }),
    ).rejects.toThrow('the weights of v1 “test-model-1” are missing from storage: an admin must re-import them or activate another version');
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed" });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(10));

    await seedActiveVersion(t, makeTestModel({ seed: 3, name: "replacement" }));
    const result = await labeller.client.action(api.classifications.retry, { pictureId });
    expect(result.versionName).toBe("replacement");
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
  });

  test("decode: the weights file holds corrupt bytes", async () => {
    const { t, model, labeller, pictureId, version } = await setup();
    const good = encodeWeights(model);
    const corrupt = good.slice();
    corrupt.set([0x00, 0x01, 0x02, 0x03], 0);
    // Registered with the corrupt file's own sha256, so the bytes reach the decoder.
    const swapFile = async (bytes: Uint8Array) => replaceStoredWeights(t, version!.versionId, bytes, await sha256Hex(bytes));
    await swapFile(corrupt);
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(11) }),
    ).rejects.toThrow(/could not be decoded \(not an MLP weights binary: bad magic bytes/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed" });

    await swapFile(good.slice(0, good.length - 8));
    await expect(labeller.client.action(api.classifications.retry, { pictureId })).rejects.toThrow(
      /could not be decoded \(expected \d+ bytes of tensors, found \d+/,
    );

    await swapFile(good);
    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified", attempts: 3 });
  });

  test("decode: a stored weights file with one flipped byte fails its registered sha256 and is not scored", async () => {
    const { t, model, labeller, pictureId, version } = await setup();
    const good = encodeWeights(model);
    const tampered = withLastByteFlipped(good);
    expect(() => decodeWeights(tampered)).not.toThrow();
    await replaceStoredWeights(t, version!.versionId, tampered);
    const message =
      'the weights of v1 “test-model-1” do not match their registered sha256: an admin must re-import it or activate another version';
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(19) }),
    ).rejects.toThrow(message);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed", error: message });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(19));
    expect(await classificationsOf(t, pictureId)).toEqual([]);
    expect(await countersOf(t)).toEqual([]);

    await replaceStoredWeights(t, version!.versionId, good);
    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
  });

  test("decode: a weights file that does not match its registered manifest is refused", async () => {
    const { t, labeller, pictureId, version } = await setup();
    await t.run(async (ctx) => {
      const doc = (await ctx.db.get(version!.versionId))!;
      await ctx.db.patch(version!.versionId, { summary: { ...doc.summary, classes: [...doc.summary.classes].reverse() } });
    });
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(12) }),
    ).rejects.toThrow(/do not match the manifest they were registered with/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed" });
  });

  test("forward pass: the engine throws", async () => {
    const { t, labeller, pictureId } = await setup();
    classificationSteps.score = () => {
      throw new Error("simulated forward failure");
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(13) }),
    ).rejects.toThrow(/simulated forward failure/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed", error: "simulated forward failure" });
    classificationSteps.score = originalSteps.score;
    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
  });

  test("forward pass: non-finite probabilities are refused", async () => {
    const { t, labeller, pictureId } = await setup();
    classificationSteps.score = (model, features) => ({ ...originalSteps.score(model, features), probabilities: new Array(12).fill(NaN) });
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(14) }),
    ).rejects.toThrow(/produced 12 probabilities, not 12 finite ones/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed" });
    expect(await countersOf(t)).toEqual([]);
  });

  test("store mutation: a transient failure stores nothing, and the retry succeeds", async () => {
    const { t, labeller, pictureId } = await setup();
    classificationSteps.store = async () => {
      throw new Error("simulated write conflict");
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(15) }),
    ).rejects.toThrow(/the classification could not be saved: simulated write conflict/);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed" });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(15));
    expect(await classificationsOf(t, pictureId)).toEqual([]);
    expect(await countersOf(t)).toEqual([]);

    classificationSteps.store = originalSteps.store;
    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
    expect(sumCounts(await countersOf(t), "class")).toBe(1);
  });

  test("store mutation: the picture was removed while it was being classified", async () => {
    const { t, labeller, pictureId } = await setup();
    weightsSource.readBytes = async (ctx, version) => {
      await labeller.client.mutation(api.pictures.remove, { pictureId });
      return originalSource.readBytes(ctx, version);
    };
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(16) }),
    ).rejects.toThrow(/the picture was removed while it was being classified/);
    // The row stays (soft-deleted) with the reason; its features went with the removal; nothing counted; a retry is refused.
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "failed", deleted: true });
    expect(await pictureFeaturesOf(t, pictureId)).toBeUndefined();
    expect(await t.run((ctx) => ctx.db.query("features").collect())).toEqual([]);
    expect(await classificationsOf(t, pictureId)).toEqual([]);
    expect(await countersOf(t)).toEqual([]);
    await expect(labeller.client.action(api.classifications.retry, { pictureId })).rejects.toThrow(/was removed/);
  });

  test("every call reads and decodes the weights again (no cross-call cache)", async () => {
    const { labeller, pictureId } = await setup();
    let reads = 0;
    weightsSource.readBytes = async (ctx, version) => {
      reads += 1;
      return originalSource.readBytes(ctx, version);
    };
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(17) });
    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(reads).toBe(2);
  });

  test("an activation between calls is picked up by the next call", async () => {
    const { t, labeller, pictureId } = await setup();
    const first = await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(18) });
    const second = await seedVersion(t, makeTestModel({ seed: 4, name: "fourth" }));
    await activateDirectly(t, second.versionId);
    const next = await labeller.client.action(api.classifications.retry, { pictureId });
    expect(first.versionNumber).toBe(1);
    expect(next.versionNumber).toBe(2);
  });
});

describe("pictures.record and generateUploadUrl", () => {
  async function recordSetup() {
    const t = makeBackend();
    const labeller = await asUser(t, "labeller");
    return { t, labeller };
  }

  test("records an uploaded image as uploaded, with the privacy mode in force", async () => {
    const { t, labeller } = await recordSetup();
    expect(typeof (await labeller.client.mutation(api.pictures.generateUploadUrl, {}))).toBe("string");
    const storageId = await storeImage(t);
    const pictureId = await labeller.client.mutation(api.pictures.record, { storageId, fileName: "a.jpg", contentType: "image/jpeg" });
    expect(await pictureOf(t, pictureId)).toMatchObject({
      uploaderId: labeller.userId,
      storageId,
      storageMode: "full",
      status: "uploaded",
      attempts: 0,
      labelled: false,
    });
  });

  test("a stored file that is not an image is refused", async () => {
    const { t, labeller } = await recordSetup();
    const storageId = await t.run((ctx) => ctx.storage.store(new Blob(["hello"], { type: "text/plain" })));
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId, fileName: "a.jpg", contentType: "image/jpeg" }),
    ).rejects.toThrow(/is text\/plain, not an image/);
  });

  test("a file already recorded by another user, or a weights file, is refused", async () => {
    const { t, labeller } = await recordSetup();
    const storageId = await storeImage(t);
    const other = await asUser(t, "labeller");
    await other.client.mutation(api.pictures.record, { storageId, fileName: "mine.jpg", contentType: "image/jpeg" });
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId, fileName: "theirs.jpg", contentType: "image/jpeg" }),
    ).rejects.toThrow(/already belongs to another record; upload your own image/);

    // Even a weights file stored with an image content type.
    const version = await seedVersion(t, makeTestModel());
    const disguised = await t.run(async (ctx) => {
      const id = await ctx.storage.store(new Blob([encodeWeights(makeTestModel()) as Uint8Array<ArrayBuffer>], { type: "image/png" }));
      await ctx.db.patch(version.versionId, { storageId: id });
      return id;
    });
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId: disguised, fileName: "w.png", contentType: "image/png" }),
    ).rejects.toThrow(/already belongs to another record/);
  });

  test("a storage id with no file behind it is refused", async () => {
    const { t, labeller } = await recordSetup();
    const storageId = await storeImage(t);
    await t.run((ctx) => ctx.storage.delete(storageId));
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId, fileName: "a.jpg", contentType: "image/jpeg" }),
    ).rejects.toThrow(/names no stored file: upload the image first/);
  });

  test("bad names, types and sizes are refused together, with their limits", async () => {
    const { labeller } = await recordSetup();
    const error = labeller.client.mutation(api.pictures.record, {
      fileName: "x".repeat(256),
      contentType: "application/pdf",
      width: -1,
      height: 1.5,
    });
    await expect(error).rejects.toThrow(/fileName is 256 characters; at most 255 are allowed/);
    await expect(error).rejects.toThrow(
      /contentType must be a raster image type \(image\/jpeg, image\/png, image\/webp, image\/gif, image\/bmp or image\/avif\), got "application\/pdf"/,
    );
    await expect(error).rejects.toThrow(/width must be a whole number of pixels from 1 to 100000, got -1/);
    await expect(error).rejects.toThrow(/height must be a whole number of pixels from 1 to 100000, got 1.5/);
    await expect(
      labeller.client.mutation(api.pictures.record, { fileName: "   ", contentType: "image/png" }),
    ).rejects.toThrow(/fileName is empty/);
  });

  test("SVG is refused, whether claimed in contentType or behind a stored file that claims to be a PNG", async () => {
    const { t, labeller } = await recordSetup();
    await expect(
      labeller.client.mutation(api.pictures.record, { fileName: "logo.svg", contentType: "image/svg+xml" }),
    ).rejects.toThrow(
      'contentType must be a raster image type (image/jpeg, image/png, image/webp, image/gif, image/bmp or image/avif), got "image/svg+xml": SVG can carry script, so it is not accepted',
    );
    const svgFile = await t.run((ctx) =>
      ctx.storage.store(new Blob(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], { type: "image/svg+xml" })),
    );
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId: svgFile, fileName: "logo.png", contentType: "image/png" }),
    ).rejects.toThrow(`the stored file ${svgFile} is image/svg+xml, not a raster image (image/jpeg, image/png, image/webp, image/gif, image/bmp or image/avif): SVG can carry script`);
    expect(await t.run((ctx) => ctx.db.query("pictures").collect())).toEqual([]);

    // Every raster type is still accepted, whatever its case.
    for (const contentType of ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "IMAGE/AVIF"]) {
      const storageId = await storeImage(t, contentType.toLowerCase());
      await labeller.client.mutation(api.pictures.record, { storageId, fileName: "ok", contentType });
    }
  });

  test('privacy mode "none": no image may be attached, and the picture records the mode', async () => {
    const { t, labeller } = await recordSetup();
    await t.run((ctx) => ctx.db.insert("settings", { privacyMode: "none", clipModelId: "Xenova/clip-vit-base-patch32", featureDim: 512, promotion: { maxAccuracyDrop: 0.01, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.1 }, signUp: "open" }));
    await expect(
      labeller.client.mutation(api.pictures.record, { storageId: await storeImage(t), fileName: "a.jpg", contentType: "image/jpeg" }),
    ).rejects.toThrow(/privacy mode is "none"/);
    const pictureId = await labeller.client.mutation(api.pictures.record, { fileName: "a.jpg", contentType: "image/jpeg" });
    expect(await pictureOf(t, pictureId)).toMatchObject({ storageMode: "none" });
  });

  test("analysts may not record or classify pictures", async () => {
    const { t } = await recordSetup();
    const analyst = await asUser(t, "analyst");
    await expect(
      analyst.client.mutation(api.pictures.record, { fileName: "a.jpg", contentType: "image/jpeg" }),
    ).rejects.toThrow(/you are analyst/);
  });
});
