// rxtrade benchmarks — run with `npm run bench` (builds first, then runs the BUILT package:
// "rxtrade" and "rxtrade/testing" resolve through package.json "exports" to dist/, as users get
// it). Plain node, no tsx: tsx's keepNames transform wraps every function in __name() and
// would roughly halve the engine's speed. Reports only; always exits 0.
//
// On a shared machine, run only what you need: `--only replay,streams` (any of replay,
// streams, stores, size, backtest, journal, service, fleet) after `npm run build`.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadBundledCandles } from "./loadCandles.mjs";
import { CORE_BUDGET_BYTES, LOOP_BUDGET_BYTES, printSizes } from "./size.mjs";

const resolved = [import.meta.resolve("rxtrade"), import.meta.resolve("rxtrade/testing")].map((u) => fileURLToPath(u));
if (!resolved.every((p) => p.includes("/dist/"))) {
  console.error(`bench: rxtrade resolves to ${resolved.join(", ")}, not dist/ — the figures would not be the built package's`);
  process.exit(0);
}
if (typeof globalThis.gc !== "function") console.warn("bench: run node with --expose-gc for steadier figures");

const began = performance.now();
console.log(`rxtrade benchmarks — node ${process.version}, built package (${resolved.map((p) => p.slice(p.indexOf("dist/"))).join(", ")})`);
const candles = loadBundledCandles();
console.log(`data: ${candles.length.toLocaleString("en-US")} one-minute BTCUSDT candles, replayed in virtual time (VirtualClock), default tickMs 60,001`);
console.log(`strategy: every 3rd idle minute a long with TP +1% / SL -1%, lifetime 120 min; memoryStore persistence\n`);

const PARTS = ["replay", "streams", "stores", "size", "backtest", "journal", "service", "fleet"];
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg < 0 ? PARTS : (process.argv[onlyArg + 1] ?? "").split(",");
const unknown = only.filter((part) => !PARTS.includes(part));
if (unknown.length > 0) {
  console.error(`bench: --only ${unknown.join(",")} is not a benchmark; use any of ${PARTS.join(", ")}, comma-separated`);
  process.exit(2);
}
const runs = (part) => only.includes(part);

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
// Each replay runs in three fresh processes; the figure is the median of their medians.
async function replayTrials(kind) {
  const medians = [];
  for (let trial = 1; trial <= 3; trial++) {
    const result = await runChild(fileURLToPath(new URL("./replayChild.mjs", import.meta.url)), 60_000, [kind]);
    if (result !== undefined) medians.push(result.median);
  }
  const value = medians.length > 0 ? median(medians) : 0;
  console.log(`  median of ${medians.length} processes: ${Math.round(value).toLocaleString("en-US")} ticks/s (processes ${medians.map((m) => Math.round(m).toLocaleString("en-US")).join(", ")})`);
  return { median: value };
}
let sync;
let async;
if (runs("replay")) {
  console.log("1. synchronous getSignal, VirtualClock.flush");
  sync = await replayTrials("sync");
  console.log("\n2. async getSignal (Promise), VirtualClock.flushAsync");
  async = await replayTrials("async");
}

// 10,000 idle streams, each trial in a fresh process; the figures quoted are the medians of
// three (the machine is shared and noisy). Once on rxtrade's batchedScheduler (one runtime
// timer per millisecond, for many streams) and once on rxjs's asyncScheduler (the default).
async function manyTrials(label, args) {
  console.log(`\n${label}`);
  const trials = [];
  for (let trial = 1; trial <= 3; trial++) {
    console.log(`  trial ${trial}/3`);
    const result = await runChild(fileURLToPath(new URL("./manyStreams.mjs", import.meta.url)), 60_000, args);
    if (result !== undefined) trials.push(result);
  }
  if (trials.length === 0) return undefined;
  const summary = {
    cpuMsPerRound: median(trials.map((t) => t.cpuMsPerRound)),
    heapPerStream: median(trials.map((t) => t.heapPerStream)),
    allTicked: trials.every((t) => t.allTicked && t.completed === t.streams && t.failed === 0 && t.errors === 0 && t.timersLeft === 0),
  };
  console.log(
    `  median of ${trials.length}: CPU ${summary.cpuMsPerRound.toFixed(1)} ms per round (trials ${trials.map((t) => t.cpuMsPerRound.toFixed(1)).join(", ")}), ` +
      `heap ${(summary.heapPerStream / 1024).toFixed(2)} KB per stream`,
  );
  return summary;
}
let manyBatched;
let manyAsync;
if (runs("streams")) {
  manyBatched = await manyTrials("3. 10,000 idle streams, real time, tickMs 1000, batchedScheduler", ["--batched"]);
  manyAsync = await manyTrials("3b. the same on rxjs's asyncScheduler (the default scheduler)", []);
}

