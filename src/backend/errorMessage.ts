import { ConvexError } from "convex/values";

/**
 * The sentence to show a user for a failed call. Convex wraps server errors as
 * "[CONVEX A(fn)] [Request ID: …] Server Error\nUncaught Error: <message>\n    at …";
 * only <message> is meant for people. ConvexError payloads carry it in data.message.
 */
export function errorMessage(error: unknown): string {
  if (error instanceof ConvexError) {
    const data: unknown = error.data;
    if (typeof data === "string") return data;
    if (typeof data === "object" && data !== null && typeof (data as { message?: unknown }).message === "string") {
      return (data as { message: string }).message;
    }
  }
  const text = error instanceof Error ? error.message : String(error);
  const uncaught = /Uncaught (?:\w*Error: )?([^\n]*)/.exec(text);
  if (uncaught) return uncaught[1].trim();
  return text.replace(/^\[CONVEX [^\]]*\]\s*(\[Request ID: [^\]]*\]\s*)?/, "").split("\n")[0].trim();
}
