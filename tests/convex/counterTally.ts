/**
 * The analyticsCounts rows that countClassification (convex/model/counters.ts)
 * leaves for a set of classifications, computed without running them: for
 * tests that need many days of counters.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { confidenceBin } from "../../convex/lib/classificationResult";

export type CounterRow = {
  period: "day" | "month";
  bucket: string;
  versionId?: Id<"modelVersions">;
  kind: "class" | "confidence";
  key: string;
  count: number;
};

/** Per day and per month, per version and for all versions together, for the predicted class and the confidence bin. */
export class CounterTally {
  private readonly counts = new Map<string, CounterRow>();

  add(classification: { day: string; versionId: Id<"modelVersions">; label: string; confidence: number }, count = 1): void {
    const month = classification.day.slice(0, 7);
    const keys = [
      { kind: "class" as const, key: classification.label },
      { kind: "confidence" as const, key: String(confidenceBin(classification.confidence)) },
    ];
    for (const { kind, key } of keys) {
      for (const versionId of [classification.versionId, undefined]) {
        for (const [period, bucket] of [["day", classification.day], ["month", month]] as const) {
          const id = JSON.stringify([period, bucket, versionId ?? null, kind, key]);
          const row = this.counts.get(id);
          if (row === undefined) this.counts.set(id, { period, bucket, ...(versionId === undefined ? {} : { versionId }), kind, key, count });
          else row.count += count;
        }
      }
    }
  }

  rows(): CounterRow[] {
    return [...this.counts.values()];
  }
}
