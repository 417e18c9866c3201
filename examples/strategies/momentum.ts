import type { SignalDto, StrategySchema } from "rxtrade";

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
 * ticks, trade in that direction with a symmetric take profit and stop loss.
 * Synchronous and deterministic, so it can be marble-tested in virtual time.
 */
export function momentumStrategy(options: MomentumOptions = {}): StrategySchema {
  const { lookback = 3, thresholdPercent = 0.3, exitPercent = 1, minutes = 60 } = options;
  const prices: number[] = [];
  return {
    strategyName: "momentum",
    interval: "1m",
    getSignal(_symbol, _when, { currentPrice }): SignalDto | null {
      prices.push(currentPrice);
      if (prices.length > lookback + 1) prices.shift();
      if (prices.length <= lookback) return null;
      const base = prices[0] as number;
      const change = ((currentPrice - base) / base) * 100;
      if (Math.abs(change) < thresholdPercent) return null;
      prices.length = 0; // start a fresh look-back after a trade
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
