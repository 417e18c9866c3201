// Benchmarks 1 and 2: one liveTrade$ stream replaying the bundled 30,240 one-minute candles in
// virtual time (VirtualClock), through the whole pipeline (restore, VWAP pricing, rules,
// persistence to a memoryStore, events, stop gate, filter).
import { Subject } from "rxjs";
import { listenSignal, liveTrade$, memoryStore, replayExchange } from "rxtrade";
import { VirtualClock } from "rxtrade/testing";
import { benchStrategy } from "./strategy.mjs";

const MINUTE = 60_000;

/**
 * One full replay. `verify` counts the ticks on signal$ (one result per tick); the measured
 * runs, which do not listen (listening costs), take that count: the replay is deterministic.
 * (The clock also runs actions that are not ticks: stop$, and an async call's time-limit check.)
 *
 * @param {import("rxtrade").Candle[]} candles
 * @param {"sync" | "async"} kind
 */
export async function replayOnce(candles, kind, verify = false, ticks = undefined) {
  const start = candles[0].timestamp + 10 * MINUTE; // the 5-candle VWAP window exists from here
  const end = candles[candles.length - 1].timestamp + MINUTE; // the last candle has closed
  // Stop 3 h before the data ends: a position opened just before (lifetime 120 min) closes
  // while there are still prices, and the stream completes.
  const stopAt = end - 180 * MINUTE;
  const clock = new VirtualClock(start);
  const { schema, stats } = benchStrategy(kind);
  const stop$ = new Subject();
  const result = { kind, ticks: 0, ms: 0, opened: 0, closed: 0, pnl: 0, reasons: {}, calls: 0, completed: false, error: undefined };
  let observed = 0;
  const unlisten = verify ? listenSignal(() => observed++) : () => {};
  liveTrade$("BTCUSDT", schema, { exchange: replayExchange(candles, clock), scheduler: clock, store: memoryStore(), stop$ }).subscribe({
    next(r) {
      if (r.action === "opened") result.opened++;
      else {
        result.closed++;
        result.pnl += r.pnl.pnlPercentage;
        result.reasons[r.closeReason] = (result.reasons[r.closeReason] ?? 0) + 1;
      }
    },
    error(e) {
      result.error = e;
    },
    complete() {
      result.completed = true;
    },
  });
  clock.schedule(() => stop$.next(undefined), stopAt - start);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const ran = kind === "sync" ? clock.flush(end) : await clock.flushAsync(end);
  result.ms = performance.now() - t0;
  const cpu = process.cpuUsage(c0);
  result.cpuMs = (cpu.user + cpu.system) / 1000;
  unlisten();
  result.ticks = verify ? observed : ticks;
  result.calls = stats.calls;
  if (verify && (observed === 0 || observed > ran)) throw new Error(`bench: ${observed} ticks on signal$ but only ${ran} clock actions`);
  if (!verify && ticks === undefined) throw new Error("bench: replayOnce needs the verified tick count");
  if (result.error !== undefined) throw result.error;
  if (!result.completed) throw new Error("bench: the stream did not complete after stop$");
  result.rate = result.ticks / (result.ms / 1000);
  result.cpuRate = result.ticks / (result.cpuMs / 1000);
  return result;
}

/**
 * Warm-up (the first run also verifies the tick count on signal$), then `n` measured runs.
 * No forced gc() between runs: on this V8 a forced full GC costs the next runs 2-3x (it
 * throws away optimized code / feedback), which no real process does every 60 ms.
 */
export async function replayBench(candles, kind, { warmup = 5, n = 7, log = console.log } = {}) {
  const { ticks } = await replayOnce(candles, kind, true);
  for (let i = 1; i < warmup; i++) await replayOnce(candles, kind, false, ticks);
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(await replayOnce(candles, kind, false, ticks));
  const rates = runs.map((r) => r.rate).sort((a, b) => a - b);
  const last = runs[runs.length - 1];
  const summary = {
    kind,
    median: rates[rates.length >> 1],
    cpuMedian: runs.map((r) => r.cpuRate).sort((a, b) => a - b)[runs.length >> 1],
    min: rates[0],
    max: rates[rates.length - 1],
    ticks: last.ticks,
    opened: last.opened,
    closed: last.closed,
    pnl: last.pnl,
    reasons: last.reasons,
    calls: last.calls,
  };
  const fmt = (x) => Math.round(x).toLocaleString("en-US");
  log(
    `  ${kind}: ${fmt(summary.median)} ticks/s median (min ${fmt(summary.min)}, max ${fmt(summary.max)}; ${n} runs after ${warmup} warm-up) — ` +
      `${summary.ticks.toLocaleString("en-US")} ticks/run, ${fmt(runs.reduce((s, r) => s + r.ms, 0) / n)} ms/run; ` +
      `per CPU second ${fmt(summary.cpuMedian)} ticks`,
  );
  const reasons = Object.entries(summary.reasons)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  log(
    `    trading per run: ${summary.calls} getSignal calls, ${summary.opened} opened, ${summary.closed} closed (${reasons}), ` +
      `total PnL ${summary.pnl >= 0 ? "+" : ""}${summary.pnl.toFixed(2)}%`,
  );
  return summary;
}
