// A worker's round: its heartbeat, the fleet's snapshot, the pairs it gives up (removed,
// drained, past its share) and the free ones it claims to make up its share.
import { SNAPSHOT } from "./fleetKeys";
import { heartbeat } from "./fleetMembership";
import { backingOff, claim } from "./fleetPairClaim";
import { note, signalIdOf } from "./fleetPairNotes";
import { drain, handOver } from "./fleetPairStop";
import { type FleetPairSpec, parseSnapshot, type SnapshotPair } from "./fleetTypes";
import type { FleetWorkerState } from "./fleetWorkerState";
import { runScript } from "./redisScripts";

/** Claims a worker makes at once in a round. */
const CLAIMS_AT_ONCE = 8;

/** One look at the fleet (every `pollMs`): balances, drains, flushes the last ticks, claims. */
export async function round(worker: FleetWorkerState): Promise<void> {
  const { link, prefix, held, timings, name, capacity } = worker;
  await heartbeat(worker);
  await worker.resync?.();
  const { live, pairs } = parseSnapshot(await link.call("fleet snapshot", (client) => runScript(client, SNAPSHOT, [], [prefix])));
  if (worker.stopping) return;
  const wanted = new Map(pairs.map((pair) => [pair.id, pair]));
  for (const pair of [...held.values()]) {
    const now = wanted.get(pair.id);
    if (now?.spec === undefined) void handOver(worker, pair, "removed from the fleet");
    // Replaced (fleet add): claimed again, by whoever has room, with the new spec.
    else if (!sameRun(now.spec, pair.spec)) void handOver(worker, pair, `its spec changed (fleet add): strategy ${now.spec.strategy}, exchange ${now.spec.exchange}, tickMs ${now.spec.tickMs ?? "default"}`);
    else if (now.spec.drain) drain(worker, pair);
    // On the wall clock (no speed), a round's precision is plenty.
    else if (pair.drainAt !== undefined && pair.clock === undefined && pair.runtime.scheduler.now() >= pair.drainAt) drain(worker, pair, pair.dataEnds);
  }
  timings?.dump();
  // The last ticks, for fleet list.
  for (const pair of held.values()) {
    const at = pair.runtime.lastTickAt;
    if (at !== null && at !== pair.flushedTickAt) {
      pair.flushedTickAt = at;
      void note(worker, pair, { lastTickAt: new Date(at).toISOString(), signalId: signalIdOf(pair) });
    }
  }
  const active = pairs.filter((pair) => pair.spec !== undefined && pair.status !== "drained");
  const workers = Math.max(1, live.length + (live.includes(name) ? 0 : 1));
  const share = Math.min(capacity, Math.ceil(active.length / workers));
  const running = [...held.values()].filter((pair) => !pair.ended);
  if (running.length > share) {
    // One at a time: the others' next rounds see it free.
    const spare = running.find((pair) => !pair.runtime.draining) ?? running[0];
    if (spare !== undefined) void handOver(worker, spare, `more than this worker's share (${share} of ${active.length} pairs for ${workers} workers)`);
    return;
  }
  const free = active.filter((pair) => !pair.leased && !held.has(pair.id) && !backingOff(worker, pair));
  // A different start per worker: workers that look at once try different pairs first.
  const offset = free.length === 0 ? 0 : Math.floor(Math.random() * free.length);
  const order = [...free.slice(offset), ...free.slice(0, offset)];
  // A few claims at once: a claim is some five round trips, and a killed worker's pairs are
  // claimed by whoever has room — often one new worker — so one at a time made the last of
  // 300 pairs wait seconds past the lease (bench/fleet.mjs).
  let next = 0;
  let claiming = 0;
  const claimer = async (): Promise<void> => {
    while (next < order.length && !worker.stopping && held.size + claiming < share) {
      const candidate = order[next++] as SnapshotPair;
      claiming++;
      try {
        await claim(worker, candidate);
      } finally {
        claiming--;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(CLAIMS_AT_ONCE, order.length) }, claimer));
}

/** Whether two specs run a pair the same way (its drain aside). */
function sameRun(a: FleetPairSpec, b: FleetPairSpec): boolean {
  return a.symbol === b.symbol && a.strategy === b.strategy && a.exchange === b.exchange && a.tickMs === b.tickMs;
}
