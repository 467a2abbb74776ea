import { ConvexError } from "convex/values";
import type { MutationCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import type { Caller } from "../functions";
import type { LabelVerdict } from "../lib/shapes";
import { versionLabel } from "../lib/versionLabel";
import { writeAudit } from "./audit";
import { upsertPictureItem, type PictureItemOutcome } from "./labelledSet";
import { labelOf, requirePicture } from "./pictures";

export const MAX_LABEL_LENGTH = 100;

/**
 * A labeller confirms or corrects a classified picture. The label must be a
 * class of the version that classified it, so labels and predictions share
 * one vocabulary; the picture's features join the labelled set under it.
 * Used by labels.set and by fixing a suspect label.
 */
export async function setPictureLabel(
  ctx: MutationCtx,
  caller: Caller,
  pictureId: Id<"pictures">,
  label: string,
): Promise<{ verdict: LabelVerdict; labelledSet: PictureItemOutcome | "unchanged" }> {
  const picture = await requirePicture(ctx, pictureId);
  if (label.length > MAX_LABEL_LENGTH) throw new ConvexError(`label is ${label.length} characters; at most ${MAX_LABEL_LENGTH} are allowed`);
  const classification = picture.latestClassificationId === undefined ? null : await ctx.db.get(picture.latestClassificationId);
  if (classification === null) {
    throw new ConvexError(`picture ${pictureId} has no classification yet (status ${picture.status}): classify it before labelling`);
  }
  const version = await ctx.db.get(classification.versionId);
  if (version === null) throw new ConvexError(`the model version that classified picture ${pictureId} no longer exists`);
  const classes = version.summary.classes;
  if (!classes.includes(label)) throw new ConvexError(`"${label}" is not a class of ${versionLabel(version)}; expected one of: ${classes.join(", ")}`);
  const verdict = label === classification.label ? ("accepted" as const) : ("corrected" as const);
  const existing = await labelOf(ctx, pictureId);
  if (existing !== null && existing.label === label && existing.classificationId === classification._id) return { verdict, labelledSet: "unchanged" as const };
  const fields = {
    pictureId,
    labellerId: caller.userId,
    label,
    predictedLabel: classification.label,
    verdict,
    classificationId: classification._id,
    versionId: classification.versionId,
  };
  if (existing === null) await ctx.db.insert("labels", fields);
  else await ctx.db.replace(existing._id, fields);
  await ctx.db.patch(pictureId, { labelled: true, confirmedLabel: label, classLabel: label });
  const labelledSet = await upsertPictureItem(ctx, pictureId, label, classification.featuresId);
  await writeAudit(ctx, {
    actorId: caller.userId,
    action: "setLabel",
    details: `picture ${pictureId} ("${picture.fileName}"): ${existing?.label ?? "no label"} → ${label} (${verdict} ${versionLabel(version)}'s "${classification.label}")`,
  });
  return { verdict, labelledSet };
}
