// Journal overhead on the live path: one liveTrade$ stream replaying the bundled 30,240
// one-minute candles in virtual time (VirtualClock), as bench/replay.mjs does (memoryStore,
// the synchronous bench strategy), with no journal, then journaling at level `trades` and at
// level `full` — into a memoryJournal (clock.flush: synchronous) and into a fileJournal
// (clock.flushAsync: every trade/run entry fsynced, tick entries buffered).
//
//   node --expose-gc bench/journal.mjs            all of it (each group in fresh processes), a table
//   node --expose-gc bench/journal.mjs memory|file --json    one group in this process (a RESULT line)
//
// Within a process the configurations of a group run interleaved (A B C A B C …) after a warm-up
// of each, so that the machine's drift (2 shared cores) hits them alike; a figure is the median
// over the runs of three processes. Target: `trades` on a memoryJournal at most 15 % slower than
// no journal. Builds nothing: run `npm run build` first (`npm run bench` does).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Subject } from "rxjs";
import { listenSignal, liveTrade$, memoryJournal, memoryStore, replayExchange } from "rxtrade";
import { fileJournal } from "rxtrade/node";
import { VirtualClock } from "rxtrade/testing";
import { loadBundledCandles } from "./loadCandles.mjs";
import { benchStrategy } from "./strategy.mjs";

const MINUTE = 60_000;
const GROUPS = {
  memory: { clock: "flush", configs: ["none", "memory-trades", "memory-full"], warmup: 4, rounds: 7 },
  file: { clock: "flushAsync", configs: ["none-async", "file-trades", "file-full"], warmup: 1, rounds: 3 },
};
const LABELS = {
  none: "no journal (flush)",
  "memory-trades": "memoryJournal, trades",
  "memory-full": "memoryJournal, full",
  "none-async": "no journal (flushAsync)",
  "file-trades": "fileJournal, trades",
  "file-full": "fileJournal, full",
};

