import { Observable, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscriber, type Unsubscribable } from "rxjs";
import type { Config } from "../src/config";
import { candleFeed } from "../src/candleFeed";
import { ExchangeError, StrategyError } from "../src/errors";
import { emit } from "../src/events";
import { isDeferred, settle } from "../src/maybeAsync";
import { type Candle, type CandleInterval, type ExchangeSchema, intervalMs, type SignalContext, type StrategySchema, type TickResult } from "../src/model";
import { vwapPrice, windowStart } from "../src/pricing";
import { evaluate } from "../src/rules";
import { createSignal, type SignalState, type StreamIdentity } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";
import { RestoredState } from "./restoreState";
import { listenStop, StopLatch, type StopListener } from "./stopLatch";

/** What `tick` keeps across resubscriptions. */
export interface TickSession {
  /** Time of the last tick, for `performance$`'s `previousTimestamp`. */
  previousTimestamp: number | null;
  /** Time of the last `getSignal` call: the strategy's interval holds across retries too. */
  lastSignalAt?: number;
}

/**
 * The engine: one tick per source emission, at `scheduler.now()`. A tick prices the market
 * (VWAP of the last closed one-minute candles), asks the strategy for a signal when nothing is
 * open or scheduled (at most once per the strategy's interval, never after `stop$`), and
 * applies the trading rules (`evaluate`). It emits every tick's `TickResult`.
 *
 * The state lives in the subscription: it starts empty, or from a `RestoredState` emitted by
 * `restoreState`. An emission that arrives while a tick is still in flight (an async exchange
 * or strategy), or before the clock has moved past the last tick, is skipped. A strategy that
 * throws, times out or returns an invalid signal gives an `error$` event and an `idle` tick; a
 * market that cannot be priced errors the stream. After `stop$`, it completes as soon as
 * nothing is open or scheduled and no tick is in flight.
 *
 * ```
 * source:     r-0-----1-----2-----3--|
 * tick(ctx):  --i-----o-----a-----c--|     (i idle, o opened, a active, c closed)
 * ```
 *
 * @example
 * timer(0, 60_001).pipe(restoreState(context), tick(context, stop$)).subscribe(console.log);
 *
 * @param context the stream's `TradeContext`
 * @param stop$ once it emits, the strategy is not asked for new signals
 * @param session state that outlives a resubscription (`retryAfter`): the time of the last tick
 *   and of the last `getSignal` call. Default: per subscription.
 */
export function tick(
  context: TradeContext,
  stop$?: ObservableInput<unknown>,
  session: TickSession = { previousTimestamp: null },
): OperatorFunction<unknown, TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      source.subscribe(new TickSubscriber(subscriber, context, stop$, session));
    });
}

// One object per stream with prototype methods, not a nest of closures: thousands of streams
// each keep one of these alive, and a synchronous tick runs through it without allocating
// more than its result. Callbacks for async values are made on first use only.
class TickSubscriber extends ChainSubscriber<unknown, TickResult> implements StopListener {
  private readonly identity: StreamIdentity;
  // Copied out of the context: a tick touches as few objects of its stream as it can.
  private readonly symbol: string;
  private readonly signalIntervalMs: number;
  private readonly candleCount: number;
  private previousTimestamp: number | null;
  private readonly strategy: StrategySchema;
  private readonly exchange: ExchangeSchema;
  private readonly scheduler: SchedulerLike;
  private readonly config: Readonly<Config>;

  private state: SignalState | null = null;
  private stopping = false;
  private busy = false;
  private sourceDone = false;
  /** Whether `state` is what the store holds: after a `RestoredState`, or after a first tick. */
  private known = false;
  private lastSignalAt: number;
  private now = 0;
  private price = 0;
  private since = 0;
  private attempt = 0;
  private startedAt = 0;
  private pending: Unsubscribable | undefined;
  private timeout: Unsubscribable | undefined;
  private leaveStop: (() => void) | undefined;
  private readonly latch: StopLatch | undefined;
  private quietShown = false;
  private async: AsyncCallbacks | undefined;

  constructor(
    destination: Subscriber<TickResult>,
    private readonly context: TradeContext,
    stop$: ObservableInput<unknown> | undefined,
    private readonly session: TickSession,
  ) {
    super(destination);
    this.identity = context.identity;
    this.symbol = context.identity.symbol;
    this.signalIntervalMs = context.signalIntervalMs;
    this.candleCount = context.config.CC_AVG_PRICE_CANDLES_COUNT;
    this.previousTimestamp = session.previousTimestamp;
    this.lastSignalAt = session.lastSignalAt ?? Number.NEGATIVE_INFINITY;
    this.latch = stop$ instanceof StopLatch ? stop$ : undefined;
    this.strategy = context.strategy;
    this.exchange = context.exchange;
    this.scheduler = context.scheduler;
    this.config = context.config;
    if (stop$ !== undefined) this.leaveStop = listenStop(stop$, this);
  }

