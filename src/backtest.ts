import { merge, Observable, Subject, type Subscriber } from "rxjs";
import { BacktestClock } from "./backtestClock";
import { backtestPlan, type BacktestPlan, openStream } from "./backtestPlan";
import { timedStrategy } from "./backtestStrategy";
import { CandleWindow } from "./backtestWindow";
import { historyStatistics, TradeLedger } from "./live/liveHistory";
import type { LiveStatistics } from "./live/liveStatistics";
import { liveTicks$ } from "./liveTrade";
import {
  type Candle,
  type LiveOptions,
  MINUTE_MS,
  type StrategySchema,
  type TickResult,
  type TickResultActive,
  type TickResultCancelled,
  type TickResultClosed,
  type TickResultOpened,
  type TickResultScheduled,
} from "./model";
import { checkStrategy, getStrategy } from "./registry";
import { VirtualClock } from "./testing/virtualClock";

/** What a backtest replays and how: the history, the window, and the live loop's own options. */
export interface BacktestOptions extends Omit<LiveOptions, "exchange" | "scheduler"> {
  /**
   * One-minute candles, oldest first: the history served by the backtest's exchange (as
   * `replayExchange` serves it: closed candles only, as of the clock). An array, or an
   * `AsyncIterable` read as the clock advances — `csvCandleFile(path)` from rxtrade/node streams
   * a CSV —, of which only `lookbackMinutes` are kept behind the clock.
   */
  candles: readonly Candle[] | AsyncIterable<Candle>;
  /**
   * The first tick (ms); the ticks follow every `tickMs` from it, as a live run started then.
   * Default: when the data first fills a price window (first candle + CC_AVG_PRICE_CANDLES_COUNT minutes).
   */
  from?: number;
  /**
   * The graceful stop (ms): no new signal after it; an open one runs to its close, on the
   * candles after `to` when the data has them. Default: the close of the last candle.
   */
  to?: number;
  /** `exchangeName` of the replayed exchange (recorded in signals). Default `"backtest"`. */
  exchangeName?: string;
  /**
   * Real ms a strategy's answer that is a Promise may take (default 5000): a backtest has no
   * market to wait for. Past it the tick fails — a `StrategyError` naming the tick's time, on
   * `error$`, the tick answered `null` — and the backtest goes on.
   */
  callTimeoutMs?: number;
  /**
   * Strategy answers in a row that may time out (`callTimeoutMs`) before the backtest stops
   * with a `StrategyError` (the strategy looks hung). Default 3; `Infinity` never stops.
   */
  maxCallTimeouts?: number;
  /**
   * An `AsyncIterable` of candles: the minutes of candles kept behind the clock, for the
   * prices and the strategy's `getCandles`/`candles$` (default 10080, 7 days). A request
   * reaching further back gets what is kept, and a warning once (the library logger).
   */
  lookbackMinutes?: number;
  /**
   * Real ms the clock waits, at most, for any call that answered with a Promise (an async
   * strategy, store or journal) before it moves virtual time on. Default `callTimeoutMs` +
   * 100: a call that takes real time — a timer, a request to a server — is waited for, so it
   * decides on the tick it was asked on, as it would live.
   */
  callGraceMs?: number;
  /**
   * Ends the backtest at its current tick when aborted (Ctrl-C): `runBacktest` resolves with
   * `end: "interrupted"` and the statistics so far; what is open stays open.
   */
  signal?: AbortSignal;
}

/** A signal still held when the data ran out: its latest tick result. */
export type BacktestOpenSignal = TickResultScheduled | TickResultOpened | TickResultActive;

/** A change of position: a limit entry placed, a position opened or closed, an entry cancelled. */
export type BacktestTrade = TickResultScheduled | TickResultOpened | TickResultClosed | TickResultCancelled;

/** What `runBacktest` resolves to. */
export interface BacktestResult {
  symbol: string;
  strategyName: string;
  /** The first tick (ms). */
  from: number;
  /** The graceful stop requested (ms). */
  to: number;
  /**
   * The close of the last candle of the data (ms); of a stream stopped before its end, the
   * close of the newest candle read.
   */
  dataEnd: number;
  tickMs: number;
  /**
   * `"stopped"`: the graceful stop at `to` took effect and nothing was left open.
   * `"data-ended"`: the data ran out first — before `to`, or while a signal opened before `to`
   * was still open (`open` says which); that signal is not in the statistics.
   * `"interrupted"`: `signal` was aborted; the run ended at `lastTick` (what is open stays open).
   */
  end: "stopped" | "data-ended" | "interrupted";
  /** What was still held when the data ran out or the run was interrupted, or `null`. */
  open: BacktestOpenSignal | null;
  /** Time of the last tick (ms), `null` when none ran. */
  lastTick: number | null;
  ticks: number;
  /** One-minute candles of the data from `from` up to the last tick: the history replayed. */
  candles: number;
  /** Every change of position, oldest first: what a journal at level `trades` holds of the run. */
  trades: BacktestTrade[];
  /**
   * The statistics a live run gives, sourced as `Live.getData` sources them from a journal
   * (`historyStatistics`): the trades, then the open signal's latest active row if one was
   * left open.
   */
  stats: LiveStatistics;
}

