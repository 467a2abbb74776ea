import { ConvexError } from "convex/values";
import { describe, expect, it } from "vitest";
import { errorMessage, isRedactedServerError } from "../../src/backend/errorMessage";

describe("errorMessage on a production deployment's redacted errors", () => {
  it("turns a bare \"Server Error\" into a sentence saying what to do", () => {
    const redacted = new Error("[CONVEX M(labels:set)] [Request ID: 5f1c] Server Error");
    expect(isRedactedServerError(redacted)).toBe(true);
    expect(errorMessage(redacted)).toBe(
      "The server failed without giving a reason (a production deployment hides unexpected errors). Try again; if it keeps failing, an admin can find the cause in the deployment's logs.",
    );
  });

  it("leaves messages that carry a reason alone", () => {
    expect(isRedactedServerError(new Error("[CONVEX M(x)] Server Error\nUncaught Error: InvalidSecret"))).toBe(false);
    expect(isRedactedServerError(new ConvexError("Server Error"))).toBe(false);
    expect(errorMessage(new Error("Failed to fetch"))).toBe("Failed to fetch");
  });
});
