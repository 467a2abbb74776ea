/**
 * On a production deployment every thrown error that is not a ConvexError
 * reaches the client as "Server Error" (Convex docs, functions/error-handling).
 * So the function and ctx-helper layers throw only ConvexErrors with a
 * sentence; what they catch from convex/lib they rethrow as one. The role
 * matrix checks at run time that every public function's refusals, for every
 * allowed caller, are ConvexErrors; this checks the source, so a new plain
 * `throw new Error` cannot slip into a path no test walks.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const convexDir = resolve(import.meta.dirname, "../../convex");
const layers = [convexDir, join(convexDir, "model")];

function sources(): Array<{ file: string; text: string }> {
  return layers.flatMap((dir) =>
    readdirSync(dir)
      .filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))
      .map((name) => ({ file: join(dir, name).slice(convexDir.length + 1), text: readFileSync(join(dir, name), "utf8") })),
  );
}

describe("user-facing server errors survive production", () => {
  it("no function or ctx-helper module throws a plain Error (or another non-ConvexError class)", () => {
    const offenders = sources().flatMap(({ file, text }) =>
      text.split("\n").flatMap((line, index) => (/throw new (?!ConvexError\b|AccessDenied\b|ClassificationError\b)\w*Error\(/.test(line) ? [`${file}:${index + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });

  it("the error classes they throw are ConvexErrors", async () => {
    const { AccessDenied } = await import("../../convex/functions");
    const { ClassificationError } = await import("../../convex/classifications");
    const { ConvexError } = await import("convex/values");
    expect(new AccessDenied("x")).toBeInstanceOf(ConvexError);
    expect(new ClassificationError("classification_failed", "x")).toBeInstanceOf(ConvexError);
  });
});
