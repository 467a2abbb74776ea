/**
 * The image types pictures may have: raster formats browsers decode. SVG is
 * refused because it can carry script, and a picture is served from the
 * deployment's storage domain with its stored content type. Shared by the
 * server's recordPicture and the browser's pre-upload check.
 */
export const RASTER_IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/avif"] as const;

export const RASTER_IMAGE_TYPES_TEXT = "image/jpeg, image/png, image/webp, image/gif, image/bmp or image/avif";

/** Case and surrounding spaces are ignored, as MIME types are case-insensitive. */
export function isRasterImageType(contentType: string): boolean {
  return (RASTER_IMAGE_TYPES as readonly string[]).includes(contentType.trim().toLowerCase());
}

/** Why a type is refused, for the end of a refusal message: SVG gets its reason, anything else nothing. */
export function refusedTypeReason(contentType: string): string {
  return contentType.trim().toLowerCase().startsWith("image/svg") ? ": SVG can carry script, so it is not accepted" : "";
}
