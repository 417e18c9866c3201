import { merge, Observable, type SchedulerAction, type SchedulerLike, Subject, type Subscription } from "rxjs";
import { getConfig, resolveConfig } from "./config";
import type { CallWatcher } from "./deadline";
import { ArgumentError, ArgumentRangeError } from "./errors";
import { replayExchange } from "./exchanges/replayExchange";
import { showValue } from "./showValue";
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
import { VirtualClock } from "./testing/virtualClock";
import { DEFAULT_TICK_MS } from "./tradeContext";

/** What a backtest replays and how: the history, the window, and the live loop's own options. */
export interface BacktestOptions extends Omit<LiveOptions, "exchange" | "scheduler"> {
  /** One-minute candles, oldest first: the history served by `replayExchange`, closed candles only as of the clock. */
  candles: readonly Candle[];
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
   * Real ms the clock waits, at most, for a call that answered with a Promise (an async
   * strategy, exchange or store) before it moves virtual time on. Default: the call's own time
   * limit (CC_MAX_SIGNAL_GENERATION_SECONDS, CC_EXCHANGE_TIMEOUT_SECONDS, CC_STORE_TIMEOUT_SECONDS),
   * as `rxtrade demo`'s clock waits: a call that takes real time — a timer, a request to a
   * server — is waited for, so it decides on the tick it was asked on, as it would live.
   */
  callGraceMs?: number;
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
  /** The close of the last candle of the data (ms). */
  dataEnd: number;
  tickMs: number;
  /**
   * `"stopped"`: the graceful stop at `to` took effect and nothing was left open.
   * `"data-ended"`: the data ran out first — before `to`, or while a signal opened before `to`
   * was still open (`open` says which); that signal is not in the statistics.
   */
  end: "stopped" | "data-ended";
  /** What was still held when the data ran out, or `null`. */
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
 * and store writes as a live run — on a `VirtualClock` started at `from`, on a
 * `replayExchange` of `candles` (closed candles only, as of the clock) and, by default, a new
 * `memoryStore()`. At `to` a graceful stop is requested, exactly as `stop$` requests it live:
 * no new signal; an open one runs to its close. The run also ends when the data runs out:
 * at the first tick whose newest closed minute has no candle (the last candle's open time +
 * 2 minutes), whatever is open then stays open. Every tick result is emitted; the stream
 * completes at the end. Time advances with `flushAsync`, so Promise-returning strategies and
 * stores run in virtual time too.
 *
 * ```
 * ticks:       i--o--a--a--a--c--i--i--o--a--c|      (every tickMs from `from`)
 * stop at to:  -----------------------s
 * backtest$:   i--o--a--a--a--c--i--i--o--a--c|      (the open one runs to its close)
 * ```
 *
 * @example
 * import { backtest$ } from "rxtrade";
 * backtest$("BTCUSDT", strategy, { candles, from: Date.parse("2023-03-08T12:00Z"), to: Date.parse("2023-03-11T12:00Z") })
 *   .subscribe((result) => result.action === "closed" && console.log(result.pnl.pnlPercentage));
 *
 * @param symbol the symbol the strategy trades, e.g. "BTCUSDT" (the store key is `symbol:strategyName`)
 * @param strategy a schema, or a name registered with `addStrategy`
 * @param options the candles, the window (`from`, `to`), and the live loop's store, tickMs, config, stop$
 */
export function backtest$(symbol: string, strategy: StrategySchema | string, options: BacktestOptions): Observable<TickResult> {
  const { candles, from, to, end, tickMs, live } = backtestPlan(options);
  return new Observable<TickResult>((subscriber) => {
    const clock = new BacktestClock(new VirtualClock(from), options.callGraceMs);
    const stop$ = new Subject<void>();
    // As a live run's stop: scheduled before the loop's timer, so a tick due at the same time
    // comes after it (the demo's session does the same).
    subscriber.add(clock.schedule(() => stop$.next(), to - from));
    subscriber.add(clock.schedule(() => subscriber.complete(), end - from));
    subscriber.add(
      liveTicks$(symbol, strategy, {
        ...live,
        exchange: replayExchange(candles, clock, { exchangeName: options.exchangeName ?? "backtest" }),
        scheduler: clock,
        tickMs,
        stop$: options.stop$ === undefined ? stop$ : merge(stop$, options.stop$),
      }).subscribe({
        next: (result) => subscriber.next(result),
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
    // Runs until nothing is scheduled: the loop ended (its timers went with it) or was unsubscribed.
    clock.run().then(
      () => subscriber.complete(),
      (error: unknown) => subscriber.error(error),
    );
  });
}

/**
 * Runs `backtest$` to its end and resolves to the statistics a live run gives (its trades, each
 * once, as `TradeLedger` and `historyStatistics` count a journal's), the trades, and what was
 * left open if the data ran out. `liveReport(result.strategyName, result.stats)` is its report.
 *
 * @example
 * import { runBacktest } from "rxtrade";
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
  const { candles, from, to, dataEnd, tickMs } = backtestPlan(options);
  const { onTick, maxEvents, ...rest } = options;
  const ledger = new TradeLedger();
  let last: TickResult | undefined;
  let ticks = 0;
  return new Promise<BacktestResult>((resolve, reject) => {
    backtest$(symbol, strategy, rest).subscribe({
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
        resolve({
          symbol,
          strategyName: last?.strategyName ?? (typeof strategy === "string" ? strategy : strategy.strategyName),
          from,
          to,
          dataEnd,
          tickMs,
          end: open === null && to < dataEnd + MINUTE_MS ? "stopped" : "data-ended",
          open,
          lastTick,
          ticks,
          candles: lastTick === null ? 0 : countCandles(candles, from, lastTick),
          trades: ledger.results,
          stats: historyStatistics(ledger, maxEvents, open?.action === "active" ? open : undefined),
        });
      },
    });
  });
}

interface BacktestPlan {
  candles: readonly Candle[];
  from: number;
  to: number;
  /** The close of the last candle. */
  dataEnd: number;
  /** The first time the data has no candle for the newest closed minute: the run ends there. */
  end: number;
  tickMs: number;
  live: Omit<LiveOptions, "exchange" | "scheduler" | "stop$" | "tickMs">;
}

// Checks the options once, before anything runs.
function backtestPlan(options: BacktestOptions): BacktestPlan {
  if (options === null || typeof options !== "object" || !Array.isArray(options.candles)) {
    const noOptions = options === null || typeof options !== "object";
    const value: unknown = noOptions ? options : options.candles;
    throw new ArgumentError(
      `backtest options need candles: backtest$(symbol, strategy, { candles, from, to }); got ${noOptions ? "options" : "candles"} ${showValue(value)}. ` +
        "Give one-minute candles, oldest first, e.g. await csvCandles(BUNDLED_BTCUSDT_1M) from rxtrade/node",
      { argument: noOptions ? "options" : "options.candles", value },
    );
  }
  const candles = inTimeOrder(options.candles);
  const first = candles[0];
  const last = candles.at(-1);
  if (first === undefined || last === undefined) {
    throw new ArgumentRangeError("backtest candles are empty; give one-minute candles, oldest first", { argument: "options.candles", value: options.candles });
  }
  const count = resolveConfig(getConfig(), options.config).CC_AVG_PRICE_CANDLES_COUNT;
  const dataEnd = last.timestamp + MINUTE_MS;
  const end = last.timestamp + 2 * MINUTE_MS;
  const earliest = first.timestamp + MINUTE_MS;
  const from = options.from ?? first.timestamp + count * MINUTE_MS;
  const to = options.to ?? dataEnd;
  const iso = (ms: number) => new Date(ms).toISOString();
  if (!Number.isFinite(from) || from < earliest || from >= end) {
    throw new ArgumentRangeError(`backtest from (${String(from)}) must be a time the data can price, from ${iso(earliest)} to before ${iso(end)}`, {
      argument: "options.from",
      value: from,
    });
  }
  if (!Number.isFinite(to) || to <= from) {
    throw new ArgumentRangeError(`backtest to (${String(to)}) must be after from (${iso(from)})`, { argument: "options.to", value: to });
  }
  const { candles: _candles, from: _from, to: _to, exchangeName: _name, callGraceMs: _grace, stop$: _stop, tickMs, ...live } = options;
  return { candles, from, to, dataEnd, end, tickMs: tickMs ?? DEFAULT_TICK_MS, live };
}

function inTimeOrder(candles: readonly Candle[]): readonly Candle[] {
  for (let i = 1; i < candles.length; i++) {
    if ((candles[i] as Candle).timestamp <= (candles[i - 1] as Candle).timestamp) return [...candles].sort((a, b) => a.timestamp - b.timestamp);
  }
  return candles;
}

function heldBy(result: TickResult): BacktestOpenSignal | null {
  return result.action === "opened" || result.action === "active" || result.action === "scheduled" ? result : null;
}

// Candles with open time in [from - 1 min, lastTick - 1 min]: the minutes the run priced.
function countCandles(candles: readonly Candle[], from: number, lastTick: number): number {
  const lo = lowerBound(candles, from - MINUTE_MS);
  const hi = lowerBound(candles, lastTick - MINUTE_MS + 1);
  return Math.max(0, hi - lo);
}

function lowerBound(candles: readonly Candle[], time: number): number {
  let lo = 0;
  let hi = candles.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The backtest's clock: a `VirtualClock` moved one time step at a time, and held still while
 * a call of the engine that answered with a Promise is in flight (it is a `CallWatcher`), until
 * the call settles or its time limit has passed in real time — so a strategy that awaits a
 * timer or a server decides on the tick it was asked on, as live and in the demo.
 * (`VirtualClock.flushAsync` alone waits for a call at most its `callGraceMs`, 1 s by default;
 * here a call is waited for up to its own time limit unless `callGraceMs` is given.) It learns each action's
 * due time as it is scheduled, periodic reschedules included, to step from one to the next.
 */
/** Real ms of synchronous steps between two macrotasks. */
const YIELD_EVERY_MS = 20;

class BacktestClock implements SchedulerLike, CallWatcher {
  /** Due times of the actions scheduled through this clock (a min-heap), each with its action. */
  private readonly dues: Array<{ due: number; action: Subscription }> = [];
  private readonly calls = new Set<{ settled: Promise<void>; limitMs: number }>();

  constructor(
    private readonly clock: VirtualClock,
    private readonly graceMs: number | undefined,
  ) {}

  now(): number {
    return this.clock.now();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    const self = this;
    let seen: SchedulerAction<T> | undefined;
    const action = this.clock.schedule<T>(function (this: SchedulerAction<T>, value?: T) {
      // The action as the work sees it: its reschedules (`this.schedule(state, period)`) are noted too.
      seen ??= self.noting(this);
      work.call(seen, value);
    }, delay, state);
    this.note(this.clock.now() + Math.max(0, delay), action);
    return action;
  }

  callStarted(_call: string, limitMs: number): () => void {
    let end!: () => void;
    const entry = { settled: new Promise<void>((resolve) => (end = resolve)), limitMs };
    this.calls.add(entry);
    return () => {
      this.calls.delete(entry);
      end();
    };
  }

  /** Runs every action, a time step at a time, until none is left. Rejects if one throws. */
  async run(): Promise<void> {
    let yielded = performance.now();
    // What is due now (zero delays), every Promise chain settling.
    await this.clock.flushAsync(this.clock.now());
    for (;;) {
      if (this.calls.size > 0) {
        await this.callsSettled();
        // What the answers started: settled chains, zero delays, maybe further calls.
        await this.clock.flushAsync(this.clock.now());
        continue;
      }
      const next = this.nextDue();
      if (next === undefined) {
        // Scheduled some other way (not through this clock): run it as VirtualClock does.
        if (this.clock.pending > 0) await this.clock.flushAsync();
        return;
      }
      // Nothing in flight: a synchronous step (a synchronous strategy, exchange and store
      // finish a tick within it). Now and then a macrotask, so that the process stays responsive.
      this.clock.flush(next);
      if (performance.now() - yielded > YIELD_EVERY_MS) {
        await this.clock.flushAsync(this.clock.now());
        yielded = performance.now();
      }
    }
  }

  // The earliest due time of a live action, past the current time.
  private nextDue(): number | undefined {
    for (let top = this.dues[0]; top !== undefined; top = this.dues[0]) {
      if (!top.action.closed && top.due > this.clock.now()) return top.due;
      this.pop();
    }
    return undefined;
  }

  // Each call until it settles or its time limit (or the grace) has passed in real time.
  private async callsSettled(): Promise<void> {
    const started = performance.now();
    for (const call of [...this.calls]) {
      const wait = Math.min(call.limitMs, this.graceMs ?? Number.POSITIVE_INFINITY) - (performance.now() - started);
      if (wait <= 0) {
        this.calls.delete(call);
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = await Promise.race([
        call.settled.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), wait))),
      ]);
      clearTimeout(timer);
      // Past its limit: virtual time moves on to the engine's own time limit of the call.
      if (late) this.calls.delete(call);
    }
  }

  private noting<T>(action: SchedulerAction<T>): SchedulerAction<T> {
    return new Proxy(action, {
      get: (target, property) => {
        if (property === "schedule") {
          return (state?: T, delay = 0) => {
            const again = target.schedule(state, delay);
            this.note(this.clock.now() + Math.max(0, delay), target);
            return again;
          };
        }
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }

  private note(due: number, action: Subscription): void {
    const heap = this.dues;
    let i = heap.length;
    heap.push({ due, action });
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as { due: number }).due <= due) break;
      heap[i] = heap[parent] as { due: number; action: Subscription };
      i = parent;
    }
    heap[i] = { due, action };
  }

  private pop(): void {
    const heap = this.dues;
    const last = heap.pop();
    if (last === undefined || heap.length === 0) return;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as { due: number }).due < (heap[left] as { due: number }).due ? right : left;
      if ((heap[child] as { due: number }).due >= last.due) break;
      heap[i] = heap[child] as { due: number; action: Subscription };
      i = child;
    }
    heap[i] = last;
  }
}
