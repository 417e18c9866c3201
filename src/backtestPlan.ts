import { getConfig, resolveConfig } from "./config";
import { ArgumentError, ArgumentRangeError } from "./errors";
import { type Candle, type LiveOptions, MINUTE_MS } from "./model";
import { showValue } from "./showValue";
import { DEFAULT_TICK_MS } from "./tradeContext";
import { type CandleWindow, DEFAULT_LOOKBACK_MINUTES } from "./backtestWindow";
import type { BacktestOptions } from "./backtest";

/** Real ms a backtest gives a strategy's Promise to settle, by default. */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** Strategy calls in a row that may time out before a backtest stops, by default. */
export const DEFAULT_MAX_CALL_TIMEOUTS = 3;
/** What the clock waits past the call timeout, so that the strategy's own rejection comes first. */
const GRACE_PAST_TIMEOUT_MS = 100;
const MAX_TIMER_MS = 2_147_483_647;

/** The options of a backtest, checked once before anything runs. */
export interface BacktestPlan {
  /** The candles when given as an array (oldest first), else `undefined`. */
  candles: readonly Candle[] | undefined;
  /** The candles when given as an AsyncIterable, else `undefined`. */
  stream: AsyncIterable<Candle> | undefined;
  /** `from` as given, or (an array) as defaulted. */
  from: number | undefined;
  /** `to` as given, or (an array) as defaulted. */
  to: number | undefined;
  /** An array's: the close of its last candle. */
  dataEnd: number;
  /** An array's: the first time the data has no candle for the newest closed minute; the run ends there. */
  end: number;
  tickMs: number;
  /** CC_AVG_PRICE_CANDLES_COUNT: minutes of candles a tick prices with. */
  priceMinutes: number;
  lookbackMinutes: number;
  callTimeoutMs: number;
  maxCallTimeouts: number;
  graceMs: number;
  live: Omit<LiveOptions, "exchange" | "scheduler" | "stop$" | "tickMs">;
}

/** Checks the options once, before anything runs (an array's window too; a stream's once it is read). */
export function backtestPlan(options: BacktestOptions): BacktestPlan {
  const isStream = options !== null && typeof options === "object" && isAsyncIterable(options.candles);
  if (options === null || typeof options !== "object" || (!Array.isArray(options.candles) && !isStream)) {
    const noOptions = options === null || typeof options !== "object";
    const value: unknown = noOptions ? options : options.candles;
    throw new ArgumentError(
      `backtest options need candles: backtest$(symbol, strategy, { candles, from, to }); got ${noOptions ? "options" : "candles"} ${showValue(value)}. ` +
        "Give one-minute candles, oldest first, e.g. await csvCandles(BUNDLED_BTCUSDT_1M) from rxtrade/node",
      { argument: noOptions ? "options" : "options.candles", value },
    );
  }
  const callTimeoutMs = positive(options.callTimeoutMs, "callTimeoutMs", DEFAULT_CALL_TIMEOUT_MS, MAX_TIMER_MS, "5000 (the default)");
  const maxCallTimeouts = options.maxCallTimeouts === Number.POSITIVE_INFINITY ? Infinity : positive(options.maxCallTimeouts, "maxCallTimeouts", DEFAULT_MAX_CALL_TIMEOUTS, Number.MAX_SAFE_INTEGER, "3 (the default), or Infinity never to stop", true);
  const lookbackMinutes = positive(options.lookbackMinutes, "lookbackMinutes", DEFAULT_LOOKBACK_MINUTES, Number.MAX_SAFE_INTEGER, "10080 (7 days, the default)", true);
  const graceMs = options.callGraceMs ?? callTimeoutMs + GRACE_PAST_TIMEOUT_MS;
  checkSignal(options.signal);
  const priceMinutes = resolveConfig(getConfig(), options.config).CC_AVG_PRICE_CANDLES_COUNT;
  const {
    candles: _candles,
    from: _from,
    to: _to,
    exchangeName: _name,
    callGraceMs: _grace,
    callTimeoutMs: _timeout,
    maxCallTimeouts: _max,
    lookbackMinutes: _lookback,
    signal: _signal,
    stop$: _stop,
    tickMs,
    ...live
  } = options;
  const common = { tickMs: tickMs ?? DEFAULT_TICK_MS, priceMinutes, lookbackMinutes, callTimeoutMs, maxCallTimeouts, graceMs, live };
  if (isStream) {
    return { candles: undefined, stream: options.candles as AsyncIterable<Candle>, from: options.from, to: options.to, dataEnd: Number.NaN, end: Number.NaN, ...common };
  }
  const candles = inTimeOrder(options.candles as readonly Candle[]);
  const first = candles[0];
  const last = candles.at(-1);
  if (first === undefined || last === undefined) {
    throw new ArgumentRangeError("backtest candles are empty; give one-minute candles, oldest first", { argument: "options.candles", value: options.candles });
  }
  const { from, to } = backtestWindow(options, first.timestamp, last.timestamp, priceMinutes);
  return { candles, stream: undefined, from, to, dataEnd: last.timestamp + MINUTE_MS, end: last.timestamp + 2 * MINUTE_MS, ...common };
}

