import type { SchedulerLike } from "rxjs";
import { asyncScheduler } from "rxjs";
import { ArgumentRangeError } from "../errors";
import { type Candle, CANDLE_INTERVALS, type CandleInterval, type ExchangeSchema, intervalMs, MINUTE_MS } from "../model";

export interface ReplayExchangeOptions {
  /** Default `"replay"`. */
  exchangeName?: string;
}

/**
 * An exchange that replays recorded one-minute candles against a clock. It serves, as of
 * `clock.now()`, only candles that have closed (open time + interval <= now) — never the
 * future — synchronously, as plain arrays (when several callers ask for the same window, the
 * later ones share one frozen array). Wider intervals are aggregated from the 1m candles. Every symbol is served the
 * same series.
 *
 * @example
 * const scheduler = new VirtualClock(Date.parse("2023-03-01T01:00:00Z"));
 * const exchange = replayExchange(candles, scheduler);
 * liveTrade$("BTCUSDT", strategy, { exchange, scheduler }).subscribe();
 *
 * @param candles one-minute candles, oldest first
 * @param clock the stream's scheduler (default `asyncScheduler`, i.e. wall-clock time)
 */
export function replayExchange(
  candles: readonly Candle[],
  clock: Pick<SchedulerLike, "now"> = asyncScheduler,
  options: ReplayExchangeOptions = {},
): ExchangeSchema {
  const series = new Map<number, readonly Candle[]>([[MINUTE_MS, sortedCopy(candles)]]);
  // Replays move forward in time: start each search where the previous one ended.
  let hint = 0;
  // Many streams on one replay ask for the same window within a minute: serve them one frozen array.
  // The first asker of a window gets its own copy; the second and later share a frozen one.
  const last: { width: number; from: number; to: number; shared: readonly Candle[] | undefined } = { width: 0, from: -1, to: -1, shared: undefined };
  const seriesOf = (width: number): readonly Candle[] => {
    let found = series.get(width);
    if (found === undefined) {
      found = aggregate(series.get(MINUTE_MS) as readonly Candle[], width);
      series.set(width, found);
    }
    return found;
  };
  return {
    exchangeName: options.exchangeName ?? "replay",
    getCandles(_symbol: string, interval: CandleInterval, since: Date, limit: number): Candle[] {
      const width = intervalMs(interval);
      if (width === undefined) {
        throw new ArgumentRangeError(`unknown candle interval ${JSON.stringify(interval)}; use one of ${CANDLE_INTERVALS.join(", ")}`, {
          argument: "interval",
          value: interval,
        });
      }
      const all = seriesOf(width);
      const time = since.getTime();
      const from = width === MINUTE_MS ? (hint = nearBound(all, time, hint)) : lowerBound(all, time);
      // Candles whose open time is <= now - width have closed.
      // A candle has closed when timestamp + width <= now (times may be fractional). Searched
      // only within the `limit` candles after `from`: the rest of the series stays cold.
      const to = upperBound(all, clock.now() - width, from, Math.min(all.length, from + Math.max(0, limit)));
      if (last.width === width && last.from === from && last.to === to) {
        return (last.shared ??= Object.freeze(all.slice(from, to))) as Candle[];
      }
      last.width = width;
      last.from = from;
      last.to = to;
      last.shared = undefined;
      return all.slice(from, to);
    },
  };
}

/** Index of the first candle in [lo, hi) with timestamp > `time` (`hi` when there is none). */
function upperBound(candles: readonly Candle[], time: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `lowerBound`, trying a few steps forward from `hint` first. */
function nearBound(candles: readonly Candle[], time: number, hint: number): number {
  if (hint > candles.length || (hint > 0 && (candles[hint - 1] as Candle).timestamp >= time)) return lowerBound(candles, time);
  for (let i = hint, stop = Math.min(candles.length, hint + 4); i < stop; i++) {
    if ((candles[i] as Candle).timestamp >= time) return i;
  }
  return lowerBound(candles, time, hint);
}

/** Index of the first candle in [lo, hi) with timestamp >= `time` (`hi` when there is none). */
function lowerBound(candles: readonly Candle[], time: number, lo = 0, hi = candles.length): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sortedCopy(candles: readonly Candle[]): readonly Candle[] {
  for (let i = 1; i < candles.length; i++) {
    if ((candles[i] as Candle).timestamp <= (candles[i - 1] as Candle).timestamp) {
      return [...candles].sort((a, b) => a.timestamp - b.timestamp);
    }
  }
  return candles;
}

/** Candles of `width` ms aligned to multiples of `width`, from one-minute candles. */
function aggregate(candles: readonly Candle[], width: number): Candle[] {
  const out: Candle[] = [];
  let bucket: Candle | undefined;
  for (const c of candles) {
    const open = Math.floor(c.timestamp / width) * width;
    if (bucket === undefined || bucket.timestamp !== open) {
      bucket = { timestamp: open, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
      out.push(bucket);
    } else {
      if (c.high > bucket.high) bucket.high = c.high;
      if (c.low < bucket.low) bucket.low = c.low;
      bucket.close = c.close;
      bucket.volume += c.volume;
    }
  }
  return out;
}
