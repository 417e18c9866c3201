import { type MonoTypeOperatorFunction, Observable, type Subscriber } from "rxjs";
import { attemptWithin } from "../src/deadline";
import { CallTimeoutError, StoreLockedError, StoreWriteError } from "../src/errors";
import { emit } from "../src/events";
import type { JournalTrade } from "../src/journal";
import type { JournalWriter } from "../src/journalWriter";
import { isDeferred, settle } from "../src/maybeAsync";
import type { SignalRow, SignalStore, TickResult } from "../src/model";
import { createdSignal } from "../src/rules";
import { encodeState } from "../src/stateCodec";
import type { TradeContext } from "../src/tradeContext";
import { ChainSubscriber } from "./chainSubscriber";
import { invokeCallback } from "./emitEvents";

const NO_WRITE = Symbol("no write");

/** What a result changes in the store: the new value, `null` to clear, or `NO_WRITE`. */
function valueOf(result: TickResult): object | null | typeof NO_WRITE {
  switch (result.action) {
    case "opened":
      return encodeState({ status: "opened", signal: result.signal });
    case "scheduled":
      // Only the tick that created the limit entry writes it; later `scheduled` ticks change nothing.
      return createdSignal(result) ? encodeState({ status: "scheduled", signal: result.signal }) : NO_WRITE;
    case "closed":
    case "cancelled":
      return null;
    default:
      return NO_WRITE;
  }
}

type PersistContext = Pick<TradeContext, "store" | "key" | "identity" | "strategy" | "scheduler" | "limits">;

/**
 * Writes each state change to the store and passes the result on only once the write is
 * confirmed: an open or scheduled signal is durable before anyone hears of it, and cleared
 * when it closes or is cancelled. Results are passed on in order; while a write is pending the
 * later ones wait.
 *
 * A failed write is checked by reading the key back: when it holds what was written the
 * write counts as done; otherwise the stream errors with a `StoreWriteError` and the result is
 * never emitted (a retry then resumes from what the store really holds). A write that has not
 * settled within CC_STORE_TIMEOUT_SECONDS is reported on `error$` (`StoreWriteError`, cause
 * `CallTimeoutError`) and still waited for — a write given up on could land later and leave a
 * signal nobody was told of; the stall watchdog reports a write that never settles. A read-back
 * past the limit has failed. A write refused because the stream lost its lock
 * (`StoreLockedError`) ends the stream with that error, unverified.
 *
 * Completion and errors wait for the pending write and every result queued behind it, and a
 * result is passed on before anything that its delivery causes: a stop requested from
 * `onWrite` or from a listener further down ends the stream after that result, not before.
 *
 * With a `journal` (the run's `JournalWriter`), each write is preceded by the change's `intent`
 * entry and its confirmation followed by its `trade` entry — the full result — before `onWrite`
 * and before the result is passed on: whoever hears of a trade finds it in a healthy journal,
 * and a kill between the store write and the `trade` entry leaves the intent to confirm it. A
 * journal that fails or hangs holds nothing up for longer than CC_STORE_TIMEOUT_SECONDS, and
 * not at all while it is known to be failing (see `JournalWriter`): the store is what the
 * engine trades from.
 *
 * ```
 * source:            --o---a---c--
 * persistState(ctx): --o---a---c--   (o written before it is passed on, c cleared)
 * ```
 *
 * @example
 * timer(0, 60_001).pipe(restoreState(context), tick(context), persistState(context));
 *
 * @param context the stream's `TradeContext` (its store and key; `onWrite` is called after each write)
 * @param options `journal`: the run's `JournalWriter`, which gets a `trade` entry after each write
 */
export function persistState(context: PersistContext, options: { journal?: JournalWriter } = {}): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      source.subscribe(new PersistSubscriber(subscriber, context, options.journal));
    });
}

class PersistSubscriber extends ChainSubscriber<TickResult> {
  private readonly store: SignalStore;
  private readonly key: string;
  private writing = false;
  private queue: TickResult[] | undefined;
  private ended: { error: unknown } | "complete" | undefined;
  /** The result whose trade entry is being appended, and what was written for it. */
  private journaling: TickResult | undefined;
  private journaledValue: object | null = null;
  private readonly afterJournal: (() => void) | undefined;

