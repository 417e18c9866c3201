import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineConfig, type Options } from "tsup";

/** The package's entries: `rxtrade`, `rxtrade/operators`, … (see package.json "exports"). */
export const ENTRIES = {
  index: "src/index.ts",
  operators: "operators/index.ts",
  testing: "src/testing/index.ts",
  node: "src/node/index.ts",
  browser: "src/browser/index.ts",
  ccxt: "src/ccxt/index.ts",
  service: "src/service/index.ts",
  redis: "src/redis/index.ts",
};

/** What `dist/<entry>.cjs` holds: CommonJS gets the ESM build's module, not a copy of it. */
export const cjsEntry = (name: string): string =>
  `"use strict";\n// require(esm): the ESM build's module itself, so CJS and ESM callers share one engine state.\nmodule.exports = require("./${name}.js");\n`;

// The code is built once, as ESM. The engine's module-level state (config, registries, event
// subjects, error classes) must exist once per process, so `rxtrade/operators` and
// `rxtrade/testing` may not inline their own copy of it: their sources import the core by
// relative path, and code splitting puts every module that two entries share into one
// `chunk-*.js` that all entries import. The CommonJS entries (`dist/<entry>.cjs`) are one-line
// `require` calls of the ESM files (Node >= 20.19 / 22.12 load ESM with `require` when it has no
// top-level await, which no entry has), so `require("rxtrade")` and `import "rxtrade"` in one
// process get the same module — a second, converted CJS build would be a second state.
const library = (outDir: string): Options => ({
  entry: ENTRIES,
  outDir,
  format: ["esm"],
  splitting: true,
  // Rollup's tree shaking after esbuild's: about 0.5 KB less of the core, minified.
  treeshake: true,
  dts: false,
  sourcemap: true,
  target: "es2022",
  // Dependencies are installed beside the package, never inlined (lowdb, idb-keyval, pino and
  // prom-client, which only rxtrade/service imports; ccxt and ioredis are optional peers that
  // only rxtrade/ccxt and rxtrade/redis import, when first used).
  external: ["rxjs", /^rxjs\//, "lowdb", /^lowdb\//, "idb-keyval", "ccxt", "pino", "prom-client", "ioredis"],
  // The other builds' files (below) are kept while this one cleans dist/ in parallel.
  clean: ["!cli.js", "!cli.js.map", "!*.d.ts", "!*.d.cts"],
  async onSuccess() {
    await Promise.all(Object.keys(ENTRIES).map((name) => writeFile(join(outDir, `${name}.cjs`), cjsEntry(name))));
  },
});

// The types, for `import` (.d.ts) and for `require` (.d.cts): the same declarations, each set
// sharing its chunks. A .d.cts may not re-export a .d.ts (TypeScript's node16 resolution would
// see a CommonJS file importing an ES module), hence two sets.
const types = (outDir: string): Options => ({
  entry: ENTRIES,
  outDir,
  format: ["esm", "cjs"],
  dts: { only: true },
  clean: true,
  target: "es2022",
  external: ["rxjs", /^rxjs\//, "lowdb", /^lowdb\//, "idb-keyval", "ccxt", "pino", "prom-client", "ioredis"],
});

// The `rxtrade` bin: ESM only, with its #! line, no types. It imports the package by its own
// name (rxtrade, rxtrade/node, rxtrade/ccxt resolve to the files above through the exports
// map), so it shares one copy of the engine's module state with strategies a user loads.
const cli = (outDir: string): Options => ({
  entry: { cli: "src/cli/index.ts" },
  outDir,
  format: ["esm"],
  banner: { js: "#!/usr/bin/env node" },
  dts: false,
  clean: false,
  sourcemap: true,
  target: "es2022",
  platform: "node",
  external: ["rxtrade", /^rxtrade\//, "rxjs", /^rxjs\//, "ccxt", "ioredis", "tsx", /^tsx\//],
  // Each command is a chunk of its own, loaded when it runs (src/cli/main.ts), in dist/cli/.
  splitting: true,
  esbuildOptions(options) {
    options.chunkNames = "cli/[name]-[hash]";
  },
});

/** The three builds writing into `outDir` (test/dualLoad.test.ts builds into a folder of its own). */
export const builds = (outDir = "dist"): Options[] => [library(outDir), types(outDir), cli(outDir)];

export default defineConfig(builds());
