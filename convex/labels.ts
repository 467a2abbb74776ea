import { ConvexError, v } from "convex/values";
import { labellerMutation } from "./functions";
import { labelOf, removeLabelOf, requirePicture } from "./pictures";
import { upsertPictureItem } from "./labelledSet";

export const MAX_LABEL_LENGTH = 100;

const verdictValidator = v.union(v.literal("accepted"), v.literal("corrected"));

/**
 * A labeller confirms or corrects a classified picture. The label must be a
 * class of the version that classified it, so labels and predictions share
 * one vocabulary; the picture's features join the labelled set under it.
 */
export const set = labellerMutation({
  args: { pictureId: v.id("pictures"), label: v.string() },
  returns: v.object({ verdict: verdictValidator }),
  handler: async (ctx, { pictureId, label }): Promise<{ verdict: "accepted" | "corrected" }> => {
    const picture = await requirePicture(ctx, pictureId);
    if (label.length > MAX_LABEL_LENGTH) {
      throw new ConvexError(`label is ${label.length} characters; at most ${MAX_LABEL_LENGTH} are allowed`);
    }
    const classification = picture.latestClassificationId === undefined ? null : await ctx.db.get(picture.latestClassificationId);
    if (classification === null) {
      throw new ConvexError(`picture ${pictureId} has no classification yet (status ${picture.status}): classify it before labelling`);
    }
    const version = await ctx.db.get(classification.versionId);
    if (version === null) throw new ConvexError(`the model version that classified picture ${pictureId} no longer exists`);
    const classes = version.summary.classes;
    if (!classes.includes(label)) {
      throw new ConvexError(
        `"${label}" is not a class of version ${version.number} ("${version.name}"); expected one of: ${classes.join(", ")}`,
      );
    }
    const verdict = label === classification.label ? "accepted" : "corrected";
    const fields = {
      pictureId,
      labellerId: ctx.caller.userId,
      label,
      predictedLabel: classification.label,
      verdict,
      classificationId: classification._id,
    } as const;
    const existing = await labelOf(ctx, pictureId);
    if (existing === null) await ctx.db.insert("labels", fields);
    else await ctx.db.replace(existing._id, fields);
    await ctx.db.patch(pictureId, { labelled: true, confirmedLabel: label });
    await upsertPictureItem(ctx, pictureId, label, classification.features);
    return { verdict };
  },
});

export const remove = labellerMutation({
  args: { pictureId: v.id("pictures") },
  returns: v.null(),
  handler: async (ctx, { pictureId }): Promise<null> => {
    await requirePicture(ctx, pictureId);
    if (!(await removeLabelOf(ctx, pictureId))) throw new ConvexError(`picture ${pictureId} has no label to remove`);
    await ctx.db.patch(pictureId, { labelled: false, confirmedLabel: undefined });
    return null;
  },
});
