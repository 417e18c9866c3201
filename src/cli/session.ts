import { stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { Subject, type SchedulerLike, type Subscription } from "rxjs";
import {
  decodeState,
  type ExchangeSchema,
  historyStatistics,
  listenError,
  LiveStatisticsCollector,
  type LiveStatistics,
  liveReport,
  liveTicks$,
  type LiveHistory,
  readLiveHistory,
  type SignalState,
  type SignalStore,
  type Journal,
  type JournalEntry,
  type JournalLevel,
  type StrategySchema,
  type TickResult,
  TradeLedger,
} from "rxtrade";
import { type FileStore, fileJournal, JOURNAL_DIR, writeReport } from "rxtrade/node";
import { isRxtradeError } from "./rxtradeErrors";
import { describeHeld, displayPath, eventLine, held, minute, price, statisticsLines, statusLine, visible } from "./format";
import type { Terminal } from "./terminal";
import { EXIT } from "./usage";

import { appendSaved, saveUnappended } from "./sessionSaved";

export { appendSaved, saveUnappended };

export interface SessionOptions {
  symbol: string;
  strategy: StrategySchema;
  exchange: ExchangeSchema;
  store: SignalStore;
  /** Where the loop journals (`<store>/journal/` by default; none with `--journal off`). */
  journal?: Journal;
  /** `trades` (the default with a journal) or `full`. */
  journalLevel?: JournalLevel;
  scheduler: SchedulerLike;
  tickMs: number;
  terminal: Terminal;
  /** Scheduler time at which a graceful stop is requested by itself (demo `--minutes`). */
  stopAt?: number;
  /** Why the stop at `stopAt` happens, for the message. */
  stopAtReason?: string;
  /** " in simulated time" (demo) or "" (live): how the stop message says when an open signal ends. */
  timeNote: string;
  /** Without a TTY, a plain status line each time the clock passes a multiple of this (ms). */
  plainStatusEveryMs: number;
  /** What the store held at the start (printed as resumed): the first ticks continue it. */
  resumed: SignalState | null;
  /** Every tick result, after it is printed (the demo saves its clock here). */
  onTick?: (result: TickResult) => void;
  /** Just before a second Ctrl-C ends the process at once. */
  onForcedExit?: () => void;
}

export interface SessionEnd {
  stats: LiveStatistics;
  /** The run's scheduled, opened, closed and cancelled results, each once, in order (merged with the journal's history at the end). */
  trades: TickResult[];
}

/** The loop ended with an error (a locked or conflicting store); `printed`: it went through `error$` and was shown. */
export class SessionFailure extends Error {
  override readonly name = "SessionFailure";
  constructor(
    readonly error: unknown,
    readonly printed: boolean,
  ) {
    super((error as Error)?.message ?? String(error), { cause: error });
  }
}

/**
 * Reads what the store holds for the stream before it starts, to say that it will be resumed.
 * A corrupt value is moved aside by the store (the stream starts fresh; said as a warning); a
 * value of another exchange or strategy throws `StoreConflictError`; a key another process
 * holds, `StoreLockedError`.
 */
export async function storedState(store: FileStore, symbol: string, strategyName: string, exchangeName: string, terminal: Terminal): Promise<SignalState | null> {
  const key = `${symbol}:${strategyName}`;
  // Under the key's lock, so a stream already running on it is reported before anything else
  // (released at once: the loop takes it again).
  const release = await store.lock(key);
  let value: unknown;
  try {
    value = await store.read(key);
  } catch (error) {
    if (isRxtradeError(error, "StoreReadError") && error.quarantinedTo !== undefined) {
      terminal.warn(`warning: ${error.message}`);
      return null;
    }
    throw error;
  } finally {
    release();
  }
  return decodeState(value, key, { symbol, strategyName, exchangeName });
}

/** `resumed signal <id>: long @ 23145.20 opened 2023-03-01 10:15, TP …, SL …`. */
export function resumedLine(state: SignalState): string {
  const { signal } = state;
  const what = state.status === "opened" ? `${signal.position} @ ${price(signal.priceOpen)} opened ${minute(signal.pendingAt)}` : `${signal.position} limit ${price(signal.priceOpen)} placed ${minute(signal.scheduledAt)}, waiting`;
  return `resumed signal ${visible(signal.id)}: ${what}, TP ${price(signal.priceTakeProfit)}, SL ${price(signal.priceStopLoss)}`;
}

/**
 * Runs the live loop (`liveTicks$`: `liveTrade$` before its opened/closed filter, the same
 * pipeline) until it stops gracefully: prints each trade, keeps the status line, collects the
 * statistics. The first SIGINT or SIGTERM (or `stopAt`) requests the graceful stop; a second
 * one exits the process at once with 130, leaving what is open in the store. Rejects when the
 * loop ends with an error (a locked or conflicting store).
 */
export function runSession(options: SessionOptions): Promise<SessionEnd> {
  const { terminal, symbol, strategy, scheduler } = options;
  const collector = new LiveStatisticsCollector();
  const ledger = new TradeLedger();
  const stop$ = new Subject<void>();
  let stopping = false;
  let current: SignalState | null = options.resumed;
  let lastStatusSlot: number | undefined;
  const totals = { totalClosed: 0, totalPnl: 0 };
  const printedErrors = new WeakSet<object>();

  const requestStop = (why: string, again: boolean) => {
    if (stopping) return;
    stopping = true;
    const waiting = current === null ? "nothing is open, ending now" : `${describeHeld(current)} runs to its end${options.timeNote}`;
    terminal.line(`${why}: stopping gracefully — no new signals; ${waiting}. Ctrl-C${again ? " again" : ""} to exit at once.`);
    stop$.next();
  };

  // The first SIGINT/SIGTERM stops gracefully; one while a stop is under way exits at once.
  const onSignal = (signal: NodeJS.Signals) => {
    if (!stopping) {
      requestStop(signal, true);
      return;
    }
    terminal.endStatus();
    terminal.warn(
      `${signal} while stopping: exiting at once; ${current === null ? "nothing was open." : `${describeHeld(current)} stays in the store and the next run resumes it.`}`,
    );
    options.onForcedExit?.();
    process.exit(EXIT.interrupted);
  };

  // The journal's appends in flight: a stall while the tick waits on one says so (not "the exchange and the store").
  const journal = options.journal === undefined ? undefined : watchedJournal(options.journal);
  const key = `${symbol}:${strategy.strategyName}`;
  const journalDir = (options.journal as { readonly dir?: unknown } | undefined)?.dir;
  const stopListening = listenError((error) => {
    printedErrors.add(error);
    // Entries the run's end could not append: kept in a file for the next start to append.
    if (isRxtradeError(error, "JournalError") && error.operation === "end" && error.unappended.length > 0 && typeof journalDir === "string") {
      const saved = saveUnappended(journalDir, key, error.unappended);
      terminal.warn(`error$ ${error.name}: ${error.message}`);
      terminal.warn(
        saved === undefined
          ? "warning: those entries could not be saved anywhere either: the journal has a hole from then on"
          : `those ${error.unappended.length} entries are saved in ${displayPath(saved)}: the next run of ${visible(key)} appends them to the journal before its start`,
      );
      return;
    }
    const waiting = error.name === "StreamStalledError" ? journal?.pendingMs() : undefined;
    const why =
      waiting === undefined
        ? ""
        : ` — the tick is waiting on the journal: its append has been pending ${Math.round(waiting / 1000)} s of real time (check the journal's disk and its JournalError)`;
    terminal.warn(`error$ ${error.name}: ${error.message}${why}`);
  });

  const saved = typeof journalDir === "string" && options.journal !== undefined ? appendSaved(options.journal, journalDir, key, terminal) : Promise.resolve();
  return saved.then(() => new Promise<SessionEnd>((resolve, reject) => {
    let timer: Subscription | undefined;
    const cleanUp = () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      timer?.unsubscribe();
      stopListening();
      terminal.endStatus();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);

    const { stopAt } = options;
    if (stopAt !== undefined) {
      timer = scheduler.schedule(() => requestStop(options.stopAtReason ?? "time is up", false), Math.max(0, stopAt - scheduler.now()));
    }

    liveTicks$(symbol, strategy, {
      exchange: options.exchange,
      store: options.store,
      ...(journal === undefined ? {} : { journal: journal.journal, journalLevel: options.journalLevel ?? "trades" }),
      scheduler,
      tickMs: options.tickMs,
      stop$,
    }).subscribe({
      next: (result) => {
        const previous = current;
        current = held(result);
        collector.record(result);
        ledger.add(result);
        if (result.action === "closed") {
          totals.totalClosed++;
          totals.totalPnl += result.pnl.pnlPercentage;
        }
        const status = statusLine(result, symbol, totals);
        const line = eventLine(result, previous);
        if (terminal.tty) {
          terminal.status(status); // first: the event line below redraws it under itself
          if (line !== undefined) terminal.line(line);
        } else {
          if (line !== undefined) terminal.line(line);
          // A plain status line on a pipe or in a log: one per period of the clock, never a redraw.
          const slot = Math.floor(result.timestamp / options.plainStatusEveryMs);
          if (lastStatusSlot !== undefined && slot > lastStatusSlot) terminal.line(`status ${status}`);
          lastStatusSlot = slot;
        }
        options.onTick?.(result);
      },
      error: (error: unknown) => {
        cleanUp();
        reject(new SessionFailure(error, typeof error === "object" && error !== null && printedErrors.has(error)));
      },
      complete: () => {
        cleanUp();
        resolve({ stats: collector.snapshot(), trades: ledger.results });
      },
    });
  }));
}

