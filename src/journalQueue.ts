import type { SchedulerLike, Subscription } from "rxjs";
import { copyEntry, type Journal, type JournalEntry } from "./journal";
import { describeError, endError, JournalTrouble, type TroubleContext } from "./journalTrouble";
import { type Pending, PendingEntries } from "./journalPending";
import { settle } from "./maybeAsync";

/** What an `AppendQueue` needs of its stream. */
export interface QueueContext extends TroubleContext {
  readonly scheduler: SchedulerLike;
}

/** Tick entries kept waiting for a slow journal at most; later ones are dropped (and marked by a `gap` entry) until it catches up. */
export const MAX_QUEUED_TICKS = 1024;

/**
 * The ordered append queue under a `JournalWriter`: one journal call at a time, in order;
 * a failure kept and retried (a tick dropped instead), a call past CC_STORE_TIMEOUT_SECONDS
 * reported and still waited for, the failures and drops told through `JournalTrouble`, and the
 * end: `drain` (bounded by the subclass's timer) or `giveUp` (what is left, reported).
 */
export abstract class AppendQueue {
  protected readonly trouble: JournalTrouble;
  private readonly queue = new PendingEntries();
  /** A journal call is in flight. */
  protected busy = false;
  private pumping = false;
  private retryTimer: Subscription | undefined;
  private overdueTimer: Subscription | undefined;
  /** The run is ending: `done` once the queue has drained (or was given up). */
  private ending: { done: () => void; timer: Subscription | undefined } | undefined;
  /** The run is over: no timers any more; a failure gives up at once. */
  protected final = false;

  constructor(
    protected readonly journal: Journal,
    private readonly queueContext: QueueContext,
  ) {
    this.trouble = new JournalTrouble(queueContext);
  }

  /**
   * A step that must be done before the queued entries (the start's reconciliation): returns
   * true when it is done synchronously, false when it is under way (it sets `busy`) or failed.
   * `undefined` when there is none (any more).
   */
  protected gate: (() => boolean) | undefined;

  /** Entries waiting to be appended. */
  get waiting(): number {
    return this.queue.length;
  }

  protected push(entry: JournalEntry, waiter: (() => void) | undefined): void {
    if (this.queue.length === 0 && !this.busy && this.gate === undefined && this.retryTimer === undefined) {
      // Nothing waits before it (the common case): a synchronous journal is done here, without
      // allocating anything (the journal copies what it keeps).
      let value: void | PromiseLike<void>;
      try {
        value = this.journal.append(entry);
      } catch (error) {
        this.failed(this.queue.push(copyEntry(entry), waiter), error);
        return;
      }
      if (value === undefined) {
        this.succeeded();
        waiter?.();
        return;
      }
      // Kept until it settles: a retry appends this snapshot, whatever the caller's object becomes.
      const head = this.queue.push(copyEntry(entry), waiter);
      this.settleHead(head, value);
      if (!this.busy) this.pump();
      return;
    }
    const failing = this.trouble.failing;
    this.queue.push(copyEntry(entry), failing ? undefined : waiter);
    if (failing) waiter?.();
    this.pump();
  }

  /** Whether a tick entry may go in now: not while failing, nor past `MAX_QUEUED_TICKS` waiting (it is then counted as dropped). */
  protected admitTick(at: number): boolean {
    if (this.trouble.failing || this.queue.ticks >= MAX_QUEUED_TICKS) {
      this.trouble.dropTick(at, this.trouble.failing ? "failing" : "behind", this.queue.ticks);
      return false;
    }
    this.pushGap();
    return true;
  }

  /** Queues the gap entry of the ticks dropped so far, if any. */
  protected pushGap(): void {
    if (this.trouble.droppedTicks > 0) this.push(this.trouble.gap(this.queueContext.scheduler.now()), undefined);
  }

  /** Puts entries in front of the queue (the start's), without appending them yet. */
  protected unshift(entries: readonly JournalEntry[]): void {
    this.queue.unshift(entries);
  }

