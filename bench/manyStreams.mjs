// Benchmark 3: 10,000 concurrent idle liveTrade$ streams on the REAL asyncScheduler
// (tickMs = 1000), one shared replayExchange on wall-clock time (candles shifted so that prices
// exist now) and one shared memoryStore (one key per symbol). Measures CPU per tick round and
// heap per stream, checks every round ticked every stream, then stops all via one stop$.
//
// Run alone: node --expose-gc bench/manyStreams.mjs   (bench/index.mjs runs it in a child
// process, so its heap figure is not disturbed by the other benchmarks.) Where the heap per
// stream goes, by class, closure and finalizer list: node bench/heapDiff.mjs [--batched].
import { Subject } from "rxjs";
import { batchedScheduler, listenError, listenSignal, liveTrade$, memoryStore, replayExchange } from "rxtrade";
import { fileURLToPath } from "node:url";
import { loadBundledCandles } from "./loadCandles.mjs";
import { idleStrategy } from "./strategy.mjs";

const MINUTE = 60_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function gc() {
  if (typeof globalThis.gc !== "function") throw new Error("run node with --expose-gc");
  globalThis.gc();
  globalThis.gc();
}

/** The bundled candles moved in time so that the newest has opened 10 minutes from now. */
function candlesEndingNow() {
  const candles = loadBundledCandles();
  const shift = Math.floor(Date.now() / MINUTE) * MINUTE + 10 * MINUTE - candles[candles.length - 1].timestamp;
  return candles.map((c) => ({ ...c, timestamp: c.timestamp + shift }));
}

export async function manyStreams({ streams = 10_000, tickMs = 1000, warmupRounds = 3, rounds = 6, checkRounds = 2, scheduler, log = console.log } = {}) {
  const replay = replayExchange(candlesEndingNow()); // clock: asyncScheduler (wall clock)
  // The CPU window counts ticks with one increment per tick (each tick asks for candles once);
  // the per-stream check listens on signal$ in a window of its own, so the figure is the
  // engine's, not the instrumentation's.
  let ticks = 0;
  const exchange = {
    exchangeName: replay.exchangeName,
    getCandles(symbol, interval, since, limit) {
      ticks++;
      return replay.getCandles(symbol, interval, since, limit);
    },
  };
  const store = memoryStore();
  const stop$ = new Subject();
  let errors = 0;
  let firstError;
  const symbols = Array.from({ length: streams }, (_, i) => `SYM${i}USDT`);
  const perStream = new Map(symbols.map((s) => [s, 0]));
  const unlistenError = listenError((e) => {
    errors++;
    firstError ??= e;
  });
  let completed = 0;
  let failed = 0;

  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < streams; i++) {
    liveTrade$(symbols[i], idleStrategy, { exchange, store, stop$, tickMs, ...(scheduler ? { scheduler } : {}) }).subscribe({
      complete: () => completed++,
      error: () => failed++,
    });
  }
  const subscribeMs = performance.now() - t0;
  log(`  subscribed ${streams.toLocaleString("en-US")} streams in ${subscribeMs.toFixed(0)} ms`);

  await sleep(warmupRounds * tickMs);
  gc();
  const heapAfter = process.memoryUsage().heapUsed;
  const heapPerStream = (heapAfter - heapBefore) / streams;

  // Measured window: `rounds` tick periods; ticks are counted per period too.
  const perRound = [];
  const cpu0 = process.cpuUsage();
  const ticks0 = ticks;
  const w0 = performance.now();
  for (let r = 1; r <= rounds; r++) {
    const before = ticks;
    const target = w0 + r * tickMs; // windows stay aligned to the start: no drift
    while (performance.now() < target) await sleep(Math.max(1, Math.ceil(target - performance.now())));
    perRound.push(ticks - before);
  }
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - w0;
  const measuredTicks = ticks - ticks0;
  const periods = wallMs / tickMs;
  const cpuMsPerRound = (cpu.user + cpu.system) / 1000 / periods;

  // Check window: every stream, by symbol, on signal$.
  const unlistenSignal = listenSignal((r) => perStream.set(r.symbol, perStream.get(r.symbol) + 1));
  await sleep(checkRounds * tickMs);
  unlistenSignal();
  let minTicks = Infinity;
  let maxTicks = 0;
  for (const n of perStream.values()) {
    if (n < minTicks) minTicks = n;
    if (n > maxTicks) maxTicks = n;
  }

  // Graceful stop of everything; idle streams complete at once.
  const s0 = performance.now();
  stop$.next(undefined);
  while (completed + failed < streams && performance.now() - s0 < 5000) await sleep(50);
  const stopMs = performance.now() - s0;
  unlistenError();
  await sleep(tickMs + 100);
  const timersLeft = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

  const result = {
    streams,
    subscribeMs,
    heapPerStream,
    cpuMsPerRound,
    userMsPerRound: cpu.user / 1000 / periods,
    systemMsPerRound: cpu.system / 1000 / periods,
    ticksPerRound: measuredTicks / periods,
    perRound,
    rounds,
    minTicks,
    maxTicks,
    // Every stream ticked once per round (±1 at the window edges), every stream stopped cleanly.
    allTicked: minTicks >= checkRounds - 1 && maxTicks <= checkRounds + 1 && perRound.every((n) => Math.abs(n - streams) <= streams / 100),
    errors,
    firstError: firstError?.message,
    completed,
    failed,
    stopMs,
    timersLeft,
  };
  const fmt = (x) => Math.round(x).toLocaleString("en-US");
  log(
    `  CPU per tick round: ${result.cpuMsPerRound.toFixed(1)} ms (user ${result.userMsPerRound.toFixed(1)}, system ${result.systemMsPerRound.toFixed(1)}) ` +
      `over ${periods.toFixed(2)} rounds after ${warmupRounds} warm-up rounds = ${((result.cpuMsPerRound * 1000) / streams).toFixed(2)} µs/tick`,
  );
  log(`  ticks per round: ${fmt(result.ticksPerRound)} avg (per 1 s window: ${perRound.map(fmt).join(", ")}); per stream in a ${checkRounds}-round check on signal$: min ${minTicks}, max ${maxTicks}; errors on error$: ${errors}${firstError ? ` (${firstError.message})` : ""}`);
  log(`  heap per stream: ${(heapPerStream / 1024).toFixed(2)} KB (heapUsed +${((heapAfter - heapBefore) / 1048576).toFixed(1)} MB after gc, steady state)`);
  log(`  stop: ${completed.toLocaleString("en-US")} completed, ${failed} errored, in ${stopMs.toFixed(0)} ms; timers left afterwards: ${timersLeft}`);
  return result;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const json = process.argv.includes("--json");
  // --batched: rxtrade's batchedScheduler instead of rxjs's asyncScheduler (the default).
  const scheduler = process.argv.includes("--batched") ? batchedScheduler() : undefined;
  const result = await manyStreams({ scheduler, log: json ? (line) => console.log(line) : console.log });
  if (json) console.log(`RESULT ${JSON.stringify(result)}`);
}