  constructor(
    destination: Subscriber<TickResult>,
    private readonly context: PersistContext,
    private readonly journal: JournalWriter | undefined,
  ) {
    super(destination);
    this.store = context.store;
    this.key = context.key;
    if (journal !== undefined) {
      this.afterJournal = () => {
        const result = this.journaling;
        this.journaling = undefined;
        if (result !== undefined) this.deliver(result, this.journaledValue);
      };
    }
  }

  protected override _next(result: TickResult): void {
    if (this.writing) (this.queue ??= []).push(result);
    else this.handle(result);
  }

  protected override _error(error: unknown): void {
    this.ended = { error };
    if (!this.writing) this.drain();
  }

  protected override _complete(): void {
    this.ended = "complete";
    if (!this.writing) this.drain();
  }

  private handle(result: TickResult): void {
    const value = valueOf(result);
    if (value === NO_WRITE) {
      this.out.next(result);
      return;
    }
    this.writing = true;
    const journal = this.journal;
    if (journal !== undefined) {
      // Write-ahead: the change's intent is in the journal before the store has it, so a kill
      // after the store write leaves the journal a record to confirm it from (see JournalWriter).
      journal.intent(result as JournalTrade["result"], () => this.write(result, value));
      return;
    }
    this.write(result, value);
  }

  private write(result: TickResult, value: object | null): void {
    if (this.closed) return;
    let written;
    try {
      written = this.store.write(this.key, value);
    } catch (error) {
      this.verify(result, value, error);
      return;
    }
    if (!isDeferred(written)) {
      this.confirmed(result, value);
      return;
    }
    // A write past its time limit is reported, and still waited for: only its real outcome says
    // what the store holds, and nothing may be reported (or end) before it is known.
    const { scheduler, limits } = this.context;
    const overdue = scheduler.schedule(() => {
      const cause = new CallTimeoutError(`write(${this.key})`, "CC_STORE_TIMEOUT_SECONDS", limits.storeMs);
      emit.error(new StoreWriteError({ key: this.key, cause }));
    }, limits.storeMs);
    this.add(overdue);
    settle(
      written,
      () => {
        this.remove(overdue);
        overdue.unsubscribe();
        this.confirmed(result, value);
      },
      (error) => {
        this.remove(overdue);
        overdue.unsubscribe();
        this.verify(result, value, error);
      },
    );
  }

  private confirmed(result: TickResult, value: object | null): void {
    if (this.closed) return;
    const journal = this.journal;
    if (journal !== undefined) {
      this.journaling = result;
      this.journaledValue = value;
      journal.trade(result as JournalTrade["result"], this.afterJournal as () => void);
      return;
    }
    this.deliver(result, value);
  }

  private deliver(result: TickResult, value: object | null): void {
    if (this.closed) return;
    const symbol = this.context.identity.symbol;
    invokeCallback(this.context, "onWrite", (cb) => cb.onWrite?.(symbol, value === null ? null : (result.signal as SignalRow)));
    this.out.next(result);
    // Only now: an end that the delivery caused (a stop from onWrite or a listener) waits for it.
    this.writing = false;
    this.drain();
  }

  // A failed write may still have landed: the store, read back, decides.
  private verify(result: TickResult, value: object | null, error: unknown): void {
    if (error instanceof StoreLockedError) {
      this.fail(error);
      return;
    }
    const writeError = error instanceof StoreWriteError ? error : new StoreWriteError({ key: this.key, cause: error });
    const expected = JSON.stringify(value);
    attemptWithin(
      () => this.store.read(this.key),
      this.limit(`read(${this.key})`),
      (stored) => {
        if (JSON.stringify(stored ?? null) === expected) this.confirmed(result, value);
        else this.fail(writeError);
      },
      () => this.fail(writeError),
    );
  }

  private limit(call: string) {
    const { scheduler, limits } = this.context;
    return { scheduler, ms: limits.storeMs, call, key: "CC_STORE_TIMEOUT_SECONDS" };
  }

  private drain(): void {
    const queue = this.queue;
    while (!this.writing && queue !== undefined && queue.length > 0 && !this.closed) this.handle(queue.shift() as TickResult);
    if (this.writing || (queue !== undefined && queue.length > 0) || this.ended === undefined || this.closed) return;
    if (this.ended === "complete") this.out.complete();
    else this.out.error(this.ended.error);
    this.unsubscribe();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.writing = false;
    this.out.error(error);
    this.unsubscribe();
  }
}
