import type { Journal, JournalEntry } from "../journal";
import type { TickResult, TickResultActive } from "../model";
import type { PerformanceEvent } from "../events";
import { DEFAULT_MAX_EVENTS, type LiveStatistics, liveStatistics } from "./liveStatistics";
import { PerformanceCollector, type PerformanceStatistics } from "./performanceStatistics";
import { boundedRead } from "./journalRead";

/** What a journal holds of one key's trades, across every run that journaled them. */
export interface LiveHistory {
  /** `<symbol>:<strategyName>`. */
  key: string;
  /**
   * The key's scheduled, opened, closed and cancelled results, oldest first (journal order),
   * each signal's action once: a trade journaled twice (a crash between the append and the
   * emission, a resumed limit entry) counts once.
   */
  results: TickResult[];
  /** Runs of the key that started (`run` entries), at or after `since`. */
  runs: number;
  /** The tick time of the first and last of `results`; `null` without any. */
  firstAt: number | null;
  lastAt: number | null;
  /** Trade entries left out as repeats of a trade already counted. */
  duplicates: number;
  /** Trade entries left out as not a result this version reads (another version's, or damaged). */
  unreadable: number;
  /**
   * Signals that ended unrecorded: the journal showed them scheduled or open, and a later run
   * found the store no longer holding them (closed or cancelled by a process killed before it
   * journaled how; `JournalRecovery.endedSignal`). They are in no statistic.
   */
  endedUnrecorded: EndedUnrecorded[];
}

/** A signal that ended unrecorded (`LiveHistory.endedUnrecorded`, `LiveStatistics.endedUnrecorded`). */
export interface EndedUnrecorded {
  signalId: string;
  /** What the journal last showed it as. */
  status: "scheduled" | "opened";
  /** The time (ms) of that last entry: it ended after it. */
  since: number;
}

/** Options of `readLiveHistory` and `journalStatistics`. */
export interface HistoryOptions {
  /** Only trades of ticks at or after this time (ms). */
  since?: number;
  /** The bound on the event list (default 250, as `Live`'s). */
  maxEvents?: number;
  /**
   * Real ms the journal has, at most, to give each next entry (or its end): past it the read
   * fails with a `JournalError` (`operation` "read", `cause` a `CallTimeoutError`). A read that
   * throws fails with one too. Default: CC_STORE_TIMEOUT_SECONDS of the config in force.
   */
  timeoutMs?: number;
}

type TradeResult = Exclude<TickResult, { action: "idle" | "active" }>;
const TRADE_ACTIONS = new Set<string>(["scheduled", "opened", "closed", "cancelled"]);

/**
 * The distinct trade results of a sequence of tick results, in order: idle and active rows
 * left out, and each signal's scheduled, opened, closed or cancelled result kept once (the
 * first), so journal history and a run's own results can be merged without counting a trade
 * twice.
 *
 * @example
 * const ledger = new TradeLedger();
 * for (const result of journaled) ledger.add(result);
 * for (const result of thisRun) ledger.add(result); // repeats are dropped
 * liveStatistics(ledger.results);
 */
export class TradeLedger {
  readonly results: TradeResult[] = [];
  duplicates = 0;
  private readonly seen = new Set<string>();

  /** @param since trades of ticks before this time (ms) are left out */
  constructor(readonly since = Number.NEGATIVE_INFINITY) {}

