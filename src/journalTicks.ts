import { errorInfo, type JournalAnswer, type JournalCandles, type JournalErrorInfo } from "./journal";
import type { JournalWriter } from "./journalWriter";
import { type Candle, type CandleInterval, MINUTE_MS, type SignalDto, type TickAction, type TickResult } from "./model";
import type { SignalState } from "./signal";

const UNANSWERED: JournalErrorInfo = { name: "Unanswered", message: "the request had not been answered when the tick ended" };

/**
 * What one tick saw, at level `full`: its candle requests (the pricing one first), the
 * strategy's answer; `end` appends the `tick` entry with the price and the action. One per
 * run, reused tick after tick; at the other levels there is none, and the tick path does not
 * allocate for journaling.
 */
export class TickRecorder {
  private requests: JournalCandles[] = [];
  private answer: JournalAnswer | undefined;

  constructor(
    private readonly writer: JournalWriter,
    private readonly key: string,
  ) {}

  /** A new tick. */
  begin(): void {
    this.requests = [];
    this.answer = undefined;
  }

  /** The pricing request's candles: those of the VWAP window (closed as of `now`, from `since`, the newest `count`). */
  pricing(candles: readonly Candle[], now: number, since: number, count: number): void {
    // The window as vwapPrice takes it: the newest `count` candles closed by `now`, from `since`.
    const window: Candle[] = [];
    for (let i = candles.length - 1; i >= 0 && window.length < count; i--) {
      const c = candles[i] as Candle;
      if (c.timestamp >= since && c.timestamp + MINUTE_MS <= now) window.push(copyCandle(c));
    }
    window.reverse();
    // Candles that came newest first (rare): vwapPrice sorted a copy; so does this.
    for (let i = 1; i < window.length; i++) {
      if ((window[i] as Candle).timestamp < (window[i - 1] as Candle).timestamp) {
        this.requests[0] = { interval: "1m", since, limit: count, candles: sortedWindow(candles, now, since, count) };
        return;
      }
    }
    this.requests[0] = { interval: "1m", since, limit: count, candles: window };
  }

  /** The pricing request failed after its last attempt. */
  pricingFailed(since: number, count: number, error: unknown): void {
    this.requests[0] = { interval: "1m", since, limit: count, candles: [], error: errorInfo(error) };
  }

  /** A strategy's candle request; fill it with `received` or `failed`. */
  request(interval: CandleInterval, since: number, limit: number): JournalCandles {
    const record: JournalCandles = { interval, since, limit, candles: [], error: UNANSWERED };
    this.requests.push(record);
    return record;
  }

  received(record: JournalCandles, candles: readonly Candle[]): void {
    record.candles = candles.map(copyCandle);
    delete record.error;
  }

  failed(record: JournalCandles, error: unknown): void {
    record.candles = [];
    record.error = errorInfo(error);
  }

  /** The strategy's answer: the signal the engine took from it, none, or the error. */
  answered(answer: { proposal: SignalState | null } | { error: unknown }): void {
    this.answer = "error" in answer ? { error: errorInfo(answer.error) } : { signal: answer.proposal === null ? null : signalDtoOf(answer.proposal) };
  }

  /** The tick's decision: appends its entry. */
  end(at: number, action: TickAction | "error", price: number | null, result: TickResult | undefined): void {
    const signalId = result?.signal?.id;
    this.writer.append({
      kind: "tick",
      key: this.key,
      at,
      candles: this.requests,
      price,
      ...(this.answer === undefined ? {} : { answer: this.answer }),
      action,
      ...(signalId === undefined ? {} : { signalId }),
    });
    this.requests = [];
    this.answer = undefined;
  }
}

function sortedWindow(candles: readonly Candle[], now: number, since: number, count: number): Candle[] {
  return candles
    .filter((c) => c.timestamp >= since && c.timestamp + MINUTE_MS <= now)
    .sort((a, b) => a.timestamp - b.timestamp)
    .slice(-count)
    .map(copyCandle);
}

function copyCandle(c: Candle): Candle {
  return { timestamp: c.timestamp, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}

/** The signal as the engine took it from the strategy, in the strategy's terms. */
function signalDtoOf(state: SignalState): SignalDto {
  const s = state.signal;
  // The strategy's fields in its order; priceOpen only for a limit entry (an immediate signal has none).
  return {
    id: s.id,
    position: s.position,
    ...(state.status === "scheduled" ? { priceOpen: s.priceOpen } : {}),
    priceTakeProfit: s.priceTakeProfit,
    priceStopLoss: s.priceStopLoss,
    minuteEstimatedTime: s.minuteEstimatedTime,
    ...(s.note === "" ? {} : { note: s.note }),
  };
}
