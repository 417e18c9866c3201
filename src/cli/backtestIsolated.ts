import { realpathSync } from "node:fs";
import { dirname, isAbsolute, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parentPort, Worker, workerData } from "node:worker_threads";
import { type Candle, historyStatistics, type TickResult, TradeLedger } from "rxtrade";
import type { BacktestOpenSignal, CsvCandleFile } from "rxtrade/node";
import { checkedCsvCandleFile } from "../node/csvCandleFile";
import type { CandleSource, WindowPlan } from "./backtestData";
import type { WindowFlags } from "./backtestFlags";
import { workerEntry } from "./backtestFolder";
import { type RunResult, runWindow } from "./backtestRun";
import { eventLine, held } from "./format";
import { resolveStrategy } from "./strategies";
import { EXIT, UsageError } from "./usage";
import { describeThrown } from "./userModule";

/** The `workerData` kind that makes this command the worker of a single file's run. */
export const WORKER_SINGLE = "rxtrade-backtest-single";

const MINUTE = 60_000;
/** The watchdog never acts on less than this (a busy machine may hold a thread back for a moment). */
const MIN_HANG_MS = 1_000;
/** After Ctrl-C, how long the worker has to stop at its tick and report before it is terminated. */
const STOP_GRACE_MS = 1_000;
/** Progress posted by the worker at most this often (real ms). */
const PROGRESS_MS = 100;
/** The worker's own heartbeat, while its event loop is free (an async strategy awaiting a timer, a read). */
const BEAT_MS = 100;

/** What the check of a file found (`csvCandleFile`'s handle without its streams). */
export type FileFacts = Pick<CsvCandleFile, "rows" | "first" | "last" | "gaps" | "warnings">;

/** What the worker is given: the run, with the candles as the main thread checked them (not checked again). */
export interface SingleJob {
  symbol: string;
  /** `--strategy` as given (an example's name or a path): the worker loads it afresh. */
  strategy: string;
  moduleTimeoutMs: number;
  source: { kind: "file"; path: string; facts: FileFacts } | { kind: "array"; candles: readonly Candle[] };
  plan: WindowPlan;
  window: WindowFlags;
}

type SingleReply =
  | { kind: "ready" }
  | { kind: "tick"; tick: TickResult }
  | { kind: "progress"; closed: number; ticks: number; last: TickResult }
  | { kind: "error"; name: string; message: string }
  | { kind: "result"; result: RunResult }
  | { kind: "failed"; message: string };

export interface IsolatedHooks {
  /** The ticks that print a line (opened, closed, …), and the first tick at or past --to. */
  onTick(tick: TickResult): void;
  /** Now and then (~10 times a second): the time reached and the closed signals so far. */
  onProgress(now: number, closed: number): void;
  onError(name: string, message: string): void;
  /** Ctrl-C: the worker stops at its tick; one that does not answer within a second is terminated. */
  signal: AbortSignal;
}

/** The run's end as the worker reported it, or a partial one built from what it posted before it was terminated. */
export type IsolatedOutcome = { result: RunResult; hung?: undefined } | { result: RunResult; hung: { at: number; limitMs: number; starting: boolean } };

/**
 * The module a single run's worker loads, when this process runs the `rxtrade` command line
 * itself — dist/cli.js (this code in it, or in a chunk of it under dist/cli/), a bundle of it, or
 * src/cli/index.ts under tsx: the script it was started with lies in this module's folder or
 * above it; `undefined` when the command runs inside another program (a test calling
 * `backtestCommand`): the run then stays in this thread, as before.
 */
export function isolationEntry(): URL | undefined {
  const script = process.argv[1];
  if (script === undefined || !import.meta.url.startsWith("file:")) return undefined;
  let entryDir: string;
  try {
    entryDir = dirname(realpathSync(script));
  } catch {
    return undefined;
  }
  const below = relative(entryDir, dirname(fileURLToPath(import.meta.url)));
  return below.startsWith("..") || isAbsolute(below) ? undefined : workerEntry();
}

/**
 * Runs one backtest on a worker thread, so that a strategy stuck in a synchronous loop cannot
 * hold the command: the worker stamps a shared heartbeat at every tick (and every 100 ms while
 * its event loop is free), and the main thread terminates it once the heartbeat is older than
 * --call-timeout (at least 1 s). The main thread prints what the worker posts: the ticks that
 * make a line, progress, error$ reports; the result at the end. Terminated (hung, or not
 * stopping within a second of Ctrl-C), the result is built from what was posted: the trades,
 * the statistics of the closed ones, `end: "interrupted"`.
 */
