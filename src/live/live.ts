import { defer, finalize, type Observable, type SchedulerLike, share, Subject, type Subscription, tap } from "rxjs";
import { type Config, getConfig, resolveConfig } from "../config";
import { ArgumentError } from "../errors";
import { performance$ } from "../events";
import { tradeLoop$ } from "../liveTrade";
import type { SignalStore, TickResultClosed, TickResultOpened } from "../model";
import type { Journal, JournalLevel } from "../journal";
import { getExchange, getStrategy } from "../registry";
import { showValue } from "../showValue";
import { memoryStore } from "../stores/memoryStore";
import { keepOpenedClosed } from "../../operators/keepOpenedClosed";
import { DEFAULT_MAX_EVENTS, type LiveStatistics, LiveStatisticsCollector } from "./liveStatistics";
import { defaultReportColumns, liveReport, type ReportColumn } from "./liveReport";
import { writeReport } from "./writeReport";
import { PerformanceCollector, type PerformanceStatistics, performanceReport } from "./performanceStatistics";
import { historyStatistics, journalPerformance, readLiveHistory } from "./liveHistory";
import { historyUnavailable } from "./journalRead";
import { asAsyncIterable } from "./asyncIterable";

/** How the facade runs a pair. */
export interface LiveContext {
  strategyName: string;
  exchangeName: string;
  /** Default: the facade's store (`setDefaultStore`; initially one shared `memoryStore()`). */
  store?: SignalStore;
  tickMs?: number;
  config?: Partial<Config>;
  /** Additive: the loop's scheduler (default `asyncScheduler`), e.g. a `VirtualClock`. */
  scheduler?: SchedulerLike;
  /** Additive: the bound on the pair's event list (default 250). */
  maxEvents?: number;
  /**
   * Additive: where the loop journals its trades (`LiveOptions.journal`), and what the pair's
   * statistics and reports are then read from, across restarts. Default: the facade's journal
   * (`setDefaultJournal`; initially none). `null`: none, even when a default is set.
   */
  journal?: Journal | null;
  /** Additive: how much the loop journals (`LiveOptions.journalLevel`); `off` journals nothing and keeps the statistics in memory. */
  journalLevel?: JournalLevel;
}

export type LiveResult = TickResultOpened | TickResultClosed;

/** What `Live.run` returns: subscribe to it, or iterate it with `for await`. */
export type LiveRun = Observable<LiveResult> & AsyncIterable<LiveResult>;

/** `stalled`: running, but no completed tick for CC_STALL_TICKS tick periods (see `error$`). */
export type LiveStatus = "idle" | "running" | "stalled" | "done";

let defaultStore: SignalStore | undefined;

/** The store the facade uses when a `LiveContext` names none. */
export function setDefaultStore(store: SignalStore): void {
  if (typeof store?.read !== "function" || typeof store.write !== "function") {
    throw new ArgumentError(
      `setDefaultStore needs a store with read(key) and write(key, value); got ${showValue(store)}. Give memoryStore(), or fileStore(dir) from rxtrade/node`,
      { argument: "store", value: store },
    );
  }
  defaultStore = store;
}

let defaultJournal: Journal | null = null;

/**
 * The journal the facade's loops write to, and its statistics and reports read from, when a
 * `LiveContext` names none; `null` (the initial value): none, statistics of the current loop
 * in memory.
 *
 * @example
 * import { setDefaultJournal, setDefaultStore } from "rxtrade";
 * import { fileJournal, fileStore } from "rxtrade/node";
 * setDefaultStore(fileStore("./.rxtrade"));
 * setDefaultJournal(fileJournal("./.rxtrade")); // the store folder (entries in ./.rxtrade/journal/): Live.getData gives every run's trades
 */
export function setDefaultJournal(journal: Journal | null): void {
  if (journal !== null && (typeof journal?.append !== "function" || typeof journal.read !== "function" || typeof journal.keys !== "function")) {
    throw new ArgumentError(
      `setDefaultJournal needs a journal with append(entry), read(key) and keys() (e.g. memoryJournal()), or null for none; got ${showValue(journal)}`,
      { argument: "journal", value: journal },
    );
  }
  defaultJournal = journal;
}

// One loop per symbol:strategyName, shared by every `run` consumer and `background` holder.
class LivePair {
  status: LiveStatus = "idle";
  stats = new LiveStatisticsCollector();
  perf = new PerformanceCollector();
  /** The journal of the current (or last) loop: `null` when it journaled nothing; `undefined` before the first. */
  journal: Journal | null | undefined;
  /** The config overrides of the current (or last) loop: its CC_STORE_TIMEOUT_SECONDS bounds the journal's reads. */
  config: Partial<Config> | undefined;
  maxEvents = DEFAULT_MAX_EVENTS;
  private loop$: Observable<LiveResult> | undefined;
  private stop$: Subject<void> | undefined;
  private generation = 0;

  constructor(
    readonly symbol: string,
    readonly strategyName: string,
  ) {}

