import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = fileURLToPath(new URL(".", import.meta.url));
/** The API a `vite` dev server forwards Connect calls to (the page itself is served by Vite then). */
const devApi = process.env.CRONMESH_API ?? "http://127.0.0.1:8080";

/**
 * Builds the web console into dist/console, which the service serves at /ui/. Vite names every
 * built asset by its content hash under assets/, so the server can cache them forever.
 */
export default defineConfig({
  root: here,
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../../dist/console", import.meta.url)),
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: true,
  },
  server: { proxy: { "^/cronmesh\\.v1\\.": { target: devApi, changeOrigin: false } } },
});
