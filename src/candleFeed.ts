import { isObservable, type SchedulerLike, type Unsubscribable } from "rxjs";
import type { Config } from "./config";
import { callWatcherOf, Deadline } from "./deadline";
import { CallTimeoutError, CandleDataError, ExchangeError } from "./errors";
import { settle } from "./maybeAsync";
import type { Candle, CandleInterval, ExchangeSchema } from "./model";
import type { StreamIdentity } from "./signal";
import type { TimeLimits } from "./tradeContext";

interface FeedContext {
  readonly identity: StreamIdentity;
  readonly exchange: ExchangeSchema;
  readonly scheduler: SchedulerLike;
  readonly config: Pick<Config, "CC_GET_CANDLES_RETRY_COUNT" | "CC_GET_CANDLES_RETRY_DELAY_MS">;
  readonly limits: Pick<TimeLimits, "exchangeMs">;
}

/** Who a `CandleFeed` serves: it turns candles into a value, and hears the outcome. */
export interface CandleListener<T> {
  /** Turns the candles into what the listener wants; a throw (a broken candle) fails the attempt. */
  acceptCandles(candles: Candle[]): T;
  candlesReady(value: T): void;
  candlesFailed(error: ExchangeError | CandleDataError): void;
}

/**
 * A reusable candle request of one stream, one request at a time: up to
 * CC_GET_CANDLES_RETRY_COUNT attempts in total, CC_GET_CANDLES_RETRY_DELAY_MS apart on the
 * stream's scheduler; an attempt that has not settled within CC_EXCHANGE_TIMEOUT_SECONDS fails
 * (its late answer is dropped). After the last attempt the listener gets an `ExchangeError`
 * with the last failure as its cause — or the `CandleDataError` itself when the candles were
 * unusable.
 *
 * A class with prototype methods: the tick path requests candles on every tick of every
 * stream, and a synchronous exchange is served without allocating anything; the callbacks an
 * async answer needs, and its time limit, are made on first use.
 */
export class CandleFeed<T> {
  private attempt = 0;
  private since = 0;
  private limit = 0;
  private settled = true;
  private pending: Unsubscribable | undefined;
  private deadline: Deadline | undefined;
  /** Ends the pending call for a scheduler that watches calls (`CallWatcher`). */
  private inFlight: (() => void) | undefined;
  private async: { received(candles: Candle[]): void; failed(error: unknown): void; retry(): void; timedOut(): void } | undefined;

  constructor(
    private readonly context: FeedContext,
    private readonly interval: CandleInterval,
    private readonly listener: CandleListener<T>,
  ) {}

  /** Starts a request; returns `true` while it is still pending (an async exchange or a retry). */
  request(since: number, limit: number): boolean {
    this.since = since;
    this.limit = limit;
    this.attempt = 0;
    this.settled = false;
    this.run();
    return !this.settled;
  }

  /** Abandons the pending request, if any. */
  cancel(): void {
    this.settled = true;
    this.callEnded();
    this.pending?.unsubscribe();
    this.pending = undefined;
    this.deadline?.cancel();
    this.deadline = undefined;
  }

  private run(): void {
    this.pending = undefined;
    this.attempt++;
    const { exchange, identity } = this.context;
    let value;
    try {
      value = exchange.getCandles(identity.symbol, this.interval, new Date(this.since), this.limit);
    } catch (failure) {
      this.failed(failure);
      return;
    }
    if (Array.isArray(value)) {
      this.received(value);
      return;
    }
    const callbacks = this.callbacks();
    // A synchronous delivery has already run (and may have scheduled a retry in `pending`).
    const handle = settle(value, callbacks.received, callbacks.failed);
    if (handle === undefined) return;
    this.pending = handle;
    const { scheduler, limits } = this.context;
    (this.deadline ??= new Deadline(scheduler, limits.exchangeMs)).arm(callbacks.timedOut);
    const watcher = callWatcherOf(scheduler);
    if (watcher !== undefined && !isObservable(value)) {
      this.inFlight = watcher.callStarted(`getCandles(${identity.symbol}, ${this.interval})`, limits.exchangeMs);
    }
  }

  private callEnded(): void {
    const end = this.inFlight;
    if (end === undefined) return;
    this.inFlight = undefined;
    end();
  }

  private received(candles: Candle[]): void {
    this.callEnded();
    this.pending = undefined;
    this.deadline?.disarm();
    if (this.settled) return;
    let value: T;
    try {
      if (!Array.isArray(candles)) throw new ExchangeError(`getCandles returned ${typeof candles}, expected an array of candles`, this.context.identity);
      value = this.listener.acceptCandles(candles);
    } catch (failure) {
      this.failed(failure);
      return;
    }
    this.settled = true;
    this.listener.candlesReady(value);
  }

  private failed(failure: unknown): void {
    this.callEnded();
    this.pending = undefined;
    this.deadline?.disarm();
    if (this.settled) return;
    const { config, identity, scheduler } = this.context;
    const attempts = Math.max(1, config.CC_GET_CANDLES_RETRY_COUNT);
    if (this.attempt < attempts) {
      this.pending = scheduler.schedule(this.callbacks().retry, config.CC_GET_CANDLES_RETRY_DELAY_MS);
      return;
    }
    this.settled = true;
    if (failure instanceof CandleDataError) {
      this.listener.candlesFailed(failure);
      return;
    }
    const why = failure instanceof Error ? failure.message : String(failure);
    this.listener.candlesFailed(
      new ExchangeError(`getCandles(${identity.symbol}, ${this.interval}) on ${identity.exchangeName} failed ${attempts} time(s); last: ${why}`, identity, failure),
    );
  }

  private timedOut(): void {
    this.pending?.unsubscribe();
    const { identity, limits } = this.context;
    this.failed(new CallTimeoutError(`getCandles(${identity.symbol}, ${this.interval})`, "CC_EXCHANGE_TIMEOUT_SECONDS", limits.exchangeMs));
  }

  private callbacks() {
    return (this.async ??= {
      received: (candles: Candle[]) => this.received(candles),
      failed: (error: unknown) => this.failed(error),
      retry: () => this.run(),
      timedOut: () => this.timedOut(),
    });
  }
}

/**
 * A `CandleFeed` for callers that prefer functions: `accept` turns the candles into what the
 * caller wants, `next` and `error` hear the outcome.
 */
export function candleFeed<T>(
  context: FeedContext,
  interval: CandleInterval,
  accept: (candles: Candle[]) => T,
  next: (value: T) => void,
  error: (error: ExchangeError | CandleDataError) => void,
): CandleFeed<T> {
  return new CandleFeed(context, interval, { acceptCandles: accept, candlesReady: next, candlesFailed: error });
}
