import type { SignalRow, TickResult } from "../model";
import type { ServiceEvent } from "./serviceTypes";
import { iso } from "./serviceViews";

/**
 * A `ServiceEvent` as JSON, as `GET /api/events` sends it (one `data:` line each): its `kind`,
 * the pair (`pair` = `<symbol>:<strategy>`, `symbol`, `strategy`; absent on `stopping` and on
 * an `error` that names no pair), `at` (ISO 8601 on the pair's clock), and per kind:
 * - `scheduled`, `opened`, `closed`, `cancelled`: `signalId`, `position`, `price` (the tick's),
 *   `priceOpen`, `priceTakeProfit`, `priceStopLoss`; `minuteEstimatedTime` (scheduled, opened);
 *   `reason`, `pnlPercent`, `priceClose` (closed); `reason` (cancelled);
 * - `error`, `failed`: `error: { name, message }` (`name`: the error's class);
 * - `stalled`: `lastTickAt` (ISO or null), `stallLimitSeconds`, `message`;
 * - `stopping`: `reason` (no `at`: the pairs' clocks may differ).
 */
export interface ServiceEventJson {
  kind: ServiceEvent["kind"];
  pair?: string;
  symbol?: string;
  strategy?: string;
  at?: string;
  signalId?: string;
  position?: SignalRow["position"];
  price?: number;
  priceOpen?: number;
  priceTakeProfit?: number;
  priceStopLoss?: number;
  minuteEstimatedTime?: number;
  reason?: string;
  pnlPercent?: number;
  priceClose?: number;
  error?: { name: string; message: string };
  lastTickAt?: string | null;
  stallLimitSeconds?: number;
  message?: string;
}

/**
 * `event` as JSON (see `ServiceEventJson`): for listeners that send events on, such as
 * `/api/events` or a webhook. Numbers are exact (the log lines round `pnlPercent`).
 *
 * @example
 * import { eventJson } from "rxtrade/service";
 * service.events$.subscribe((event) => console.log(JSON.stringify(eventJson(event))));
 *
 * @param event an event of `Service.events$`
 */
export function eventJson(event: ServiceEvent): ServiceEventJson {
  if (event.kind === "stopping") return { kind: event.kind, reason: event.reason };
  const head: ServiceEventJson = { kind: event.kind };
  if (event.pair !== undefined) {
    head.pair = event.pair;
    head.symbol = event.symbol;
    head.strategy = event.strategy;
  }
  head.at = iso(event.at);
  switch (event.kind) {
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled":
      return { ...head, ...tradeFields(event.result, exact) };
    case "error":
    case "failed":
      return { ...head, error: { name: event.error.name || "Error", message: event.error.message } };
    case "stalled":
      return { ...head, lastTickAt: event.lastTickAt === null ? null : iso(event.lastTickAt), stallLimitSeconds: event.stallLimitMs / 1000, message: event.message };
    default:
      return head;
  }
}

/** What a trade event tells (the log line's fields, and the JSON's); `pnl` shapes `pnlPercent`. */
export function tradeFields(result: TickResult, pnl: (percent: number) => number): Omit<ServiceEventJson, "kind"> {
  const signal = result.signal as SignalRow;
  return {
    signalId: signal.id,
    position: signal.position,
    price: result.currentPrice,
    priceOpen: signal.priceOpen,
    priceTakeProfit: signal.priceTakeProfit,
    priceStopLoss: signal.priceStopLoss,
    ...(result.action === "closed" ? { reason: result.closeReason, pnlPercent: pnl(result.pnl.pnlPercentage), priceClose: result.pnl.priceClose } : {}),
    ...(result.action === "cancelled" ? { reason: result.cancelReason } : {}),
    ...(result.action === "opened" || result.action === "scheduled" ? { minuteEstimatedTime: signal.minuteEstimatedTime } : {}),
  };
}

const exact = (percent: number): number => percent;
