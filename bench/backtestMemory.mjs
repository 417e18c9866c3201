// Backtest memory (issue 11 review, hole 2): a large CSV of one-minute candles (500,000 rows by
// default, about a year of minutes; a random walk) backtested over its last day, two ways, each
// in a fresh process:
//   whole   csvCandles(path) then runBacktest({ candles: array }): what `rxtrade backtest --data`
//           did up to 0.1.x — every candle of the file in memory for the whole run;
//   stream  csvCandleFile(path) then runBacktest({ candles: file }): the file checked in one
//           streaming pass, then streamed through the run, only the look-back (7 days) kept.
// Figures per way: the heap retained during the run (heapUsed after a full GC, every 240 ticks;
// the highest), over the heap before the load; and the process's peak RSS (transient garbage of
// the parse included). Also the load and run times.
//
// node --expose-gc bench/backtestMemory.mjs [--rows N] [--gz] [--json] [--dist DIR] [--ways whole,stream]   (after npm run build)
import { spawn } from "node:child_process";
import { createWriteStream, existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createGzip } from "node:zlib";

const MINUTE = 60_000;
const DAY = 1440 * MINUTE;
const here = fileURLToPath(import.meta.url);
// --dist DIR: another build (e.g. of an older commit, to compare); --ways whole,stream.
const value0 = (name) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : undefined;
};
const nodeEntry = value0("--dist") === undefined ? new URL("../dist/node.js", import.meta.url) : new URL(`file://${join(value0("--dist"), "node.js")}`);
const flag = (name) => process.argv.includes(name);
const value = (name, fallback) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
};
const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);

if (flag("--child")) await child(value("--child"), value("--file"));
else await main();

async function main() {
  if (!existsSync(fileURLToPath(nodeEntry))) {
    console.log(`backtest memory bench: ${fileURLToPath(nodeEntry)} is missing; run npm run build first`);
    return;
  }
  const rows = Number(value("--rows", "500000"));
  const gz = flag("--gz");
  const work = await mkdtemp(join(tmpdir(), "rxtrade-bench-memory-"));
  try {
    const file = join(work, `RANDUSDT_1m.csv${gz ? ".gz" : ""}`);
    await writeCandles(file, rows, gz);
    const results = {};
    for (const way of value("--ways", "whole,stream").split(",")) results[way] = await measure(way, file);
    if (flag("--json")) {
      console.log(JSON.stringify({ rows, gz, ...results }, null, 2));
      return;
    }
    console.log(`${rows.toLocaleString("en-US")} one-minute candles (${gz ? "csv.gz" : "csv"}), backtested over the last day, momentum; fresh process each way`);
    for (const [way, r] of Object.entries(results)) {
      console.log(
        `  ${way.padEnd(6)}  retained heap during the run ${mb(r.retainedBytes).padStart(7)} MB   peak RSS ${mb(r.maxRssBytes).padStart(7)} MB   ` +
          `load ${(r.loadMs / 1000).toFixed(2)} s   run ${(r.runMs / 1000).toFixed(2)} s   ${r.ticks} ticks, ${r.closed} closed`,
      );
    }
    if (results.whole !== undefined && results.stream !== undefined) {
      console.log(`  the streamed run retains ${(results.whole.retainedBytes / Math.max(1, results.stream.retainedBytes)).toFixed(1)}x less heap`);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A random walk of `rows` one-minute candles from 2023-01-01, written as a stream. */
async function writeCandles(path, rows, gz) {
  const file = createWriteStream(path);
  const out = gz ? createGzip() : file;
  if (gz) out.pipe(file);
  const done = new Promise((resolve, reject) => file.on("finish", resolve).on("error", reject));
  let price = 20_000;
  let seed = 42;
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const start = Date.parse("2023-01-01T00:00:00Z");
  let chunk = "timestamp,open,high,low,close,volume\n";
  for (let i = 0; i < rows; i++) {
    const open = price;
    const close = Math.max(1, open * (1 + (random() - 0.5) * 0.004));
    const high = Math.max(open, close) * (1 + random() * 0.001);
    const low = Math.min(open, close) * (1 - random() * 0.001);
    price = close;
    chunk += `${start + i * MINUTE},${open.toFixed(2)},${high.toFixed(2)},${low.toFixed(2)},${close.toFixed(2)},${(random() * 10).toFixed(4)}\n`;
    if (chunk.length > 1 << 16) {
      if (!out.write(chunk)) await new Promise((resolve) => out.once("drain", resolve));
      chunk = "";
    }
  }
  out.end(chunk);
  await done;
}

function measure(way, file) {
  return new Promise((resolve, reject) => {
    const dist = value0("--dist");
    const proc = spawn(process.execPath, ["--expose-gc", here, "--child", way, "--file", file, ...(dist === undefined ? [] : ["--dist", dist])], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.on("data", (text) => (out += text));
    proc.on("error", reject);
    proc.on("close", (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${way}: exit ${code}`))));
  });
}

async function child(way, file) {
  const { csvCandles, csvCandleFile, runBacktest } = await import(nodeEntry.href);
  const strategy = momentum();
  const heap = () => {
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const before = heap();
  const loadStarted = performance.now();
  const candles = way === "whole" ? await csvCandles(file) : await csvCandleFile(file);
  const loadMs = performance.now() - loadStarted;
  const last = way === "whole" ? candles.at(-1).timestamp : candles.last;
  let retained = heap() - before;
  let ticks = 0;
  let closed = 0;
  const runStarted = performance.now();
  await runBacktest("RANDUSDT", strategy, {
    candles,
    from: last - DAY,
    onTick: (tick) => {
      ticks++;
      if (tick.action === "closed") closed++;
      if (ticks % 240 === 0) retained = Math.max(retained, heap() - before);
    },
  });
  const runMs = performance.now() - runStarted;
  process.stdout.write(JSON.stringify({ retainedBytes: retained, maxRssBytes: process.resourceUsage().maxRSS * 1024, loadMs, runMs, ticks, closed }));
}

// Momentum as examples/strategies/momentum.ts has it (a 3-tick rate of change), without trading-signals.
function momentum() {
  const prices = [];
  return {
    strategyName: "momentum",
    interval: "1m",
    getSignal(_symbol, _when, { currentPrice }) {
      prices.push(currentPrice);
      if (prices.length < 4) return null;
      const change = ((currentPrice - prices[prices.length - 4]) / prices[prices.length - 4]) * 100;
      if (Math.abs(change) < 0.3) return null;
      prices.length = 0;
      const up = change > 0;
      return { position: up ? "long" : "short", priceTakeProfit: currentPrice * (up ? 1.01 : 0.99), priceStopLoss: currentPrice * (up ? 0.99 : 1.01), minuteEstimatedTime: 60 };
    },
  };
}
