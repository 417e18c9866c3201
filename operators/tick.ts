import { from, Observable, type ObservableInput, type OperatorFunction, type Unsubscribable } from "rxjs";
import { candleFeed } from "../src/candleFeed";
import { StrategyError } from "../src/errors";
import { emit } from "../src/events";
import { settle } from "../src/maybeAsync";
import { type Candle, type CandleInterval, intervalMs, type SignalContext, type TickResult } from "../src/model";
import { vwapPrice, windowStart } from "../src/pricing";
import { evaluate } from "../src/rules";
import { createSignal, type SignalState } from "../src/signal";
import type { TradeContext } from "../src/tradeContext";
import { RestoredState } from "./restoreState";

/**
 * The engine: one tick per source emission, at `scheduler.now()`. A tick prices the market
 * (VWAP of the last closed one-minute candles), asks the strategy for a signal when nothing is
 * open or scheduled (at most once per the strategy's interval, never after `stop$`), and
 * applies the trading rules (`evaluate`). It emits every tick's `TickResult`.
 *
 * The state lives in the subscription: it starts empty, or from a `RestoredState` emitted by
 * `restoreState`. An emission that arrives while a tick is still in flight (an async exchange
 * or strategy) is skipped. A strategy that throws, times out or returns an invalid signal
 * gives an `error$` event and an `idle` tick; a market that cannot be priced errors the stream.
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
 * @param session state that outlives a resubscription (`retryAfter`): the time of the last tick,
 *   for `performance$`'s `previousTimestamp`. Default: per subscription.
 */
export function tick(
  context: TradeContext,
  stop$?: ObservableInput<unknown>,
  session: TickSession = { previousTimestamp: null },
): OperatorFunction<unknown, TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      const { identity, strategy, scheduler, config, signalIntervalMs } = context;
      const { symbol } = identity;
      const candleCount = config.CC_AVG_PRICE_CANDLES_COUNT;
      const signalTimeoutMs = config.CC_MAX_SIGNAL_GENERATION_SECONDS * 1000;

      let state: SignalState | null = null;
      let stopping = false;
      let busy = false;
      let sourceDone = false;
      let lastSignalAt = -Infinity;
      let now = 0;
      let price = 0;
      let since = 0;
      let startedAt = 0;
      let pending: Unsubscribable | undefined;
      let timeout: Unsubscribable | undefined;

      const fail = (error: unknown) => {
        busy = false;
        subscriber.error(error);
      };

      const finish = (proposal: SignalState | null) => {
        const transition = evaluate(state, price, now, config, identity, proposal);
        state = transition.state;
        busy = false;
        if (startedAt !== 0) {
          emit.performance({
            timestamp: now,
            previousTimestamp: session.previousTimestamp,
            metricType: "live_tick",
            duration: performance.now() - startedAt,
            strategyName: identity.strategyName,
            exchangeName: identity.exchangeName,
            symbol,
            backtest: false,
          });
        }
        session.previousTimestamp = now;
        subscriber.next(transition.result);
        if (sourceDone) subscriber.complete();
      };

      const signalFailed = (error: StrategyError) => {
        pending = undefined;
        timeout?.unsubscribe();
        timeout = undefined;
        emit.error(error);
        finish(null);
      };

      const received = (dto: unknown) => {
        pending = undefined;
        timeout?.unsubscribe();
        timeout = undefined;
        // A signal that arrives after a stop request is dropped: a stop means no new positions.
        if (dto === null || dto === undefined || stopping) {
          finish(null);
          return;
        }
        let proposal: SignalState | null = null;
        try {
          proposal = createSignal(dto, price, now, config, identity, context.newId);
        } catch (invalid) {
          emit.error(invalid);
        }
        finish(proposal);
      };

      const rejected = (error: unknown) =>
        signalFailed(new StrategyError(`getSignal of ${identity.strategyName} failed for ${symbol}: ${describe(error)}`, identity, error));

      const timedOut = () => {
        pending?.unsubscribe();
        signalFailed(
          new StrategyError(
            `getSignal of ${identity.strategyName} did not settle within CC_MAX_SIGNAL_GENERATION_SECONDS (${config.CC_MAX_SIGNAL_GENERATION_SECONDS} s) for ${symbol}`,
            identity,
          ),
        );
      };

      const askStrategy = () => {
        lastSignalAt = now;
        const at = now;
        const signalContext: SignalContext = {
          currentPrice: price,
          getCandles: (interval, limit) => candlesAsOf(interval, limit, at),
        };
        let value;
        try {
          value = strategy.getSignal(symbol, new Date(now), signalContext);
        } catch (error) {
          rejected(error);
          return;
        }
        const handle = settle(value, received, rejected);
        if (handle !== undefined) {
          pending = handle;
          timeout = scheduler.schedule(timedOut, signalTimeoutMs);
        }
      };

      const priced = (value: number) => {
        price = value;
        if (state === null && !stopping && now - lastSignalAt >= signalIntervalMs) askStrategy();
        else finish(null);
      };

      const toPrice = (candles: Candle[]) => vwapPrice(candles, now, since, candleCount, identity);
      const prices = candleFeed(context, "1m", toPrice, priced, fail);

      const begin = () => {
        busy = true;
        now = scheduler.now();
        startedAt = emit.performanceObserved() ? performance.now() : 0;
        since = windowStart(now, candleCount);
        prices.request(since, candleCount);
      };

      // Candles for the strategy, as of its tick: the newest `limit` that had closed by then.
      const candlesAsOf = (interval: CandleInterval, limit: number, at: number) =>
        new Promise<Candle[]>((resolve, reject) => {
          const width = intervalMs(interval);
          if (width === undefined || !Number.isSafeInteger(limit) || limit <= 0) {
            reject(new RangeError(`rxtrade: getCandles(${JSON.stringify(interval)}, ${limit}): unknown interval or limit not a positive integer`));
            return;
          }
          const first = Math.floor(at / width) * width - limit * width;
          const closed = (candles: Candle[]) => candles.filter((c) => c.timestamp >= first && c.timestamp + width <= at);
          const cancel = () => feed.cancel();
          const done = (deliver: () => void) => {
            subscriber.remove(cancel);
            deliver();
          };
          const feed = candleFeed(
            context,
            interval,
            closed,
            (candles) => done(() => resolve(candles)),
            (error) => done(() => reject(error)),
          );
          subscriber.add(cancel);
          feed.request(first, limit);
        });

      if (stop$ !== undefined) {
        subscriber.add(
          from(stop$).subscribe(() => {
            stopping = true;
          }),
        );
      }
      subscriber.add(
        source.subscribe({
          next(value) {
            if (value instanceof RestoredState) {
              state = value.state;
              return;
            }
            if (busy) return;
            try {
              begin();
            } catch (error) {
              fail(error);
            }
          },
          error: (error) => subscriber.error(error),
          complete() {
            sourceDone = true;
            if (!busy) subscriber.complete();
          },
        }),
      );
      return () => {
        prices.cancel();
        pending?.unsubscribe();
        timeout?.unsubscribe();
      };
    });
}

/** What `tick` keeps across resubscriptions. */
export interface TickSession {
  previousTimestamp: number | null;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
