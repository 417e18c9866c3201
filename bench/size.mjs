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
export const CORE_BUDGET_BYTES = 20 * 1024;
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
  return sizes;
}

const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;

/** Prints the table; resolves the core's entry. */
export async function printSizes(log = console.log) {
  const sizes = await measureSizes();
  const width = Math.max(...sizes.map((s) => s.entry.length));
  log(`bundle sizes (esbuild --bundle --minify for the browser, gzip -9; rxjs external)`);
  for (const s of sizes) log(`  ${s.entry.padEnd(width)}  ${kb(s.minified).padStart(8)} minified  ${kb(s.gzipped).padStart(7)} gzipped`);
  return sizes.find((s) => s.entry === "rxtrade");
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const core = await printSizes();
  if (core.gzipped > CORE_BUDGET_BYTES) {
    console.error(`size: the core is ${kb(core.gzipped)} gzipped, over its ${kb(CORE_BUDGET_BYTES)} budget`);
    process.exit(1);
  }
}
