import { isObservable, Observable, type Unsubscribable } from "rxjs";
import { type CandleFeed, candleFeed } from "../src/candleFeed";
import { callWatcherOf, Deadline } from "../src/deadline";
import { ArgumentRangeError, CallTimeoutError, StrategyError } from "../src/errors";
import { emit } from "../src/events";
import type { TickRecorder } from "../src/journalWriter";
import { isDeferred, settle } from "../src/maybeAsync";
import { type Candle, CANDLE_INTERVALS, type CandleInterval, intervalMs, type SignalContext } from "../src/model";
import { normalizeCandles } from "../src/pricing";
import { showValue } from "../src/showValue";
import { createSignal, type SignalState } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";

/** Told the strategy's answer: a new signal's state, or `null` (none, a failure, a timeout). */
export interface StrategyAnswer {
  answered(proposal: SignalState | null): void;
}

/**
 * The `tick` stage that asks the strategy for a signal: at most once per the strategy's
 * interval (the last call's time outlives retries through the session), bounded by
 * CC_MAX_SIGNAL_GENERATION_SECONDS, validated by `createSignal`. A throw, a rejection, a
 * timeout or an invalid signal is reported on `error$` and answered as `null`. A synchronous
 * strategy is answered synchronously.
 *
 * The answer may be a value, a Promise-like or an Observable: its first value, or `null` when it
 * completes without one; an Observable's error counts as a throw. A pending answer is
 * unsubscribed (a late one dropped) at its time limit and when the tick is torn down.
 */
export class AskStrategy {
  /** Time of the last `getSignal` call. */
  lastAskedAt: number;
  /** Level `full`: hears the strategy's answers and candle requests. */
  recorder: TickRecorder | undefined;
  private pending: Unsubscribable | undefined;
  private deadline: Deadline | undefined;
  private listener: StrategyAnswer | undefined;
  private at = 0;
  private price = 0;
  private feeds: Array<{ cancel(): void }> | undefined;
  /** Ends the pending call for a scheduler that watches calls (`CallWatcher`). */
  private inFlight: (() => void) | undefined;
  private async: { value(dto: unknown): void; error(error: unknown): void; empty(): void; timeout(): void } | undefined;

  constructor(
    private readonly context: TradeContext,
    lastAskedAt: number,
  ) {
    this.lastAskedAt = lastAskedAt;
  }

  /** Whether the strategy's interval has passed since the last call. */
  due(now: number): boolean {
    return now - this.lastAskedAt >= this.context.signalIntervalMs;
  }

  ask(now: number, price: number, listener: StrategyAnswer): void {
    this.lastAskedAt = now;
    this.at = now;
    this.price = price;
    this.listener = listener;
    const { strategy, identity } = this.context;
    const signalContext: SignalContext = {
      currentPrice: price,
      getCandles: (interval, limit) => this.candlesAsOf(interval, limit, now),
      candles$: (interval, limit) => this.candles$AsOf(interval, limit, now),
    };
    let value;
    try {
      value = strategy.getSignal(identity.symbol, new Date(now), signalContext);
    } catch (error) {
      this.failed(error);
      return;
    }
    if (!isDeferred(value)) {
      this.received(value);
      return;
    }
    // Made on the first async answer only: a synchronous strategy allocates nothing here.
    const callbacks = (this.async ??= {
      value: (dto) => this.received(dto),
      error: (error) => this.failed(error),
      empty: () => this.received(null),
      timeout: () => this.timedOut(),
    });
    const handle = settle(value, callbacks.value, callbacks.error, callbacks.empty);
    if (handle === undefined) return;
    this.pending = handle;
    const { scheduler, limits } = this.context;
    this.deadline ??= new Deadline(scheduler, limits.signalMs);
    this.deadline.arm(callbacks.timeout);
    const watcher = callWatcherOf(scheduler);
    if (watcher !== undefined && !isObservable(value)) {
      this.inFlight = watcher.callStarted(`getSignal(${identity.symbol}) of ${strategy.strategyName}`, limits.signalMs);
    }
  }

  /** Abandons a pending call: its late answer is dropped. */
  cancel(): void {
    this.settle();
    this.deadline?.cancel();
    this.deadline = undefined;
  }

  private received(dto: unknown): void {
    const listener = this.settle();
    if (listener === undefined) return;
    if (dto === null || dto === undefined) {
      this.recorder?.answered({ proposal: null });
      listener.answered(null);
      return;
    }
    let proposal: SignalState | null = null;
    try {
      proposal = createSignal(dto, this.price, this.at, this.context.config, this.context.identity, this.context.newId);
      this.recorder?.answered({ proposal });
    } catch (invalid) {
      this.recorder?.answered({ error: invalid });
      emit.error(invalid);
    }
    listener.answered(proposal);
  }

