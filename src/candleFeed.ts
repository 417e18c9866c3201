import type { SchedulerLike, Unsubscribable } from "rxjs";
import type { Config } from "./config";
import { Deadline } from "./deadline";
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

/** A reusable candle request of one stream; one request at a time. */
export interface CandleFeed {
  /** Starts a request; returns `true` while it is still pending (an async exchange or a retry). */
  request(since: number, limit: number): boolean;
  /** Abandons the pending request, if any. */
  cancel(): void;
}

/**
 * Asks the exchange for candles, up to CC_GET_CANDLES_RETRY_COUNT attempts in total,
 * CC_GET_CANDLES_RETRY_DELAY_MS apart on the stream's scheduler; an attempt that has not
 * settled within CC_EXCHANGE_TIMEOUT_SECONDS fails (its late answer is dropped). `accept` turns
 * the candles into what the caller wants; when it throws (a broken candle) the attempt counts
 * as failed. After the last attempt `error` gets an `ExchangeError` with the last failure as
 * its cause — or the `CandleDataError` itself when the candles were unusable.
 *
 * A synchronous exchange is served synchronously, and the feed's closures are made once, not
 * per request: this runs on every tick of every stream.
 */
export function candleFeed<T>(
  context: FeedContext,
  interval: CandleInterval,
  accept: (candles: Candle[]) => T,
  next: (value: T) => void,
  error: (error: ExchangeError | CandleDataError) => void,
): CandleFeed {
  const { exchange, identity, scheduler, config } = context;
  const attempts = Math.max(1, config.CC_GET_CANDLES_RETRY_COUNT);
  let attempt = 0;
  let since = 0;
  let limit = 0;
  let pending: Unsubscribable | undefined;
  let settled = true;
  let deadline: Deadline | undefined;
  const timeoutMs = context.limits.exchangeMs;

  const failed = (failure: unknown) => {
    pending = undefined;
    deadline?.disarm();
    if (settled) return;
    if (attempt < attempts) {
      pending = scheduler.schedule(run, config.CC_GET_CANDLES_RETRY_DELAY_MS);
      return;
    }
    settled = true;
    if (failure instanceof CandleDataError) {
      error(failure);
      return;
    }
    const why = failure instanceof Error ? failure.message : String(failure);
    error(
      new ExchangeError(
        `getCandles(${identity.symbol}, ${interval}) on ${identity.exchangeName} failed ${attempts} time(s); last: ${why}`,
        identity,
        failure,
      ),
    );
  };
  const received = (candles: Candle[]) => {
    pending = undefined;
    deadline?.disarm();
    if (settled) return;
    let value: T;
    try {
      if (!Array.isArray(candles)) throw new ExchangeError(`getCandles returned ${typeof candles}, expected an array of candles`, identity);
      value = accept(candles);
    } catch (failure) {
      failed(failure);
      return;
    }
    settled = true;
    next(value);
  };
  function run() {
    pending = undefined;
    attempt++;
    let value;
    try {
      value = exchange.getCandles(identity.symbol, interval, new Date(since), limit);
    } catch (failure) {
      failed(failure);
      return;
    }
    // A synchronous delivery has already run (and may have scheduled a retry in `pending`).
    const handle = settle(value, received, failed);
    if (handle === undefined) return;
    pending = handle;
    (deadline ??= new Deadline(scheduler, timeoutMs)).arm(timedOut);
  }
  function timedOut() {
    pending?.unsubscribe();
    failed(new CallTimeoutError(`getCandles(${identity.symbol}, ${interval})`, "CC_EXCHANGE_TIMEOUT_SECONDS", timeoutMs));
  }
  return {
    request(from, count) {
      since = from;
      limit = count;
      attempt = 0;
      settled = false;
      run();
      return !settled;
    },
    cancel() {
      settled = true;
      pending?.unsubscribe();
      pending = undefined;
      deadline?.cancel();
      deadline = undefined;
    },
  };
}
