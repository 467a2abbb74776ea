import { ConvexError } from "convex/values";

/**
 * The sentence to store on a failed record (a picture, a replay, a search):
 * a ConvexError's own sentence, or a plain error's message. Stored text is
 * shown later to a user who did not see the throw, so it is the sentence, not
 * "Uncaught ConvexError: ...".
 */
export function errorSentence(error: unknown): string {
  if (error instanceof ConvexError) {
    const data = error.data as unknown;
    if (typeof data === "string") return data;
    if (typeof data === "object" && data !== null && "message" in data) return String((data as { message: unknown }).message);
  }
  return error instanceof Error ? error.message : String(error);
}
