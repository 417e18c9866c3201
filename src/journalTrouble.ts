import { CallTimeoutError, JournalError } from "./errors";
import { emit, getLogger } from "./events";
import type { JournalEntry, JournalGap } from "./journal";
import type { StreamIdentity } from "./signal";

/** What `JournalTrouble` needs of its stream. */
export interface TroubleContext {
  readonly key: string;
  readonly identity: StreamIdentity;
  readonly tickMs: number;
  readonly limits: { readonly storeMs: number };
}

/**
 * The failures of one run's journal, and the tick entries it dropped meanwhile.
 *
 * A failure streak runs from the first append (or read) that fails or hangs to the first one
 * that succeeds: it is reported once, as a `JournalError` on `error$`, at its start — a journal
 * that fails every tick for an hour is one error, not sixty — and its end is logged (`info`)
 * with the attempts it took and the ticks dropped.
 *
 * Tick entries are dropped, never changes of position: while the journal is failing, and when
 * it falls behind by more than the writer keeps queued (said once, `warn`). `gap` turns the
 * count into the entry that tells a replay which ticks are missing.
 */
export class JournalTrouble {
  /** In a failure streak: the head entry (or the start's read) could not be done yet. */
  failing = false;
  private failures = 0;
  /** Tick entries dropped in this failure streak. */
  private streakDropped = 0;
  private dropped = 0;
  private from = 0;
  private to = 0;
  private reason: JournalGap["reason"] = "failing";

  constructor(private readonly context: TroubleContext) {}

  /** Tick entries dropped since the last `gap`. */
  get droppedTicks(): number {
    return this.dropped;
  }

  appendFailed(entry: JournalEntry, waiting: number, error: unknown): void {
    const { key, tickMs } = this.context;
    const later = waiting - 1;
    const kept =
      entry.kind === "tick"
        ? "tick entries are dropped until it takes entries again (a gap entry will mark them)"
        : `it is kept${later > 0 ? ` with ${later} later entr${later === 1 ? "y" : "ies"}` : ""} and retried every ${seconds(tickMs)} s`;
    this.fail(
      () =>
        new JournalError({
          key,
          operation: "append",
          entry,
          waiting,
          cause: error,
          context: this.context.identity,
          message: `journal append of ${describeEntry(entry)} for ${key} failed: ${describeError(error)}; ${kept}; ${ONCE}`,
        }),
    );
  }

  appendOverdue(entry: JournalEntry, waiting: number): void {
    const { key, limits } = this.context;
    this.fail(
      () =>
        new JournalError({
          key,
          operation: "append",
          entry,
          waiting,
          cause: new CallTimeoutError(`journal append(${key})`, "CC_STORE_TIMEOUT_SECONDS", limits.storeMs),
          context: this.context.identity,
          message:
            `journal append of ${describeEntry(entry)} for ${key} has not settled within CC_STORE_TIMEOUT_SECONDS (${seconds(limits.storeMs)} s); ` +
            `it is waited for, with ${waiting} entr${waiting === 1 ? "y" : "ies"} in all; ${ONCE}`,
        }),
    );
  }

  readFailed(waiting: number, error: unknown): void {
    const { key, tickMs } = this.context;
    this.fail(
      () =>
        new JournalError({
          key,
          operation: "read",
          waiting,
          cause: error,
          context: this.context.identity,
          message:
            `cannot read the journal's last entries of ${key} to reconcile them with the store: ${describeError(error)}; ` +
            `retried every ${seconds(tickMs)} s, and this run's entries wait for it; ${ONCE}`,
        }),
    );
  }

  /** An append succeeded: the end of a failure streak, if one was under way. */
  recovered(waiting: number): void {
    if (!this.failing) return;
    this.failing = false;
    const n = this.failures;
    const d = this.streakDropped;
    this.failures = 0;
    this.streakDropped = 0;
    const dropped = d > 0 ? `; ${d} tick entr${d === 1 ? "y was" : "ies were"} dropped meanwhile (a gap entry marks them)` : "";
    getLogger().info(`rxtrade: the journal of ${this.context.key} accepts entries again after ${n} failed attempt${n === 1 ? "" : "s"}${dropped}; ${waiting} more waiting`);
  }

