import { ConvexError } from "convex/values";

/**
 * The sentence to show a user for a failed call. Convex wraps server errors as
 * "[CONVEX A(fn)] [Request ID: …] Server Error\nUncaught Error: <message>\n    at …";
 * only <message> is meant for people. ConvexError payloads carry it in data.message.
 */
export function errorMessage(error: unknown): string {
  if (isRedactedServerError(error)) {
    return "The server failed without giving a reason (a production deployment hides unexpected errors). Try again; if it keeps failing, an admin can find the cause in the deployment's logs.";
  }
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

/**
 * A production deployment replaces the message of any error that is not a
 * ConvexError by "Server Error" (e.g. @convex-dev/auth's "InvalidSecret"), so
 * the client sees only "[CONVEX A(fn)] [Request ID: …] Server Error".
 */
export function isRedactedServerError(error: unknown): boolean {
  if (error instanceof ConvexError) return false;
  const text = error instanceof Error ? error.message : String(error);
  if (/Uncaught /.test(text)) return false;
  return text.replace(/^\[CONVEX [^\]]*\]\s*(\[Request ID: [^\]]*\]\s*)?/, "").trim() === "Server Error";
}