/**
 * `from` and `to` of a run over data from the candle opening at `first` to the one opening at
 * `last` (`Infinity` while a stream is not read to its end): as given, or the first time the
 * data fill a price window and the close of the last candle.
 */
export function backtestWindow(options: Pick<BacktestOptions, "from" | "to">, first: number, last: number, priceMinutes: number): { from: number; to: number } {
  const end = last + 2 * MINUTE_MS;
  const earliest = first + MINUTE_MS;
  const from = options.from ?? first + priceMinutes * MINUTE_MS;
  const to = options.to ?? last + MINUTE_MS;
  const iso = (ms: number) => new Date(ms).toISOString();
  if (!Number.isFinite(from) || from < earliest || from >= end) {
    throw new ArgumentRangeError(
      `backtest from (${String(from)}) must be a time the data can price, from ${iso(earliest)} to before ${Number.isFinite(end) ? iso(end) : "the data end"}`,
      { argument: "options.from", value: from },
    );
  }
  if (Number.isNaN(to) || to <= from) {
    throw new ArgumentRangeError(`backtest to (${String(to)}) must be after from (${iso(from)})`, { argument: "options.to", value: to });
  }
  return { from, to };
}

function inTimeOrder(candles: readonly Candle[]): readonly Candle[] {
  for (let i = 1; i < candles.length; i++) {
    if ((candles[i] as Candle).timestamp <= (candles[i - 1] as Candle).timestamp) return [...candles].sort((a, b) => a.timestamp - b.timestamp);
  }
  return candles;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return value !== null && typeof value === "object" && typeof (value as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === "function";
}

function positive(value: number | undefined, name: string, fallback: number, max: number, example: string, integer = false): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0 && value <= max) || (integer && !Number.isInteger(value))) {
    throw new ArgumentRangeError(`backtest ${name} (${showValue(value)}) must be a ${integer ? "whole " : ""}number from 1 to ${max}, e.g. ${example}`, {
      argument: `options.${name}`,
      value,
    });
  }
  return value;
}

function checkSignal(signal: unknown): void {
  if (signal === undefined) return;
  const candidate = signal as { aborted?: unknown; addEventListener?: unknown } | null;
  if (candidate === null || typeof candidate !== "object" || typeof candidate.aborted !== "boolean" || typeof candidate.addEventListener !== "function") {
    throw new ArgumentError(`backtest signal must be an AbortSignal (new AbortController().signal); got ${showValue(signal)}`, { argument: "options.signal", value: signal });
  }
}

// Reads a stream's first candle, checks the window against it, and reads on to `from`.
export async function openStream(window: CandleWindow, options: BacktestOptions, plan: BacktestPlan): Promise<{ from: number; to: number }> {
  await window.fill(Number.NEGATIVE_INFINITY);
  if (window.first === undefined) {
    throw new ArgumentRangeError("backtest candles are empty; give one-minute candles, oldest first", { argument: "options.candles", value: options.candles });
  }
  const first = window.first;
  const from = options.from ?? first + plan.priceMinutes * MINUTE_MS;
  backtestWindow({ from, to: options.to ?? Number.POSITIVE_INFINITY }, first, Number.POSITIVE_INFINITY, plan.priceMinutes);
  window.countSince(from - MINUTE_MS);
  await window.fill(from);
  // Now that the data may be known to end before `from`, or `to` to lie past them: checked again.
  return backtestWindow({ from, to: options.to }, first, window.ended ? window.newest : Number.POSITIVE_INFINITY, plan.priceMinutes);
}