/**
 * `journal`, its appends watched: `pendingMs()` is how long (real ms) the oldest append still in
 * flight has been pending, `undefined` when none is. Its other methods are the journal's own.
 */
export function watchedJournal(journal: Journal, now: () => number = () => performance.now()): { journal: Journal; pendingMs(): number | undefined } {
  const pending = new Map<number, number>();
  let next = 0;
  const append: Journal["append"] = (entry) => {
    const id = next++;
    pending.set(id, now());
    let answer;
    try {
      answer = journal.append(entry);
    } catch (error) {
      pending.delete(id);
      throw error;
    }
    if (answer === undefined || typeof (answer as PromiseLike<void>).then !== "function") {
      pending.delete(id);
      return answer;
    }
    const done = () => void pending.delete(id);
    return Promise.resolve(answer).finally(done);
  };
  // Its other methods called on the journal itself (a class may keep #private fields).
  const watched = new Proxy(journal, {
    get: (target, property) => {
      if (property === "append") return append;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  return {
    journal: watched,
    pendingMs: () => {
      const oldest = pending.values().next();
      return oldest.done === true ? undefined : Math.max(0, now() - oldest.value);
    },
  };
}

/**
 * Prints the statistics a run ends with and writes the Markdown report to
 * `{dir}/{symbol}_{strategyName}.md` (named by `reportFileName`, written as `Live.dump` writes:
 * temp file + rename, 0600, never through a symlink); returns its path. With a journal in
 * `<store>/journal/`, the statistics and the report are the key's whole history: every run's
 * trades, each once, this run's included (also when it journaled nothing, `--journal off`), so
 * a later run never replaces the report of earlier ones with its own; titled `Statistics of
 * <key> since <first journaled trade> (…; N runs)` once earlier runs have traded. Without a
 * journal, or when it cannot be read (said on stderr), they are this run's.
 */
export async function finish(terminal: Terminal, end: SessionEnd, symbol: string, strategyName: string, reportDir: string, storeDir: string): Promise<string> {
  terminal.line("");
  const key = `${symbol}:${strategyName}`;
  const dir = join(storeDir, JOURNAL_DIR);
  let history: LiveHistory | undefined;
  if (await isFolder(dir)) {
    try {
      history = await readLiveHistory(fileJournal(storeDir), key);
    } catch (error) {
      terminal.warn(`warning: the journal ${displayPath(dir)} could not be read (${(error as Error).message.replace(/^rxtrade: /, "")}); the statistics below are this run's alone`);
    }
  }
  if (history === undefined) return printStatistics(terminal, "Statistics of this run", end.stats, symbol, strategyName, reportDir);
  const ledger = new TradeLedger();
  for (const result of history.results) ledger.add(result);
  const unjournaled = end.trades.filter((result) => ledger.add(result)).length;
  const notes = historyNotes(history);
  if (unjournaled > 0) {
    notes.push(
      `  note: ${unjournaled} of this run's trades are not in the journal (--journal off, or appends that failed): counted here; ` +
        "the next start journals those whose intent was journaled (see the JournalError above), until then rxtrade report leaves them out",
    );
  }
  // A history of this run alone (a first run, or earlier runs that traded nothing) is titled as such.
  const own = new TradeLedger();
  for (const result of end.trades) own.add(result);
  const earlier = history.results.filter((result) => own.add(result)).length;
  const title = earlier === 0 ? "Statistics of this run" : historyTitle(key, { firstAt: ledger.results[0]?.timestamp ?? null, runs: history.runs });
  // Signals that ended unrecorded are in the statistics too, so the report lists them ("Ended unrecorded").
  return printStatistics(terminal, title, historyStatistics({ results: ledger.results, endedUnrecorded: history.endedUnrecorded }), symbol, strategyName, reportDir, notes);
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * What the statistics of a history leave out, said under them: signals whose end is not in the
 * journal. The journal cannot tell why (a run whose appends failed to its end, stop entry
 * included, looks like a killed one), so the note does not claim a kill.
 */
export function historyNotes(history: Pick<LiveHistory, "endedUnrecorded">): string[] {
  return history.endedUnrecorded.map(
    ({ signalId, status, since }) =>
      `  note: signal ${signalId} (${status} since ${minute(since)}) ended unrecorded: its end is not in the journal — its process was killed between the store write ` +
      "and the journal, or the journal failed before its end was recorded (see that run's JournalError); it is in no statistic",
  );
}

/** `BTC/USDT:USDT:momentum` -> `["BTC/USDT:USDT", "momentum"]`: a strategy name has no `:`. */
export function splitKey(key: string): [symbol: string, strategyName: string] {
  const at = key.lastIndexOf(":");
  return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
}

/**
 * The title of a key's statistics over its journal's history: `Statistics of BTCUSDT:momentum
 * since 2023-03-01 02:41 UTC (the first journaled trade; 2 runs)`.
 */
export function historyTitle(rawKey: string, history: Pick<LiveHistory, "firstAt" | "runs">, since?: number): string {
  const key = visible(rawKey); // a strategy's name may hold anything but ":"
  const runs = history.runs > 0 ? `${history.runs} ${history.runs === 1 ? "run" : "runs"}` : undefined;
  if (history.firstAt === null) {
    return `Statistics of ${key}: no trades journaled${since === undefined ? " yet" : ` since ${minute(since)} UTC`}${runs === undefined ? "" : ` (${runs})`}`;
  }
  const from = since === undefined ? `${minute(history.firstAt)} UTC (the first journaled trade` : `${minute(since)} UTC (--since`;
  return `Statistics of ${key} since ${from}${runs === undefined ? "" : `; ${runs}`})`;
}

/** Prints `title`, the statistics, and writes the Markdown report as `finish` does; returns its path. */
export async function printStatistics(
  terminal: Terminal,
  title: string,
  stats: LiveStatistics,
  symbol: string,
  strategyName: string,
  reportDir: string,
  notes: readonly string[] = [],
): Promise<string> {
  terminal.line(title);
  for (const line of [...statisticsLines(stats), ...notes]) terminal.line(line);
  const file = await writeReport(reportDir, symbol, strategyName, liveReport(strategyName, stats));
  const shown = relative(process.cwd(), file);
  terminal.line(`Report: ${visible(shown.startsWith("..") ? file : shown)}`);
  return file;
}
