import { isObservable, type SchedulerLike, type Subscription } from "rxjs";
import { attemptWithin, type CallWatcher } from "./deadline";
import { CallTimeoutError, JournalError } from "./errors";
import { emit, getLogger } from "./events";
import {
  copyEntry,
  errorInfo,
  type Journal,
  type JournalAnswer,
  type JournalCandles,
  type JournalEntry,
  type JournalErrorInfo,
  type JournalLevel,
  type JournalRecovery,
  type JournalRun,
  type JournalTail,
  type JournalTrade,
  journalTail,
} from "./journal";
import { isDeferred, settle } from "./maybeAsync";
import { type Candle, type CandleInterval, MINUTE_MS, type SignalDto, type TickAction, type TickResult } from "./model";
import type { SignalState, StreamIdentity } from "./signal";

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

type TradeResult = JournalTrade["result"];

interface Pending {
  entry: JournalEntry;
  /** Told once: when the entry is appended, or when the caller should stop waiting for it. */
  waiter: (() => void) | undefined;
}

/**
 * The journal of one run of a stream: appends its entries in order, one call at a time, each
 * bounded by CC_STORE_TIMEOUT_SECONDS, and never loses one silently.
 *
 * - A failed append (a throw, a rejection) is a `JournalError` on `error$`; the entry is kept,
 *   with every later one behind it, and retried every tick period on the stream's scheduler.
 * - An append that has not settled within the limit is reported too, and waited for — never
 *   called again while it may still land (no duplicate, no concurrent call); it is reported
 *   again at every further limit it stays pending.
 * - Trading is not held up by a broken journal: a caller waiting for its entry (`trade`) is let
 *   go at the failure or the limit, and, while the journal is failing, does not wait at all.
 *   Why: the store, not the journal, is the record the engine trades from (it is written, and
 *   confirmed, first); an open position must still be monitored and closed at its take profit
 *   or stop loss while the disk of a log is full. The torn state is visible instead — on
 *   `error$`, every failure — and healed: the entries go in, in order, once the journal takes
 *   them, and a run that dies before that is reconciled at the next start (see `started`).
 * - At its end (`end`) the run appends its `stop` entry and waits for the queue to drain, at
 *   most CC_STORE_TIMEOUT_SECONDS; what could not be appended by then is handed over in a
 *   `JournalError` (`operation` "end", `unappended`), since nothing else holds it any more.
 *
 * A synchronous journal (`memoryJournal`) is written synchronously, without timers, so a
 * stream on it runs inside `TestScheduler.run` and `VirtualClock.flush`.
 */
export class JournalWriter {
  /** Level `full`: every tick is journaled (see `TickRecorder`). */
  readonly full: boolean;
  private readonly journal: Journal;
  private readonly queue: Pending[] = [];
  /** A journal call is in flight. */
  private busy = false;
  private pumping = false;
  private failing = false;
  private retryTimer: Subscription | undefined;
  private overdueTimer: Subscription | undefined;
  /** The run started (its first restore): reconcile, then the `start` entry. */
  private starting: { restored: SignalState | null; at: number } | undefined;
  private startedRun = false;
  /** The run is ending: told once the queue has drained (or was given up). */
  private ending: { done: () => void; timer: Subscription | undefined } | undefined;
  /** The run is over: no timers any more; a failure gives up at once. */
  private final = false;

  constructor(private readonly context: JournalWriterContext) {
    if (context.journal === undefined || context.journalLevel === "off") {
      throw new TypeError("rxtrade: a JournalWriter needs a journal and a level other than off");
    }
    this.journal = context.journal;
    this.full = context.journalLevel === "full";
  }

  /**
   * The run has read the store for the first time (`restoreState`; later retries are ignored).
   * Its first journal call reads the key's last entries (`Journal.tail`) and reconciles them
   * with what the store held (see `JournalRecovery`): a `recovered` trade entry for a stored
   * signal the journal does not show in that state, then the `start` entry (with
   * `resumedSignalId` and `recovery`). Trading does not wait for it; the run's entries queue
   * behind it.
   */
  started(restored: SignalState | null): void {
    if (this.startedRun || this.final) return;
    this.startedRun = true;
    this.starting = { restored, at: this.context.scheduler.now() };
    this.pump();
  }

