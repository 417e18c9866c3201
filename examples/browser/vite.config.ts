// The browser example's Vite config: `npm run example:browser` serves it (dev server), and
// test/browser.test.ts builds it (`vite build --config examples/browser/vite.config.ts`).
// rxtrade resolves to the repository's sources, as in vitest.config.ts; in your own app,
// `npm install rxtrade rxjs` and drop the aliases.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here("."),
  // Relative asset URLs: the built page works from any directory of any static server.
  base: "./",
  resolve: {
    alias: [
      { find: /^rxtrade$/, replacement: here("../../src/index.ts") },
      { find: /^rxtrade\/browser$/, replacement: here("../../src/browser/index.ts") },
    ],
  },
  server: {
    host: "127.0.0.1",
    // The page imports the bundled candles from data/ and the sources from src/.
    fs: { allow: [here("../..")] },
  },
  build: {
    outDir: here("dist"),
    emptyOutDir: true,
    target: "es2022",
  },
});
