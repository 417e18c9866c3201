// How a held pair stops trading here: its end, a drain (asked for with `fleet drain`, or where
// its data ends), and a hand-over to another worker.
import type { SchedulerLike, Subscription } from "rxjs";
import { getConfig } from "../config";
import { note, signalIdOf } from "./fleetPairNotes";
import type { FleetWorkerState, HeldPair } from "./fleetWorkerState";

const MINUTE_MS = 60_000;

/** The pair is no longer traded here: its clock stopped, no longer held. */
export function end(worker: FleetWorkerState, pair: HeldPair): void {
  if (pair.ended) return;
  pair.ended = true;
  pair.clock?.stop();
  if (worker.held.get(pair.id) === pair) worker.held.delete(pair.id);
}

/**
 * No new signal: what is open closes, then the loop completes (`drained`). Its status says
 * `draining` meanwhile (`fleet list`), also when the worker decided it (its data ends).
 */
export function drain(worker: FleetWorkerState, pair: HeldPair, why?: string): void {
  if (pair.runtime.draining || pair.ended) return;
  pair.runtime.draining = true;
  pair.drainWhy = why;
  pair.runtime.log?.info(why === undefined ? {} : { why }, "draining");
  void note(worker, pair, { status: "draining" });
  pair.runtime.stop$.next();
}

/**
 * Drains the pair from where its data (ending at `dataEnd`) leaves no room for a signal: at once
 * when that is past; on a paced clock, at that time (a timer on `subscription`, its loop's); on
 * the wall clock, the worker's rounds check it.
 */
export function drainAtDataEnd(worker: FleetWorkerState, pair: HeldPair, dataEnd: number, scheduler: SchedulerLike, subscription: Subscription): void {
  const clock = pair.clock;
  // The demo's rule: no signal after this, so that the last one closes within the data. On
  // the pair's own clock, so a paced clock drains at that simulated time exactly; every
  // holder computes the same time, so a pair taken over mid-drain drains again at once.
  const { CC_SCHEDULE_AWAIT_MINUTES, CC_MAX_SIGNAL_LIFETIME_MINUTES } = getConfig();
  const drainAt = dataEnd - (CC_SCHEDULE_AWAIT_MINUTES + CC_MAX_SIGNAL_LIFETIME_MINUTES) * MINUTE_MS;
  const why = `its data ends at ${new Date(dataEnd).toISOString()}: no new signal from ${new Date(drainAt).toISOString()}`;
  pair.drainAt = drainAt;
  pair.dataEnds = why;
  if (clock !== undefined) {
    const timer = clock.schedule(() => drain(worker, pair, why), Math.max(0, drainAt - clock.now()));
    subscription.add(timer);
  } else if (scheduler.now() >= drainAt) drain(worker, pair, why);
}

/**
 * Stops trading a pair here without stopping it: no longer held (its clock stopped), its loop
 * unsubscribed and its lease released — but never between a store write and the result it
 * announces: a write in flight is waited for, and its result (a close: its price, reason and
 * pnl) noted, before the loop is unsubscribed; the lease is released only after the pair's
 * notes (the engine's release waits for them: see `claim`), so no newer holder can take the
 * pair before they land. Resolves once the lease is released (its release sent).
 */
export function handOver(worker: FleetWorkerState, pair: HeldPair, why: string): Promise<void> {
  if (pair.handing !== undefined) return pair.handing.done;
  if (pair.ended) return Promise.resolve();
  end(worker, pair);
  let resolve!: () => void;
  const done = new Promise<void>((settle) => (resolve = settle));
  let finished = false;
  const finish = () => {
    if (finished) return;
    // Another write started since (a tick already under way): wait for it too.
    if (pair.writing !== undefined) return;
    finished = true;
    pair.runtime.log?.info({ why }, "released");
    void note(worker, pair, { signalId: signalIdOf(pair), ...(pair.runtime.lastTickAt === null ? {} : { lastTickAt: new Date(pair.runtime.lastTickAt).toISOString() }) }, { action: "released", signalId: signalIdOf(pair), why });
    pair.subscription?.unsubscribe(); // the engine's lock stage releases the lease, once the notes above landed
    void pair.chain.then(() => resolve());
  };
  pair.handing = { why, done, finish };
  settleHandOver(pair);
  return done;
}

/**
 * Ends a hand-over asked for once no store write is in flight: at once; or when the loop
 * passes on the written result (`claim` calls this after announcing it); or, should it never
 * pass it on (the write failed and the loop errors or retries), a moment after the write settles.
 */
export function settleHandOver(pair: HeldPair): void {
  const handing = pair.handing;
  if (handing === undefined) return;
  const writing = pair.writing;
  if (writing === undefined) {
    handing.finish();
    return;
  }
  const later = () => setTimeout(() => settleHandOver(pair), 0);
  writing.then(later, later);
}