  /**
   * The running loop, or a new one started by its first subscriber. A new loop is built at
   * once, so a bad context throws here, synchronously, not in a subscription nobody watches.
   */
  join(context: LiveContext): Observable<LiveResult> {
    this.loop$ ??= this.createLoop(context);
    return defer(() => (this.loop$ ??= this.createLoop(context)));
  }

  /** The loop generation a `background` closure belongs to. */
  get current(): number {
    return this.generation;
  }

  requestStop(): void {
    this.stop$?.next();
  }

  private createLoop(context: LiveContext): Observable<LiveResult> {
    const stop$ = new Subject<void>();
    const stats = new LiveStatisticsCollector(context.maxEvents ?? DEFAULT_MAX_EVENTS);
    const journal = context.journal === undefined ? defaultJournal : context.journal;
    // The pair is marked ended before doneLive$/exit$ go out: a listener that starts the pair
    // again gets a new loop, not the one that is finishing.
    const ended = () => this.end(loop$);
    const ticks$ = tradeLoop$(this.symbol, context.strategyName, {
      exchange: context.exchangeName,
      store: context.store ?? (defaultStore ??= memoryStore()),
      stop$,
      ...(context.tickMs === undefined ? {} : { tickMs: context.tickMs }),
      ...(context.config === undefined ? {} : { config: context.config }),
      ...(context.scheduler === undefined ? {} : { scheduler: context.scheduler }),
      ...(journal === null ? {} : { journal }),
      ...(context.journalLevel === undefined ? {} : { journalLevel: context.journalLevel }),
    }, { onEnd: ended, onHealth: (stalled) => this.health(loop$, stalled) });
    const loop$: Observable<LiveResult> = defer(() => {
      // A new loop: fresh statistics, kept after it ends until the next one starts.
      this.generation++;
      this.status = "running";
      this.stop$ = stop$;
      this.stats = stats;
      this.maxEvents = stats.maxEvents;
      this.journal = context.journalLevel === "off" ? null : journal;
      this.config = context.config;
      this.perf = new PerformanceCollector();
      watchPerformance();
      return ticks$;
    }).pipe(
      tap((result) => stats.record(result)),
      keepOpenedClosed(),
      finalize(ended),
      share(),
    );
    return loop$;
  }

  /** Real ms a journal read of this pair's history has for each step: CC_STORE_TIMEOUT_SECONDS. */
  readLimitMs(): number {
    return resolveConfig(getConfig(), this.config).CC_STORE_TIMEOUT_SECONDS * 1000;
  }

  private health(loop$: Observable<LiveResult>, stalled: boolean): void {
    if (this.loop$ !== loop$ || this.status === "done" || this.status === "idle") return;
    this.status = stalled ? "stalled" : "running";
  }

  private end(loop$: Observable<LiveResult>): void {
    if (this.loop$ !== loop$ || (this.status !== "running" && this.status !== "stalled")) return;
    this.loop$ = undefined;
    this.stop$ = undefined;
    this.status = "done";
  }
}

const pairs = new Map<string, LivePair>();

function pairOf(symbol: string, strategyName: string): LivePair {
  const id = `${symbol}:${strategyName}`;
  let pair = pairs.get(id);
  if (pair === undefined) {
    pair = new LivePair(symbol, strategyName);
    pairs.set(id, pair);
  }
  return pair;
}

// Checks the names at once: run and background throw `strategy <name> not found` synchronously.
function resolve(symbol: string, context: LiveContext): LivePair {
  if (typeof symbol !== "string" || symbol.length === 0) {
    throw new ArgumentError(`symbol (${JSON.stringify(symbol)}) must be a non-empty string, e.g. "BTCUSDT"`, { argument: "symbol", value: symbol });
  }
  if (context === null || typeof context !== "object") {
    throw new ArgumentError(
      `a LiveContext { strategyName, exchangeName } is required, got ${showValue(context)}: e.g. Live.background("BTCUSDT", { strategyName: "my-strategy", exchangeName: "binance" }), with both names registered (addStrategy, addExchange)`,
      { argument: "context", value: context },
    );
  }
  getStrategy(context.strategyName);
  getExchange(context.exchangeName);
  return pairOf(symbol, context.strategyName);
}

/**
 * The pair whose statistics are asked for: one this process ran, one of a registered strategy,
 * or — history by name, without `addStrategy` — one whose history the default journal holds (a
 * strategy of an earlier process). Anything else throws the registry's error for the name.
 */
async function statisticsPair(symbol: string, strategyName: string): Promise<LivePair> {
  const known = pairs.get(`${symbol}:${strategyName}`);
  if (known !== undefined) return known;
  try {
    getStrategy(strategyName);
  } catch (error) {
    const history = defaultJournal === null ? undefined : await readLiveHistory(defaultJournal, `${symbol}:${strategyName}`).catch(() => undefined);
    if (history === undefined || (history.runs === 0 && history.results.length === 0)) throw error;
  }
  return pairOf(symbol, strategyName);
}

