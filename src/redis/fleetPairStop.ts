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

/** No new signal: what is open closes, then the loop completes (`drained`). */
export function drain(pair: HeldPair, why?: string): void {
  if (pair.runtime.draining || pair.ended) return;
  pair.runtime.draining = true;
  pair.drainWhy = why;
  pair.runtime.log?.info(why === undefined ? {} : { why }, "draining");
  pair.runtime.stop$.next();
}

/**
 * Drains the pair from where its data (ending at `dataEnd`) leaves no room for a signal: at once
 * when that is past; on a paced clock, at that time (a timer on `subscription`, its loop's); on
 * the wall clock, the worker's rounds check it.
 */
export function drainAtDataEnd(pair: HeldPair, dataEnd: number, scheduler: SchedulerLike, subscription: Subscription): void {
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
    const timer = clock.schedule(() => drain(pair, why), Math.max(0, drainAt - clock.now()));
    subscription.add(timer);
  } else if (scheduler.now() >= drainAt) drain(pair, why);
}

/** Stops trading a pair here without stopping it: its loop unsubscribed, its lease released at once. */
export function handOver(worker: FleetWorkerState, pair: HeldPair, why: string): void {
  if (pair.ended) return;
  end(worker, pair);
  pair.subscription?.unsubscribe(); // the engine's lock stage releases the lease
  pair.runtime.log?.info({ why }, "released");
  void note(worker, pair, { signalId: signalIdOf(pair), ...(pair.runtime.lastTickAt === null ? {} : { lastTickAt: new Date(pair.runtime.lastTickAt).toISOString() }) }, { action: "released", signalId: signalIdOf(pair), why });
}
