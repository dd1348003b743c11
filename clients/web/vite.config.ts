/// <reference types="vitest/config" />
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/** The gateway the dev server proxies to (same origin in production). */
const gateway = process.env.HEARTH_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  resolve: {
    // The SDK is consumed from source, so the web build only needs `npm run generate` in clients/sdk.
    alias: {
      "@hearth/sdk": fileURLToPath(new URL("../sdk/src/index.ts", import.meta.url)),
    },
  },
  oxc: {
    jsx: { runtime: "automatic" },
  },
  server: {
    fs: { allow: [".."] },
    proxy: {
      "/v1": { target: gateway, ws: true, changeOrigin: true },
      "/i/": { target: gateway, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    // The gateway serves dist/ as is; source maps would triple what it ships (the dev server has them).
    sourcemap: false,
    target: "es2022",
    // The generated protobuf descriptors of the whole client contract make the app chunk ~530 kB
    // (155 kB gzipped); hls.js is split out and loaded only for HLS media.
    chunkSizeWarningLimit: 800,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
