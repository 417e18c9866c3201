// Where a continuing demo run starts: from the clock file's save, the store and the journal,
// on the last run's grid of ticks.
import type { SignalState } from "rxtrade";
import type { SavedClock, StoredHolding } from "./demoClockFile";

/** Whether the store, holding `stored` now, holds what a write of `holds` leaves. */
function landed(holds: StoredHolding, stored: SignalState | null): boolean {
  if (holds === null) return stored === null;
  return stored !== null && stored.status === holds.status && stored.signal.id === holds.id;
}

/**
 * The tick a store write belongs to: the stored signal's own time for an open (`pendingAt`) or a
 * limit entry (`scheduledAt`) — the time of the tick that made it; for a clear (a close, a
 * cancel), the last tick of the run's grid (`origin + k * tickMs`) at or before the clock's
 * `now` (the same tick, since the paced clock holds while the loop's store and journal calls are
 * in flight — unless one of them outlasts its time limit).
 */
export function writeTick(now: number, value: unknown, origin: number, tickMs: number): number {
  const { status, signal } = (value ?? {}) as { status?: unknown; signal?: { pendingAt?: unknown; scheduledAt?: unknown } };
  const own = status === "scheduled" ? signal?.scheduledAt : status === "opened" ? signal?.pendingAt : undefined;
  if (typeof own === "number" && Number.isFinite(own)) return own;
  return origin + Math.max(0, Math.floor((now - origin) / tickMs)) * tickMs;
}

/** Where a continuing demo run starts, and why (see `restartPoint`). */
export interface RestartPoint {
  at: number;
  /**
   * `stopped`: where the last run stopped by itself; `written`: the tick after the last run's
   * last store write (it was killed); `unlanded`: it was killed before that write landed, so from
   * the tick after the write before it, or from its start (`write`: the tick that did not land); `started`: it was
   * killed before it wrote anything, so from its own start; `legacy`: a clock of rxtrade 0.1;
   * `journal`: the tick after the journal's last trade; `signal`: the tick after the stored
   * signal's last change.
   */
  why: "stopped" | "written" | "unlanded" | "started" | "legacy" | "journal" | "signal";
  /** Moved on to the strategy's next ask: when it was asked last. */
  askedAt?: number;
  /** `unlanded`: the tick of the write that did not land. */
  write?: number;
}

/**
 * Where a demo run that goes on from the last one starts, and why; `undefined` when nothing says
 * (a first run). From what the last run saved (`saved`), what the store holds now (`stored`), and
 * the time of the journal's last trade (`lastJournaled`). Every answer is a tick of the last run's
 * grid (`tickMs` apart), so the ticks go on as in an uninterrupted run:
 *
 * - The last run stopped by itself: the tick after its last.
 * - It was killed: the tick after its last store write, when the store holds what that write left
 *   (it landed); otherwise the tick after the write before it, or the killed run's own start when
 *   there was none. So a tick whose write landed never runs again, one whose write did not runs
 *   again, and the ticks in between run again from the same point as before: a strategy that keeps
 *   state between calls rebuilds it as it was (`momentum` keeps the prices it was asked at since
 *   its last signal), and the trades are those of an uninterrupted run. The ticks run again are
 *   journaled again: the run's start entry (`rewoundTo`) supersedes the killed run's entries of
 *   them (see `rewoundJournal`).
 * - Never before the store's last write: the tick after the stored signal's last change
 *   (`pendingAt` when opened, `scheduledAt` when scheduled), and after the journal's last trade
 *   (appended after its store write). These floors decide only when the clock file is missing,
 *   from rxtrade 0.1, or a save of it failed.
 * - With nothing stored, not before the strategy is due again (its last ask + `signalIntervalMs`):
 *   a fresh loop asks at its first tick, an uninterrupted one once the interval has passed; the
 *   idle ticks in between change nothing there, so they are skipped.
 *
 * What a restart cannot give back: a fresh loop asks the strategy at the first tick after a stored
 * signal ends, where an uninterrupted one waits out the strategy's interval since the ask that
 * created the signal — a difference only for a signal stored at the restart that closes (or is
 * cancelled) less than one interval after it was created, never for a `1m` strategy (asked at every
 * 60 001 ms tick anyway); and a strategy's state older than the store's last write (state that a
 * signal of its own does not reset), which no restart after that write rebuilds.
 */
export function restartPoint(input: {
  saved: SavedClock | undefined;
  stored: SignalState | null;
  lastJournaled: number | undefined;
  tickMs: number;
  signalIntervalMs: number;
}): RestartPoint | undefined {
  const { saved, stored, lastJournaled, tickMs, signalIntervalMs } = input;
  let point: RestartPoint | undefined;
  let askedAt: number | undefined;
  switch (saved?.run) {
    case undefined:
      break;
    case "stopped":
      point = { at: saved.next, why: "stopped" };
      askedAt = saved.askedAt;
      break;
    case "started":
      point = { at: saved.from, why: "started" };
      break;
    case "legacy":
      point = { at: saved.next, why: "legacy" };
      break;
    case "writing":
      if (landed(saved.write.holds, stored)) {
        point = { at: saved.write.at + tickMs, why: "written" };
        askedAt = saved.write.askedAt;
      } else {
        point = { at: saved.from, why: "unlanded", write: saved.write.at };
        askedAt = saved.fromAskedAt;
      }
      break;
  }
  const floor = (at: number, why: RestartPoint["why"]) => {
    if (point !== undefined && point.at >= at) return;
    point = { at, why };
    askedAt = undefined;
  };
  if (lastJournaled !== undefined) floor(lastJournaled + tickMs, "journal");
  if (stored !== null) floor((stored.status === "opened" ? stored.signal.pendingAt : stored.signal.scheduledAt) + tickMs, "signal");
  if (point !== undefined && stored === null && askedAt !== undefined) {
    const due = askedAt + signalIntervalMs;
    if (point.at < due) point = { ...point, at: point.at + Math.ceil((due - point.at) / tickMs) * tickMs, askedAt };
  }
  return point;
}
