import type { SignalDto, SignalInterval, StrategySchema } from "../model";

/** A strategy that records when it was asked. */
export type ScriptedStrategy = StrategySchema & {
  /** The `when` of each `getSignal` call, in ms, in call order. */
  readonly calls: number[];
};

/**
 * A strategy for tests: its i-th `getSignal` call returns `script[i]` (then `null`), and every
 * call's time is recorded in `calls` — so a test can say what the engine was given and when
 * it asked.
 *
 * @example
 * const strategy = scriptedStrategy("s", [null, { position: "long", priceTakeProfit: 102, priceStopLoss: 98, minuteEstimatedTime: 60 }]);
 * // … run it …
 * expect(strategy.calls).toEqual([0, 60_001]);
 */
export function scriptedStrategy(strategyName: string, script: ReadonlyArray<SignalDto | null>, interval: SignalInterval = "1m"): ScriptedStrategy {
  const calls: number[] = [];
  return {
    strategyName,
    interval,
    calls,
    getSignal(_symbol, when) {
      calls.push(when.getTime());
      return script[calls.length - 1] ?? null;
    },
  };
}