  /**
   * Appends the `trade` entry of a result the store has confirmed; `then` is called once: when
   * it is appended (synchronously for a synchronous journal), when its append failed or passed
   * its time limit (it is then kept and retried), or at once while the journal is failing.
   */
  trade(result: TradeResult, then: () => void): void {
    this.push({ kind: "trade", key: this.context.key, at: result.timestamp, result }, then);
  }

  /** Appends an entry without waiting for it (`tick` entries). */
  append(entry: JournalEntry): void {
    this.push(entry, undefined);
  }

  /**
   * The run ends by itself (a graceful stop, or an error): appends its `stop` entry and calls
   * `done` once the queue has drained — at once for a synchronous journal; at the latest
   * CC_STORE_TIMEOUT_SECONDS later, or at the first failure, with what is left reported. A
   * second call, or a call after `close`, calls `done` at once.
   */
  end(reason: "stopped" | "error", error: unknown, done: () => void): void {
    if (this.ending !== undefined || this.final || !this.startedRun) {
      this.final = true;
      done();
      return;
    }
    this.push(this.runEntry("stop", { reason, ...(reason === "error" ? { error: errorInfo(error) } : {}) }), undefined);
    this.ending = { done, timer: undefined };
    // A retry waiting for its period gets its last chance now.
    this.cancel("retryTimer");
    this.pump();
    if (this.ending !== undefined && !this.final) {
      this.ending.timer = this.context.scheduler.schedule(() => this.giveUp("it did not finish within CC_STORE_TIMEOUT_SECONDS"), this.context.limits.storeMs);
    }
  }

  /**
   * The run is torn down (unsubscribed): appends its `stop` entry (`reason` as given), and
   * what is queued, without timers any more — a call in flight finishes, a failure is reported
   * with the entries left. Nothing when the run has ended or never started.
   */
  close(reason: "stopped" | "unsubscribed"): void {
    if (this.final || !this.startedRun) return;
    if (this.ending === undefined) this.push(this.runEntry("stop", { reason }), undefined);
    this.final = true;
    this.cancel("retryTimer");
    this.cancel("overdueTimer");
    if (this.ending !== undefined) {
      this.ending.timer?.unsubscribe();
      this.ending = undefined;
    }
    this.pump();
  }

  /**
   * The run lost its store lock: the key may be another process's now, so nothing more is
   * appended; what is still queued is reported (`JournalError` "end", `unappended`).
   */
  abandon(why: string): void {
    if (this.final) return;
    this.ending = undefined;
    this.giveUp(why);
  }

  /** The run's journal is done: ended, closed or abandoned. */
  get finished(): boolean {
    return this.final;
  }

  /** Whether the journal is failing (its head entry could not be appended yet). */
  get degraded(): boolean {
    return this.failing;
  }

  /** Entries waiting to be appended. */
  get waiting(): number {
    return this.queue.length;
  }

  private push(entry: JournalEntry, waiter: (() => void) | undefined): void {
    if (this.queue.length === 0 && !this.busy && this.starting === undefined && this.retryTimer === undefined) {
      // Nothing waits before it (the common case): a synchronous journal is done here, without
      // allocating anything (the journal copies what it keeps).
      let value: void | PromiseLike<void>;
      try {
        value = this.journal.append(entry);
      } catch (error) {
        const head = { entry: copyEntry(entry), waiter };
        this.queue.push(head);
        this.failed(head, error);
        return;
      }
      if (value === undefined) {
        this.recovered();
        waiter?.();
        return;
      }
      // Kept until it settles: a retry appends this snapshot, whatever the caller's object becomes.
      const head = { entry: copyEntry(entry), waiter };
      this.queue.push(head);
      this.settleHead(head, value);
      if (!this.busy) this.pump();
      return;
    }
    this.queue.push({ entry: copyEntry(entry), waiter: this.failing ? undefined : waiter });
    if (this.failing) waiter?.();
    this.pump();
  }

