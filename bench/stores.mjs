// Store benchmarks (issue 3, acceptance 4) against the BUILT package: "rxtrade/node" and
// "rxtrade/browser" resolve through package.json "exports" to dist/ (run `npm run build` first).
//
//   1. The long crash run: test/fixtures/crashHarness.ts (loaded through tsx's API; the
//      crash test uses the same harness with 30 kills) with >= 500 SIGKILLs of a live trader
//      on fileStore. Its child is bundled from test/fixtures/crashChild.ts with "rxtrade"
//      resolved to dist/. Prints the kill count and the violations (must be 0).
//   2. fileStore write latency, fsync included: 2,000 sequential writes of an engine state.
//   3. indexedDbStore write latency on fake-indexeddb (in-memory: the wrapper's and
//      idb-keyval's overhead, not a browser's disk).
//
// node bench/stores.mjs [--kills N] [--json]   (--json: last line "RESULT {...}")
// Exits 0 even on violations (bench/index.mjs style); the figures say PASS/FAIL.
import "fake-indexeddb/auto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { tsImport } from "tsx/esm/api";

const args = process.argv.slice(2);
const kills = Number(args[args.indexOf("--kills") + 1]) > 0 && args.includes("--kills") ? Number(args[args.indexOf("--kills") + 1]) : 500;
const json = args.includes("--json");

const resolved = ["rxtrade", "rxtrade/node", "rxtrade/browser"].map((name) => fileURLToPath(import.meta.resolve(name)));
if (!resolved.every((path) => path.includes("/dist/"))) {
  console.error(`bench/stores: rxtrade resolves to ${resolved.join(", ")}, not dist/ — run npm run build`);
  process.exit(0);
}
const { encodeState } = await import("rxtrade");
const { fileStore, csvCandles, BUNDLED_BTCUSDT_1M } = await import("rxtrade/node");
const { indexedDbStore } = await import("rxtrade/browser");
const harness = await tsImport("../test/fixtures/crashHarness.ts", import.meta.url);

const began = performance.now();
const work = await mkdtemp(join(tmpdir(), "rxtrade-bench-stores-"));
const result = {};
try {
  // 1. crash run
  console.log(`1. crash run: ${kills} SIGKILLs of liveTrade$ on fileStore (built package), then a graceful final run`);
  const child = await harness.prepareCrashChild(work, { builtPackage: true });
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  let lastPrint = performance.now();
  const crash = await harness.runCrashTest({
    kills,
    child,
    candles,
    fileStore,
    maxRunMs: 100,
    onProgress(done, report) {
      if (performance.now() - lastPrint < 15_000) return;
      lastPrint = performance.now();
      console.log(`   ${done} kills, ${report.opened} signals opened, ${report.violations.length} violations`);
    },
  });
  console.log(
    `   kills ${crash.kills}, violations ${crash.violations.length} (seed ${crash.seed}, ${(crash.elapsedMs / 1000).toFixed(0)} s)\n` +
      `   signals opened ${crash.opened}, closed ${crash.closed}; kills that cut a write short (temp file left, swept) ${crash.tempFilesLeft};\n` +
      `   stale locks taken over ${crash.staleLocksTakenOver}; reports lost between store write and log line: opened ${crash.openReportsLost} (resumed and closed later), closed ${crash.closeReportsLost}`,
  );
  for (const violation of crash.violations.slice(0, 10)) console.log(`   VIOLATION ${violation}`);
  result.crash = { ...crash, violations: crash.violations.length, firstViolations: crash.violations.slice(0, 10) };

  // 2 and 3. write latency
  const value = encodeState({
    status: "opened",
    signal: {
      id: "0b6f4f3e-8f53-4d1e-9d5a-2b8f0c1e7a11",
      position: "long",
      priceOpen: 23_456.78,
      priceTakeProfit: 23_691.35,
      priceStopLoss: 23_222.21,
      minuteEstimatedTime: 120,
      note: "",
      symbol: "BTCUSDT",
      strategyName: "momentum",
      exchangeName: "binance",
      scheduledAt: 1_677_628_800_000,
      pendingAt: 1_677_628_800_000,
    },
  });
  const files = fileStore(join(work, "latency"));
  result.fileStore = await latency("2. fileStore write (temp file, fsync, rename, fsync dir)", 2_000, () => files.write("BTCUSDT:momentum", value));
  const idb = indexedDbStore("rxtrade-bench", "signals");
  result.indexedDb = await latency("3. indexedDbStore write (fake-indexeddb, in memory)", 2_000, () => idb.write("BTCUSDT:momentum", value));
} finally {
  await rm(work, { recursive: true, force: true });
}

const crashPass = result.crash.kills >= 500 && result.crash.violations === 0;
console.log(`\nSummary (${((performance.now() - began) / 1000).toFixed(0)} s)`);
console.log(`crash run: ${result.crash.kills} kills, ${result.crash.violations} violations   ${crashPass ? "PASS" : result.crash.kills < 500 ? "FAIL (< 500 kills)" : "FAIL"}`);
console.log(`fileStore write p50 ${result.fileStore.p50.toFixed(2)} ms, p99 ${result.fileStore.p99.toFixed(2)} ms (fsync included)`);
console.log(`indexedDbStore (fake) write p50 ${result.indexedDb.p50.toFixed(3)} ms, p99 ${result.indexedDb.p99.toFixed(3)} ms`);
if (json) console.log(`RESULT ${JSON.stringify({ ...result, pass: crashPass })}`);
process.exit(0);

/** Runs `count` sequential writes of one value; prints and returns p50/p99 in ms. */
async function latency(title, count, write) {
  for (let i = 0; i < 50; i++) await write(i); // warm-up
  const times = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await write(i);
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const at = (q) => times[Math.min(times.length - 1, Math.floor(q * times.length))];
  const figures = { count, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] };
  console.log(`${title}: ${count} writes, p50 ${figures.p50.toFixed(3)} ms, p99 ${figures.p99.toFixed(3)} ms, max ${figures.max.toFixed(3)} ms`);
  return figures;
}
