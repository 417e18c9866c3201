import { Observable, type ObservableInput, type OperatorFunction, type SchedulerLike, type Subscriber } from "rxjs";
import type { Config } from "../src/config";
import { CandleFeed, type CandleListener } from "../src/candleFeed";
import { type JournalWriter, TickRecorder } from "../src/journalWriter";
import type { Candle, TickResult } from "../src/model";
import { vwapPrice, windowStart } from "../src/pricing";
import { evaluate } from "../src/rules";
import type { SignalState, StreamIdentity } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";
import { AskStrategy, type StrategyAnswer } from "./askStrategy";
import { ChainSubscriber } from "./chainSubscriber";
import { tickEnded, tickStarted } from "./tickTiming";
import { type StopListener, type StopRequest, stopRequestOf } from "./stopRequest";

/** What `tick` keeps across resubscriptions (one per run of a stream). */
export interface TickSession {
  /** Time of the last tick, for `performance$`'s `previousTimestamp`; tick times only go forward. */
  previousTimestamp: number | null;
  /** Time of the last `getSignal` call: the strategy's interval holds across retries too. */
  lastSignalAt?: number;
  /** Added to the scheduler's time after the wall clock stepped back, so that ticks keep their period. */
  clockOffset?: number;
}

/** What `tick` starts from and shares with the other stages of a run. */
export interface TickOptions {
  /** What the store held when this subscription started (from `restoreState`); default nothing. */
  restored?: SignalState | null;
  /** The run's graceful stop (a `StopRequest`, or any input whose first emission stops). */
  stop?: StopRequest | ObservableInput<unknown>;
  /** State that outlives a resubscription; default: per subscription. */
  session?: TickSession;
  /** The run's journal: at level `full`, each tick appends a `tick` entry (its candles, price, the strategy's answer and the action). */
  journal?: JournalWriter;
}

/**
 * The engine: one tick per source emission, at the scheduler's time. A tick prices the market
 * (VWAP of the last closed one-minute candles), asks the strategy for a signal when nothing is
 * open or scheduled (at most once per the strategy's interval, never after a stop), applies
 * the trading rules (`evaluate`) and emits the tick's `TickResult`.
 *
 * The state starts from `options.restored`. An emission that arrives while a tick is still in
 * flight (an async exchange or strategy) is skipped, and so is one before the clock has moved
 * past the last tick; when the wall clock steps back by a tick period or more, ticks go on at
 * their period and their times never go backwards. A strategy that throws, times out or
 * returns an invalid signal gives an `error$` event and an `idle` tick; a market that cannot be
 * priced errors the stream.
 *
 * After the stop, it completes as soon as nothing is open or scheduled — at once, abandoning a
 * pending exchange or strategy call (a late answer is dropped) — but never in the middle of
 * delivering a result: a stop requested by whoever hears of a result takes effect after it.
 *
 * With a `journal` at level `full`, each tick appends a `tick` entry as it decides (before the
 * store write of its result): the candles of each request it made — the pricing request's VWAP
 * window first, then the strategy's `getCandles`/`candles$` requests in order —, the price,
 * the strategy's answer when it was asked, and the action (`error` for a tick whose pricing
 * failed). At the other levels the tick path does nothing more.
 *
 * ```
 * source:     0-----1-----2-----3--|
 * tick(ctx):  i-----o-----a-----c--|     (i idle, o opened, a active, c closed)
 * ```
 *
 * @example
 * timer(0, 60_001).pipe(tick(context, { restored: null })).subscribe(console.log);
 *
 * @param context the stream's `TradeContext`
 * @param options the restored state, the stop request and the session
 */
export function tick(context: TradeContext, options: TickOptions = {}): OperatorFunction<unknown, TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      source.subscribe(new TickSubscriber(subscriber, context, options));
    });
}

// One object per stream with prototype methods, not a nest of closures: thousands of streams
// each keep one alive, and a synchronous tick runs through it without allocating more than its
// result. Stages: admission -> price -> ask -> evaluate -> deliver.
class TickSubscriber extends ChainSubscriber<unknown, TickResult> implements StopListener, StrategyAnswer, CandleListener<number> {
  private readonly identity: StreamIdentity;
  private readonly scheduler: SchedulerLike;
  private readonly config: Readonly<Config>;
  private readonly tickMs: number;
  private readonly candleCount: number;
  private readonly session: TickSession;
  private readonly market: CandleFeed<number>;
  private readonly strategy: AskStrategy;
  /** Level `full` only. */
  private readonly recorder: TickRecorder | undefined;

  private state: SignalState | null;
  private previousTimestamp: number | null;
  private clockOffset: number;
  private stopping = false;
  /** A tick is waiting for the exchange or the strategy. */
  private busy = false;
  /** A result is on its way down the pipeline (its store write, callbacks and events). */
  private delivering = false;
  private sourceDone = false;
  private now = 0;
  private since = 0;
  private price = 0;
  /** `performance.now()` at the tick's start while `performance$` is observed, else 0. */
  private startedAt = 0;
  // The stop listened to, and whether it is this subscription's own (a stop input other than a
  // `StopRequest`): fields, not a way-out closure, on the many-streams path.
  private readonly stop: StopRequest | undefined;
  private readonly ownsStop: boolean;