  onStop(): void {
    this.stopping = true;
    this.completeIfStopped();
  }

  protected override _next(value: unknown): void {
    if (value instanceof RestoredState) {
      this.state = value.state;
      this.known = true;
      this.updateQuiet();
      this.completeIfStopped();
      return;
    }
    if (this.busy) return;
    const now = this.scheduler.now();
    // A clock that has not moved since the last tick has nothing new to say (and two results
    // of one stream never share a timestamp).
    if (this.previousTimestamp !== null && now <= this.previousTimestamp) return;
    try {
      this.busy = true;
      this.now = now;
      this.startedAt = emit.performanceObserved() ? performance.now() : 0;
      this.since = windowStart(this.now, this.candleCount);
      this.attempt = 0;
      this.requestCandles();
    } catch (error) {
      this.fail(error);
    }
  }

  protected override _complete(): void {
    this.sourceDone = true;
    if (!this.busy) super._complete();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    // Handed to the next subscription (after a retry) here, not on every tick.
    this.session.previousTimestamp = this.previousTimestamp;
    this.session.lastSignalAt = this.lastSignalAt;
    this.pending?.unsubscribe();
    this.timeout?.unsubscribe();
    this.leaveStop?.();
    super.unsubscribe();
  }

  // Price: up to CC_GET_CANDLES_RETRY_COUNT attempts, CC_GET_CANDLES_RETRY_DELAY_MS apart.
  requestCandles(): void {
    this.pending = undefined;
    this.attempt++;
    let value;
    try {
      value = this.exchange.getCandles(this.symbol, "1m", new Date(this.since), this.candleCount);
    } catch (error) {
      this.candlesFailed(error);
      return;
    }
    if (!isDeferred(value)) {
      this.candlesReceived(value as Candle[]);
      return;
    }
    const callbacks = this.callbacks();
    const handle = settle(value, callbacks.candles, callbacks.candlesFailed);
    if (handle !== undefined) {
      this.pending = handle;
      this.updateQuiet();
    }
  }

  candlesReceived(candles: Candle[]): void {
    this.pending = undefined;
    if (this.closed) return;
    let price: number;
    try {
      if (!Array.isArray(candles)) {
        throw new ExchangeError(`getCandles returned ${typeof candles}, expected an array of candles`, this.identity);
      }
      price = vwapPrice(candles, this.now, this.since, this.candleCount, this.identity);
    } catch (error) {
      this.candlesFailed(error);
      return;
    }
    this.price = price;
    if (this.state === null && !this.stopping && this.now - this.lastSignalAt >= this.signalIntervalMs) this.askStrategy();
    else this.finish(null);
  }

  candlesFailed(failure: unknown): void {
    this.pending = undefined;
    if (this.closed) return;
    const attempts = Math.max(1, this.config.CC_GET_CANDLES_RETRY_COUNT);
    if (this.attempt < attempts) {
      this.pending = this.scheduler.schedule(this.callbacks().retry, this.config.CC_GET_CANDLES_RETRY_DELAY_MS);
      this.updateQuiet();
      return;
    }
    const { symbol, exchangeName } = this.identity;
    this.fail(
      new ExchangeError(
        `getCandles(${symbol}, 1m) on ${exchangeName} failed ${attempts} time(s); last: ${describe(failure)}`,
        this.identity,
        failure,
      ),
    );
  }

  // Signal: only when nothing is held, not stopping, and the strategy's interval has passed.
  askStrategy(): void {
    this.lastSignalAt = this.now;
    const at = this.now;
    const signalContext: SignalContext = {
      currentPrice: this.price,
      getCandles: (interval, limit) => this.candlesAsOf(interval, limit, at),
    };
    let value;
    try {
      value = this.strategy.getSignal(this.symbol, new Date(at), signalContext);
    } catch (error) {
      this.signalFailed(error);
      return;
    }
    if (!isDeferred(value)) {
      this.signalReceived(value);
      return;
    }
    const callbacks = this.callbacks();
    const handle = settle(value, callbacks.signal, callbacks.signalFailed);
    if (handle !== undefined) {
      this.pending = handle;
      this.updateQuiet();
      this.timeout = this.scheduler.schedule(callbacks.timedOut, this.config.CC_MAX_SIGNAL_GENERATION_SECONDS * 1000);
    }
  }

  signalReceived(dto: unknown): void {
    this.settled();
    // A signal that arrives after a stop request is dropped: a stop means no new positions.
    if (dto === null || dto === undefined || this.stopping) {
      this.finish(null);
      return;
    }
    let proposal: SignalState | null = null;
    try {
      proposal = createSignal(dto, this.price, this.now, this.config, this.identity, this.context.newId);
    } catch (invalid) {
      emit.error(invalid);
    }
    this.finish(proposal);
  }