  /** A tick entry is dropped: the journal is failing, or `queued` tick entries already wait for it. */
  dropTick(at: number, reason: JournalGap["reason"], queued: number): void {
    if (this.dropped === 0) {
      this.from = at;
      this.reason = reason;
      if (reason === "behind") {
        getLogger().warn(
          `rxtrade: the journal of ${this.context.key} falls behind: ${queued} tick entries wait for it; later ones are dropped until it catches up (a gap entry will mark them; trading goes on)`,
        );
      }
    }
    this.dropped++;
    if (this.failing) this.streakDropped++;
    this.to = at;
  }

  /** The `gap` entry of the ticks dropped so far (then none are). */
  gap(at: number): JournalGap {
    const gap: JournalGap = { kind: "gap", key: this.context.key, at, from: this.from, to: this.to, ticks: this.dropped, reason: this.reason };
    this.dropped = 0;
    return gap;
  }

  /** Reports an error of the run's journal on `error$`. */
  report(error: JournalError): void {
    emit.error(error);
  }

  /** `gap`, with the ticks dropped since it was made (then none are). */
  widen(gap: JournalGap): JournalGap {
    if (this.dropped === 0) return gap;
    const wider: JournalGap = { ...gap, to: this.to, ticks: gap.ticks + this.dropped };
    this.dropped = 0;
    return wider;
  }

  private fail(error: () => JournalError): void {
    this.failures++;
    if (this.failing) return;
    this.failing = true;
    emit.error(error());
  }
}

const ONCE = "reported once until it recovers (trading goes on)";

/** What a run left unjournaled at its end. */
export interface RunEnd {
  /** The entries not appended, oldest first. */
  unappended: JournalEntry[];
  /** Tick entries dropped and not marked by a gap entry. */
  dropped: number;
  /** The start's reconciliation was not done either. */
  unstarted: boolean;
  why: string;
  /** The head's append is still in flight (it may land). */
  inFlight: boolean;
}

/**
 * The `JournalError` ("end") of a run that ended with entries it could not append: how many,
 * which signals, and what the next start makes of them — a change whose intent was journaled
 * is journaled from it, with its full result; one whose intent was not is reconciled with the
 * store (its price and PnL are lost).
 */
export function endError(context: TroubleContext, end: RunEnd): JournalError {
  const { key } = context;
  const { unappended, dropped } = end;
  const n = unappended.length;
  const ids = signalIdsOf(unappended);
  const noIntent = signalIdsOf(unappended.filter((entry) => entry.kind === "intent"));
  const listed = n > 0 ? ` (${unappended.map(describeEntry).slice(0, 3).join(", ")}${n > 3 ? ", …" : ""})` : "";
  const of = ids.length > 0 ? `, of signal${ids.length === 1 ? "" : "s"} ${ids.join(", ")}` : "";
  const also = `${end.unstarted ? ", and without its start entry" : ""}${dropped > 0 ? `, and ${dropped} tick entr${dropped === 1 ? "y" : "ies"} dropped` : ""}`;
  const next =
    noIntent.length > 0
      ? `the next start reconciles the journal with what the store holds, without the prices and PnL of ${noIntent.join(", ")} (their intents were not journaled either)`
      : ids.length > 0
        ? "the next start journals each of these changes from its journaled intent, with its full result"
        : "the next start reconciles the journal with what the store holds";
  return new JournalError({
    key,
    operation: "end",
    waiting: 0,
    unappended,
    context: context.identity,
    message:
      `the run of ${key} ended with ${n} journal entr${n === 1 ? "y" : "ies"} not appended${listed}${of}${also}: ` +
      `${end.why}${end.inFlight ? " (the append in flight may still land)" : ""}; they are in this error's unappended; ${next}`,
  });
}

/** The signals of the `trade` and `intent` entries among `entries`, each once, in order. */
export function signalIdsOf(entries: readonly JournalEntry[]): string[] {
  const ids = new Set<string>();
  for (const entry of entries) if (entry.kind === "trade" || entry.kind === "intent") ids.add(entry.result.signal.id);
  return [...ids];
}

export function describeEntry(entry: JournalEntry): string {
  switch (entry.kind) {
    case "trade":
    case "intent":
      return `${entry.kind} ${entry.result.action} ${entry.result.signal.id}`;
    case "tick":
      return `tick ${new Date(entry.at).toISOString()}`;
    case "gap":
      return `gap of ${entry.ticks} tick${entry.ticks === 1 ? "" : "s"}`;
    default:
      return `run ${entry.event}`;
  }
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}