// One performance$ subscription for the whole facade, routed to pairs by key in O(1).
let performanceSubscription: Subscription | undefined;
function watchPerformance(): void {
  performanceSubscription ??= performance$.subscribe((event) => {
    pairs.get(`${event.symbol}:${event.strategyName}`)?.perf.record(event);
  });
}

/** The seed-compatible facade: named strategies and exchanges, one loop per symbol and strategy. */
export const Live = {
  /**
   * The results of the pair's loop while this consumer is attached: lazy (the loop starts on
   * subscribe or iteration); joins the loop when it is already running. Throws at once for an
   * unknown strategy or exchange name.
   *
   * @example
   * for await (const result of Live.run("BTCUSDT", { strategyName: "momentum", exchangeName: "binance" })) {
   *   console.log(result.action, result.signal.id);
   * }
   */
  run(symbol: string, context: LiveContext): LiveRun {
    const results$ = resolve(symbol, context).join(context);
    return Object.assign(results$, asAsyncIterable(results$)) as LiveRun;
  },

  /**
   * Starts the pair's loop at once (or joins it) without a consumer; returns a closure that
   * requests its graceful stop. Errors that end the loop reach `exit$`.
   */
  background(symbol: string, context: LiveContext): () => void {
    const pair = resolve(symbol, context);
    pair.join(context).subscribe({ error: () => {} }); // the error is reported on exit$
    const generation = pair.current;
    return () => {
      if (pair.current === generation && (pair.status === "running" || pair.status === "stalled")) pair.requestStop();
    };
  },

  /** Requests the graceful stop of the pair's running loop; resolves once it is recorded. */
  async stop(symbol: string, strategyName: string): Promise<void> {
    getStrategy(strategyName);
    pairOf(symbol, strategyName).requestStop();
  },

  /**
   * Statistics of the pair's closed signals: with a journal (the loop's, else the facade's
   * default), every run's, read from it (each trade once), and the open signal's latest active
   * row; without one, those of the current (or last) loop, from memory. A strategy need not be
   * registered when the default journal holds its history (a strategy of an earlier process).
   *
   * Each step of the journal's read is bounded by CC_STORE_TIMEOUT_SECONDS (the loop's config):
   * a read that fails or hangs is reported on `error$` as a `JournalError`, and the statistics
   * are the current loop's, from memory, with `historyUnavailable` saying why.
   */
  async getData(symbol: string, strategyName: string): Promise<LiveStatistics> {
    const pair = await statisticsPair(symbol, strategyName);
    const journal = pair.journal === undefined ? defaultJournal : pair.journal;
    if (journal === null) return pair.stats.snapshot();
    const key = `${symbol}:${strategyName}`;
    try {
      const history = await readLiveHistory(journal, key, { timeoutMs: pair.readLimitMs() });
      return historyStatistics(history, pair.maxEvents, pair.stats.openActive());
    } catch (error) {
      return { ...pair.stats.snapshot(), historyUnavailable: historyUnavailable(key, error) };
    }
  },

  /** The pair's Markdown report (of `getData`'s statistics: a history that could not be read is said at its top). */
  async getReport(symbol: string, strategyName: string, columns: readonly ReportColumn[] = defaultReportColumns): Promise<string> {
    return liveReport(strategyName, await Live.getData(symbol, strategyName), columns);
  },

  /** Writes the report to `{path}/{symbol}_{strategyName}.md` (directories created); rejects with `ReportWriteError`. */
  async dump(symbol: string, strategyName: string, path = "./dump/live", columns: readonly ReportColumn[] = defaultReportColumns): Promise<void> {
    await writeReport(path, symbol, strategyName, await Live.getReport(symbol, strategyName, columns));
  },

  /** Every pair any `Live` method touched in this process, with its status. */
  async list(): Promise<Array<{ id: string; symbol: string; strategyName: string; status: LiveStatus }>> {
    return [...pairs.entries()].map(([id, pair]) => ({ id, symbol: pair.symbol, strategyName: pair.strategyName, status: pair.status }));
  },
};

/**
 * Tick latency per pair: from its journal's `tick` entries when it has them (level `full`,
 * every run), else from the `live_tick` events of its current (or last) loop.
 */
export const Performance = {
  /** As `Live.getData`: by name when the default journal holds the key; a journal read that fails or hangs is a `JournalError` on `error$`, and the loop's own figures stand. */
  async getData(symbol: string, strategyName: string): Promise<PerformanceStatistics> {
    const pair = await statisticsPair(symbol, strategyName);
    const journal = pair.journal === undefined ? defaultJournal : pair.journal;
    let journaled: PerformanceStatistics | undefined;
    if (journal !== null) {
      const key = `${symbol}:${strategyName}`;
      try {
        journaled = await journalPerformance(journal, key, { timeoutMs: pair.readLimitMs() });
      } catch (error) {
        historyUnavailable(key, error);
      }
    }
    return journaled ?? pair.perf.snapshot();
  },
  async getReport(symbol: string, strategyName: string): Promise<string> {
    return performanceReport(symbol, strategyName, await Performance.getData(symbol, strategyName));
  },
};
