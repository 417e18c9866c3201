import { ArgumentSyntaxError } from "../errors";
import type { Candle } from "../model";
import { MINUTE_MS } from "../model";

export interface CandleOptions {
  /** Open time of the first candle, ms. Default `0`. */
  start?: number;
  /** Width of each candle, ms. Default one minute. */
  stepMs?: number;
  /** Volume of each candle. Default `1`. */
  volume?: number;
}

/**
 * Flat candles from a price list: candle i opens at `start + i x stepMs` with
 * open = high = low = close = `prices[i]`. Its typical price is the price itself, so with
 * `CC_AVG_PRICE_CANDLES_COUNT: 1` a tick's price is the price of the last closed minute.
 *
 * @example
 * candlesFromPrices([100, 101, 102], { start: -3 * 60_000 });
 */
export function candlesFromPrices(prices: readonly number[], options: CandleOptions = {}): Candle[] {
  const { start = 0, stepMs = MINUTE_MS, volume = 1 } = options;
  return prices.map((price, i) => ({
    timestamp: start + i * stepMs,
    open: price,
    high: price,
    low: price,
    close: price,
    volume,
  }));
}

/**
 * Flat candles from a price marble: one character per minute. A letter is a price from
 * `values`; `-` repeats the previous price; spaces are ignored (for alignment).
 *
 * ```
 * candlesFromMarble("a--b-c", { a: 100, b: 102, c: 97 })   // 100 100 100 102 102 97
 * ```
 */
export function candlesFromMarble(marble: string, values: Readonly<Record<string, number>>, options: CandleOptions = {}): Candle[] {
  const prices: number[] = [];
  let last: number | undefined;
  for (const ch of marble) {
    if (ch === " ") continue;
    if (ch === "-") {
      if (last === undefined) {
        throw new ArgumentSyntaxError(`price marble ${JSON.stringify(marble)} starts with "-": start with a price`, { argument: "marble", value: marble });
      }
      prices.push(last);
      continue;
    }
    const price = values[ch];
    if (price === undefined) {
      const defined = Object.keys(values);
      throw new ArgumentSyntaxError(
        `price marble ${JSON.stringify(marble)} uses ${JSON.stringify(ch)}, which values does not define` +
          `${defined.length === 0 ? " (it defines none)" : ` (it defines ${defined.join(", ")})`}; add ${JSON.stringify(ch)} to values, or use "-" to repeat the previous price`,
        { argument: "marble", value: marble },
      );
    }
    prices.push(price);
    last = price;
  }
  return candlesFromPrices(prices, options);
}