  signalFailed(error: unknown): void {
    this.settled();
    const { symbol, strategyName } = this.identity;
    emit.error(new StrategyError(`getSignal of ${strategyName} failed for ${symbol}: ${describe(error)}`, this.identity, error));
    this.finish(null);
  }

  signalTimedOut(): void {
    this.pending?.unsubscribe();
    this.settled();
    const { symbol, strategyName } = this.identity;
    emit.error(
      new StrategyError(
        `getSignal of ${strategyName} did not settle within CC_MAX_SIGNAL_GENERATION_SECONDS (${this.config.CC_MAX_SIGNAL_GENERATION_SECONDS} s) for ${symbol}`,
        this.identity,
      ),
    );
    this.finish(null);
  }

  private settled(): void {
    this.pending = undefined;
    this.timeout?.unsubscribe();
    this.timeout = undefined;
  }

  private finish(proposal: SignalState | null): void {
    const transition = evaluate(this.state, this.price, this.now, this.config, this.identity, proposal);
    this.state = transition.state;
    this.busy = false;
    if (this.startedAt !== 0) {
      emit.performance({
        timestamp: this.now,
        previousTimestamp: this.previousTimestamp,
        metricType: "live_tick",
        duration: performance.now() - this.startedAt,
        strategyName: this.identity.strategyName,
        exchangeName: this.identity.exchangeName,
        symbol: this.identity.symbol,
        backtest: false,
      });
    }
    this.previousTimestamp = this.now;
    this.known = true;
    this.updateQuiet();
    this.out.next(transition.result);
    if (this.sourceDone && !this.closed) {
      this.out.complete();
      this.unsubscribe();
      return;
    }
    this.completeIfStopped();
  }

  // Tells the shared stop latch whether this stream holds nothing and has no tick in flight,
  // so that the stop gate can end a stream at once while a retry is waiting. Called when a tick
  // goes async (a synchronous tick cannot be interrupted by a stop that could strand a write:
  // a signal that arrives after a stop is dropped) and when one ends; the latch is written only
  // on a change, since an idle stream's ticks should not touch it.
  private updateQuiet(): void {
    const quiet = this.known && !this.busy && this.state === null;
    if (this.latch === undefined || quiet === this.quietShown) return;
    this.quietShown = quiet;
    this.latch.quiet = quiet;
  }

  // The graceful end: stopping, nothing held, no tick in flight, and the state known (a stop
  // that comes before the stored state is read waits for it). Completion goes down through
  // persistState, which lets a pending write finish first.
  private completeIfStopped(): void {
    if (!this.stopping || !this.known || this.busy || this.state !== null || this.closed) return;
    this.out.complete();
    this.unsubscribe();
  }

  private fail(error: unknown): void {
    this.busy = false;
    this.updateQuiet();
    this.out.error(error);
    this.unsubscribe();
  }

  private callbacks(): AsyncCallbacks {
    return (this.async ??= {
      candles: (candles) => this.candlesReceived(candles),
      candlesFailed: (error) => this.candlesFailed(error),
      retry: () => this.requestCandles(),
      signal: (dto) => this.signalReceived(dto),
      signalFailed: (error) => this.signalFailed(error),
      timedOut: () => this.signalTimedOut(),
    });
  }

  // Candles for the strategy, as of its tick: the newest `limit` that had closed by then.
  private candlesAsOf(interval: CandleInterval, limit: number, at: number): Promise<Candle[]> {
    return new Promise<Candle[]>((resolve, reject) => {
      const width = intervalMs(interval);
      if (width === undefined || !Number.isSafeInteger(limit) || limit <= 0) {
        reject(new RangeError(`rxtrade: getCandles(${JSON.stringify(interval)}, ${limit}): unknown interval or limit not a positive integer`));
        return;
      }
      const first = Math.floor(at / width) * width - limit * width;
      const closed = (candles: Candle[]) => candles.filter((c) => c.timestamp >= first && c.timestamp + width <= at);
      const cancel = () => feed.cancel();
      const done = (deliver: () => void) => {
        this.remove(cancel);
        deliver();
      };
      const feed = candleFeed(
        this.context,
        interval,
        closed,
        (candles) => done(() => resolve(candles)),
        (error) => done(() => reject(error)),
      );
      this.add(cancel);
      feed.request(first, limit);
    });
  }
}

interface AsyncCallbacks {
  candles(candles: Candle[]): void;
  candlesFailed(error: unknown): void;
  retry(): void;
  signal(dto: unknown): void;
  signalFailed(error: unknown): void;
  timedOut(): void;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
