import { filter, NEVER, Observable, race, retry, type Subscriber, timer } from "rxjs";
import { ChainSubscriber } from "../operators/chainSubscriber";
import { StoreLockedError } from "./errors";
import { emitEvents } from "../operators/emitEvents";
import { isFatalError } from "../operators/isFatalError";
import { isOpenedOrClosed } from "../operators/isOpenedOrClosed";
import { lockKey } from "../operators/lockKey";
import { persistState } from "../operators/persistState";
import { restoreState } from "../operators/restoreState";
import { stopGate } from "../operators/stopGate";
import { StopRequest } from "../operators/stopRequest";
import { stopRequested$ } from "../operators/stopRequested";
import { tick, type TickSession } from "../operators/tick";
import { StallWatch } from "../operators/watchStall";
import { emit } from "./events";
import { JournalWriter } from "./journalWriter";
import { holdsSignal } from "./rules";
import type { LiveOptions, StrategySchema, TickResult, TickResultClosed, TickResultOpened } from "./model";
import type { StreamIdentity } from "./signal";
import { tradeContext } from "./tradeContext";

/**
 * Runs a strategy live on one symbol, forever: every `tickMs` it prices the market, asks the
 * strategy for a signal when nothing is open, opens, monitors and closes signals, persisting
 * each change before it is emitted. Emits `opened` and `closed` results. Errors of a tick are
 * reported on `error$` and the stream resubscribes after `tickMs`, resuming from the store.
 * After `stop$` emits, no new signal is taken and the stream completes once nothing is open.
 *
 * ```
 * timer:        0-----1-----2-----3-----4--…   (every tickMs)
 * stop$:        --------------------s------
 * liveTrade$:   ------o-----------c-|          (o opened, c closed)
 * ```
 *
 * Composition: `restoreState` (the store, read on every subscribe) -> `timer(0, tickMs, scheduler)`
 * -> `tick` (watched by a `StallWatch`) -> `persistState` -> `emitEvents` -> rxjs's
 * `retry({ delay })` (each error on `error$`; a fatal one rethrown, otherwise
 * `timer(tickMs, scheduler)` raced by the stop) -> the journal's end of the run -> `lockKey`
 * -> `stopGate(stop)` -> rxjs's `filter(isOpenedOrClosed)`, the stages sharing one
 * `StopRequest` and, with `options.journal`, one `JournalWriter` (see `LiveOptions.journal`).
 *
 * @example
 * import { liveTrade$, replayExchange } from "rxtrade";
 * liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles) })
 *   .subscribe((result) => console.log(result.action, result.signal.id));
 *
 * @param symbol e.g. "BTCUSDT"
 * @param strategy a schema, or a name registered with `addStrategy`
 * @param options the exchange (required), store, stop$, scheduler, tickMs and config overrides
 */
export function liveTrade$(
  symbol: string,
  strategy: StrategySchema | string,
  options: LiveOptions,
): Observable<TickResultOpened | TickResultClosed> {
  return liveTicks$(symbol, strategy, options).pipe(filter(isOpenedOrClosed));
}

/**
 * `liveTrade$` before its last filter: every tick result — idle, scheduled, opened, active,
 * closed, cancelled. For dashboards and for composing your own views of a live loop.
 *
 * ```
 * liveTicks$:   i-----o-----a-----c-|
 * liveTrade$:   ------o-----------c-|
 * ```
 *
 * @example
 * liveTicks$("BTCUSDT", strategy, { exchange }).pipe(filter((r) => r.action === "active"))
 *   .subscribe((r) => console.log(r.percentTp));
 *
 * @param symbol e.g. "BTCUSDT"
 * @param strategy a schema, or a name registered with `addStrategy`
 * @param options as for `liveTrade$`
 */
export function liveTicks$(symbol: string, strategy: StrategySchema | string, options: LiveOptions): Observable<TickResult> {
  return tradeLoop$(symbol, strategy, options);
}

/** What the facade hears of a loop it runs. Not public. */
export interface LoopHooks {
  /** The loop ended by itself (a graceful stop or an error), before `doneLive$`/`exit$` announce it. */
  onEnd?(): void;
  /** The loop stalled (`true`) or recovered (`false`). */
  onHealth?(stalled: boolean): void;
}