let stores;
if (runs("stores")) {
  console.log("\n4. stores: crash run (>= 500 SIGKILLs), fileStore and IndexedDB write latency (child process)");
  stores = await runChild(fileURLToPath(new URL("./stores.mjs", import.meta.url)), 300_000);
}

let core;
let loop;
if (runs("size")) {
  console.log("\n5. bundle sizes of the browser entries");
  ({ core, loop } = await printSizes());
}

let backtest;
if (runs("backtest")) {
  console.log("\n6. backtest throughput: 8 symbols, worker threads vs one thread (rxtrade backtest --data <folder>; bench/backtest.mjs)");
  backtest = await (await import("./backtest.mjs")).benchBacktest();
}

let journal;
if (runs("journal")) {
  console.log("\n7. journal overhead on the live path, virtual time: no journal vs trades vs full, memoryJournal and fileJournal (bench/journal.mjs)");
  journal = await (await import("./journal.mjs")).journalBench();
}

let service;
if (runs("service")) {
  console.log("\n8. rxtrade/service: CPU of metrics + logs + SSE on 1,000 trading pairs against none, virtual time (bench/service.mjs)");
  service = await (await import("./service.mjs")).serviceTrials(runChild);
}

let fleet;
if (runs("fleet")) {
  console.log("\n9. rxtrade/redis fleet: 1,000 pairs on 4 worker processes (rxtrade fleet worker) against a local redis-server, accelerated clock (bench/fleet.mjs)");
  fleet = await (await import("./fleet.mjs")).fleetBench();
}