export function runIsolated(entry: URL, job: SingleJob, strategyName: string, hooks: IsolatedHooks): Promise<IsolatedOutcome> {
  const started = performance.now();
  const shared = new Float64Array(new SharedArrayBuffer(3 * Float64Array.BYTES_PER_ELEMENT));
  shared[0] = Date.now();
  shared[1] = Number.NaN;
  shared[2] = 0;
  const worker = new Worker(entry, { argv: ["backtest"], workerData: { kind: WORKER_SINGLE, job, shared: shared.buffer } });
  const ledger = new TradeLedger();
  let last: TickResult | undefined;
  let ticks = 0;
  let errorCount = 0;
  let ready = false;
  const startedAt = Date.now();
  const hangMs = Math.max(job.window.callTimeoutMs, MIN_HANG_MS);
  const startMs = job.moduleTimeoutMs + 10_000;

  return new Promise<IsolatedOutcome>((resolve, reject) => {
    let settled = false;
    let crash: string | undefined;
    let stopTimer: NodeJS.Timeout | undefined;
    const finish = (outcome: IsolatedOutcome | Error) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      clearTimeout(stopTimer);
      hooks.signal.removeEventListener("abort", onAbort);
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    // What was posted, as runBacktest would have ended it at the last tick known.
    const partial = (): RunResult => {
      const open: BacktestOpenSignal | null = last !== undefined && (last.action === "opened" || last.action === "active" || last.action === "scheduled") ? last : null;
      const stamped = shared[1] as number;
      const lastTick = Number.isNaN(stamped) ? (last?.timestamp ?? null) : Math.max(stamped, last?.timestamp ?? stamped);
      return {
        symbol: job.symbol,
        strategyName: last?.strategyName ?? strategyName,
        from: job.plan.from,
        to: job.plan.to,
        dataEnd: job.plan.dataEnd,
        tickMs: job.window.tickMs,
        end: "interrupted",
        open,
        lastTick,
        ticks: Math.max(ticks, shared[2] as number),
        // The minutes from the first tick to the last (gaps in the data counted too: the worker that knew is gone).
        candles: lastTick === null ? 0 : Math.max(0, Math.floor((Math.min(lastTick, job.plan.dataEnd) - job.plan.from) / MINUTE) + 1),
        trades: ledger.results,
        stats: historyStatistics(ledger, undefined, open?.action === "active" ? open : undefined),
        dataStart: job.source.kind === "file" ? job.source.facts.first : ((job.source.candles[0] as Candle | undefined)?.timestamp ?? job.plan.from),
        errorCount,
        elapsedMs: performance.now() - started,
      };
    };
    const terminate = (hung?: { at: number; limitMs: number; starting: boolean }) => {
      if (settled) return;
      const result = partial();
      void worker.terminate();
      finish(hung === undefined ? { result } : { result, hung });
    };
    const watchdog = setInterval(() => {
      if (!ready) {
        if (Date.now() - startedAt > startMs) terminate({ at: job.plan.from, limitMs: startMs, starting: true });
        return;
      }
      if (Date.now() - (shared[0] as number) <= hangMs) return;
      const lastTick = shared[1] as number;
      // The tick after the last one the worker finished is the one it is stuck in.
      terminate({ at: Number.isNaN(lastTick) ? job.plan.from : lastTick + job.window.tickMs, limitMs: hangMs, starting: false });
    }, Math.min(100, hangMs / 10));
    const onAbort = () => {
      worker.postMessage({ kind: "stop" });
      stopTimer = setTimeout(() => terminate(), STOP_GRACE_MS);
    };
    if (hooks.signal.aborted) onAbort();
    else hooks.signal.addEventListener("abort", onAbort, { once: true });

    worker.on("message", (reply: SingleReply) => {
      if (settled) return;
      switch (reply.kind) {
        case "ready":
          ready = true;
          return;
        case "tick":
          if (last === undefined || reply.tick.timestamp >= last.timestamp) last = reply.tick;
          ledger.add(reply.tick);
          hooks.onTick(reply.tick);
          return;
        case "progress":
          ticks = reply.ticks;
          if (last === undefined || reply.last.timestamp >= last.timestamp) last = reply.last;
          hooks.onProgress(reply.last.timestamp, reply.closed);
          return;
        case "error":
          errorCount++;
          hooks.onError(reply.name, reply.message);
          return;
        case "result":
          finish({ result: reply.result });
          return;
        case "failed":
          finish(new Error(reply.message));
          return;
      }
    });
    worker.on("error", (error: Error) => {
      crash ??= `the backtest's worker crashed: ${error?.stack?.split("\n")[0] ?? String(error)}`;
    });
    worker.on("exit", (code) => finish(new Error(crash ?? `the backtest's worker exited (code ${code}) before it reported a result`)));
  });
}