/** `liveTicks$`, with the facade's hooks. Not public. */
export function tradeLoop$(
  symbol: string,
  strategy: StrategySchema | string,
  options: LiveOptions,
  hooks: LoopHooks = {},
): Observable<TickResult> {
  const context = tradeContext(symbol, strategy, options);
  const { identity, tickMs, scheduler } = context;
  // Only what a run needs is kept: thousands of streams each hold this closure.
  const stop$ = options.stop$ ?? NEVER;
  const { onEnd, onHealth } = hooks;
  return new Observable<TickResult>((subscriber) => {
    // A run: its stop request, the state tick hands to its next subscription and its stall
    // watch outlive the retries.
    const stop = new StopRequest(stop$);
    const session: TickSession = { previousTimestamp: null };
    const stall = new StallWatch(context, onHealth);
    // The run's journal: its entries, in order, across retries.
    const journal = context.journal === undefined ? undefined : new JournalWriter(context);
    restoreState(context, (restored) => {
      journal?.started(restored);
      return timer(0, tickMs, scheduler).pipe(stall.clock(), tick(context, { restored, stop, session, journal }));
    })
      .pipe(
        persistState(context, { journal }),
        emitEvents(context),
        stall.results(),
        retry({
          delay: (error) => {
            emit.error(error); // error$: each failed attempt once, fatal or not
            if (isFatalError(error)) throw error; // retrying cannot fix it: the stream ends with it
            // A stop that arrives during the wait cuts it short (the store, read again, says whether
            // anything is still open); once stopped, a failure waits its whole period: no retry loop.
            const wait$ = timer(tickMs, scheduler);
            return stop.requested ? wait$ : race(wait$, stopRequested$(stop));
          },
        }),
        (source) => (journal === undefined ? source : new Observable<TickResult>((inner) => source.subscribe(new JournalEnd(inner, journal, stop)))),
        lockKey(context),
        stopGate(stop),
      )
      .subscribe(new EndOfRun(subscriber, identity, stop, onEnd));
  });
}

/**
 * The run's end, in its journal, while the store lock is still held (this stage sits inside
 * `lockKey`): the `stop` entry goes in and the journal drains (bounded: see
 * `JournalWriter.end`) before the end is passed on — so a process that reads the journal once
 * the stream has ended finds all of it, and no later owner of the key shares its file.
 *
 * The last result of a graceful run (the stop requested, nothing held) is held back until then:
 * `stopGate` ends the stream as it passes, by unsubscribing, not by completing. A stop that is
 * requested only downstream of this stage, as that result is delivered, and a plain unsubscribe
 * append the `stop` entry as the lock is released (synchronous journals: before).
 */
class JournalEnd extends ChainSubscriber<TickResult> {
  private last: TickResult | undefined;
  private ended: "complete" | { error: unknown } | undefined;
  private ending = false;
  /** Whether the last result passed on left a signal held (`undefined` before the first). */
  private holding: boolean | undefined;

  constructor(
    destination: Subscriber<TickResult>,
    private readonly journal: JournalWriter,
    private readonly stop: StopRequest,
  ) {
    super(destination);
  }

  protected override _next(result: TickResult): void {
    if (this.ending) return;
    const holding = holdsSignal(result);
    if (!this.stop.requested || holding) {
      this.holding = holding;
      this.out.next(result);
      return;
    }
    this.last = result;
    this.endRun("stopped", undefined);
  }

  protected override _complete(): void {
    this.ended = "complete";
    this.endRun("stopped", undefined);
  }

  protected override _error(error: unknown): void {
    this.ended = { error };
    // A lost lock: the key may be another process's now; this run appends nothing more.
    if (error instanceof StoreLockedError) this.journal.abandon(`the run lost its store lock (${error.message})`);
    this.endRun("error", error);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.journal.close(this.stop.requested && this.holding === false ? "stopped" : "unsubscribed");
    super.unsubscribe();
  }

  private endRun(reason: "stopped" | "error", error: unknown): void {
    if (this.ending) {
      this.passOn();
      return;
    }
    this.ending = true;
    this.journal.end(reason, error, () => this.passOn());
  }

  private passOn(): void {
    if (this.closed || !this.journal.finished) return;
    const last = this.last;
    this.last = undefined;
    if (last !== undefined) this.out.next(last);
    if (this.closed) return;
    const ended = this.ended;
    if (ended === undefined) return;
    if (ended === "complete") this.out.complete();
    else this.out.error(ended.error);
    this.unsubscribe();
  }
}

// Ends the run: doneLive$ on a graceful end, exit$ on an error, the stop request released.
// A subscriber, not a `tap`: one small object per stream instead of a dozen.
class EndOfRun extends ChainSubscriber<TickResult> {
  constructor(
    destination: Subscriber<TickResult>,
    private readonly identity: StreamIdentity,
    private readonly stop: StopRequest,
    private readonly onEnd: (() => void) | undefined,
  ) {
    super(destination);
  }

  protected override _complete(): void {
    this.stop.close();
    this.onEnd?.();
    emit.done({ ...this.identity, backtest: false });
    super._complete();
  }

  protected override _error(error: unknown): void {
    this.stop.close();
    this.onEnd?.();
    emit.exit(error);
    super._error(error);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    this.stop.close();
    super.unsubscribe();
  }
}
