// The benchmark strategy, identical for the sync and async variants: on every third call
// (i.e. every third idle minute) it opens a long with take profit +1% and stop loss -1%,
// lifetime 120 minutes.

/** @returns {{ calls: number, decide(price: number): import("rxtrade").SignalDto | null }} */
function decider() {
  const self = {
    calls: 0,
    decide(price) {
      self.calls++;
      if (self.calls % 3 !== 0) return null;
      return { position: "long", priceTakeProfit: price * 1.01, priceStopLoss: price * 0.99, minuteEstimatedTime: 120 };
    },
  };
  return self;
}

/** @param {"sync" | "async"} kind */
export function benchStrategy(kind) {
  const d = decider();
  /** @type {import("rxtrade").StrategySchema} */
  const schema =
    kind === "sync"
      ? { strategyName: "bench-sync", interval: "1m", getSignal: (_symbol, _when, ctx) => d.decide(ctx.currentPrice) }
      : { strategyName: "bench-async", interval: "1m", getSignal: async (_symbol, _when, ctx) => d.decide(ctx.currentPrice) };
  return { schema, stats: d };
}

/** A strategy that never signals (idle streams). */
export const idleStrategy = { strategyName: "bench-idle", interval: "1m", getSignal: () => null };
