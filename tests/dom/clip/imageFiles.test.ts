import { describe, expect, it } from "vitest";
import { checkImageFile, imageTypeOf, scaledSize, sniffImageType, type ImageDecoder } from "../../../src/images/imageFiles.ts";

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

describe("sniffImageType", () => {
  const ascii = (text: string) => Array.from(text, (char) => char.charCodeAt(0));
  /** An ISO-BMFF ftyp box: size, "ftyp", major brand, minor version, compatible brands. */
  const ftyp = (major: string, ...compatible: string[]) => {
    const size = 16 + 4 * compatible.length;
    return new Uint8Array([0, 0, 0, size, ...ascii("ftyp"), ...ascii(major), 0, 0, 0, 0, ...compatible.flatMap(ascii), 0, 0, 0, 8, ...ascii("meta")]);
  };
  const untyped = (bytes: Uint8Array | number[]) => new File([new Uint8Array(bytes)], "untyped", { type: "" });

  it("recognises each raster format the server accepts by its first bytes", async () => {
    const samples: Array<[string, number[] | Uint8Array]> = [
      ["image/png", Array.from(pngBytes)],
      ["image/jpeg", [0xff, 0xd8, 0xff, 0xdb, 0, 0x43]],
      ["image/gif", ascii("GIF89a\x01\x00")],
      ["image/gif", ascii("GIF87a")],
      ["image/webp", [...ascii("RIFF"), 0x24, 0, 0, 0, ...ascii("WEBPVP8 ")]],
      ["image/bmp", [...ascii("BM"), 0x36, 0, 0, 0]],
      ["image/avif", ftyp("avif", "mif1", "miaf")],
      ["image/avif", ftyp("avis", "msf1")],
      ["image/avif", ftyp("mif1", "avif")],
    ];
    for (const [type, bytes] of samples) expect(await sniffImageType(untyped(bytes)), type).toBe(type);
  });

  it("answers null for text, an MP4 or HEIC ftyp box, a RIFF that is not WebP, and an empty file", async () => {
    for (const bytes of [ascii("hello world"), ftyp("isom", "mp41"), ftyp("heic", "mif1"), [...ascii("RIFF"), 0, 0, 0, 0, ...ascii("WAVE")], ascii("GIF")]) {
      expect(await sniffImageType(untyped(bytes))).toBeNull();
    }
    expect(await sniffImageType(untyped([]))).toBeNull();
  });

  it("imageTypeOf keeps a given MIME type and sniffs only when there is none", async () => {
    expect(await imageTypeOf(new File([pngBytes], "photo.jpg", { type: "image/jpeg" }))).toBe("image/jpeg");
    expect(await imageTypeOf(untyped(pngBytes))).toBe("image/png");
    expect(await imageTypeOf(untyped(ascii("plain text")))).toBeNull();
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
