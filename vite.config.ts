import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// Cross-origin isolation lets ONNX Runtime's wasm backend use threads
// (SharedArrayBuffer). Production hosting must send the same two headers.
export const crossOriginIsolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  plugins: [vue()],
  server: { headers: crossOriginIsolationHeaders },
  preview: { headers: crossOriginIsolationHeaders },
  worker: { format: "es" },
  optimizeDeps: { exclude: ["@huggingface/transformers", "onnxruntime-web"] },
});
