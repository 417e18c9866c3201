import { defer, type MonoTypeOperatorFunction, NEVER, Observable, type Subscriber, timer } from "rxjs";
import { ChainSubscriber } from "../operators/chainSubscriber";
import { emitEvents } from "../operators/emitEvents";
import { keepOpenedClosed } from "../operators/keepOpenedClosed";
import { lockKey } from "../operators/lockKey";
import { persistState } from "../operators/persistState";
import { restoreState } from "../operators/restoreState";
import { retryAfter } from "../operators/retryAfter";
import { stopGate } from "../operators/stopGate";
import { StopLatch } from "../operators/stopLatch";
import { tick } from "../operators/tick";
import { emit } from "./events";
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
 * Composition: `timer(0, tickMs, scheduler)` -> `restoreState` -> `tick` -> `persistState` ->
 * `emitEvents` -> `retryAfter(tickMs)` -> `lockKey` -> `stopGate(stop$)` -> `keepOpenedClosed`.
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
  return liveTicks$(symbol, strategy, options).pipe(keepOpenedClosed());
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

/**
 * `liveTicks$`, with a hook that runs when the loop ends by itself (a graceful stop or an
 * error), before `doneLive$`/`exit$` announce it. Not public: the facade's bookkeeping.
 */
export function tradeLoop$(
  symbol: string,
  strategy: StrategySchema | string,
  options: LiveOptions,
  onEnd?: () => void,
): Observable<TickResult> {
  const context = tradeContext(symbol, strategy, options);
  const { identity } = context;
  return defer(() => {
    // Both outlive the retries: the stop request, and the previous tick's time for performance$.
    const stop$ = options.stop$ === undefined ? NEVER : new StopLatch(options.stop$);
    const session = { previousTimestamp: null };
    return timer(0, context.tickMs, context.scheduler).pipe(
      restoreState(context),
      tick(context, stop$, session),
      persistState(context),
      emitEvents(context),
      retryAfter(context.tickMs, context.scheduler),
      lockKey(context),
      stopGate(stop$),
      announceEnd(identity, onEnd),
    );
  });
}

// doneLive$ on a graceful end, exit$ on an error; a class, not a `tap`: one small object per stream.
function announceEnd(identity: StreamIdentity, onEnd: (() => void) | undefined): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      source.subscribe(new AnnounceEndSubscriber(subscriber, identity, onEnd));
    });
}

class AnnounceEndSubscriber extends ChainSubscriber<TickResult> {
  constructor(
    destination: Subscriber<TickResult>,
    private readonly identity: StreamIdentity,
    private readonly onEnd: (() => void) | undefined,
  ) {
    super(destination);
  }

  protected override _complete(): void {
    this.onEnd?.();
    emit.done({ ...this.identity, backtest: false });
    super._complete();
  }

  protected override _error(error: unknown): void {
    this.onEnd?.();
    emit.exit(error);
    super._error(error);
  }
}