  /** Adds `result` when it is a trade not seen yet (and not before `since`); says whether it did. */
  add(result: TickResult): boolean {
    if (!isTrade(result) || result.timestamp < this.since) return false;
    // A signal id is a UUID or the strategy's own string: the action cannot be part of it
    // ambiguously once a NUL separates them.
    const id = `${result.signal.id}\u0000${result.action}`;
    if (this.seen.has(id)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(id);
    this.results.push(result);
    return true;
  }
}

function isTrade(result: TickResult): result is TradeResult {
  return TRADE_ACTIONS.has(result.action);
}

/** A trade entry's result as this version reads it, or `undefined`: a record not to count on. */
function readableTrade(entry: JournalEntry): TradeResult | undefined {
  if (entry.kind !== "trade") return undefined;
  const result = entry.result as Partial<TradeResult> | null | undefined;
  if (result === null || typeof result !== "object" || typeof result.action !== "string" || !TRADE_ACTIONS.has(result.action)) return undefined;
  const signal = result.signal as Partial<TradeResult["signal"]> | null | undefined;
  if (signal === null || typeof signal !== "object" || typeof signal.id !== "string" || !Number.isFinite(result.timestamp)) return undefined;
  if (result.action === "closed") {
    const closed = result as Partial<Extract<TradeResult, { action: "closed" }>>;
    if (!Number.isFinite(closed.pnl?.pnlPercentage) || !Number.isFinite(closed.closeTimestamp) || !Number.isFinite(signal.pendingAt)) return undefined;
  }
  return result as TradeResult;
}

/**
 * Reads one key's trades from a journal: every run's scheduled, opened, closed and cancelled
 * results, each once, oldest first. What `Live.getData` and `rxtrade report` compute their
 * statistics from when a journal is configured.
 *
 * @example
 * import { memoryJournal, readLiveHistory } from "rxtrade";
 * const history = await readLiveHistory(journal, "BTCUSDT:momentum", { since: Date.parse("2023-03-08T00:00Z") });
 * console.log(history.results.length, history.runs);
 *
 * @param journal any `Journal` (`memoryJournal()`, `fileJournal(dir)`, your own)
 * @param key `<symbol>:<strategyName>`
 * @param options `since`: only trades of ticks at or after this time (ms); `timeoutMs`: the bound of each step of the read
 * @throws JournalError when the journal's read fails, or does not give its next entry within the bound
 */
export async function readLiveHistory(journal: Journal, key: string, options: HistoryOptions = {}): Promise<LiveHistory> {
  const ledger = new TradeLedger(options.since);
  const since = options.since ?? Number.NEGATIVE_INFINITY;
  let runs = 0;
  let unreadable = 0;
  const endedUnrecorded: LiveHistory["endedUnrecorded"] = [];
  for await (const entry of boundedRead(journal, key, options.timeoutMs)) {
    if (entry.kind === "run") {
      if (entry.event !== "start") continue;
      if (entry.at >= since) runs++;
      const ended = entry.recovery?.endedSignal;
      // Each later start journals the same ended signal again until one is journaled past it: list it once.
      if (ended !== undefined && ended.since >= since && !endedUnrecorded.some((listed) => listed.signalId === ended.signalId)) {
        endedUnrecorded.push({ ...ended });
      }
      continue;
    }
    if (entry.kind !== "trade") continue;
    const result = readableTrade(entry);
    if (result === undefined) unreadable++;
    else ledger.add(result);
  }
  const { results } = ledger;
  return {
    key,
    results,
    runs,
    firstAt: results[0]?.timestamp ?? null,
    lastAt: results.at(-1)?.timestamp ?? null,
    duplicates: ledger.duplicates,
    unreadable,
    endedUnrecorded,
  };
}

/**
 * `LiveStatistics` of a history, as `Live.getData` gives them: its trades, then (when given)
 * the open signal's latest active row. The numbers are those `liveStatistics` gives for the
 * same closed results in the same order, so a run's statistics are the same whether they come
 * from its journal or from memory. The history's signals that ended unrecorded, if any, are
 * listed in `endedUnrecorded` (in no number).
 *
 * @example
 * import { historyStatistics, readLiveHistory } from "rxtrade";
 * const history = await readLiveHistory(journal, "BTCUSDT:momentum");
 * const { totalClosed, totalPnl } = historyStatistics(history);
 */
export function historyStatistics(
  history: Pick<LiveHistory, "results"> & Partial<Pick<LiveHistory, "endedUnrecorded">>,
  maxEvents = DEFAULT_MAX_EVENTS,
  openActive?: TickResultActive,
): LiveStatistics {
  const stats = liveStatistics(openActive === undefined ? history.results : [...history.results, openActive], maxEvents);
  const ended = history.endedUnrecorded ?? [];
  if (ended.length > 0) stats.endedUnrecorded = ended.map((signal) => ({ ...signal }));
  return stats;
}

/**
 * `LiveStatistics` of one key from a journal alone (no loop needed): every run's closed
 * signals, each once.
 *
 * @example
 * import { journalStatistics } from "rxtrade";
 * import { fileJournal } from "rxtrade/node";
 * const stats = await journalStatistics(fileJournal("./.rxtrade"), "BTCUSDT:momentum"); // fileJournal takes the store folder
 */
export async function journalStatistics(journal: Journal, key: string, options: HistoryOptions = {}): Promise<LiveStatistics> {
  return historyStatistics(await readLiveHistory(journal, key, options), options.maxEvents);
}

/**
 * Tick latency of one key from its journal's `tick` entries (level `full`) that carry the
 * tick's wall-clock `duration` (ms); `undefined` when there are none (level `trades`: tick
 * latency is not journaled). The wait between ticks is measured within each run.
 *
 * @example
 * import { journalPerformance } from "rxtrade";
 * const latency = await journalPerformance(journal, "BTCUSDT:momentum"); // undefined at level trades
 *
 * @param options `timeoutMs`: the bound of each step of the read, as for `readLiveHistory`
 * @throws JournalError as `readLiveHistory`
 */
export async function journalPerformance(journal: Journal, key: string, options: Pick<HistoryOptions, "timeoutMs"> = {}): Promise<PerformanceStatistics | undefined> {
  const collector = new PerformanceCollector();
  let previous: number | null = null;
  let measured = 0;
  const [symbol, strategyName] = splitKey(key);
  for await (const entry of boundedRead(journal, key, options.timeoutMs)) {
    if (entry.kind === "run") {
      if (entry.event === "start") previous = null;
      continue;
    }
    if (entry.kind !== "tick") continue;
    const duration = (entry as { duration?: unknown }).duration;
    if (typeof duration !== "number" || !Number.isFinite(duration) || !Number.isFinite(entry.at)) continue;
    const event: PerformanceEvent = {
      timestamp: entry.at,
      previousTimestamp: previous,
      metricType: "live_tick",
      duration,
      symbol,
      strategyName,
      exchangeName: "",
      backtest: false,
    };
    collector.record(event);
    previous = entry.at;
    measured++;
  }
  return measured === 0 ? undefined : collector.snapshot();
}

/** `BTC/USDT:USDT:momentum` -> `["BTC/USDT:USDT", "momentum"]`: a strategy name has no `:`. */
export function splitKey(key: string): [symbol: string, strategyName: string] {
  const at = key.lastIndexOf(":");
  return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
}
