import { emit } from "../src/events";
import type { StreamIdentity } from "../src/signal";

/**
 * The `performance$` measurement of a stream's ticks: one `live_tick` event per tick with its
 * wall-clock duration. Free when nobody listens: no clock is read.
 */
export class TickTiming {
  private startedAt = 0;

  constructor(private readonly identity: StreamIdentity) {}

  start(): void {
    this.startedAt = emit.performanceObserved() ? performance.now() : 0;
  }

  end(timestamp: number, previousTimestamp: number | null): void {
    if (this.startedAt === 0) return;
    const { symbol, strategyName, exchangeName } = this.identity;
    emit.performance({
      timestamp,
      previousTimestamp,
      metricType: "live_tick",
      duration: performance.now() - this.startedAt,
      strategyName,
      exchangeName,
      symbol,
      backtest: false,
    });
  }
}
