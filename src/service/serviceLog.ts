import type { Logger } from "pino";
import type { SignalRow } from "../model";
import { iso, round } from "./serviceViews";
import type { ServiceEvent } from "./serviceTypes";

/** Writes an event's log line: one per state change and per error, through the pair's child logger (its fields). */
export function logEvent(log: Logger, event: ServiceEvent): void {
  switch (event.kind) {
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled": {
      const { result } = event;
      const signal = result.signal as SignalRow;
      log.info(
        {
          action: event.kind,
          at: iso(event.at),
          signalId: signal.id,
          position: signal.position,
          price: result.currentPrice,
          priceOpen: signal.priceOpen,
          priceTakeProfit: signal.priceTakeProfit,
          priceStopLoss: signal.priceStopLoss,
          ...(result.action === "closed" ? { reason: result.closeReason, pnlPercent: round(result.pnl.pnlPercentage), priceClose: result.pnl.priceClose } : {}),
          ...(result.action === "cancelled" ? { reason: result.cancelReason } : {}),
          ...(result.action === "opened" || result.action === "scheduled" ? { minuteEstimatedTime: signal.minuteEstimatedTime } : {}),
        },
        event.kind,
      );
      return;
    }
    case "error":
      log.warn({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "error");
      return;
    case "stalled":
      log.warn({ at: iso(event.at), kind: "StreamStalledError", lastTickAt: event.lastTickAt === null ? null : iso(event.lastTickAt), stallLimitSeconds: event.stallLimitMs / 1000, error: event.message }, "stalled");
      return;
    case "recovered":
      log.info({ at: iso(event.at) }, "recovered");
      return;
    case "draining":
      log.info({ at: iso(event.at) }, "draining");
      return;
    case "done":
      log.info({ at: iso(event.at) }, "done");
      return;
    case "failed":
      log.error({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "failed");
      return;
    case "stopping":
      log.info({ reason: event.reason }, "stopping");
      return;
  }
}
