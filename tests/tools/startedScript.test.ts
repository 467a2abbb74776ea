import { afterEach, describe, expect, it } from "vitest";
import { isStartedScript } from "../../tools/startedScript.ts";

const startedWith = process.argv[1];

describe("isStartedScript", () => {
  afterEach(() => {
    process.argv[1] = startedWith;
  });

  it("recognises the started script even when its path holds characters a URL escapes", () => {
    process.argv[1] = "/tmp/my tools/#1/100%/cli.ts";
    expect(isStartedScript("file:///tmp/my%20tools/%231/100%25/cli.ts")).toBe(true);
    // A hand-built file:// URL leaves the space and "#" as they are: that module would think it was imported.
    expect(isStartedScript("file:///tmp/my tools/#1/100%/cli.ts")).toBe(false);
  });

  it("is false for an imported module and when node was started without a script", () => {
    process.argv[1] = "/repo/tools/cli.ts";
    expect(isStartedScript("file:///repo/tools/bench/bench.ts")).toBe(false);
    process.argv[1] = "";
    expect(isStartedScript("file:///repo/tools/cli.ts")).toBe(false);
  });
});
