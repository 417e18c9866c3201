import { listenError, type StrategySchema, type TickResult } from "rxtrade";
import { type BacktestResult, runBacktest } from "rxtrade/node";
import type { CandleSource, WindowPlan } from "./backtestData";
import type { WindowFlags } from "./backtestFlags";

const MINUTE = 60_000;

/** Progress a run reports: how far the clock is, and the closed signals so far. */
export interface RunProgress {
  now: number;
  closed: number;
}

/** A backtest's result as the command reports it. */
export interface RunResult extends BacktestResult {
  /** The open time of the data's first candle. */
  dataStart: number;
  /** Errors the loop reported on error$ (and survived). */
  errorCount: number;
  elapsedMs: number;
  /**
   * Why an `"interrupted"` run stopped when it was not Ctrl-C: `"hung"`, the strategy did not
   * return within --call-timeout (its worker thread was terminated); `"start"`, the worker did
   * not start.
   */
  stoppedBy?: "hung" | "start";
}

export interface RunHooks {
  onTick?: (result: TickResult) => void;
  onError?: (error: Error) => void;
  /** Ctrl-C: the run stops at its current tick (`end: "interrupted"`). */
  signal?: AbortSignal;
  /**
   * Stamps the watchdog's heartbeat: called at the start and the end of every call of the
   * strategy (getSignal, each callback), so that only one call longer than the limit is a hang.
   */
  beat?: () => void;
}

/** `strategy` with `beat` called before and after each of its calls (getSignal and every callback). */
export function beatingStrategy(strategy: StrategySchema, beat: () => void): StrategySchema {
  const wrap = <F extends (...args: never[]) => unknown>(fn: F, self: unknown): F =>
    function (this: unknown, ...args: Parameters<F>) {
      beat();
      try {
        return fn.apply(self, args);
      } finally {
        beat();
      }
    } as F;
  const callbacks = strategy.callbacks === undefined ? undefined : Object.fromEntries(
    Object.entries(strategy.callbacks).map(([name, fn]) => [name, typeof fn === "function" ? wrap(fn as (...args: never[]) => unknown, strategy.callbacks) : fn]),
  );
  return { ...strategy, getSignal: wrap(strategy.getSignal, strategy), ...(callbacks === undefined ? {} : { callbacks }) };
}

/** `runBacktest` over a source, timed, with the loop's error$ reports of this symbol counted and passed on. */
export async function runWindow(symbol: string, strategy: StrategySchema, source: CandleSource, plan: WindowPlan, window: WindowFlags, hooks: RunHooks): Promise<RunResult> {
  let errorCount = 0;
  const stopListening = listenError((error) => {
    const context = error as { symbol?: string };
    if (context.symbol !== undefined && context.symbol !== symbol) return;
    errorCount++;
    hooks.onError?.(error);
  });
  const started = performance.now();
  try {
    const result = await runBacktest(symbol, hooks.beat === undefined ? strategy : beatingStrategy(strategy, hooks.beat), {
      candles: source.candles,
      from: plan.from,
      to: plan.to,
      tickMs: window.tickMs,
      callTimeoutMs: window.callTimeoutMs,
      lookbackMinutes: window.lookbackMinutes,
      onTick: hooks.onTick,
      signal: hooks.signal,
    });
    // A streamed file is read only as far as the run went: its end is known from the check before it.
    return { ...result, dataEnd: source.last + MINUTE, dataStart: source.first, errorCount, elapsedMs: performance.now() - started };
  } finally {
    stopListening();
  }
}