const fmt = (x) => Math.round(x).toLocaleString("en-US");
const rows = [];
if (runs("replay")) {
  rows.push(
    ["sync replay ticks/s (median)", sync.median, fmt(sync.median), ">= 500,000", sync.median >= 500_000],
    ["async replay ticks/s (median)", async.median, fmt(async.median), ">= 50,000", async.median >= 50_000],
  );
}
const streamRows = [
  ["10k streams (batchedScheduler)", manyBatched],
  ["10k streams (asyncScheduler)", manyAsync],
];
for (const [name, many] of runs("streams") ? streamRows : []) {
  if (many === undefined) {
    rows.push([name, 0, "did not finish", "", false]);
    continue;
  }
  rows.push(
    [`${name}: CPU per tick round`, many.cpuMsPerRound, `${many.cpuMsPerRound.toFixed(1)} ms`, "<= 50 ms", many.cpuMsPerRound <= 50],
    [`${name}: heap per stream`, many.heapPerStream, `${(many.heapPerStream / 1024).toFixed(2)} KB`, "<= 6 KB", many.heapPerStream <= 6 * 1024],
    [`${name}: all ticked every round, all stopped`, 0, many.allTicked ? "yes" : "NO", "yes", many.allTicked],
  );
}
if (runs("stores") && stores !== undefined) {
  rows.push(
    ["crash run: kills with 0 violations", stores.crash.kills, `${stores.crash.kills} kills, ${stores.crash.violations} violations`, ">= 500, 0", stores.pass],
    ["fileStore write p50 / p99 (fsync)", stores.fileStore.p50, `${stores.fileStore.p50.toFixed(2)} / ${stores.fileStore.p99.toFixed(2)} ms`, "report", true],
    ["indexedDbStore (fake) write p50 / p99", stores.indexedDb.p50, `${stores.indexedDb.p50.toFixed(3)} / ${stores.indexedDb.p99.toFixed(3)} ms`, "report", true],
  );
} else if (runs("stores")) {
  rows.push(["stores", 0, "did not finish", "", false]);
}
if (runs("backtest")) {
  const { workers, oneThread } = backtest ?? {};
  if (workers === undefined || oneThread === undefined) rows.push(["backtest, 8 symbols", 0, "did not finish", "", false]);
  else {
    rows.push(
      [`backtest, 8 symbols: worker threads (${workers.threads}) / one thread`, workers.candlesPerSecond, `${fmt(workers.candlesPerSecond)} / ${fmt(oneThread.candlesPerSecond)} candles/s`, "report", true],
      ["backtest, 8 symbols: same results both ways", 0, backtest.sameResults ? "yes" : "NO", "yes", backtest.sameResults],
    );
  }
}
if (runs("journal")) {
  const trades = journal?.["memory-trades"];
  if (trades === undefined) rows.push(["journal overhead", 0, "did not finish", "", false]);
  else {
    const pct = (config) => (journal[config] === undefined ? "n/a" : `${(journal[config].slower * 100).toFixed(1)} %`);
    rows.push(
      ["journal trades (memoryJournal): slower than none", trades.slower, pct("memory-trades"), "<= 15 %", trades.slower <= 0.15],
      ["journal full (memoryJournal): slower than none", 0, pct("memory-full"), "report", true],
      ["journal trades / full (fileJournal, fsync)", 0, `${pct("file-trades")} / ${pct("file-full")}`, "report", true],
    );
  }
}
if (runs("size")) {
  rows.push(["core gzipped size (rxjs external)", core.gzipped, `${(core.gzipped / 1024).toFixed(1)} KB`, "<= 28 KB", core.gzipped <= CORE_BUDGET_BYTES]);
  rows.push(["liveTrade$ + memoryStore app, gzipped", loop.gzipped, `${(loop.gzipped / 1024).toFixed(1)} KB`, "<= 20 KB", loop.gzipped <= LOOP_BUDGET_BYTES]);
}
if (runs("service")) {
  if (service === undefined) rows.push(["service metrics + logs + SSE", 0, "did not finish", "", false]);
  else {
    const pct = (x) => `+${(x * 100).toFixed(1)} %`;
    rows.push(
      ["service metrics + logs + SSE, 1,000 pairs (Promise exchange): CPU over none", service.async.overhead, pct(service.async.overhead), "<= 10 %", service.async.overhead <= 0.1 && service.async.ended],
      ["service metrics + logs + SSE, 1,000 pairs (synchronous exchange): CPU over none", service.sync.overhead, pct(service.sync.overhead), "report", true],
      ["service /metrics scrape of 1,000 pairs: CPU", service.async.scrapeMs, `${service.async.scrapeMs.toFixed(1)} ms`, "report", true],
    );
  }
}
if (runs("fleet")) {
  if (fleet === undefined) rows.push(["fleet, 1,000 pairs on 4 workers", 0, "did not finish", "", false]);
  else if (fleet.skipped !== undefined) rows.push(["fleet, 1,000 pairs on 4 workers", 0, "skipped", "", true]);
  else {
    const { window, storeWrite, takeover } = fleet;
    rows.push(
      [`fleet: ticks done at --speed ${fleet.speed} (of the clock's pace)`, window.keepUp, `${(window.keepUp * 100).toFixed(1)} %`, ">= 95 %", window.keepUp >= 0.95],
      [`fleet: Redis round trips per tick (lease ${fleet.leaseMs} ms)`, fleet.roundTrips, fleet.roundTrips.toFixed(3), "report", true],
      ["fleet: store write p50 / p99 (client-side)", storeWrite.client.p50, `${storeWrite.client.p50.toFixed(2)} / ${storeWrite.client.p99.toFixed(2)} ms`, "report", true],
      ["fleet: store write p50 / p99 (Redis-side)", storeWrite.redis.p50, `${storeWrite.redis.p50} / ${storeWrite.redis.p99} µs`, "report", true],
      [`fleet: takeover after SIGKILL p50 / p99 (${takeover.n} pairs, lease ${fleet.leaseMs} ms)`, takeover.p50, `${fmt(takeover.p50)} / ${fmt(takeover.p99)} ms`, "lease + x", takeover.missing === 0],
      ["fleet: CPU per worker (median)", fleet.cpuMedianPct, `${fleet.cpuMedianPct.toFixed(1)} % of a core, ${fleet.cpuMedianUsPerTick.toFixed(1)} µs/pair-tick`, "report", true],
      ["fleet: pairs running at the end", fleet.running, `${fleet.running} of ${fleet.pairs}`, "all", fleet.running === fleet.pairs],
    );
  }
}
const width = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[2].length)), 10];
const line = (a, b, c, d) => `${a.padEnd(width[0])}  ${b.padStart(width[1])}  ${c.padEnd(width[2])}  ${d}`;
console.log(`\nSummary (${((performance.now() - began) / 1000).toFixed(0)} s)`);
console.log(line("figure", "value", "target", "result"));
console.log(line("-".repeat(width[0]), "-".repeat(width[1]), "-".repeat(width[2]), "------"));
for (const [name, , value, target, pass] of rows) console.log(line(name, value, target, pass ? "PASS" : "FAIL"));
process.exit(0);

/** Runs a bench script in a fresh process (clean heap), echoing its lines; resolves its RESULT. */
function runChild(script, timeoutMs = 60_000, args = []) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--expose-gc", script, ...args, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
    let result;
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      let nl;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (text.startsWith("RESULT ")) result = JSON.parse(text.slice(7));
        else console.log(text);
      }
    });
    const timer = setTimeout(() => child.kill(), timeoutMs);
    child.on("close", () => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}
