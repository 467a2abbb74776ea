/**
 * A year of History: pictures, each with stored features and its current
 * classification, some labelled (with their label, labelled-set item and
 * counters), and the analytics counters they add up to. Skewed the way a
 * real year is: most pictures unlabelled, one class rare, versions that
 * answered for months and one that answered for two days before a rollback.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { storeFeatures } from "../../convex/model/features";
import { seededRandom } from "../../convex/lib/seededRandom";
import type { Backend } from "../convex/harness";
import { testClasses } from "../convex/fixtures";
import { dayName, dayStart, insertCounterRows, randomFeatures, setClock, weightedPick, YEAR_DAYS } from "./scaleSeed";
import { CounterTally } from "../convex/counterTally";

/** Share of each of testClasses among predictions; the last ("plane") is the rare one. */
export const CLASS_WEIGHTS = [30, 18, 12, 9, 7, 6, 5, 4, 3.5, 2.8, 2.5, 0.2];
export const RARE_CLASS = testClasses[testClasses.length - 1];
export const LABELLED_SHARE = 0.01;
/** Which version answered from which day: v3 answered for two days, then was rolled back to v2. */
export const VERSION_SCHEDULE: ReadonlyArray<{ fromDay: number; version: number }> = [
  { fromDay: 0, version: 0 },
  { fromDay: 90, version: 1 },
  { fromDay: 180, version: 2 },
  { fromDay: 182, version: 1 },
  { fromDay: 200, version: 3 },
  { fromDay: 300, version: 4 },
];
export const VERSION_COUNT = 5;
export const SHORT_LIVED_VERSION = 2;

export interface PlannedPicture {
  day: number;
  version: number;
  label: string;
  confidence: number;
  /** The confirmed label, for the labelled ones. */
  confirmedLabel?: string;
  uploader: number;
}

export interface SeededPicture extends PlannedPicture {
  pictureId: Id<"pictures">;
  creationTime: number;
  classLabel: string;
}

function versionOnDay(day: number): number {
  let version = VERSION_SCHEDULE[0].version;
  for (const entry of VERSION_SCHEDULE) if (entry.fromDay <= day) version = entry.version;
  return version;
}

/** `count` pictures spread evenly over the year's days, deterministic. */
export function planHistory(count: number, uploaderCount: number, seed = 2026): PlannedPicture[] {
  const random = seededRandom(seed);
  const planned: PlannedPicture[] = [];
  for (let i = 0; i < count; i++) {
    const day = Math.floor((i * YEAR_DAYS) / count);
    const label = testClasses[weightedPick(random, CLASS_WEIGHTS)];
    const confidence = 0.15 + 0.85 * random();
    const picture: PlannedPicture = { day, version: versionOnDay(day), label, confidence, uploader: Math.floor(random() * uploaderCount) };
    if (random() < LABELLED_SHARE) {
      // Four in five labels accept the prediction; the rest correct it to another class.
      picture.confirmedLabel = random() < 0.8 ? label : testClasses[(testClasses.indexOf(label) + 1 + Math.floor(random() * (testClasses.length - 1))) % testClasses.length];
    }
    planned.push(picture);
  }
  return planned;
}

export interface HistoryContext {
  versions: Array<{ versionId: Id<"modelVersions">; number: number }>;
  uploaders: Id<"users">[];
  labeller: Id<"users">;
}

/**
 * One transaction per day, at that day's time: about 550 pictures × (picture,
 * features, classification, picture patch) ≈ 2,200 documents and 2 MB written,
 * and the counters at the end. Returns the pictures with their ids and times.
 */
export async function seedHistory(t: Backend, plan: readonly PlannedPicture[], context: HistoryContext, seed = 7): Promise<SeededPicture[]> {
  const random = seededRandom(seed);
  const seeded: SeededPicture[] = [];
  const tally = new CounterTally();
  const labelCounts = new Map<string, number>();
  let start = 0;
  while (start < plan.length) {
    const day = plan[start].day;
    let end = start;
    while (end < plan.length && plan[end].day === day) end++;
    const batch = plan.slice(start, end);
    const features = batch.map(() => randomFeatures(random));
    setClock(dayStart(day) + 9 * 3_600_000);
    const made = await t.run(async (ctx) => {
      const rows: Array<{ pictureId: Id<"pictures">; creationTime: number }> = [];
      for (const [i, picture] of batch.entries()) {
        const version = context.versions[picture.version];
        const labelled = picture.confirmedLabel !== undefined;
        const pictureId = await ctx.db.insert("pictures", {
          uploaderId: context.uploaders[picture.uploader],
          fileName: `photo-${start + i}.jpg`,
          contentType: "image/jpeg",
          storageMode: "none",
          status: "classified",
          attempts: 1,
          labelled,
        });
        const featuresId = await storeFeatures(ctx, features[i], pictureId);
        const probabilities = new Array<number>(12).fill((1 - picture.confidence) / 11);
        const labelIndex = testClasses.indexOf(picture.label);
        probabilities[labelIndex] = picture.confidence;
        const classificationId = await ctx.db.insert("classifications", {
          pictureId,
          versionId: version.versionId,
          versionNumber: version.number,
          probabilities,
          labelIndex,
          label: picture.label,
          confidence: picture.confidence,
          featuresId,
          day: dayName(day),
          current: true,
        });
        await ctx.db.patch(pictureId, {
          featuresId,
          latestClassificationId: classificationId,
          label: picture.label,
          confidence: picture.confidence,
          versionId: version.versionId,
          classLabel: picture.confirmedLabel ?? picture.label,
          ...(labelled ? { confirmedLabel: picture.confirmedLabel } : {}),
        });
        if (picture.confirmedLabel !== undefined) {
          await ctx.db.insert("labels", {
            pictureId,
            labellerId: context.labeller,
            label: picture.confirmedLabel,
            predictedLabel: picture.label,
            verdict: picture.confirmedLabel === picture.label ? "accepted" : "corrected",
            classificationId,
            versionId: version.versionId,
          });
          await ctx.db.insert("labelledItems", { source: "picture", pictureId, featuresId, label: picture.confirmedLabel });
        }
        rows.push({ pictureId, creationTime: (await ctx.db.get(pictureId))!._creationTime });
      }
      return rows;
    });
    for (const [i, picture] of batch.entries()) {
      seeded.push({ ...picture, ...made[i], classLabel: picture.confirmedLabel ?? picture.label });
      tally.add({ day: dayName(picture.day), versionId: context.versions[picture.version].versionId, label: picture.label, confidence: picture.confidence });
      if (picture.confirmedLabel !== undefined) labelCounts.set(picture.confirmedLabel, (labelCounts.get(picture.confirmedLabel) ?? 0) + 1);
    }
    start = end;
  }
  await insertCounterRows(t, tally.rows());
  await t.run(async (ctx) => {
    for (const [label, count] of labelCounts) await ctx.db.insert("labelledCounts", { source: "picture", label, count });
  });
  return seeded;
}
