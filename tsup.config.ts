import { defineConfig, type Options } from "tsup";

const library: Options = {
  entry: {
    index: "src/index.ts",
    operators: "operators/index.ts",
    testing: "src/testing/index.ts",
    node: "src/node/index.ts",
    browser: "src/browser/index.ts",
    ccxt: "src/ccxt/index.ts",
  },
  format: ["esm", "cjs"],
  // The core's module-level state (config, registries, event subjects) must exist once, so
  // `rxtrade/operators` and `rxtrade/testing` may not inline their own copy of it. Their
  // sources import the core by relative path, and code splitting puts every module that
  // two entries share into one `chunk-*.js` / `chunk-*.cjs` that all entries import.
  // For CJS, tsup only splits when it builds ESM first and converts it; `treeshake` makes
  // that conversion go through Rollup (faithful output) instead of sucrase, which would
  // also down-level class fields and `??`. The .d.ts files share chunks the same way.
  splitting: true,
  treeshake: true,
  dts: true,
  sourcemap: true,
  target: "es2022",
  // import.meta.url (rxtrade/node finds its bundled data with it) in the CJS build.
  shims: true,
  // Dependencies are installed beside the package, never inlined (lowdb, idb-keyval; ccxt is
  // an optional peer that only rxtrade/ccxt imports).
  external: ["rxjs", /^rxjs\//, "lowdb", /^lowdb\//, "idb-keyval", "ccxt"],
  // dist/cli.js is the other build's (below): kept while this one cleans dist/ in parallel.
  clean: ["!cli.js", "!cli.js.map"],
};

// The `rxtrade` bin: ESM only, with its #! line, no types. It imports the package by its own
// name (rxtrade, rxtrade/node, rxtrade/ccxt resolve to the files above through the exports
// map), so it shares one copy of the engine's module state with strategies a user loads.
const cli: Options = {
  entry: { cli: "src/cli/index.ts" },
  format: ["esm"],
  banner: { js: "#!/usr/bin/env node" },
  dts: false,
  clean: false,
  sourcemap: true,
  target: "es2022",
  platform: "node",
  external: ["rxtrade", /^rxtrade\//, "rxjs", /^rxjs\//, "ccxt", "tsx", /^tsx\//],
};

export default defineConfig([library, cli]);
