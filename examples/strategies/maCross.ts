import type { Candle, SignalDto, SignalInterval, StrategySchema } from "rxtrade";

export interface MaCrossOptions {
  /** Candles the averages are taken over; a cross is looked for once per candle. Default "5m". */
  candles?: SignalInterval;
  /** Length of the fast simple moving average, in candles. Default 9. */
  fast?: number;
  /** Length of the slow simple moving average, in candles. Default 21. */
  slow?: number;
  /** Take profit distance, in percent of the entry. Default 1. */
  takeProfitPercent?: number;
  /** Stop loss distance, in percent of the entry. Default 0.7. */
  stopLossPercent?: number;
  /** Lifetime of a position, minutes. Default 180. */
  minutes?: number;
}

/**
 * Moving-average cross: when the fast average of the last closes crosses above the slow one,
 * go long; when it crosses below, go short. The averages come from `ctx.getCandles`, so the
 * strategy is `async` — it runs the same live, in a replay, and in tests on a `VirtualClock`
 * with `flushAsync`.
 *
 * ```
 * closes:  ‾‾‾\___/‾‾‾‾
 * fast:    ‾‾‾‾\_/‾‾‾‾‾
 * slow:    ‾‾‾‾‾\__/‾‾‾
 *                ^  ^
 *            short  long   (fast crosses slow)
 * ```
 */
export function maCrossStrategy(options: MaCrossOptions = {}): StrategySchema {
  const { candles: interval = "5m", fast = 9, slow = 21, takeProfitPercent = 1, stopLossPercent = 0.7, minutes = 180 } = options;
  if (!(Number.isInteger(fast) && Number.isInteger(slow) && fast >= 1 && slow > fast)) {
    throw new RangeError(`ma-cross: fast (${fast}) and slow (${slow}) must be integers with 1 <= fast < slow`);
  }
  return {
    strategyName: "ma-cross",
    // Asked once per candle, it compares the averages of the last closed candle with those of
    // the one before: each call sees exactly one new candle, so no cross falls between calls.
    interval,
    async getSignal(_symbol, _when, { currentPrice, getCandles }): Promise<SignalDto | null> {
      // One candle more than the slow average needs: the averages now and one candle ago.
      const closes = (await getCandles(interval, slow + 1)).map((candle: Candle) => candle.close);
      if (closes.length < slow + 1) return null; // not enough history yet
      const before = closes.slice(0, -1);
      const wasAbove = average(before, fast) > average(before, slow);
      const isAbove = average(closes, fast) > average(closes, slow);
      if (wasAbove === isAbove) return null; // no cross
      const long = isAbove;
      const tp = takeProfitPercent / 100;
      const sl = stopLossPercent / 100;
      return {
        position: long ? "long" : "short",
        priceTakeProfit: currentPrice * (long ? 1 + tp : 1 - tp),
        priceStopLoss: currentPrice * (long ? 1 - sl : 1 + sl),
        minuteEstimatedTime: minutes,
        note: `SMA${fast} crossed ${long ? "above" : "below"} SMA${slow} on ${interval} candles`,
      };
    },
  };
}

/** The mean of the last `count` values. */
function average(values: readonly number[], count: number): number {
  let sum = 0;
  for (let i = values.length - count; i < values.length; i++) sum += values[i] as number;
  return sum / count;
}

/** Ready to run: `rxtrade demo --strategy ma-cross` (or this file's path). */
export const strategy: StrategySchema = maCrossStrategy();
