import type { TickResult } from "../model";
import { iso } from "./isoTime";
import type { PairRuntime } from "./pairRuntime";

// Formatting helpers beside the views (iso itself is in isoTime.ts).
export { iso };
import type { HeldSignal, PairSnapshot, ServiceHealth } from "./serviceTypes";

/** A pair as `Service.list()` and `/api/pairs` show it. */
export function snapshot(pair: PairRuntime, withEquity = true): PairSnapshot {
  const { eventList: _events, totalEvents: _count, ...statistics } = pair.stats.snapshot();
  const last = pair.last;
  const held = last !== undefined && (last.action === "scheduled" || last.action === "opened" || last.action === "active") ? last : undefined;
  return {
    id: pair.pair,
    symbol: pair.symbol,
    strategy: pair.strategy,
    exchange: pair.exchange,
    tickMs: pair.tickMs,
    status: pair.currentStatus(),
    draining: pair.draining,
    lastTickAt: pair.lastTickAt === null ? null : iso(pair.lastTickAt),
    lastTickAgeSeconds: pair.ageMs() / 1000,
    stallLimitSeconds: pair.stallMs / 1000,
    price: last?.currentPrice ?? null,
    position: held === undefined ? "none" : held.action === "scheduled" ? "scheduled" : "opened",
    signal: held === undefined ? null : heldSignal(held),
    statistics,
    ...(withEquity ? { equity: pair.equity.points() } : {}),
    ...(pair.error === undefined ? {} : { error: { kind: pair.error.name, message: pair.error.message } }),
  };
}

function heldSignal(result: Extract<TickResult, { action: "scheduled" | "opened" | "active" }>): HeldSignal {
  const { signal, currentPrice: price } = result;
  return {
    id: signal.id,
    status: result.action === "scheduled" ? "scheduled" : "opened",
    position: signal.position,
    priceOpen: signal.priceOpen,
    priceTakeProfit: signal.priceTakeProfit,
    priceStopLoss: signal.priceStopLoss,
    minuteEstimatedTime: signal.minuteEstimatedTime,
    note: signal.note,
    scheduledAt: iso(signal.scheduledAt),
    pendingAt: iso(signal.pendingAt),
    ...(result.action === "active" ? { percentTp: result.percentTp, percentSl: result.percentSl } : {}),
    toTakeProfitPercent: ((signal.priceTakeProfit - price) / price) * 100,
    toStopLossPercent: ((signal.priceStopLoss - price) / price) * 100,
  };
}

/** What `/health` answers for these pairs. */
export function health(pairs: readonly PairRuntime[], draining: boolean, starting = false): ServiceHealth {
  const stalled: ServiceHealth["stalled"] = [];
  const failed: ServiceHealth["failed"] = [];
  for (const pair of pairs) {
    if (pair.status === "failed") failed.push({ id: pair.pair, kind: pair.error?.name ?? "Error", message: pair.error?.message ?? "" });
    else if (pair.isStalled()) {
      stalled.push({ id: pair.pair, lastTickAt: pair.lastTickAt === null ? null : iso(pair.lastTickAt), lastTickAgeSeconds: pair.ageMs() / 1000, stallLimitSeconds: pair.stallMs / 1000 });
    } else if (pair.recovering()) {
      // Held for a tick period after its recovery: a stall shorter than a probe's period is still seen.
      stalled.push({
        id: pair.pair,
        lastTickAt: pair.lastTickAt === null ? null : iso(pair.lastTickAt),
        lastTickAgeSeconds: pair.ageMs() / 1000,
        stallLimitSeconds: pair.stallMs / 1000,
        recoveredAt: iso(pair.recoveredAt),
      });
    }
  }
  if (starting) {
    const started = pairs.reduce((count, pair) => count + (pair.started ? 1 : 0), 0);
    return { status: "starting", draining, pairs: pairs.length, started, stalled, failed };
  }
  return { status: stalled.length === 0 && failed.length === 0 ? "ok" : "unhealthy", draining, pairs: pairs.length, stalled, failed };
}

/**
 * A stall's message: the time without a completed tick and the limit (CC_STALL_TICKS x tickMs);
 * on a paced clock (`--speed`, `scale` clock ms per wall ms) in wall time, which is what the
 * limit keeps, with the clock's time beside it.
 */
export function stallMessage(ageMs: number, stallMs: number, tickMs: number, scale: number | undefined): string {
  if (scale === undefined) return `no completed tick for ${seconds(ageMs)} s on its clock (the limit: CC_STALL_TICKS x tickMs = ${seconds(stallMs)} s)`;
  const ticks = Math.round(stallMs / (tickMs * scale));
  return `no completed tick for ${seconds(ageMs / scale)} s of wall time (${seconds(ageMs)} s on its clock, which runs ${round(scale)} times as fast; the limit: CC_STALL_TICKS x tickMs = ${ticks} x ${tickMs} ms = ${seconds(stallMs / scale)} s of wall time)`;
}

/** ms as seconds with one decimal, for messages. */
export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

/** Six decimals, for log lines. */
export function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
