import type { SignalDto, StrategySchema } from "rxtrade";
import { ROC } from "trading-signals";

export interface MomentumOptions {
  /** How many idle ticks back the price is compared with. Default 3. */
  lookback?: number;
  /** Move, in percent, that triggers a trade. Default 0.3. */
  thresholdPercent?: number;
  /** Take profit and stop loss distance, in percent of the entry. Default 1. */
  exitPercent?: number;
  /** Lifetime of a position, minutes. Default 60. */
  minutes?: number;
}

/**
 * Momentum: when the price moved at least `thresholdPercent` over the last `lookback` idle
 * ticks, trade in that direction with a symmetric take profit and stop loss. The move is
 * `trading-signals`' rate of change (`ROC`) over the prices the strategy was asked at.
 * Synchronous and deterministic, so it can be marble-tested in virtual time.
 */
export function momentumStrategy(options: MomentumOptions = {}): StrategySchema {
  const { lookback = 3, thresholdPercent = 0.3, exitPercent = 1, minutes = 60 } = options;
  let roc = new ROC(lookback);
  return {
    strategyName: "momentum",
    interval: "1m",
    getSignal(_symbol, _when, { currentPrice }): SignalDto | null {
      // (price - price `lookback` calls ago) / that price; null until lookback + 1 prices were seen.
      const rate = roc.add(currentPrice);
      if (rate === null) return null;
      const change = rate * 100;
      if (Math.abs(change) < thresholdPercent) return null;
      roc = new ROC(lookback); // start a fresh look-back after a trade
      const up = change > 0;
      const exit = exitPercent / 100;
      return {
        position: up ? "long" : "short",
        priceTakeProfit: currentPrice * (up ? 1 + exit : 1 - exit),
        priceStopLoss: currentPrice * (up ? 1 - exit : 1 + exit),
        minuteEstimatedTime: minutes,
        note: `momentum ${change.toFixed(2)} % over ${lookback} ticks`,
      };
    },
  };
}

/** Ready to run: `rxtrade demo --strategy momentum` (or this file's path). */
export const strategy: StrategySchema = momentumStrategy();
