import { emit } from "../src/events";
import type { StreamIdentity } from "../src/signal";

/**
 * The `performance$` measurement of a stream's ticks: one `live_tick` event per tick with its
 * wall-clock duration. Free when nobody listens: no clock is read. Two functions, not an object
 * per stream: the tick keeps the start time in a field of its own.
 */
export function tickStarted(): number {
  return emit.performanceObserved() ? performance.now() : 0;
}

/** Reports a tick that `tickStarted` timed (`startedAt` > 0). */
export function tickEnded(identity: StreamIdentity, startedAt: number, timestamp: number, previousTimestamp: number | null): void {
  const { symbol, strategyName, exchangeName } = identity;
  emit.performance({
    timestamp,
    previousTimestamp,
    metricType: "live_tick",
    duration: performance.now() - startedAt,
    strategyName,
    exchangeName,
    symbol,
    backtest: false,
  });
}
