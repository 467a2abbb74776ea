import { describe, expect, it } from "vitest";
import { checkFeatures } from "../../convex/lib/features.ts";

describe("checkFeatures", () => {
  const good = Array.from({ length: 512 }, (_, i) => Math.sin(i));

  it("accepts finite, non-zero vectors of the right length, arrays or Float32Arrays", () => {
    expect(checkFeatures(good, 512)).toBeNull();
    expect(checkFeatures(Float32Array.from(good), 512)).toBeNull();
  });

  it("names the expected and found length", () => {
    expect(checkFeatures(good.slice(1), 512)).toBe("Expected 512 CLIP features, got 511");
    expect(checkFeatures([1, 2], 4)).toBe("Expected 4 CLIP features, got 2");
  });

  it("names the first non-finite feature and what it is", () => {
    const bad: unknown[] = [...good];
    bad[17] = Number.NaN;
    bad[20] = "x";
    expect(checkFeatures(bad, 512)).toBe("feature[17] is not a finite number (NaN)");
    bad[17] = 1;
    expect(checkFeatures(bad, 512)).toBe('feature[20] is not a finite number ("x")');
    bad[20] = null;
    expect(checkFeatures(bad, 512)).toBe("feature[20] is not a finite number (null)");
    expect(checkFeatures(Float32Array.from([1, Infinity]), 2)).toBe("feature[1] is not a finite number (Infinity)");
  });

  it("rejects an all-zero vector as a failed extraction", () => {
    expect(checkFeatures(new Array(512).fill(0), 512)).toBe("features are all zeros: CLIP extraction failed");
  });

  it("rejects things that are not arrays", () => {
    expect(checkFeatures({ features: good }, 512)).toBe("Expected 512 CLIP features as an array of numbers, got an object");
    expect(checkFeatures("1,2,3", 512)).toBe('Expected 512 CLIP features as an array of numbers, got "1,2,3"');
  });
});