  // One call at a time, in order. Re-entrant calls (a waiter that delivers a result, whose
  // consumer appends) only queue: the loop below picks them up.
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.busy && this.retryTimer === undefined) {
        if (this.starting !== undefined) {
          if (!this.reconcile(this.starting)) break;
          continue;
        }
        const head = this.queue[0];
        if (head === undefined) break;
        if (!this.appendHead(head)) break;
      }
    } finally {
      this.pumping = false;
    }
    if (this.ending !== undefined && this.queue.length === 0 && !this.busy && this.starting === undefined) this.finish();
  }

  // Returns true when the head was appended synchronously (go on with the next).
  private appendHead(head: Pending): boolean {
    let value: void | PromiseLike<void>;
    try {
      value = this.journal.append(head.entry);
    } catch (error) {
      this.failed(head, error);
      return false;
    }
    if (value === undefined) {
      this.appended(head);
      return true;
    }
    return this.settleHead(head, value);
  }

  // Adopts what `append` answered for the head: true when it settled synchronously and fine.
  private settleHead(head: Pending, value: PromiseLike<void>): boolean {
    let sync = true;
    let outcome: { ok: true } | { error: unknown } | undefined;
    settle<unknown>(
      value,
      () => {
        if (sync) outcome = { ok: true };
        else this.settled(head, undefined);
      },
      (error) => {
        if (sync) outcome = { error };
        else this.settled(head, { error });
      },
    );
    sync = false;
    if (outcome !== undefined && "ok" in outcome) {
      this.appended(head);
      return true;
    }
    if (outcome !== undefined) {
      this.failed(head, outcome.error);
      return false;
    }
    this.busy = true;
    this.armOverdue(head);
    return false;
  }

  private settled(head: Pending, failure: { error: unknown } | undefined): void {
    this.busy = false;
    this.cancel("overdueTimer");
    if (this.queue[0] !== head) return; // given up on at the end of the run
    if (failure === undefined) {
      this.appended(head);
      this.pump();
    } else this.failed(head, failure.error);
  }

  private appended(head: Pending): void {
    this.queue.shift();
    this.recovered();
    const waiter = head.waiter;
    head.waiter = undefined;
    waiter?.();
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    getLogger().info(`rxtrade: the journal of ${this.context.key} accepts entries again; ${this.queue.length} more waiting`);
  }

  private failed(head: Pending, error: unknown): void {
    const { key, tickMs } = this.context;
    const waiting = this.queue.length;
    const later = waiting - 1;
    this.report(
      new JournalError({
        key,
        operation: "append",
        entry: head.entry,
        waiting,
        cause: error,
        context: this.context.identity,
        message:
          `journal append of ${describeEntry(head.entry)} for ${key} failed: ${describeError(error)}; ` +
          `it is kept${later > 0 ? ` with ${later} later entr${later === 1 ? "y" : "ies"}` : ""} and retried every ${seconds(tickMs)} s (trading goes on)`,
      }),
    );
    this.degrade();
    if (this.final || this.ending !== undefined) this.giveUp(`an append failed: ${describeError(error)}`);
    else this.retryLater();
  }

  // Reported at the limit, and again at every further limit while it stays pending.
  private armOverdue(head: Pending): void {
    if (this.final) return;
    const { scheduler, limits, key } = this.context;
    this.overdueTimer = scheduler.schedule(() => {
      this.overdueTimer = undefined;
      if (this.queue[0] !== head || !this.busy) return;
      const waiting = this.queue.length;
      this.report(
        new JournalError({
          key,
          operation: "append",
          entry: head.entry,
          waiting,
          cause: new CallTimeoutError(`journal append(${key})`, "CC_STORE_TIMEOUT_SECONDS", limits.storeMs),
          context: this.context.identity,
          message:
            `journal append of ${describeEntry(head.entry)} for ${key} has not settled within CC_STORE_TIMEOUT_SECONDS (${seconds(limits.storeMs)} s); ` +
            `it is waited for, with ${waiting} entr${waiting === 1 ? "y" : "ies"} in all (trading goes on)`,
        }),
      );
      this.degrade();
      this.armOverdue(head);
    }, limits.storeMs);
  }

  // Reads the key's last entries and queues what reconciles them with the store, then the
  // `start` entry. Returns true when done synchronously.
  private reconcile(starting: { restored: SignalState | null; at: number }): boolean {
    const { key, scheduler, limits } = this.context;
    const journal = this.journal;
    let sync = true;
    let outcome: { tail: JournalTail } | { error: unknown } | undefined;
    const read = () => (journal.tail !== undefined ? journal.tail(key) : journalTail(journal.read(key)));
    attemptWithin<JournalTail>(
      read,
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

  private reconciled(starting: { restored: SignalState | null; at: number }, outcome: { tail: JournalTail } | { error: unknown }): void {
    this.busy = false;
    if (this.starting !== starting) return;
    if (this.applyTail(starting, outcome)) this.pump();
  }

  private applyTail(starting: { restored: SignalState | null; at: number }, outcome: { tail: JournalTail } | { error: unknown }): boolean {
    if ("error" in outcome) {
      const { key, tickMs } = this.context;
      this.report(
        new JournalError({
          key,
          operation: "read",
          waiting: this.queue.length + 1,
          cause: outcome.error,
          context: this.context.identity,
          message:
            `cannot read the journal's last entries of ${key} to reconcile them with the store: ${describeError(outcome.error)}; ` +
            `retried every ${seconds(tickMs)} s, and this run's entries wait for it (trading goes on)`,
        }),
      );
      this.degrade();
      if (this.final || this.ending !== undefined) this.giveUp(`the journal could not be read: ${describeError(outcome.error)}`);
      else this.retryLater();
      return false;
    }
    this.starting = undefined;
    const { recovered, recovery } = reconcile(outcome.tail ?? {}, starting.restored, this.context);
    const entries: JournalEntry[] = [
      ...recovered,
      this.runEntry("start", {
        at: starting.at,
        ...(starting.restored === null ? {} : { resumedSignalId: starting.restored.signal.id }),
        ...(recovery === undefined ? {} : { recovery }),
      }),
    ];
    this.queue.unshift(...entries.map((entry) => ({ entry, waiter: undefined })));
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

  // Failing: whoever waits is let go, and later callers do not wait.
  private degrade(): void {
    this.failing = true;
    for (const pending of this.queue) {
      const waiter = pending.waiter;
      pending.waiter = undefined;
      waiter?.();
    }
  }

  private retryLater(): void {
    if (this.final || this.retryTimer !== undefined) return;
    this.retryTimer = this.context.scheduler.schedule(() => {
      this.retryTimer = undefined;
      this.pump();
    }, this.context.tickMs);
  }

  // The end of the run, with entries left: hand them over (nothing else holds them any more).
  private giveUp(why: string): void {
    const unappended = this.queue.splice(0).map((pending) => {
      const waiter = pending.waiter;
      pending.waiter = undefined;
      waiter?.();
      return pending.entry;
    });
    const { key } = this.context;
    if (this.starting !== undefined || unappended.length > 0) {
      const n = unappended.length;
      this.report(
        new JournalError({
          key,
          operation: "end",
          waiting: 0,
          unappended,
          context: this.context.identity,
          message:
            `the run of ${key} ended with ${n} journal entr${n === 1 ? "y" : "ies"} not appended${n > 0 ? ` (${unappended.map(describeEntry).slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})` : ""}` +
            `${this.starting !== undefined ? ", and without its start entry" : ""}: ${why}${this.busy ? " (the append in flight may still land)" : ""}; ` +
            `they are in this error's unappended; the next start reconciles the journal with what the store holds`,
        }),
      );
    }
    this.starting = undefined;
    this.finish();
  }

  private finish(): void {
    this.final = true;
    this.cancel("retryTimer");
    this.cancel("overdueTimer");
    const ending = this.ending;
    this.ending = undefined;
    if (ending === undefined) return;
    ending.timer?.unsubscribe();
    ending.done();
  }

  private cancel(timer: "retryTimer" | "overdueTimer"): void {
    this[timer]?.unsubscribe();
    this[timer] = undefined;
  }

  private report(error: JournalError): void {
    emit.error(error);
  }
}

/**
 * The entries that reconcile the journal's last state of a key with the store's (see
 * `JournalRecovery`): `recovered` trade entries to append before the `start` entry, and the
 * start's `recovery`, when there is anything to say.
 */
export function reconcile(
  tail: JournalTail,
  restored: SignalState | null,
  context: Pick<JournalWriterContext, "key" | "identity">,
): { recovered: JournalTrade[]; recovery: JournalRecovery | undefined } {
  const { lastTrade, lastRun } = tail;
  const unfinishedRun = lastRun?.event === "start";
  const action = lastTrade?.result.action;
  const held = lastTrade !== undefined && (action === "scheduled" || action === "opened") ? { id: lastTrade.result.signal.id, status: action, since: lastTrade.at } : undefined;
  const recovery: JournalRecovery = { unfinishedRun };
  const recovered: JournalTrade[] = [];
  if (held !== undefined && (restored === null || restored.signal.id !== held.id)) {
    recovery.endedSignal = { signalId: held.id, status: held.status, since: held.since };
  }
  if (restored !== null && !(held !== undefined && held.id === restored.signal.id && held.status === restored.status)) {
    recovered.push(recoveredTrade(restored, context.key));
    recovery.recoveredSignalId = restored.signal.id;
  }
  const anything = unfinishedRun || recovery.endedSignal !== undefined || recovery.recoveredSignalId !== undefined;
  return { recovered, recovery: anything ? recovery : undefined };
}

function recoveredTrade(state: SignalState, key: string): JournalTrade {
  const { signal } = state;
  const at = state.status === "opened" ? signal.pendingAt : signal.scheduledAt;
  const result: TradeResult = {
    action: state.status,
    symbol: signal.symbol,
    strategyName: signal.strategyName,
    exchangeName: signal.exchangeName,
    currentPrice: signal.priceOpen,
    timestamp: at,
    backtest: false,
    signal: { ...signal },
  } as TradeResult;
  return { kind: "trade", key, at, result, recovered: true };
}

const UNANSWERED: JournalErrorInfo = { name: "Unanswered", message: "the request had not been answered when the tick ended" };

/**
 * What one tick saw, at level `full`: its candle requests (the pricing one first), the
 * strategy's answer; `end` appends the `tick` entry with the price and the action. One per
 * run, reused tick after tick; at the other levels there is none, and the tick path does not
 * allocate for journaling.
 */
export class TickRecorder {
  private requests: JournalCandles[] = [];
  private answer: JournalAnswer | undefined;

  constructor(
    private readonly writer: JournalWriter,
    private readonly key: string,
  ) {}

  /** A new tick. */
  begin(): void {
    this.requests = [];
    this.answer = undefined;
  }

  /** The pricing request's candles: those of the VWAP window (closed as of `now`, from `since`, the newest `count`). */
  pricing(candles: readonly Candle[], now: number, since: number, count: number): void {
    // The window as vwapPrice takes it: the newest `count` candles closed by `now`, from `since`.
    const window: Candle[] = [];
    for (let i = candles.length - 1; i >= 0 && window.length < count; i--) {
      const c = candles[i] as Candle;
      if (c.timestamp >= since && c.timestamp + MINUTE_MS <= now) window.push(copyCandle(c));
    }
    window.reverse();
    // Candles that came newest first (rare): vwapPrice sorted a copy; so does this.
    for (let i = 1; i < window.length; i++) {
      if ((window[i] as Candle).timestamp < (window[i - 1] as Candle).timestamp) {
        this.requests[0] = { interval: "1m", since, limit: count, candles: sortedWindow(candles, now, since, count) };
        return;
      }
    }
    this.requests[0] = { interval: "1m", since, limit: count, candles: window };
  }

  /** The pricing request failed after its last attempt. */
  pricingFailed(since: number, count: number, error: unknown): void {
    this.requests[0] = { interval: "1m", since, limit: count, candles: [], error: errorInfo(error) };
  }

  /** A strategy's candle request; fill it with `received` or `failed`. */
  request(interval: CandleInterval, since: number, limit: number): JournalCandles {
    const record: JournalCandles = { interval, since, limit, candles: [], error: UNANSWERED };
    this.requests.push(record);
    return record;
  }

  received(record: JournalCandles, candles: readonly Candle[]): void {
    record.candles = candles.map(copyCandle);
    delete record.error;
  }

  failed(record: JournalCandles, error: unknown): void {
    record.candles = [];
    record.error = errorInfo(error);
  }

  /** The strategy's answer: the signal the engine took from it, none, or the error. */
  answered(answer: { proposal: SignalState | null } | { error: unknown }): void {
    this.answer = "error" in answer ? { error: errorInfo(answer.error) } : { signal: answer.proposal === null ? null : signalDtoOf(answer.proposal) };
  }

  /** The tick's decision: appends its entry. */
  end(at: number, action: TickAction | "error", price: number | null, result: TickResult | undefined): void {
    const signalId = result?.signal?.id;
    this.writer.append({
      kind: "tick",
      key: this.key,
      at,
      candles: this.requests,
      price,
      ...(this.answer === undefined ? {} : { answer: this.answer }),
      action,
      ...(signalId === undefined ? {} : { signalId }),
    });
    this.requests = [];
    this.answer = undefined;
  }
}

function sortedWindow(candles: readonly Candle[], now: number, since: number, count: number): Candle[] {
  return candles
    .filter((c) => c.timestamp >= since && c.timestamp + MINUTE_MS <= now)
    .sort((a, b) => a.timestamp - b.timestamp)
    .slice(-count)
    .map(copyCandle);
}

function copyCandle(c: Candle): Candle {
  return { timestamp: c.timestamp, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume };
}

/** The signal as the engine took it from the strategy, in the strategy's terms. */
function signalDtoOf(state: SignalState): SignalDto {
  const s = state.signal;
  // The strategy's fields in its order; priceOpen only for a limit entry (an immediate signal has none).
  return {
    id: s.id,
    position: s.position,
    ...(state.status === "scheduled" ? { priceOpen: s.priceOpen } : {}),
    priceTakeProfit: s.priceTakeProfit,
    priceStopLoss: s.priceStopLoss,
    minuteEstimatedTime: s.minuteEstimatedTime,
    ...(s.note === "" ? {} : { note: s.note }),
  };
}

/**
 * The journal as the engine calls it under a `CallWatcher` scheduler (a `VirtualClock`, the
 * demo's paced clock): `append` and `tail` (a `tail` made of `read` when the journal has none)
 * report each call that goes asynchronous until it settles, so virtual time does not move on
 * while a file journal fsyncs.
 */
export function watchedJournal(journal: Journal, watcher: CallWatcher, limitMs: number): Journal {
  return Object.create(journal, {
    append: { value: (entry: JournalEntry) => watched(journal.append(entry), watcher, `journal append(${entry.key})`, limitMs) },
    tail: {
      value: (key: string) => watched(journal.tail !== undefined ? journal.tail(key) : journalTail(journal.read(key)), watcher, `journal tail(${key})`, limitMs),
    },
  }) as Journal;
}

function watched<T>(value: T | PromiseLike<T>, watcher: CallWatcher, call: string, limitMs: number): T | PromiseLike<T> {
  if (!isDeferred(value) || isObservable(value)) return value;
  let end: (() => void) | undefined;
  let outcome: { value: T } | { error: unknown } | undefined;
  let resolve: ((value: T) => void) | undefined;
  let reject: ((error: unknown) => void) | undefined;
  const pending = settle(
    value as PromiseLike<T>,
    (settled) => {
      outcome = { value: settled };
      end?.();
      resolve?.(settled);
    },
    (error) => {
      outcome = { error };
      end?.();
      reject?.(error);
    },
  );
  if (pending === undefined && outcome !== undefined) {
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  }
  end = watcher.callStarted(call, limitMs);
  return new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
}

function describeEntry(entry: JournalEntry): string {
  switch (entry.kind) {
    case "trade":
      return `trade ${entry.result.action} ${entry.result.signal.id}`;
    case "tick":
      return `tick ${new Date(entry.at).toISOString()}`;
    default:
      return `run ${entry.event}`;
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
