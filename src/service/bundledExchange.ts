import { asyncScheduler, type SchedulerLike } from "rxjs";
import { ArgumentRangeError } from "../errors";
import { type Candle, CANDLE_INTERVALS, type CandleInterval, type ExchangeSchema, intervalMs, MINUTE_MS } from "../model";

/** Options of `bundledExchange`. */
export interface BundledExchangeOptions {
  /** Default `"bundled"`. */
  exchangeName?: string;
}

/**
 * An exchange that serves recorded one-minute candles for any symbol at any time, without end:
 * the series is played forward, then backward (each candle mirrored: its open and close
 * swapped), then forward again, so prices never jump where it turns; and each symbol starts
 * at its own place in it, an offset of `bundledOffset(symbol)` minutes (FNV-1a of the symbol
 * as written). The same symbol at the same time always gets the same candle, on any machine.
 * As `replayExchange`, it serves only candles that have closed as of `clock.now()`,
 * synchronously; wider intervals are aggregated from the minutes (aligned to their width).
 *
 * ```
 * data (n minutes):   a b c … z
 * served, minute m:   … a b c … z z' … c' b' a' a b …   (x' = x mirrored), shifted per symbol
 * ```
 *
 * This is `rxtrade run`'s exchange `bundled`, on the bundled Binance.US BTC/USDT minutes: a
 * symbol trades BTC/USDT prices of March 2023 whatever its name, in real time or on a fast
 * clock — for trying a service offline and for tests.
 *
 * @example
 * import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
 * import { bundledExchange } from "rxtrade/service";
 * const exchange = bundledExchange(await csvCandles(BUNDLED_BTCUSDT_1M));
 * exchange.getCandles("ETHUSDT", "1m", new Date(Date.now() - 5 * 60_000), 5); // the last closed minutes
 *
 * @param candles one-minute candles, oldest first, one per minute (their times are not used: position in the array is)
 * @param clock the stream's scheduler (default `asyncScheduler`, i.e. wall-clock time)
 * @param options the exchange's name
 */
export function bundledExchange(
  candles: readonly Candle[],
  clock: Pick<SchedulerLike, "now"> = asyncScheduler,
  options: BundledExchangeOptions = {},
): ExchangeSchema {
  const n = candles.length;
  if (n === 0) {
    throw new ArgumentRangeError("bundledExchange needs at least one candle, e.g. await csvCandles(BUNDLED_BTCUSDT_1M)", { argument: "candles", value: candles });
  }
  const data = [...candles];
  const period = 2 * n;
  // Minute 0 of the cycle is the first candle's own minute: offset 0 plays the data at its real time.
  const origin = Math.floor((data[0] as Candle).timestamp / MINUTE_MS);
  const offsets = new Map<string, number>();
  const offsetOf = (symbol: string): number => {
    let offset = offsets.get(symbol);
    if (offset === undefined) {
      offset = bundledOffset(symbol, n);
      offsets.set(symbol, offset);
    }
    return offset;
  };
  const minute = (m: number, offset: number): Candle => {
    const k = (((m - origin + offset) % period) + period) % period;
    if (k < n) {
      const c = data[k] as Candle;
      return { timestamp: m * MINUTE_MS, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
    }
    const c = data[period - 1 - k] as Candle;
    return { timestamp: m * MINUTE_MS, open: c.close, high: c.high, low: c.low, close: c.open, volume: c.volume };
  };
  return {
    exchangeName: options.exchangeName ?? "bundled",
    getCandles(symbol: string, interval: CandleInterval, since: Date, limit: number): Candle[] {
      const width = intervalMs(interval);
      if (width === undefined) {
        throw new ArgumentRangeError(`unknown candle interval ${JSON.stringify(interval)}; use one of ${CANDLE_INTERVALS.join(", ")}`, { argument: "interval", value: interval });
      }
      const offset = offsetOf(symbol);
      const first = Math.ceil(since.getTime() / width) * width;
      // A candle has closed when its open + width <= now.
      const closed = Math.floor((clock.now() - first) / width);
      const count = Math.max(0, Math.min(Math.floor(limit), closed));
      const minutes = width / MINUTE_MS;
      const out: Candle[] = new Array(count);
      for (let i = 0; i < count; i++) {
        const start = (first + i * width) / MINUTE_MS;
        const bucket = minute(start, offset);
        for (let j = 1; j < minutes; j++) {
          const c = minute(start + j, offset);
          if (c.high > bucket.high) bucket.high = c.high;
          if (c.low < bucket.low) bucket.low = c.low;
          bucket.close = c.close;
          bucket.volume += c.volume;
        }
        out[i] = bucket;
      }
      return out;
    },
  };
}

/**
 * Where `symbol` starts in a `bundledExchange` of `length` candles: FNV-1a (32 bit) of the
 * symbol's UTF-16 code units, modulo twice the length (the forward-and-back cycle), in minutes.
 *
 * @param symbol the symbol as written (`BTCUSDT` and `BTC/USDT` differ)
 * @param length the number of one-minute candles the exchange serves
 */
export function bundledOffset(symbol: string, length: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < symbol.length; i++) {
    hash ^= symbol.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % (2 * length);
}
