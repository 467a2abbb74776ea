import { describe, expect, it } from "vitest";
import { checkImageFile, scaledSize, type ImageDecoder } from "../../../src/utils/imageFiles.ts";

const pngBytes = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const decodesAs = (width: number, height: number): ImageDecoder => async () => ({ width, height });
const failsWith = (message: string): ImageDecoder => async () => {
  throw new DOMException(message, "InvalidStateError");
};

describe("checkImageFile", () => {
  it("accepts a decodable image", async () => {
    await expect(checkImageFile(new File([pngBytes], "cat.png", { type: "image/png" }), decodesAs(10, 8))).resolves.toBeUndefined();
  });

  it("rejects a non-image by its MIME type, naming the file, without decoding it", async () => {
    let decoded = false;
    const decoder: ImageDecoder = async () => {
      decoded = true;
      return { width: 1, height: 1 };
    };
    await expect(checkImageFile(new File(["hello"], "notes.txt", { type: "text/plain" }), decoder)).rejects.toThrow('"notes.txt" is not an image (text/plain)');
    expect(decoded).toBe(false);
  });

  it("rejects SVG by its MIME type, naming the file and why, without decoding it", async () => {
    let decoded = false;
    const decoder: ImageDecoder = async () => {
      decoded = true;
      return { width: 1, height: 1 };
    };
    const svg = new File(['<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'], "logo.svg", { type: "image/svg+xml" });
    await expect(checkImageFile(svg, decoder)).rejects.toThrow(
      '"logo.svg" is image/svg+xml, not a raster image (image/jpeg, image/png, image/webp, image/gif, image/bmp or image/avif): SVG can carry script, so it is not accepted',
    );
    expect(decoded).toBe(false);
    await expect(checkImageFile(new File([pngBytes], "photo.webp", { type: "image/webp" }), decoder)).resolves.toBeUndefined();
  });

  it("sniffs files without a MIME type", async () => {
    await expect(checkImageFile(new File(["hello"], "README", { type: "" }), decodesAs(1, 1))).rejects.toThrow('"README" is not an image (unknown file type)');
    await expect(checkImageFile(new File([pngBytes], "scan", { type: "" }), decodesAs(4, 4))).resolves.toBeUndefined();
  });

  it("rejects a corrupt or empty image with the decoder's reason", async () => {
    await expect(checkImageFile(new File([pngBytes], "broken.jpg", { type: "image/jpeg" }), failsWith("The source image could not be decoded."))).rejects.toThrow(
      '"broken.jpg" could not be decoded: The source image could not be decoded.',
    );
    await expect(checkImageFile(new File([], "empty.png", { type: "image/png" }), decodesAs(1, 1))).rejects.toThrow('"empty.png" is empty (0 bytes)');
    await expect(checkImageFile(new File([pngBytes], "zero.png", { type: "image/png" }), decodesAs(0, 0))).rejects.toThrow('"zero.png" could not be decoded: it has no pixels (0×0)');
  });
});

describe("scaledSize", () => {
  it("fits the longest edge, keeps the aspect ratio and never upscales", () => {
    expect(scaledSize({ width: 4000, height: 3000 }, 2048)).toEqual({ width: 2048, height: 1536 });
    expect(scaledSize({ width: 1000, height: 5000 }, 256)).toEqual({ width: 51, height: 256 });
    expect(scaledSize({ width: 100, height: 80 }, 256)).toEqual({ width: 100, height: 80 });
    expect(scaledSize({ width: 10000, height: 1 }, 256)).toEqual({ width: 256, height: 1 });
  });
});