/**
 * Backtests a strategy through the live loop itself: `liveTicks$` — the same operators, rules
 * and store writes as a live run — on a `VirtualClock` started at `from`, on an exchange that
 * serves `candles` as `replayExchange` does (closed candles only, as of the clock; an
 * `AsyncIterable` read as the clock advances, `lookbackMinutes` kept behind it) and, by
 * default, a new `memoryStore()`. At `to` a graceful stop is requested, exactly as `stop$`
 * requests it live: no new signal; an open one runs to its close. The run also ends when the
 * data runs out: at the first tick whose newest closed minute has no candle (the last candle's
 * open time + 2 minutes), whatever is open then stays open. Every tick result is emitted; the
 * stream completes at the end. The clock waits for calls that answer with a Promise (real
 * time: a strategy's answer at most `callTimeoutMs`), so async strategies and stores run in
 * virtual time too.
 *
 * ```
 * ticks:       i--o--a--a--a--c--i--i--o--a--c|      (every tickMs from `from`)
 * stop at to:  -----------------------s
 * backtest$:   i--o--a--a--a--c--i--i--o--a--c|      (the open one runs to its close)
 * ```
 *
 * @example
 * import { backtest$ } from "rxtrade/node";
 * backtest$("BTCUSDT", strategy, { candles, from: Date.parse("2023-03-08T12:00Z"), to: Date.parse("2023-03-11T12:00Z") })
 *   .subscribe((result) => result.action === "closed" && console.log(result.pnl.pnlPercentage));
 *
 * @param symbol the symbol the strategy trades, e.g. "BTCUSDT" (the store key is `symbol:strategyName`)
 * @param strategy a schema, or a name registered with `addStrategy`
 * @param options the candles, the window (`from`, `to`), and the live loop's store, tickMs, config, stop$
 */
export function backtest$(symbol: string, strategy: StrategySchema | string, options: BacktestOptions): Observable<TickResult> {
  return backtestRun$(symbol, strategy, options, backtestPlan(options), {});
}

/** What a run learns as it goes, for `runBacktest`'s result. */
interface RunInfo {
  from?: number;
  to?: number;
  window?: CandleWindow;
  interrupted?: boolean;
}

