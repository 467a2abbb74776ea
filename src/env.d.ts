/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Convex deployment URL, e.g. https://happy-otter-123.convex.cloud */
  readonly VITE_CONVEX_URL?: string;
  /** "true" in the offline demo build: in-memory backend and role-picker sign-in. */
  readonly VITE_DEMO?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
