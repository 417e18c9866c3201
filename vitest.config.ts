import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";
import { LongestFirst } from "./test/helpers/longestFirst";

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

const ALL = ["test/**/*.test.ts", "examples/**/*.test.ts"];
// Most files share their worker's process and module graph with the files before it
// (isolate: false): importing rxjs and the sources once per worker instead of once per file
// halves the CPU of the in-process tests (test/helpers/sharedProcessSetup.ts resets what a file
// may leave behind). These keep a process of their own: fake timers around module-level timers
// (schedulers); counting the process's timers (cli.hardening); the facade's registries and
// Live.list() read as a whole (errors, the facade example); builds and browsers
// (types.resolution, browser); child processes signalled, reaped or timed closely
// (lockIdentity, cli.store, service.health); a fileStore stream whose folder its test removes
// (flushAsync.fileStore: its lock watch reports the loss after the file ends).
const OWN_PROCESS = [
  "test/schedulers.test.ts",
  "test/cli.hardening.test.ts",
  "test/lockIdentity.test.ts",
  "test/cli.store.test.ts",
  "test/service.health.test.ts",
  "test/types.resolution.test.ts",
  "test/browser.test.ts",
  "test/flushAsync.fileStore.test.ts",
  "test/errors.test.ts",
  "examples/facade.test.ts",
];

export default defineConfig({
  resolve: {
    // Same public names as tsconfig "paths". Anchored, since a plain "rxtrade" key would
    // also rewrite the "rxtrade/" prefix of the subpath entries.
    alias: [
      { find: /^rxtrade$/, replacement: here("./src/index.ts") },
      { find: /^rxtrade\/operators$/, replacement: here("./operators/index.ts") },
      { find: /^rxtrade\/testing$/, replacement: here("./src/testing/index.ts") },
      { find: /^rxtrade\/node$/, replacement: here("./src/node/index.ts") },
      { find: /^rxtrade\/browser$/, replacement: here("./src/browser/index.ts") },
      { find: /^rxtrade\/ccxt$/, replacement: here("./src/ccxt/index.ts") },
      { find: /^rxtrade\/service$/, replacement: here("./src/service/index.ts") },
      { find: /^rxtrade\/redis$/, replacement: here("./src/redis/index.ts") },
    ],
  },
  test: {
    environment: "node",
    globalSetup: ["test/helpers/bundleOnce.ts"],
    testTimeout: 20_000,
    // Many files wait on child processes (the CLI, kill loops): more files in flight than
    // cores keeps both cores busy (on 2 cores: 2 workers 170 s, 3 workers 140 s, 4 workers
    // 134 s, the same CPU). RXTRADE_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.RXTRADE_TEST_WORKERS) || 4,
    // The longest files first (test/helpers/durations.json), so the run does not end on a slow
    // file started last.
    sequence: { sequencer: LongestFirst },
    projects: [
      {
        extends: true,
        test: { name: "shared", include: ALL, exclude: OWN_PROCESS, isolate: false, setupFiles: ["test/helpers/fileTiming.ts", "test/helpers/sharedProcessSetup.ts"] },
      },
      { extends: true, test: { name: "own-process", include: OWN_PROCESS, isolate: true, setupFiles: ["test/helpers/fileTiming.ts"] } },
    ],
  },
});
