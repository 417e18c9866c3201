import type { SignalDto, StrategySchema } from "rxtrade";
import { DonchianChannels } from "trading-signals";

export interface BreakoutOptions {
  /** One-minute candles that make the range. Default 60. */
  lookback?: number;
  /** Take profit distance from the entry, percent. Default 1. */
  takeProfitPercent?: number;
  /** Stop loss distance from the entry, percent. Default 0.6. */
  stopLossPercent?: number;
  /** Lifetime of a position once entered, minutes. Default 120. */
  minutes?: number;
}

/**
 * Breakout with a limit entry: when the price breaks out of the range of the last `lookback`
 * minutes, do not chase it — place a limit order back at the broken level and wait for the
 * retest. Above the range: a long limit at the range's high; below: a short limit at its low.
 * The range is `trading-signals`' `DonchianChannels` over the candles of `ctx.getCandles` (an
 * `async` strategy: on a `VirtualClock`, test it with `flushAsync`).
 *
 * Because `priceOpen` is given, the signal is first `scheduled`. It is `opened` when the price
 * comes back to the level, `cancelled` (`timeout`) when it does not within
 * CC_SCHEDULE_AWAIT_MINUTES (120), or `cancelled` (`stop_loss`) when it falls through the stop
 * loss before the entry.
 *
 * ```
 * price:   ~~~~~/‾\__/‾‾   (breaks above the range high H, comes back to it, goes on)
 * signal:       s   o   c  (s scheduled at H, o opened at H, c closed)
 * ```
 */
export function breakoutStrategy(options: BreakoutOptions = {}): StrategySchema {
  const { lookback = 60, takeProfitPercent = 1, stopLossPercent = 0.6, minutes = 120 } = options;
  if (!(Number.isInteger(lookback) && lookback >= 2)) throw new RangeError(`breakout: lookback (${lookback}) must be an integer >= 2`);
  return {
    strategyName: "breakout",
    interval: "1m",
    async getSignal(_symbol, _when, { currentPrice, getCandles }): Promise<SignalDto | null> {
      const candles = await getCandles("1m", lookback);
      if (candles.length < lookback) return null; // not enough history yet
      // The range (a Donchian channel) of the minutes before the latest, so the breakout candle
      // itself does not move it.
      const channel = new DonchianChannels(lookback - 1);
      for (const candle of candles.slice(0, -1)) channel.add(candle);
      const range = channel.getResult();
      if (range === null) return null;
      const { upper: high, lower: low } = range;
      const tp = takeProfitPercent / 100;
      const sl = stopLossPercent / 100;
      if (currentPrice > high) {
        return {
          position: "long",
          priceOpen: high,
          priceTakeProfit: high * (1 + tp),
          priceStopLoss: high * (1 - sl),
          minuteEstimatedTime: minutes,
          note: `broke above the ${lookback}-minute high ${high.toFixed(2)}; buying the retest`,
        };
      }
      if (currentPrice < low) {
        return {
          position: "short",
          priceOpen: low,
          priceTakeProfit: low * (1 - tp),
          priceStopLoss: low * (1 + sl),
          minuteEstimatedTime: minutes,
          note: `broke below the ${lookback}-minute low ${low.toFixed(2)}; selling the retest`,
        };
      }
      return null;
    },
  };
}

/** Ready to run: `rxtrade demo --strategy breakout` (or this file's path). */
export const strategy: StrategySchema = breakoutStrategy();