  // One call at a time, in order. Re-entrant calls (a waiter that delivers a result, whose
  // consumer appends) only queue: the loop below picks them up.
  protected pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (!this.busy && this.retryTimer === undefined) {
        if (this.gate !== undefined) {
          if (!this.gate()) break;
          continue;
        }
        const head = this.queue.head;
        if (head === undefined) break;
        if (!this.appendHead(head)) break;
      }
    } finally {
      this.pumping = false;
    }
    if (this.ending !== undefined && this.queue.length === 0 && !this.busy && this.gate === undefined) this.finish();
  }

  /**
   * Calls `done` once everything queued is appended — at once when it is — or given up on:
   * after `limitMs`, or at a failure once the queue is `final`. Failures meanwhile are retried
   * sooner than one tick period (a tenth of the limit), since the run waits for them.
   */
  protected drain(done: () => void, limitMs: number): void {
    this.ending = { done, timer: undefined };
    this.cancel("retryTimer"); // a retry waiting for its period gets its next chance now
    this.pump();
    if (this.ending !== undefined && !this.final) {
      this.ending.timer = this.queueContext.scheduler.schedule(() => this.giveUp("it did not finish within CC_STORE_TIMEOUT_SECONDS"), limitMs);
    }
  }

  /** No timers any more: what is in flight finishes, a failure gives up at once. */
  protected stopTimers(): void {
    this.final = true;
    this.cancel("retryTimer");
    this.cancel("overdueTimer");
    if (this.ending !== undefined) {
      this.ending.timer?.unsubscribe();
      this.ending = undefined;
    }
  }

  /** After a failure of the head (or of the gate): a retry one tick period later; sooner while ending; none once final. */
  protected afterFailure(why: string): void {
    if (this.final) {
      this.giveUp(why);
      return;
    }
    const { tickMs, limits } = this.queueContext;
    // While ending, at most ~100 retries within the limit: a limit of many tick periods (a paced
    // demo's, in virtual time) must not become a retry, and a real journal call, every period.
    const ms = this.ending === undefined ? tickMs : Math.max(1, Math.min(tickMs, Math.floor(limits.storeMs / 10)), Math.floor(limits.storeMs / 100));
    if (this.retryTimer !== undefined) return;
    this.retryTimer = this.queueContext.scheduler.schedule(() => {
      this.retryTimer = undefined;
      // Nothing left to retry but dropped ticks: their gap entry tries the journal; a gap
      // entry being retried takes the ticks dropped since in (one gap per failure streak).
      const head = this.queue.head;
      if (head === undefined && this.gate === undefined) this.pushGap();
      else if (head?.entry.kind === "gap") head.entry = this.trouble.widen(head.entry);
      this.pump();
    }, ms);
  }

  // Failing: whoever waits is let go, later callers do not wait, and the tick entries waiting
  // (not one in flight) are dropped, counted for the gap entry.
  protected degrade(): void {
    this.queue.release();
    const ticks = this.queue.ticks;
    this.queue.dropTicks(this.busy ? this.queue.head : undefined, (at) => this.trouble.dropTick(at, "failing", ticks));
  }

  // The end of the run, with entries left: hand them over (nothing else holds them any more).
  protected giveUp(why: string): void {
    const unappended = this.queue.takeAll();
    const unstarted = this.gate !== undefined;
    const dropped = this.trouble.droppedTicks;
    if (unstarted || unappended.length > 0 || dropped > 0) {
      this.trouble.report(endError(this.queueContext, { unappended, dropped, unstarted, why, inFlight: this.busy }));
    }
    this.gate = undefined;
    this.finish();
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
    if (this.queue.head !== head) return; // given up on at the end of the run
    if (failure === undefined) {
      this.appended(head);
      this.pump();
    } else this.failed(head, failure.error);
  }

  private appended(head: Pending): void {
    this.queue.shift();
    this.succeeded();
    const waiter = head.waiter;
    head.waiter = undefined;
    waiter?.();
  }

  // An append worked: the end of a failure streak, if one was under way, and its gap entry.
  private succeeded(): void {
    if (!this.trouble.failing) return;
    this.trouble.recovered(this.queue.length);
    this.pushGap();
  }

  // The head is kept for a retry, unless it is a tick: degrading drops every tick entry waiting,
  // the head's too (none is in flight), counted for the gap entry.
  private failed(head: Pending, error: unknown): void {
    this.trouble.appendFailed(head.entry, this.queue.length - this.queue.ticks, error);
    this.degrade();
    this.afterFailure(`an append failed: ${describeError(error)}`);
  }

  // Reported at the limit, once per failure streak; the call is still waited for.
  private armOverdue(head: Pending): void {
    if (this.final) return;
    this.overdueTimer = this.queueContext.scheduler.schedule(() => {
      this.overdueTimer = undefined;
      if (this.queue.head !== head || !this.busy) return;
      this.trouble.appendOverdue(head.entry, this.queue.length - this.queue.ticks + (head.entry.kind === "tick" ? 1 : 0));
      this.degrade();
    }, this.queueContext.limits.storeMs);
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
}