  private failed(error: unknown): void {
    const listener = this.settle();
    if (listener === undefined) return;
    const { symbol, strategyName } = this.context.identity;
    const failure = new StrategyError(`getSignal of ${strategyName} failed for ${symbol}: ${describe(error)}`, this.context.identity, error);
    this.recorder?.answered({ error: failure });
    emit.error(failure);
    listener.answered(null);
  }

  private timedOut(): void {
    this.pending?.unsubscribe();
    const { symbol, strategyName } = this.context.identity;
    const limit = this.context.limits.signalMs;
    this.failed(new CallTimeoutError(`getSignal(${symbol}) of ${strategyName}`, "CC_MAX_SIGNAL_GENERATION_SECONDS", limit));
  }

  // Ends the current call (the first outcome wins) and hands back whom to tell.
  private settle(): StrategyAnswer | undefined {
    const listener = this.listener;
    this.listener = undefined;
    const end = this.inFlight;
    this.inFlight = undefined;
    end?.();
    this.pending?.unsubscribe();
    this.pending = undefined;
    this.deadline?.disarm();
    if (this.feeds !== undefined) {
      for (const feed of this.feeds) feed.cancel();
      this.feeds = undefined;
    }
    return listener;
  }

  // Candles for the strategy, as of its tick: the newest `limit` that had closed by then.
  private candlesAsOf(interval: CandleInterval, limit: number, at: number): Promise<Candle[]> {
    return new Promise<Candle[]>((resolve, reject) => {
      this.requestCandles("getCandles", interval, limit, at, resolve, reject);
    });
  }

  // The same candles as an Observable: requested on subscribe, delivered synchronously when the
  // exchange answers synchronously, the request abandoned on unsubscribe.
  private candles$AsOf(interval: CandleInterval, limit: number, at: number): Observable<Candle[]> {
    return new Observable<Candle[]>((subscriber) => {
      const feed = this.requestCandles(
        "candles$",
        interval,
        limit,
        at,
        (candles) => {
          subscriber.next(candles);
          subscriber.complete();
        },
        (error) => subscriber.error(error),
      );
      return feed === undefined ? undefined : () => feed.cancel();
    });
  }

  // One candle request of the strategy (`getCandles` or `candles$`): checked, then served by a
  // CandleFeed of its own (retries, time limit), cancelled when the call settles.
  private requestCandles(
    name: string,
    interval: CandleInterval,
    limit: number,
    at: number,
    next: (candles: Candle[]) => void,
    error: (error: unknown) => void,
  ): CandleFeed<Candle[]> | undefined {
    const width = intervalMs(interval);
    if (width === undefined || !Number.isSafeInteger(limit) || limit <= 0) {
      error(candlesArgumentError(name, interval, limit, width === undefined));
      return undefined;
    }
    if (this.listener === undefined || this.at !== at) {
      error(new StrategyError(`${name} was called after getSignal of ${this.context.identity.strategyName} had settled`, this.context.identity));
      return undefined;
    }
    const first = Math.floor(at / width) * width - limit * width;
    const closed = (candles: Candle[]) =>
      normalizeCandles(candles, this.context.identity).filter((c) => c.timestamp >= first && c.timestamp + width <= at);
    const recorder = this.recorder;
    const record = recorder?.request(interval, first, limit);
    const feed =
      recorder === undefined || record === undefined
        ? candleFeed(this.context, interval, closed, next, error)
        : candleFeed(
            this.context,
            interval,
            closed,
            (candles) => {
              recorder.received(record, candles);
              next(candles);
            },
            (failure) => {
              recorder.failed(record, failure);
              error(failure);
            },
          );
    (this.feeds ??= []).push(feed);
    feed.request(first, limit);
    return feed;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// `candles$("1m", "3"): limit ("3") must be …`: the call as written, then each argument that is wrong.
function candlesArgumentError(name: string, interval: unknown, limit: unknown, badInterval: boolean): ArgumentRangeError {
  const call = `${name}(${showValue(interval)}, ${showValue(limit)})`;
  const badLimit = !(typeof limit === "number" && Number.isSafeInteger(limit) && limit > 0);
  const problems = [
    ...(badInterval ? [`interval ${showValue(interval)} is not a candle interval; use one of ${CANDLE_INTERVALS.join(", ")}`] : []),
    ...(badLimit ? [`limit (${showValue(limit)}) must be a positive integer, the number of closed candles wanted, e.g. 21`] : []),
  ];
  return new ArgumentRangeError(`${call}: ${problems.join("; ")}`, badInterval ? { argument: "interval", value: interval } : { argument: "limit", value: limit });
}
