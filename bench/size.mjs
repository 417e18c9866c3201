// Bundle sizes of the browser entries, as a browser app pays for them: each built ESM entry
// (dist/*.js, with the chunks it imports) bundled for the browser by esbuild, minified, then
// gzipped (zlib level 9). rxjs is external (a peer dependency the app already has); idb-keyval,
// a dependency of rxtrade/browser, is counted.
//
// `node bench/size.mjs` prints the table and exits 1 when the core (`rxtrade`) is over its
// budget; `npm run bench` calls `measureSizes` and adds a summary row. Run after `npm run build`.
import { gzipSync } from "node:zlib";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
// The whole core entry: the engine, the facade, events, stores, the journal and the history
// read from it. 0.1.0's budget of 20 KB held the engine and the facade alone; candles$, the
// time limits, typed errors, the journal and its history brought it to about 26 KB, the
// journal's write-ahead intents, bounded queue and bounded history reads to about 29 KB
// (backtest and replay live in rxtrade/node, out of the browser's way). What an app of the
// loop pays is the budget below.
export const CORE_BUDGET_BYTES = 30 * 1024;
// What an app that runs the live loop pays (liveTrade$ and a store, tree-shaken): the 0.1.0
// budget, kept for what most browser apps import.
export const LOOP_BUDGET_BYTES = 20 * 1024;
const LOOP_APP = 'export { liveTrade$, memoryStore } from "./dist/index.js";';
const ENTRIES = ["index", "operators", "testing", "browser"];

/** `[{ entry, minified, gzipped }]` in bytes, one per browser entry. */
export async function measureSizes() {
  const sizes = [];
  for (const name of ENTRIES) {
    const result = await esbuild.build({
      entryPoints: [resolve(root, "dist", `${name}.js`)],
      bundle: true,
      minify: true,
      platform: "browser",
      format: "esm",
      target: "es2022",
      write: false,
      logLevel: "silent",
      external: ["rxjs", "rxjs/*"],
    });
    const code = result.outputFiles[0].contents;
    sizes.push({
      entry: name === "index" ? "rxtrade" : `rxtrade/${name}`,
      minified: code.byteLength,
      gzipped: gzipSync(code, { level: 9 }).byteLength,
    });
  }
  const loop = await esbuild.build({
    stdin: { contents: LOOP_APP, resolveDir: root, loader: "js" },
    bundle: true,
    minify: true,
    platform: "browser",
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
    external: ["rxjs", "rxjs/*"],
  });
  const code = loop.outputFiles[0].contents;
  sizes.push({ entry: "liveTrade$ + memoryStore", minified: code.byteLength, gzipped: gzipSync(code, { level: 9 }).byteLength });
  return sizes;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/** Prints the table; resolves the core's entry. */
export async function printSizes(log = console.log) {
  const sizes = await measureSizes();
  const width = Math.max(...sizes.map((s) => s.entry.length));
  log(`bundle sizes (esbuild --bundle --minify for the browser, gzip -9; rxjs external)`);
  for (const s of sizes) log(`  ${s.entry.padEnd(width)}  ${kb(s.minified).padStart(8)} minified  ${kb(s.gzipped).padStart(7)} gzipped`);
  return { core: sizes.find((s) => s.entry === "rxtrade"), loop: sizes.find((s) => s.entry === "liveTrade$ + memoryStore") };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const { core, loop } = await printSizes();
  if (core.gzipped > CORE_BUDGET_BYTES) {
    console.error(`size: the core is ${kb(core.gzipped)} gzipped, over its ${kb(CORE_BUDGET_BYTES)} budget`);
    process.exitCode = 1;
  }
  if (loop.gzipped > LOOP_BUDGET_BYTES) {
    console.error(`size: an app of liveTrade$ and memoryStore is ${kb(loop.gzipped)} gzipped, over its ${kb(LOOP_BUDGET_BYTES)} budget`);
    process.exitCode = 1;
  }
}
