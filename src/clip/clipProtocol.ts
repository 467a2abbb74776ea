/**
 * Messages between the page and the CLIP worker. Both sides validate what
 * they receive with these schemas, so a malformed message fails with a
 * precise error instead of an undefined field deep in the model code.
 */
import { z } from "zod";
import { clipConfigSchema, clipDtypes } from "./clipConfig.ts";

export const CLIP_FEATURE_DIM = 512;

const requestId = z.number().int().nonnegative();

export const clipRequestSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("load"), config: clipConfigSchema }),
  z.object({
    type: z.literal("extract"),
    id: requestId,
    image: z.union([z.instanceof(Blob), z.instanceof(ArrayBuffer)], { error: "image must be a Blob or an ArrayBuffer" }),
    /** The file name, used in error messages. */
    name: z.string().optional(),
  }),
]);
export type ClipRequest = z.infer<typeof clipRequestSchema>;
export type ClipLoadRequest = Extract<ClipRequest, { type: "load" }>;
export type ClipExtractRequest = Extract<ClipRequest, { type: "extract" }>;

export const clipResponseSchema = z.discriminatedUnion("status", [
  z.object({ status: z.literal("progress"), file: z.string(), loaded: z.number().nonnegative(), total: z.number().nonnegative() }),
  z.object({ status: z.literal("ready"), device: z.enum(["webgpu", "wasm", "cpu"]), dtype: z.enum(clipDtypes), threads: z.number().int().positive() }),
  z.object({
    status: z.literal("result"),
    id: requestId,
    features: z.instanceof(Float32Array).refine((features) => features.length === CLIP_FEATURE_DIM, {
      error: (issue) => `features must hold ${CLIP_FEATURE_DIM} values, found ${(issue.input as Float32Array).length}`,
    }),
  }),
  z.object({ status: z.literal("error"), id: requestId.optional(), message: z.string() }),
]);
export type ClipResponse = z.infer<typeof clipResponseSchema>;
export type ClipProgressResponse = Extract<ClipResponse, { status: "progress" }>;
export type ClipReadyResponse = Extract<ClipResponse, { status: "ready" }>;

function describeIssues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join(".") || "message"}: ${issue.message}`).join("; ");
}

/** Validates a message the worker received; throws with every problem listed. */
export function parseClipRequest(data: unknown): ClipRequest {
  const result = clipRequestSchema.safeParse(data);
  if (!result.success) throw new Error(`Invalid CLIP worker request: ${describeIssues(result.error)}`);
  return result.data;
}

/** Validates a message the page received from the worker. */
export function parseClipResponse(data: unknown): ClipResponse {
  const result = clipResponseSchema.safeParse(data);
  if (!result.success) throw new Error(`Invalid CLIP worker response: ${describeIssues(result.error)}`);
  return result.data;
}

/** The id of an extract request, when a malformed message still carries one. */
export function requestIdOf(data: unknown): number | undefined {
  const id = (data as { id?: unknown } | null)?.id;
  return requestId.safeParse(id).success ? (id as number) : undefined;
}
