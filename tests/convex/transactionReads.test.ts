import { beforeAll, describe, expect, test } from "vitest";
import { getDocumentSize } from "convex/values";
import { TransactionMetricsTracker } from "convex-test/dist/transactionMetrics.js";
import { api, internal } from "../../convex/_generated/api";
import { storeFeatures } from "../../convex/model/features";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";
import { insertLabelledPicture, makeTestModel, sampleFeatures, seedActiveVersion } from "./fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";
import { readsOf } from "../../tools/convexTest/transactionReads";

beforeAll(ensureAuthEnv);

describe("readsOf", () => {
  test("counts the documents and bytes one transaction read", async () => {
    const t = makeBackend();
    await t.run(async (ctx) => {
      for (let i = 0; i < 7; i++) await ctx.db.insert("users", { email: `reader-${i}@example.com` });
    });
    const { result, reads } = await readsOf(() => t.run((ctx) => ctx.db.query("users").collect()));
    expect(result).toHaveLength(7);
    expect(reads.transactions).toHaveLength(1);
    expect(reads.transactions[0]).toMatchObject({ documentsRead: 7, databaseQueries: 1, documentsWritten: 0, ended: "commit" });
    expect(reads.transactions[0].bytesRead).toBe(result.reduce((sum, user) => sum + getDocumentSize(user), 0));
    expect(reads.total).toEqual({ documentsRead: 7, bytesRead: reads.transactions[0].bytesRead });
  });

  test("a query ends in rollback and is counted; writes are counted apart from reads", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    for (let seed = 1; seed <= 3; seed++) await seedVersion(t, makeTestModel({ seed }));
    const { reads } = await readsOf(() => admin.client.query(api.models.choices, {}));
    // The caller's user document, three versions; no deployment document exists yet.
    expect(reads.transactions).toEqual([expect.objectContaining({ documentsRead: 4, ended: "rollback" })]);

    const written = await readsOf(() => t.run(async (ctx) => ctx.db.insert("users", { email: "new@example.com" })));
    expect(written.reads.transactions[0]).toMatchObject({ documentsRead: 0, documentsWritten: 1, ended: "commit" });
  });

  test("an action is the sum of its transactions; largest is the biggest one", async () => {
    const t = makeBackend();
    const version = await seedActiveVersion(t, makeTestModel({ seed: 4 }));
    const labeller = await asUser(t, "labeller");
    for (let seed = 1; seed <= 3; seed++) {
      const { pictureId } = await insertLabelledPicture(t, labeller.userId, sampleFeatures(seed));
      await t.run(async (ctx) => {
        const featuresId = await storeFeatures(ctx, sampleFeatures(seed), pictureId);
        await ctx.db.insert("labelledItems", { source: "picture", pictureId, featuresId, label: "cat" });
      });
    }
    const { reads } = await readsOf(() => t.action(internal.evaluation.computeMetrics, { versionId: version.versionId }));
    // models.runnable: the version; models.weightsBytes: its one chunk; labelledSet.page: 3 items and their 3 features;
    // evaluation.storeMetrics: the version, read again by its patch.
    expect(reads.transactions.map((transaction) => transaction.documentsRead)).toEqual([1, 1, 6, 2]);
    expect(reads.transactions.map((transaction) => transaction.ended)).toEqual(["rollback", "rollback", "rollback", "commit"]);
    expect(reads.total.documentsRead).toBe(10);
    expect(reads.largest.documentsRead).toBe(6);
    expect(reads.largest.bytesRead).toBe(Math.max(...reads.transactions.map((transaction) => transaction.bytesRead)));
  });

  test("a failed mutation's reads count; the tracker is restored afterwards, also when the call throws", async () => {
    const t = makeBackend();
    const prototype = TransactionMetricsTracker.prototype;
    const methods = () => [prototype.startTransaction, prototype.commit, prototype.rollback];
    const before = methods();
    await t.run((ctx) => ctx.db.insert("users", { email: "one@example.com" }));
    const readThenRefuse = () =>
      t.run(async (ctx) => {
        await ctx.db.query("users").collect();
        throw new Error("refused after reading");
      });

    await expect(readsOf(readThenRefuse)).rejects.toThrow("refused after reading");
    expect(methods()).toEqual(before);

    const failing = await readsOf(() => readThenRefuse().catch(() => "failed"));
    expect(failing.result).toBe("failed");
    expect(failing.reads.transactions).toEqual([expect.objectContaining({ documentsRead: 1, ended: "rollback" })]);
    expect(methods()).toEqual(before);
  });

  test("measurements cannot overlap", async () => {
    const t = makeBackend();
    await expect(readsOf(() => readsOf(() => t.run(async () => null)))).rejects.toThrow(/already being measured/);
  });
});
