/**
 * Human labels: a labeller confirms or corrects a classified picture, and
 * the picture's features join the labelled set under that label. Every set
 * and removal is audited (labels feed the set behind the promotion gate).
 */
import { ConvexError, v } from "convex/values";
import { labellerMutation } from "./functions";
import { writeAudit } from "./model/audit";
import { removePictureItems } from "./model/labelledSet";
import { setPictureLabel } from "./model/labels";
import { labelOf, requirePicture } from "./model/pictures";
import { labelVerdictValidator } from "./lib/shapes";

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
  handler: async (ctx, { pictureId, label }) => setPictureLabel(ctx, ctx.caller, pictureId, label),
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
