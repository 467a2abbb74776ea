import type { Id } from "../../convex/_generated/dataModel";
import { useBackend } from "../backend/backendClient";

/**
 * Returns a function that POSTs a blob to an upload URL from a `generateUploadUrl`
 * mutation and resolves to the new storage id. Uploads are plain HTTP, not a
 * Convex function call, so they have their own path through the backend client.
 */
export function useUploadFile(): (uploadUrl: string, blob: Blob) => Promise<Id<"_storage">> {
  const backend = useBackend();
  return async (uploadUrl, blob) => (await backend.uploadFile(uploadUrl, blob)) as Id<"_storage">;
}
