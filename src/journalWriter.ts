import type { SchedulerLike } from "rxjs";
import { attemptWithin } from "./deadline";
import {
  errorInfo,
  type Journal,
  type JournalEntry,
  type JournalIntent,
  type JournalLevel,
  type JournalRun,
  type JournalTail,
  type JournalTradeResult,
  journalTail,
} from "./journal";
import { AppendQueue } from "./journalQueue";
import { intentLanded, reconcile } from "./journalReconcile";
import { describeError } from "./journalTrouble";
import type { SignalState, StreamIdentity } from "./signal";

export { reconcile } from "./journalReconcile";
export { TickRecorder } from "./journalTicks";
export { watchedJournal } from "./journalWatch";

/** What a `JournalWriter` needs of its stream (a `TradeContext` has it all). */
export interface JournalWriterContext {
  readonly journal: Journal | undefined;
  readonly journalLevel: JournalLevel;
  readonly key: string;
  readonly identity: StreamIdentity;
  readonly scheduler: SchedulerLike;
  readonly tickMs: number;
  readonly limits: { readonly storeMs: number };
}

interface Starting {
  restored: SignalState | null;
  at: number;
}

/**
 * The journal of one run of a stream: appends its entries in order, one call at a time, each
 * bounded by CC_STORE_TIMEOUT_SECONDS, and never loses a change of position silently.
 *
 * - Each change of position is journaled around its store write: its `intent` before
 *   (write-ahead: a kill after the store write leaves it for the next start to confirm), its
 *   `trade` after. The run's first journal call reconciles the key's last entries with the
 *   store (see `started`).
 * - A failed or hung append is a `JournalError` on `error$`, once per failure streak; the entry
 *   is kept, with every later one behind it, and retried every tick period — never called
 *   again while it may still land (no duplicate, no concurrent call). See `AppendQueue`.
 * - Trading is not held up by a broken journal: a caller waiting for its entry is let go at the
 *   failure or the limit, and, while the journal is failing, does not wait at all. The store,
 *   not the journal, is what the engine trades from: an open position must still reach its take
 *   profit or stop loss while the disk of a log is full.
 * - Tick entries (level `full`) are dropped while the journal is failing, or beyond
 *   `MAX_QUEUED_TICKS` waiting; a `gap` entry marks them once it takes entries again.
 * - At its end (`end`) the run appends its `stop` entry and drains the queue, retrying within
 *   CC_STORE_TIMEOUT_SECONDS; what could not be appended by then is handed over in a
 *   `JournalError` (`operation` "end", `unappended`, `signalIds`).
 *
 * A synchronous journal (`memoryJournal`) is written synchronously, without timers, so a
 * stream on it runs inside `TestScheduler.run` and `VirtualClock.flush`.
 */
export class JournalWriter extends AppendQueue {
  /** Level `full`: every tick is journaled (see `TickRecorder`). */
  readonly full: boolean;
  private startedRun = false;
  private ended = false;
  /** The run's last intent that no trade entry has followed yet. */
  private lastIntent: JournalIntent | undefined;

  constructor(private readonly context: JournalWriterContext) {
    if (context.journal === undefined || context.journalLevel === "off") {
      throw new TypeError("rxtrade: a JournalWriter needs a journal and a level other than off");
    }
    super(context.journal, context);
    this.full = context.journalLevel === "full";
  }

  /**
   * The run has read the store (`restoreState`): for the first time, or again on a retry (see
   * `restored`). Its first journal call reads the key's last entries (`Journal.tail`) and
   * reconciles them with what the store held (see `reconcile`): the previous run's pending
   * intent confirmed or voided, a `recovered` trade entry for a stored signal the journal does
   * not show in that state, then the `start` entry. Trading does not wait for it; the run's
   * entries queue behind.
   */
  started(restored: SignalState | null): void {
    if (this.final) return;
    if (this.startedRun) {
      this.restored(restored);
      return;
    }
    this.startedRun = true;
    const starting: Starting = { restored, at: this.context.scheduler.now() };
    this.gate = () => this.reconcile(starting);
    this.pump();
  }

  /**
   * Appends the `intent` of a change of position, before its store write; `then` is called
   * once, as for `trade`: the store write goes ahead once the intent is durable, or without it
   * when the journal fails, hangs past its limit, or is known to be failing.
   */
  intent(result: JournalTradeResult, then: () => void): void {
    const intent: JournalIntent = { kind: "intent", key: this.context.key, at: result.timestamp, result };
    this.lastIntent = intent;
    this.push(intent, then);
  }

  /**
   * Appends the `trade` entry of a result the store has confirmed; `then` is called once: when
   * it is appended (synchronously for a synchronous journal), when its append failed or passed
   * its time limit (it is then kept and retried), or at once while the journal is failing.
   */
  trade(result: JournalTradeResult, then: () => void): void {
    this.lastIntent = undefined;
    this.push({ kind: "trade", key: this.context.key, at: result.timestamp, result }, then);
  }

  /** Appends an entry without waiting for it (`tick` entries, which may be dropped: see the class). */
  append(entry: JournalEntry): void {
    if (entry.kind === "tick" && !this.admitTick(entry.at)) return;
    this.push(entry, undefined);
  }