function backtestRun$(symbol: string, strategy: StrategySchema | string, options: BacktestOptions, plan: BacktestPlan, info: RunInfo): Observable<TickResult> {
  return new Observable<TickResult>((subscriber) => {
    let clock: BacktestClock | undefined;
    let window: CandleWindow | undefined;
    const hung = (error: unknown) => clock?.fail(error);
    let schema: StrategySchema;
    try {
      schema = typeof strategy === "string" ? getStrategy(strategy) : strategy;
      checkStrategy(schema);
    } catch (error) {
      subscriber.error(error);
      return;
    }
    const timed = timedStrategy(schema, { ms: plan.callTimeoutMs, inARow: plan.maxCallTimeouts }, hung);
    const interrupt = () => clock?.interrupt();
    options.signal?.addEventListener("abort", interrupt, { once: true });
    subscriber.add(() => {
      options.signal?.removeEventListener("abort", interrupt);
      timed.dispose();
      window?.close();
    });

    // Runs the loop from `from`, once the window holds the candles up to it.
    const start = (from: number, to: number, end: number | undefined): Promise<void> => {
      if (subscriber.closed) return Promise.resolve();
      const running = new BacktestClock(new VirtualClock(from), { graceMs: plan.graceMs, prepare: (window as CandleWindow).prepare });
      clock = running;
      info.from = from;
      info.to = to;
      if (options.signal?.aborted === true) running.interrupt();
      const stop$ = new Subject<void>();
      // As a live run's stop: scheduled before the loop's timer, so a tick due at the same time
      // comes after it (the demo's session does the same).
      if (Number.isFinite(to)) subscriber.add(running.schedule(() => stop$.next(), to - from));
      const ended = (last: number) => {
        // A stream without `to`: its end is known only now, and the graceful stop is there (as an array's).
        if (!Number.isFinite(to)) {
          info.to = last + MINUTE_MS;
          subscriber.add(running.schedule(() => stop$.next(), Math.max(0, last + MINUTE_MS - running.now())));
        }
        subscriber.add(running.schedule(() => subscriber.complete(), Math.max(0, last + 2 * MINUTE_MS - running.now())));
      };
      if (end !== undefined) ended(end - 2 * MINUTE_MS);
      else (window as CandleWindow).onEnded = ended;
      subscriber.add(
        liveTicks$(symbol, timed.strategy, {
          ...plan.live,
          exchange: (window as CandleWindow).exchange(options.exchangeName ?? "backtest"),
          scheduler: running,
          tickMs: plan.tickMs,
          stop$: options.stop$ === undefined ? stop$ : merge(stop$, options.stop$),
        }).subscribe({
          next: (result) => subscriber.next(result),
          error: (error: unknown) => subscriber.error(error),
          complete: () => subscriber.complete(),
        }),
      );
      // Runs until nothing is scheduled: the loop ended (its timers went with it) or was unsubscribed.
      return running.run().then(() => {
        info.interrupted = running.interrupted;
      });
    };

    let running: Promise<void>;
    if (plan.candles !== undefined) {
      window = CandleWindow.ofArray({ now: () => clock?.now() ?? Number.NEGATIVE_INFINITY }, plan.candles);
      info.window = window;
      window.countSince((plan.from as number) - MINUTE_MS);
      running = start(plan.from as number, plan.to as number, plan.end);
    } else {
      const streamed = CandleWindow.ofStream({ now: () => clock?.now() ?? Number.NEGATIVE_INFINITY }, plan.stream as AsyncIterable<Candle>, plan.lookbackMinutes, plan.tickMs);
      window = streamed;
      info.window = streamed;
      running = openStream(streamed, options, plan).then(({ from, to }) => start(from, to, streamed.ended ? streamed.newest + 2 * MINUTE_MS : undefined));
    }
    running.then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
  });
}

/**
 * Runs `backtest$` to its end and resolves to the statistics a live run gives (its trades, each
 * once, as `TradeLedger` and `historyStatistics` count a journal's), the trades, and what was
 * left open if the data ran out (or the run was interrupted through `signal`).
 * `liveReport(result.strategyName, result.stats)` is its report.
 *
 * @example
 * import { runBacktest } from "rxtrade/node";
 * const result = await runBacktest("BTCUSDT", strategy, { candles, from, to });
 * console.log(result.stats.totalPnl, liveReport(result.strategyName, result.stats));
 *
 * @param symbol e.g. "BTCUSDT"
 * @param strategy a schema, or a name registered with `addStrategy`
 * @param options as for `backtest$`, and `onTick` (every tick result, e.g. for a progress bar) and `maxEvents` (of the statistics' event list)
 */
export function runBacktest(
  symbol: string,
  strategy: StrategySchema | string,
  options: BacktestOptions & { onTick?: (result: TickResult) => void; maxEvents?: number },
): Promise<BacktestResult> {
  const plan = backtestPlan(options);
  const { onTick, maxEvents, ...rest } = options;
  const ledger = new TradeLedger();
  const info: RunInfo = {};
  let last: TickResult | undefined;
  let ticks = 0;
  return new Promise<BacktestResult>((resolve, reject) => {
    backtestRun$(symbol, strategy, rest, plan, info).subscribe({
      next: (result) => {
        ticks++;
        last = result;
        ledger.add(result);
        onTick?.(result);
      },
      error: reject,
      complete: () => {
        const open = last === undefined ? null : heldBy(last);
        const lastTick = last?.timestamp ?? null;
        const window = info.window as CandleWindow;
        const dataEnd = window.newest + MINUTE_MS;
        const to = info.to === undefined || !Number.isFinite(info.to) ? dataEnd : info.to;
        resolve({
          symbol,
          strategyName: last?.strategyName ?? (typeof strategy === "string" ? strategy : strategy.strategyName),
          from: info.from as number,
          to,
          dataEnd,
          tickMs: plan.tickMs,
          end: info.interrupted === true ? "interrupted" : open === null && to < dataEnd + MINUTE_MS ? "stopped" : "data-ended",
          open,
          lastTick,
          ticks,
          candles: lastTick === null ? 0 : window.count(lastTick),
          trades: ledger.results,
          stats: historyStatistics(ledger, maxEvents, open?.action === "active" ? open : undefined),
        });
      },
    });
  });
}

function heldBy(result: TickResult): BacktestOpenSignal | null {
  return result.action === "opened" || result.action === "active" || result.action === "scheduled" ? result : null;
}
