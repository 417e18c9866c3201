// Backtest throughput (issue 11, item 5): `rxtrade backtest --data <folder>` — the live loop on a
// virtual clock, one symbol per file — over 8 symbols, on worker threads (one per file, at most
// one per core) against one thread (--threads 1: the files one after another, no workers). The
// 8 files are shifted copies of the bundled 30,240 minutes: prices x (1 + k/100), times k x 21
// days later (k = 0..7), so each is its own market. Each way runs in several fresh processes of
// the built command (dist/cli.js, as users run it), alternating; the figures are medians of the
// time inside the command (from the first file read to the last result: candles/s) and of the
// wall time of the whole process (start-up, strategy and CSV loading included). The CPU time of
// the command (all its threads) tells how many cores it got: on a busy machine, fewer than it asked.
//
// node bench/backtest.mjs [--trials N] [--json]   (after npm run build; npm run bench runs it)
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadBundledCandles } from "./loadCandles.mjs";

const SYMBOLS = 8;
const DAY = 86_400_000;
const cli = fileURLToPath(new URL("../dist/cli.js", import.meta.url));
const trialsAt = process.argv.indexOf("--trials");
const TRIALS = trialsAt > 0 ? Number(process.argv[trialsAt + 1]) : 3;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString("en-US");

/** Runs the benchmark and prints its lines; resolves its figures. */
export async function benchBacktest(log = console.log) {
  if (!existsSync(cli)) {
    log(`backtest bench: ${cli} is missing; run npm run build first`);
    return undefined;
  }
  const work = await mkdtemp(join(tmpdir(), "rxtrade-bench-backtest-"));
  try {
    const data = join(work, "data");
    await mkdir(data);
    const candles = loadBundledCandles();
    for (let k = 0; k < SYMBOLS; k++) {
      const factor = 1 + k / 100;
      const lines = candles.map((c) =>
        [c.timestamp + k * 21 * DAY, ...[c.open, c.high, c.low, c.close].map((p) => (p * factor).toFixed(2)), c.volume].join(","),
      );
      await writeFile(join(data, `S${k}USDT.csv`), `timestamp,open,high,low,close,volume\n${lines.join("\n")}\n`);
    }
    const cores = availableParallelism();
    log(
      `${SYMBOLS} symbols x ${fmt(candles.length)} one-minute candles (the bundled data shifted: prices x1.00 to x1.07, 21 days apart), ` +
        `strategy momentum, ${cores} cores; ${TRIALS} processes each way, alternating`,
    );
    const ways = { workers: [], oneThread: [] };
    for (let trial = 1; trial <= TRIALS; trial++) {
      for (const [way, extra] of [
        ["workers", []],
        ["oneThread", ["--threads", "1"]],
      ]) {
        const began = performance.now();
        const result = await runCli(["backtest", "--strategy", "momentum", "--data", data, "--json", "--report-dir", join(work, "reports"), ...extra]);
        const wallMs = performance.now() - began;
        if (result === undefined) continue;
        ways[way].push({ ...result, wallMs });
        log(
          `  trial ${trial} ${way === "workers" ? `worker threads (${result.threads})` : "one thread"}: ${(result.elapsedMs / 1000).toFixed(2)} s in the command ` +
            `(CPU ${(result.cpuMs / 1000).toFixed(2)} s), ${fmt(result.candlesPerSecond)} candles/s, ${(wallMs / 1000).toFixed(2)} s wall`,
        );
      }
    }
    const summary = {};
    for (const [way, runs] of Object.entries(ways)) {
      if (runs.length === 0) continue;
      summary[way] = {
        threads: runs[0].threads,
        candles: runs[0].candles,
        closed: runs[0].combined.totalClosed,
        elapsedMs: median(runs.map((r) => r.elapsedMs)),
        cpuMs: median(runs.map((r) => r.cpuMs)),
        candlesPerSecond: median(runs.map((r) => r.candlesPerSecond)),
        wallMs: median(runs.map((r) => r.wallMs)),
      };
    }
    const { workers, oneThread } = summary;
    if (workers !== undefined && oneThread !== undefined) {
      const same = workers.closed === oneThread.closed;
      log(
        `  median: worker threads (${workers.threads}) ${(workers.elapsedMs / 1000).toFixed(2)} s, ${fmt(workers.candlesPerSecond)} candles/s, ${(workers.wallMs / 1000).toFixed(2)} s wall; ` +
          `one thread ${(oneThread.elapsedMs / 1000).toFixed(2)} s, ${fmt(oneThread.candlesPerSecond)} candles/s, ${(oneThread.wallMs / 1000).toFixed(2)} s wall; ` +
          `CPU ${(workers.cpuMs / 1000).toFixed(2)} s with workers, ${(oneThread.cpuMs / 1000).toFixed(2)} s in one thread; ` +
          `x${(oneThread.elapsedMs / workers.elapsedMs).toFixed(2)} with workers (${fmt(workers.candles)} candles, ${workers.closed} closed signals${same ? ", the same both ways" : `; one thread closed ${oneThread.closed}: DIFFERENT`})`,
      );
      summary.speedup = oneThread.elapsedMs / workers.elapsedMs;
      summary.sameResults = same;
    }
    return summary;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `node dist/cli.js <args>`: its --json output, or `undefined` (said) when it fails. */
function runCli(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (text) => (out += text));
    child.stderr.setEncoding("utf8").on("data", (text) => (err += text));
    const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code !== 0) {
        console.error(`backtest bench: rxtrade ${args.join(" ")} exited ${code}: ${err.trim()}`);
        resolve(undefined);
        return;
      }
      resolve(JSON.parse(out));
    });
  });
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const summary = await benchBacktest();
  if (process.argv.includes("--json")) console.log(`RESULT ${JSON.stringify(summary)}`);
}