  /**
   * The run ends by itself (a graceful stop, or an error): appends its `stop` entry (after the
   * gap entry of dropped ticks, if any) and calls `done` once the queue has drained — at once
   * for a synchronous journal; a failure is retried until CC_STORE_TIMEOUT_SECONDS have passed,
   * then what is left is reported. A second call, or a call after `close`, calls `done` at once.
   */
  end(reason: "stopped" | "error", error: unknown, done: () => void): void {
    if (this.ended || this.final || !this.startedRun) {
      this.final = true;
      done();
      return;
    }
    this.ended = true;
    this.pushGap();
    this.push(this.runEntry("stop", { reason, ...(reason === "error" ? { error: errorInfo(error) } : {}) }), undefined);
    this.drain(done, this.context.limits.storeMs);
  }

  /**
   * The run is torn down (unsubscribed): appends its `stop` entry (`reason` as given), and
   * what is queued, without timers any more — a call in flight finishes, a failure is reported
   * with the entries left. Nothing when the run has ended or never started.
   */
  close(reason: "stopped" | "unsubscribed"): void {
    if (this.final || !this.startedRun) return;
    if (!this.ended) {
      this.ended = true;
      this.pushGap();
      this.push(this.runEntry("stop", { reason }), undefined);
    }
    this.stopTimers();
    this.pump();
  }

  /**
   * The run lost its store lock: the key may be another process's now, so nothing more is
   * appended; what is still queued is reported (`JournalError` "end", `unappended`).
   */
  abandon(why: string): void {
    if (this.final) return;
    this.stopTimers();
    this.giveUp(why);
  }

  /** The run's journal is done: ended, closed or abandoned. */
  get finished(): boolean {
    return this.final;
  }

  /** Whether the journal is failing (its head entry could not be appended yet). */
  get degraded(): boolean {
    return this.trouble.failing;
  }

  /** Tick entries dropped and not yet marked by a `gap` entry. */
  get droppedTicks(): number {
    return this.trouble.droppedTicks;
  }

  // A retry read the store again, after an error: when the last intent's store write failed
  // unverified (the read-back failed too) yet landed, the store says so now, and its trade
  // entry goes in — a later change would otherwise leave that intent behind unconfirmed.
  private restored(state: SignalState | null): void {
    const intent = this.lastIntent;
    this.lastIntent = undefined;
    if (intent !== undefined && intentLanded(intent, state)) this.push({ kind: "trade", key: intent.key, at: intent.at, result: intent.result, fromIntent: true }, undefined);
  }

  // Reads the key's last entries and queues what reconciles them with the store, then the
  // `start` entry. Returns true when done synchronously.
  private reconcile(starting: Starting): boolean {
    const { key, scheduler, limits } = this.context;
    const journal = this.journal;
    let sync = true;
    let outcome: { tail: JournalTail } | { error: unknown } | undefined;
    attemptWithin<JournalTail>(
      () => (journal.tail !== undefined ? journal.tail(key) : journalTail(journal.read(key))),
      { scheduler, ms: limits.storeMs, call: `journal tail(${key})`, key: "CC_STORE_TIMEOUT_SECONDS" },
      (tail) => {
        if (sync) outcome = { tail };
        else this.reconciled(starting, { tail });
      },
      (error) => {
        if (sync) outcome = { error };
        else this.reconciled(starting, { error });
      },
    );
    sync = false;
    if (outcome === undefined) {
      this.busy = true;
      return false;
    }
    return this.applyTail(starting, outcome);
  }

  private reconciled(starting: Starting, outcome: { tail: JournalTail } | { error: unknown }): void {
    this.busy = false;
    if (this.gate === undefined) return; // given up on at the end of the run
    if (this.applyTail(starting, outcome)) this.pump();
  }

  private applyTail(starting: Starting, outcome: { tail: JournalTail } | { error: unknown }): boolean {
    if ("error" in outcome) {
      this.trouble.readFailed(this.waiting + 1, outcome.error);
      this.degrade();
      this.afterFailure(`the journal could not be read: ${describeError(outcome.error)}`);
      return false;
    }
    this.gate = undefined;
    this.trouble.recovered(this.waiting);
    const { recovered, recovery } = reconcile(outcome.tail ?? {}, starting.restored, this.context);
    this.unshift([
      ...recovered,
      this.runEntry("start", {
        at: starting.at,
        ...(starting.restored === null ? {} : { resumedSignalId: starting.restored.signal.id }),
        ...(recovery === undefined ? {} : { recovery }),
      }),
    ]);
    return true;
  }

  private runEntry(event: "start" | "stop", extra: Partial<JournalRun>): JournalRun {
    const { key, identity, tickMs, journalLevel, scheduler } = this.context;
    return {
      kind: "run",
      key,
      at: scheduler.now(),
      event,
      symbol: identity.symbol,
      strategyName: identity.strategyName,
      exchangeName: identity.exchangeName,
      level: journalLevel,
      tickMs,
      ...extra,
    };
  }
}