  constructor(destination: Subscriber<TickResult>, context: TradeContext, options: TickOptions) {
    super(destination);
    this.identity = context.identity;
    this.scheduler = context.scheduler;
    this.config = context.config;
    this.tickMs = context.tickMs;
    this.candleCount = context.config.CC_AVG_PRICE_CANDLES_COUNT;
    this.session = options.session ?? { previousTimestamp: null };
    this.previousTimestamp = this.session.previousTimestamp;
    this.clockOffset = this.session.clockOffset ?? 0;
    this.state = options.restored ?? null;
    this.strategy = new AskStrategy(context, this.session.lastSignalAt ?? Number.NEGATIVE_INFINITY);
    this.market = new CandleFeed(context, "1m", this);
    const journal = options.journal;
    if (journal?.full === true) this.strategy.recorder = this.recorder = new TickRecorder(journal, context.key);
    this.stop = options.stop === undefined || this.closed ? undefined : stopRequestOf(options.stop);
    this.ownsStop = this.stop !== undefined && this.stop !== options.stop;
    this.stop?.join(this);
  }

  onStop(): void {
    this.stopping = true;
    this.completeIfStopped();
  }

  // Admission: one tick at a time, and only once the clock has moved on.
  protected override _next(): void {
    if (this.busy || this.closed) return;
    const now = this.clockNow();
    if (now === undefined) return;
    this.busy = true;
    this.now = now;
    this.since = windowStart(now, this.candleCount);
    this.startedAt = tickStarted();
    this.recorder?.begin();
    this.market.request(this.since, this.candleCount);
  }

  protected override _complete(): void {
    this.sourceDone = true;
    if (!this.busy && !this.delivering) super._complete();
  }

  override unsubscribe(): void {
    if (this.closed) return;
    // Handed to the next subscription (after a retry) here, not on every tick.
    this.session.previousTimestamp = this.previousTimestamp;
    this.session.lastSignalAt = this.strategy.lastAskedAt;
    this.session.clockOffset = this.clockOffset;
    this.market.cancel();
    this.strategy.cancel();
    this.stop?.leave(this);
    if (this.ownsStop) this.stop?.close();
    super.unsubscribe();
  }

  // The tick's time: the scheduler's, never behind the last tick. A clock that has not moved
  // past the last tick has nothing new to say (two results of a stream never share a time);
  // one that stepped back by a period or more is a wall-clock step: keep the period.
  private clockNow(): number | undefined {
    const now = this.scheduler.now() + this.clockOffset;
    const previous = this.previousTimestamp;
    if (previous === null || now > previous) return now;
    if (previous - now < this.tickMs) return undefined;
    this.clockOffset += previous + this.tickMs - now;
    return previous + this.tickMs;
  }

  // Price: the VWAP of the window's closed candles (CandleListener).
  acceptCandles(candles: Candle[]): number {
    const price = vwapPrice(candles, this.now, this.since, this.candleCount, this.identity);
    this.recorder?.pricing(candles, this.now, this.since, this.candleCount);
    return price;
  }

  candlesFailed(error: unknown): void {
    const recorder = this.recorder;
    if (recorder !== undefined && !this.closed) {
      recorder.pricingFailed(this.since, this.candleCount, error);
      recorder.end(this.now, "error", null, undefined);
    }
    this.fail(error);
  }

  // Price known: ask the strategy when nothing is held, the stop not requested and its interval passed.
  candlesReady(price: number): void {
    if (this.closed) return;
    this.price = price;
    if (this.state === null && !this.stopping && this.strategy.due(this.now)) this.strategy.ask(this.now, price, this);
    else this.answered(null);
  }

  answered(proposal: SignalState | null): void {
    if (this.closed) return;
    // A signal that arrives after a stop request is dropped: a stop means no new positions.
    const transition = evaluate(this.state, this.price, this.now, this.config, this.identity, this.stopping ? null : proposal);
    this.state = transition.state;
    this.busy = false;
    if (this.startedAt !== 0) tickEnded(this.identity, this.startedAt, this.now, this.previousTimestamp);
    this.previousTimestamp = this.now;
    this.recorder?.end(this.now, transition.result.action, this.price, transition.result);
    this.deliver(transition.result);
  }

  private deliver(result: TickResult): void {
    this.delivering = true;
    this.out.next(result);
    this.delivering = false;
    if (this.sourceDone && !this.closed) {
      this.out.complete();
      this.unsubscribe();
      return;
    }
    this.completeIfStopped();
  }

  // The graceful end: stopping and nothing held. A tick in flight holds nothing new yet, so it
  // is abandoned; a result being delivered is finished first. Completion goes down through
  // persistState, which lets a pending write and the results queued behind it through first.
  private completeIfStopped(): void {
    if (!this.stopping || this.delivering || this.state !== null || this.closed) return;
    this.busy = false;
    this.out.complete();
    this.unsubscribe();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.busy = false;
    this.out.error(error);
    this.unsubscribe();
  }
}
