import { map } from "rxjs";
import type { Candle, SignalDto, SignalInterval, StrategySchema } from "rxtrade";
import { SMA } from "trading-signals";

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
 * go long; when it crosses below, go short. The averages are `trading-signals`' `SMA`, over the
 * candles of `ctx.candles$`: on a replay or a `marbleExchange` the candles, and so the answer,
 * come synchronously, so the strategy is marble-tested inside `TestScheduler.run`
 * (examples/marble-testing/maCross.test.ts); on a real exchange it answers when the candles come.
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
  const tp = takeProfitPercent / 100;
  const sl = stopLossPercent / 100;
  return {
    strategyName: "ma-cross",
    // Asked once per candle, it compares the averages of the last closed candle with those of
    // the one before: each call sees exactly one new candle, so no cross falls between calls.
    interval,
    getSignal: (_symbol, _when, { currentPrice, candles$ }) =>
      // One candle more than the slow average needs: the averages now and one candle ago.
      candles$(interval, slow + 1).pipe(
        map((candles): SignalDto | null => {
          const cross = crossOf(candles, fast, slow);
          if (cross === undefined) return null;
          const long = cross === "above";
          return {
            position: long ? "long" : "short",
            priceTakeProfit: currentPrice * (long ? 1 + tp : 1 - tp),
            priceStopLoss: currentPrice * (long ? 1 - sl : 1 + sl),
            minuteEstimatedTime: minutes,
            note: `SMA${fast} crossed ${cross} SMA${slow} on ${interval} candles`,
          };
        }),
      ),
  };
}

/**
 * Whether the fast SMA of the closes crossed the slow one with the last candle: `"above"` when
 * it was not above one candle earlier and is now, `"below"` for the reverse, `undefined` when
 * nothing crossed or there are not yet two slow averages.
 */
export function crossOf(candles: readonly Candle[], fast: number, slow: number): "above" | "below" | undefined {
  const fastSma = new SMA(fast);
  const slowSma = new SMA(slow);
  let was: boolean | undefined;
  let is: boolean | undefined;
  for (const { close } of candles) {
    const fastValue = fastSma.add(close);
    const slowValue = slowSma.add(close);
    if (fastValue === null || slowValue === null) continue;
    was = is;
    is = fastValue > slowValue;
  }
  if (was === undefined || is === undefined || was === is) return undefined;
  return is ? "above" : "below";
}

/** Ready to run: `rxtrade demo --strategy ma-cross` (or this file's path). */
export const strategy: StrategySchema = maCrossStrategy();
