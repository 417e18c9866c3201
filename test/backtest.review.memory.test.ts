// Issue 11 review, hole 2: a backtest used to load its whole CSV (every candle in memory for the
// whole run: ~170 bytes a candle, 85 MB for 500,000 one-minute candles). csvCandleFile streams the
// file through the run, keeping the look-back (7 days) behind the clock. Measured in a fresh
// process with --expose-gc: the heap retained during the run, over the heap before the load,
// for 200,000 candles (about 4.6 months) backtested over their last 6 hours — streamed, and the
// same candles loaded whole (csvCandles), which the bound must tell apart.
// (The full-size figure: node --expose-gc bench/backtestMemory.mjs.)
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../", import.meta.url));
const ROWS = 200_000;
const MB = 1024 * 1024;

let work: string;
let script: string;
let csv: string;

beforeAll(async () => {
  // Under node_modules/.cache, so that the bundle's external packages resolve as from the repository.
  work = await mkdtemp(join(root, "node_modules", ".cache", "rxtrade-backtest-memory-"));
  csv = join(work, "RANDUSDT_1m.csv");
  await writeCandles(csv, ROWS);
  const entry = join(work, "measure.ts");
  await writeFile(
    entry,
    `import { csvCandleFile, csvCandles, runBacktest } from ${JSON.stringify(join(root, "src/node/index.ts"))};
const [way, file] = process.argv.slice(2);
const heap = () => { (globalThis as { gc: () => void }).gc(); return process.memoryUsage().heapUsed; };
const before = heap();
const candles = way === "stream" ? await csvCandleFile(file) : await csvCandles(file);
const last = Array.isArray(candles) ? candles[candles.length - 1].timestamp : candles.last;
let retained = heap() - before;
let ticks = 0;
await runBacktest("RANDUSDT", { strategyName: "never", interval: "1m", getSignal: () => null }, {
  candles, from: last - 6 * 3_600_000,
  onTick: () => { if (++ticks % 60 === 0) retained = Math.max(retained, heap() - before); },
});
process.stdout.write(JSON.stringify({ retained, ticks }));
`,
  );
  const { build } = await import("esbuild");
  script = join(work, "measure.mjs");
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", target: "node20", outfile: script, logLevel: "silent", tsconfig: join(root, "tsconfig.json") });
}, 60_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A random walk of one-minute candles from 2023-01-01. */
async function writeCandles(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  let price = 20_000;
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648;
  let chunk = "timestamp,open,high,low,close,volume\n";
  for (let i = 0; i < rows; i++) {
    const open = price;
    const close = open * (1 + (random() - 0.5) * 0.004);
    chunk += `${Date.UTC(2023, 0, 1) + i * 60_000},${open.toFixed(2)},${(Math.max(open, close) * 1.001).toFixed(2)},${(Math.min(open, close) * 0.999).toFixed(2)},${close.toFixed(2)},1\n`;
    price = close;
    if (chunk.length > 65_536) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      chunk = "";
    }
  }
  await new Promise<void>((resolve, reject) => out.end(chunk, () => resolve()).on("error", reject));
}

function measure(way: "stream" | "whole"): Promise<{ retained: number; ticks: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--expose-gc", script, way, csv], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (text: Buffer) => (out += text));
    child.stderr.on("data", (text: Buffer) => (err += text));
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve(JSON.parse(out) as { retained: number; ticks: number }) : reject(new Error(`${way}: exit ${code}: ${err}`))));
  });
}

describe("a backtest over a large CSV", () => {
  it("streamed, keeps a bounded heap (under 16 MB for 200,000 candles) where loading them whole keeps them all", async () => {
    const [stream, whole] = await Promise.all([measure("stream"), measure("whole")]);
    expect(stream.ticks).toBe(whole.ticks);
    expect(stream.ticks).toBeGreaterThan(350);
    expect(stream.retained).toBeLessThan(16 * MB);
    // The same candles loaded whole: every one of them held (~170 bytes each).
    expect(whole.retained).toBeGreaterThan(25 * MB);
    console.log(`retained heap: streamed ${(stream.retained / MB).toFixed(1)} MB, whole ${(whole.retained / MB).toFixed(1)} MB (${ROWS} one-minute candles)`);
  }, 60_000);
});