/** The worker's side of `runIsolated`: loads the strategy, runs the file, posts what the main thread prints. */
export async function serveSingle(): Promise<number> {
  const port = parentPort;
  if (port === null) throw new Error("serveSingle runs in a worker thread");
  const { job, shared: buffer } = workerData as { job: SingleJob; shared: SharedArrayBuffer };
  const shared = new Float64Array(buffer);
  const heartbeat = setInterval(() => {
    shared[0] = Date.now();
  }, BEAT_MS);
  const stop = new AbortController();
  port.on("message", (request: { kind?: unknown }) => {
    if (request?.kind === "stop") stop.abort();
  });
  const post = (reply: SingleReply) => port.postMessage(reply);
  try {
    const strategy = await resolveStrategy("backtest", job.strategy, job.moduleTimeoutMs);
    const { source: given, plan } = job;
    const source: CandleSource =
      given.kind === "array"
        ? { candles: given.candles, first: (given.candles[0] as Candle).timestamp, last: (given.candles.at(-1) as Candle).timestamp, rows: given.candles.length, warnings: [], description: () => "" }
        : { candles: checkedCsvCandleFile(given.path, given.facts), ...given.facts, description: () => given.path };
    shared[0] = Date.now();
    post({ kind: "ready" });
    let current: ReturnType<typeof held> = null;
    let stopSeen = false;
    let closed = 0;
    let ticks = 0;
    let lastPost = Number.NEGATIVE_INFINITY;
    const result = await runWindow(job.symbol, strategy, source, plan, job.window, {
      onTick: (tick) => {
        shared[0] = Date.now();
        shared[1] = tick.timestamp;
        shared[2] = ++ticks;
        if (tick.action === "closed") closed++;
        let line = eventLine(tick, current) !== undefined;
        current = held(tick);
        if (!stopSeen && tick.timestamp >= plan.to) {
          stopSeen = true;
          line = true;
        }
        if (line) post({ kind: "tick", tick });
        const now = performance.now();
        if (now - lastPost >= PROGRESS_MS) {
          lastPost = now;
          post({ kind: "progress", closed, ticks, last: tick });
        }
      },
      onError: (error) => post({ kind: "error", name: error.name, message: error.message }),
      signal: stop.signal,
      beat: () => {
        shared[0] = Date.now();
      },
    });
    post({ kind: "result", result });
  } catch (error) {
    post({ kind: "failed", message: describeThrown(error).replace(/^rxtrade: /, "") });
  } finally {
    clearInterval(heartbeat);
    port.close();
  }
  return EXIT.ok;
}

/** The `workerData` kind of a throwaway worker that only loads the strategy (see `probeStrategy`). */
export const WORKER_PROBE = "rxtrade-backtest-probe";

/** Time a probe's worker has to start (load this command's modules) beyond --module-timeout. */
const PROBE_START_MS = 5_000;

/**
 * Loads `--strategy` (a file) once on a throwaway worker thread before this thread loads it: a
 * module that loops synchronously at import (or a factory export that does) would hold this
 * thread for good, --module-timeout and Ctrl-C with it. The worker is terminated when it has
 * not finished within --module-timeout (and the worker's start): a UsageError (exit 2). A module
 * that fails otherwise is left to this thread's load to report (the same error, said once).
 */
export async function probeStrategy(entry: URL, spec: string, moduleTimeoutMs: number, signal?: AbortSignal): Promise<void> {
  const worker = new Worker(entry, { argv: ["backtest"], workerData: { kind: WORKER_PROBE, strategy: spec, moduleTimeoutMs }, stdout: false, stderr: false });
  let ready = false;
  const late = await new Promise<boolean>((resolve) => {
    const done = (value: boolean) => {
      clearTimeout(startTimer);
      clearTimeout(loadTimer);
      signal?.removeEventListener("abort", onAbort);
      resolve(value);
    };
    const onAbort = () => done(false);
    signal?.addEventListener("abort", onAbort, { once: true });
    // The worker's start, then the module's load: each timed from its own beginning.
    const startTimer = setTimeout(() => done(!ready), moduleTimeoutMs + PROBE_START_MS);
    let loadTimer: NodeJS.Timeout | undefined;
    worker.on("message", (message: { kind?: unknown }) => {
      if (message?.kind === "loading") {
        ready = true;
        clearTimeout(startTimer);
        loadTimer = setTimeout(() => done(true), moduleTimeoutMs + 250);
      } else done(false);
    });
    worker.on("error", () => done(false));
    worker.on("exit", () => done(false));
  });
  await worker.terminate();
  if (late) {
    throw new UsageError(
      "backtest",
      `--strategy ${spec}: the module did not finish loading within ${moduleTimeoutMs / 1000} s (a synchronous loop at import, or in its factory?); ` +
        `fix the module, or allow it longer with --module-timeout <seconds> (now ${moduleTimeoutMs / 1000})`,
    );
  }
}

/** The probe's worker: loads the strategy, says when it starts and when it is done. */
export async function serveProbe(): Promise<number> {
  const port = parentPort;
  if (port === null) throw new Error("serveProbe runs in a worker thread");
  const { strategy, moduleTimeoutMs } = workerData as { strategy: string; moduleTimeoutMs: number };
  port.postMessage({ kind: "loading" });
  try {
    await resolveStrategy("backtest", strategy, moduleTimeoutMs);
    port.postMessage({ kind: "loaded" });
  } catch {
    port.postMessage({ kind: "failed" });
  } finally {
    port.close();
  }
  return EXIT.ok;
}