/** One replay; `ticks` from the verifying run (which counts them on signal$). */
async function replayOnce(candles, config, clockMode, ticks) {
  const start = candles[0].timestamp + 10 * MINUTE;
  const end = candles[candles.length - 1].timestamp + MINUTE;
  const clock = new VirtualClock(start, { callGraceMs: 5_000 });
  const { schema } = benchStrategy("sync");
  const stop$ = new Subject();
  let dir;
  let journal;
  if (config.startsWith("memory")) journal = memoryJournal();
  else if (config.startsWith("file")) {
    dir = mkdtempSync(join(tmpdir(), "rxtrade-bench-journal-"));
    journal = fileJournal(dir);
  }
  const level = config.endsWith("-full") ? "full" : "trades";
  let observed = 0;
  const unlisten = ticks === undefined ? listenSignal(() => observed++) : () => {};
  let completed = false;
  let failure;
  let trades = 0;
  liveTrade$("BTCUSDT", schema, {
    exchange: replayExchange(candles, clock),
    scheduler: clock,
    store: memoryStore(),
    stop$,
    ...(journal === undefined ? {} : { journal, journalLevel: level }),
  }).subscribe({
    next: () => trades++,
    error: (error) => (failure = error),
    complete: () => (completed = true),
  });
  clock.schedule(() => stop$.next(undefined), end - 180 * MINUTE - start);
  const c0 = process.cpuUsage();
  const began = performance.now();
  if (clockMode === "flush") clock.flush(end);
  else await clock.flushAsync(end);
  await journal?.close?.();
  const ms = performance.now() - began;
  const cpu = process.cpuUsage(c0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  unlisten();
  if (failure !== undefined) throw failure;
  if (!completed) throw new Error(`bench: ${config}: the stream did not complete after stop$`);
  let entries = 0;
  if (journal !== undefined) for await (const _ of journal.read("BTCUSDT:bench-sync")) entries++;
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  const count = ticks ?? observed;
  return { ticks: count, trades, entries, ms, rate: count / (ms / 1000), cpuRate: count / (cpuMs / 1000) };
}

/** One group in this process: warm-up, then interleaved rounds; the rates of each configuration. */
async function runGroup(name) {
  const group = GROUPS[name];
  const candles = loadBundledCandles();
  const first = await replayOnce(candles, group.configs[0], group.clock, undefined);
  const ticks = first.ticks;
  const info = {};
  for (const config of group.configs) {
    for (let i = 0; i < group.warmup; i++) info[config] = await replayOnce(candles, config, group.clock, ticks);
  }
  const rates = Object.fromEntries(group.configs.map((config) => [config, []]));
  const cpuRates = Object.fromEntries(group.configs.map((config) => [config, []]));
  for (let round = 0; round < group.rounds; round++) {
    for (const config of group.configs) {
      const run = await replayOnce(candles, config, group.clock, ticks);
      rates[config].push(run.rate);
      cpuRates[config].push(run.cpuRate);
    }
  }
  return {
    ticks,
    configs: Object.fromEntries(
      group.configs.map((config) => [config, { rates: rates[config], cpuRates: cpuRates[config], trades: info[config].trades, entries: info[config].entries }]),
    ),
  };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (x) => Math.round(x).toLocaleString("en-US");

/**
 * Runs both groups, each in three fresh processes; prints the table and returns the summary.
 * @param {(line: string) => void} log
 */
export async function journalBench(log = console.log) {
  const summary = {};
  for (const name of Object.keys(GROUPS)) {
    const processes = [];
    for (let trial = 1; trial <= 3; trial++) {
      const result = await child(name);
      if (result !== undefined) processes.push(result);
    }
    if (processes.length === 0) {
      log(`  ${name}: did not finish`);
      continue;
    }
    const group = GROUPS[name];
    // The memory group is CPU-bound: its figure is per CPU second (steadier on a shared machine);
    // the file group waits for fsync: its figure is per wall-clock second.
    const pick = name === "memory" ? "cpuRates" : "rates";
    const base = median(processes.flatMap((p) => p.configs[group.configs[0]][pick]));
    for (const config of group.configs) {
      const rate = median(processes.flatMap((p) => p.configs[config][pick]));
      const wall = median(processes.flatMap((p) => p.configs[config].rates));
      const { trades, entries } = processes[0].configs[config];
      summary[config] = { rate, wall, slower: 1 - rate / base, entries };
      const slower = config === group.configs[0] ? "baseline" : `${((1 - rate / base) * 100).toFixed(1)} % slower`;
      log(
        `  ${LABELS[config].padEnd(26)} ${fmt(rate).padStart(9)} ticks per ${name === "memory" ? "CPU" : "wall"} s  ${slower.padEnd(14)} ` +
          `(${name === "memory" ? `wall ${fmt(wall)}/s; ` : ""}${processes.length} processes x ${group.rounds} runs; ${fmt(processes[0].ticks)} ticks, ${trades} trades, ${fmt(entries)} journal entries per run)`,
      );
    }
  }
  return summary;
}

function child(name) {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), name, "--json"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk) => (out += chunk));
    const timer = setTimeout(() => proc.kill(), 300_000);
    proc.on("close", () => {
      clearTimeout(timer);
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      resolve(line === undefined ? undefined : JSON.parse(line.slice(7)));
    });
  });
}

const direct = process.argv[1] === fileURLToPath(import.meta.url);
if (direct && GROUPS[process.argv[2]] !== undefined) {
  const result = await runGroup(process.argv[2]);
  console.log(`RESULT ${JSON.stringify(result)}`);
} else if (direct) {
  console.log(`journal overhead, live path in virtual time (node ${process.version}, built package)`);
  const summary = await journalBench();
  const trades = summary["memory-trades"];
  if (trades !== undefined) console.log(`  target: trades on a memoryJournal <= 15 % slower: ${trades.slower <= 0.15 ? "PASS" : "FAIL"} (${(trades.slower * 100).toFixed(1)} %)`);
  if (process.argv.includes("--json")) console.log(`RESULT ${JSON.stringify(summary)}`);
}
