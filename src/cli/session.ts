import { Subject, type SchedulerLike, type Subscription } from "rxjs";
import {
  decodeState,
  type ExchangeSchema,
  listenError,
  LiveStatisticsCollector,
  type LiveStatistics,
  liveTicks$,
  type SignalState,
  type SignalStore,
  type Journal,
  type JournalLevel,
  type StrategySchema,
  type TickResult,
  TradeLedger,
} from "rxtrade";
import type { FileStore } from "rxtrade/node";
import { isRxtradeError } from "./rxtradeErrors";
import { describeHeld, displayPath, eventLine, held, minute, price, statusLine, visible } from "./format";
import type { Terminal } from "./terminal";
import { EXIT } from "./usage";

import { appendSaved, saveUnappended } from "./sessionSaved";
import { finish, historyNotes, historyTitle, printStatistics, splitKey } from "./sessionReport";

export { appendSaved, finish, historyNotes, historyTitle, printStatistics, saveUnappended, splitKey };

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
