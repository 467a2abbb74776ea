/**
 * Human labels: a labeller confirms or corrects a classified picture, and
 * the picture's features join the labelled set under that label. Every set
 * and removal is audited (labels feed the set behind the promotion gate).
 */
import { ConvexError, v } from "convex/values";
import { labellerMutation } from "./functions";
import { writeAudit } from "./model/audit";
import { removePictureItems, upsertPictureItem } from "./model/labelledSet";
import { labelOf, requirePicture } from "./model/pictures";
import { labelVerdictValidator } from "./lib/shapes";
import { versionLabel } from "./lib/versionLabel";

export const MAX_LABEL_LENGTH = 100;

/**
 * The label must be a class of the version that classified the picture, so
 * labels and predictions share one vocabulary.
 */
export const set = labellerMutation({
  args: { pictureId: v.id("pictures"), label: v.string() },
  returns: v.object({
    verdict: labelVerdictValidator,
    /** "full" when the labelled set is at its cap: the label is saved but does not join the set. */
    labelledSet: v.union(v.literal("added"), v.literal("updated"), v.literal("full"), v.literal("unchanged")),
  }),
  handler: async (ctx, { pictureId, label }) => {
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
      labellerId: ctx.caller.userId,
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
      actorId: ctx.caller.userId,
      action: "setLabel",
      details: `picture ${pictureId} ("${picture.fileName}"): ${existing?.label ?? "no label"} → ${label} (${verdict} ${versionLabel(version)}'s "${classification.label}")`,
    });
    return { verdict, labelledSet };
  },
});

/** Only the labeller who set a label, or an admin, may remove it: labels feed the labelled set behind the gate. */
export const remove = labellerMutation({
  args: { pictureId: v.id("pictures") },
  returns: v.null(),
  handler: async (ctx, { pictureId }): Promise<null> => {
    const picture = await requirePicture(ctx, pictureId);
    const label = await labelOf(ctx, pictureId);
    if (label === null) throw new ConvexError(`picture ${pictureId} has no label to remove`);
    if (label.labellerId !== ctx.caller.userId && ctx.caller.role !== "admin") {
      throw new ConvexError("only the labeller who set this label, or an admin, may remove it");
    }
    await ctx.db.delete(label._id);
    await removePictureItems(ctx, pictureId);
    await ctx.db.patch(pictureId, { labelled: false, confirmedLabel: undefined, classLabel: picture.label });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "removeLabel", details: `picture ${pictureId} ("${picture.fileName}"): ${label.label} → no label` });
    return null;
  },
});
