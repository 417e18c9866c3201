import type { SignalRow, TickResult } from "../model";
import type { ServiceEvent } from "./serviceTypes";
import { iso } from "./isoTime";

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
  // Object literals of one shape per kind, no spreads: this runs for every event a client gets.
  switch (event.kind) {
    case "stopping":
      return { kind: event.kind, reason: event.reason };
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled":
      return tradeFields({ kind: event.kind, pair: event.pair, symbol: event.symbol, strategy: event.strategy, at: iso(event.at) }, event.result, exact);
    case "error":
      return event.pair === undefined
        ? { kind: event.kind, at: iso(event.at), error: { name: event.error.name || "Error", message: event.error.message } }
        : { kind: event.kind, pair: event.pair, symbol: event.symbol, strategy: event.strategy, at: iso(event.at), error: { name: event.error.name || "Error", message: event.error.message } };
    case "failed":
      return { kind: event.kind, pair: event.pair, symbol: event.symbol, strategy: event.strategy, at: iso(event.at), error: { name: event.error.name || "Error", message: event.error.message } };
    case "stalled":
      return {
        kind: event.kind,
        pair: event.pair,
        symbol: event.symbol,
        strategy: event.strategy,
        at: iso(event.at),
        lastTickAt: event.lastTickAt === null ? null : iso(event.lastTickAt),
        stallLimitSeconds: event.stallLimitMs / 1000,
        message: event.message,
      };
    default:
      return { kind: event.kind, pair: event.pair, symbol: event.symbol, strategy: event.strategy, at: iso(event.at) };
  }
}

/** Adds what a trade event tells to `into` (the log line's fields, and the JSON's); `pnl` shapes `pnlPercent`. */
export function tradeFields<T extends object>(into: T, result: TickResult, pnl: (percent: number) => number): T & Omit<ServiceEventJson, "kind"> {
  const signal = result.signal as SignalRow;
  const out = into as T & Omit<ServiceEventJson, "kind">;
  out.signalId = signal.id;
  out.position = signal.position;
  out.price = result.currentPrice;
  out.priceOpen = signal.priceOpen;
  out.priceTakeProfit = signal.priceTakeProfit;
  out.priceStopLoss = signal.priceStopLoss;
  if (result.action === "closed") {
    out.reason = result.closeReason;
    out.pnlPercent = pnl(result.pnl.pnlPercentage);
    out.priceClose = result.pnl.priceClose;
  } else if (result.action === "cancelled") out.reason = result.cancelReason;
  else out.minuteEstimatedTime = signal.minuteEstimatedTime;
  return out;
}

const exact = (percent: number): number => percent;

/**
 * `JSON.stringify(eventJson(event))`, the same text, written directly for the trade events (the
 * most frequent: one per trade of every pair, for every client of `/api/events`); the pair's
 * part of it is kept per pair.
 */
export function eventJsonText(event: ServiceEvent): string {
  switch (event.kind) {
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled":
      return `{"kind":"${event.kind}",${pairText(event.pair, event.symbol, event.strategy)},"at":"${iso(event.at)}"${tradeText(event.result, exact)}}`;
    default:
      return JSON.stringify(eventJson(event));
  }
}

/**
 * `tradeFields` as JSON text, each field after a comma (`,"signalId":…,"position":…`): what
 * `JSON.stringify` writes for them, and pino too (a non-finite number as null).
 */
export function tradeText(result: TickResult, pnl: (percent: number) => number): string {
  const signal = result.signal as SignalRow;
  const text = `,"signalId":${JSON.stringify(signal.id)},"position":${JSON.stringify(signal.position)},"price":${num(result.currentPrice)},"priceOpen":${num(signal.priceOpen)},"priceTakeProfit":${num(signal.priceTakeProfit)},"priceStopLoss":${num(signal.priceStopLoss)}`;
  if (result.action === "closed") return `${text},"reason":${JSON.stringify(result.closeReason)},"pnlPercent":${num(pnl(result.pnl.pnlPercentage))},"priceClose":${num(result.pnl.priceClose)}`;
  if (result.action === "cancelled") return `${text},"reason":${JSON.stringify(result.cancelReason)}`;
  return `${text},"minuteEstimatedTime":${num(signal.minuteEstimatedTime)}`;
}

const pairTexts = new Map<string, string>();

function pairText(pair: string, symbol: string, strategy: string): string {
  let text = pairTexts.get(pair);
  if (text === undefined) {
    text = `"pair":${JSON.stringify(pair)},"symbol":${JSON.stringify(symbol)},"strategy":${JSON.stringify(strategy)}`;
    // Bounded: pair ids come from services' configurations, a few thousand at most.
    if (pairTexts.size >= 10_000) pairTexts.clear();
    pairTexts.set(pair, text);
  }
  return text;
}

// A number as JSON writes it (a non-finite one as null).
function num(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}
