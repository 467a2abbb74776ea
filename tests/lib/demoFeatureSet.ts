/**
 * A labelled tiny-clip feature set of the synthetic demo scenes, made in the
 * test: tools/demoImages.ts renders the pixels, and the features come from
 * the product's own CLIP loading and preprocessing (src/clip/loadClipModel.ts)
 * on models/tiny-clip. PNG encoding is skipped (the pixels go in as a
 * RawImage), which the features do not depend on.
 */
import { resolve } from "node:path";
import { disposeClipModel, extractImageEmbeddings, loadClipModel, RawImage } from "../../src/clip/loadClipModel.ts";
import { demoClasses, renderDemoPixels } from "../../tools/demoImages.ts";
import { TINY_CLIP_EMBEDDING_DIM, TINY_CLIP_MODEL_ID } from "../../tools/tinyClipModel.ts";

export interface DemoFeatureSet {
  classes: string[];
  dim: number;
  /** count × dim, row-major. */
  features: Float32Array;
  /** The true class of each row. */
  labels: Int32Array;
  /** `<class>-<index>` of each row. */
  names: string[];
}

export async function demoFeatureSet(perClass: number, seed: number): Promise<DemoFeatureSet> {
  const clip = await loadClipModel({ modelId: TINY_CLIP_MODEL_ID, modelHost: resolve(import.meta.dirname, "../../models"), dtype: "fp32", device: "cpu" });
  const dim = TINY_CLIP_EMBEDDING_DIM;
  const count = perClass * demoClasses.length;
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  const names: string[] = [];
  try {
    const batch: RawImage[] = [];
    let row = 0;
    const flush = async () => {
      for (const embedding of await extractImageEmbeddings(clip, batch)) features.set(embedding, row++ * dim);
      batch.length = 0;
    };
    for (const [classIndex, className] of demoClasses.entries()) {
      for (let index = 0; index < perClass; index++) {
        const { width, height, rgb } = renderDemoPixels(className, index, seed);
        batch.push(new RawImage(rgb, width, height, 3));
        labels[names.length] = classIndex;
        names.push(`${className}-${index + 1}`);
        if (batch.length === 64) await flush();
      }
    }
    await flush();
  } finally {
    await disposeClipModel(clip);
  }
  return { classes: [...demoClasses], dim, features, labels, names };
}
