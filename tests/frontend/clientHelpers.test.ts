import { describe, expect, it } from "vitest";
import { ConvexError } from "convex/values";
import { postToUploadUrl } from "../../src/backend/backendClient";
import { errorMessage } from "../../src/backend/errorMessage";
import { chunk, parseLabelledSetJsonl } from "../../src/labelledSetFile";

describe("errorMessage", () => {
  it("keeps only the sentence meant for people from a Convex server error", () => {
    const wrapped = new Error(
      "[CONVEX A(imageClassification:classifyImageFeatures)] [Request ID: 5f1c] Server Error\nUncaught Error: no active model version: an admin must import and activate one\n    at handler (../convex/imageClassification.ts:120:11)",
    );
    expect(errorMessage(wrapped)).toBe("no active model version: an admin must import and activate one");
  });

  it("reads ConvexError payloads, as text or {message}", () => {
    expect(errorMessage(new ConvexError("Settings not saved: privacyMode is unknown."))).toBe("Settings not saved: privacyMode is unknown.");
    expect(errorMessage(new ConvexError({ code: "access_denied", message: "This needs the admin role; you are labeller." }))).toBe(
      "This needs the admin role; you are labeller.",
    );
  });

  it("passes plain errors through", () => {
    expect(errorMessage(new Error("Network down"))).toBe("Network down");
    expect(errorMessage("boom")).toBe("boom");
  });
});

describe("postToUploadUrl", () => {
  const respond = (status: number, body: unknown) =>
    (async () => new Response(JSON.stringify(body), { status, statusText: status === 200 ? "OK" : "Bad Request" })) as unknown as typeof fetch;

  it("POSTs the blob with its content type and returns the storage id", async () => {
    let seen: RequestInit | undefined;
    const fetchImpl = (async (_url: string, init: RequestInit) => {
      seen = init;
      return new Response(JSON.stringify({ storageId: "kg2abc" }));
    }) as unknown as typeof fetch;
    await expect(postToUploadUrl("https://x.convex.cloud/upload", new Blob(["x"], { type: "image/png" }), fetchImpl)).resolves.toBe("kg2abc");
    expect(seen?.method).toBe("POST");
    expect(seen?.headers).toEqual({ "Content-Type": "image/png" });
  });

  it("names the status of a refused upload and a body without storageId", async () => {
    await expect(postToUploadUrl("u", new Blob(["x"]), respond(400, {}))).rejects.toThrow("Upload failed: the server answered 400 Bad Request");
    await expect(postToUploadUrl("u", new Blob(["x"]), respond(200, { id: 1 }))).rejects.toThrow(
      'Upload failed: expected a JSON body with a string storageId, got {"id":1}',
    );
  });
});

describe("parseLabelledSetJsonl", () => {
  it("accepts mlp extract lines, ignoring blank lines and extra fields", () => {
    const text = '{"features":[1,2],"label":"cat","file":"cat/a.jpg"}\n\n{"features":[3,4],"label":"dog"}\r\n';
    expect(parseLabelledSetJsonl(text, 2)).toEqual({
      items: [
        { features: [1, 2], label: "cat" },
        { features: [3, 4], label: "dog" },
      ],
      problems: [],
    });
  });

  it("reports every bad line by number", () => {
    const text = ['{"features":[1,2],"label":"cat"}', '{"features":[1,"x"],"label":"cat"}', "[1,2]", '{"features":[1,2,3],"label":"cat"}'].join("\n");
    const { items, problems } = parseLabelledSetJsonl(text, 2);
    expect(items).toHaveLength(1);
    expect(problems.map((problem) => problem.line)).toEqual([2, 3, 4]);
    expect(problems[0].message).toContain("features[1]");
    expect(problems[2].message).toBe("features has 3 values; expected 2");
  });

  it("calls an empty file a problem", () => {
    expect(parseLabelledSetJsonl("\n\n", 2).problems).toEqual([{ line: 1, message: "the file holds no items; expected one JSON object per line" }]);
  });
});

describe("chunk", () => {
  it("splits into pieces of at most the given size", () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 2)).toEqual([]);
  });
});
