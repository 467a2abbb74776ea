import { z } from "zod";
import { parseJson } from "./jsonText.ts";
import { fingerprintProblems, type ClipFingerprint } from "./clipFingerprint.ts";
import { describeValue, formatPath } from "./weightsValidation.ts";

/**
 * The fingerprint JSON file at the edge (CLI, browser upload, a version's
 * stored record): its zod schema and a parser whose problems name their
 * path. The comparison itself is in clipFingerprint.ts, free of zod.
 *
 *   {"format": "clip-fingerprint", "formatVersion": 1,
 *    "modelId": "Xenova/clip-vit-base-patch32", "dtype": "q8",
 *    "preprocessing": "shortest edge 224 bicubic, centre crop 224, /255, CLIP mean/std",
 *    "images": [{"name": "sunset-1.png", "features": [512 numbers]}, …]}
 */
export const clipFingerprintFileSchema = z.object({
  format: z.literal("clip-fingerprint"),
  formatVersion: z.literal(1),
  modelId: z.string().min(1),
  dtype: z.string().min(1),
  preprocessing: z.string().min(1),
  images: z.array(z.object({ name: z.string().min(1), features: z.array(z.number()) })).min(1),
});

export type ClipFingerprintFile = z.infer<typeof clipFingerprintFileSchema>;

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const key of path) value = value !== null && typeof value === "object" ? (value as Record<PropertyKey, unknown>)[key] : undefined;
  return value;
}

export type FingerprintFileResult = { ok: true; fingerprint: ClipFingerprint } | { ok: false; problems: string[] };

/** Parses and checks a fingerprint file; every problem names its path ("images[2].features[7]: …"). */
export function parseClipFingerprintFile(text: string, fileLabel = "the fingerprint file"): FingerprintFileResult {
  const parsed = parseJson(text);
  if (!parsed.ok) return { ok: false, problems: [`${fileLabel} is not valid JSON: ${parsed.error.message}`] };
  const checked = clipFingerprintFileSchema.safeParse(parsed.value);
  if (!checked.success) {
    return {
      ok: false,
      problems: checked.error.issues.map((issue) => {
        const found = valueAt(parsed.value, issue.path);
        return `${fileLabel}: ${formatPath(issue.path) || "the document"} is ${describeValue(found)}; ${issue.message}`;
      }),
    };
  }
  const fingerprint: ClipFingerprint = checked.data;
  const problems = fingerprintProblems(fingerprint, fileLabel);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, fingerprint };
}
