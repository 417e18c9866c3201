// A worker's place in its fleet: its heartbeat (one live worker of a name), its leaving, and the
// simulated clock that every worker of the fleet shares.
import { hostname } from "node:os";
import { ArgumentRangeError } from "../errors";
import { judgeHolder, type ProcessIdentity } from "../node/processIdentity";
import { FleetError } from "./fleetErrors";
import { HEARTBEAT, LEAVE } from "./fleetKeys";
import type { FleetClock } from "./fleetWorkerOptions";
import type { FleetMember } from "./fleetWorkerState";
import type { RedisLink } from "./redisConnection";
import type { RedisStore } from "./redisStore";
import { runScript } from "./redisScripts";

const MINUTE_MS = 60_000;

/**
 * Renews the worker's heartbeat (TTL `leaseMs`); refused while another live worker has its name
 * — unless that one is a process of this host (same host name and boot) that no longer runs
 * (killed with SIGKILL, then started again under its name): its place is taken at once.
 */
export async function heartbeat(member: FleetMember): Promise<{ replaced: string } | undefined> {
  const { link, keys, name, me, leaseMs, prefix } = member;
  const beat = (replace: string) => link.call("heartbeat", (client) => runScript(client, HEARTBEAT, [keys.worker(name), keys.workers], [me, leaseMs, name, replace])) as Promise<[number, string?]>;
  const [ok, holder] = await beat("");
  if (ok === 1) return undefined;
  if (holder !== undefined && deadHere(holder)) {
    const [again] = await beat(holder);
    if (again === 1) return { replaced: holder };
  }
  throw new FleetError(`a worker named ${name} is already in the fleet ${prefix} (${holder ?? "?"}); give this one another name (--name), or stop that one first`);
}

/** Whether a heartbeat's holder is a process of this host, this boot, that is gone. */
function deadHere(holder: string): boolean {
  try {
    const { identity } = JSON.parse(holder) as { identity?: ProcessIdentity };
    if (identity === undefined || typeof identity.pid !== "number" || identity.hostname !== hostname()) return false;
    return judgeHolder(identity).kind === "gone";
  } catch {
    return false;
  }
}

/** Leaves the fleet (its heartbeat removed); a failure is ignored: the heartbeat expires. */
export async function leave(member: FleetMember): Promise<void> {
  const { link, keys, name, me } = member;
  await link.call("leave", (client) => runScript(client, LEAVE, [keys.worker(name), keys.workers], [me, name])).catch(() => undefined);
}

/**
 * The fleet's clock: one for all its workers, stored in `<prefix>clock` by its first worker —
 * a simulated one (`speed`: its origin, from `from`, so a pair keeps its time across owners) or
 * the wall clock (`{"speed":null}`). A worker of another speed, or a real-time worker in a
 * simulated fleet and the other way round, leaves the fleet, closes its connections and is
 * refused: it would drag the pairs it takes over to its own clock.
 */
export async function joinFleetClock(
  member: FleetMember,
  store: RedisStore,
  speed: number | undefined,
  from: number | undefined,
): Promise<{ simulatedNow: (() => number) | undefined; fleetClock: FleetClock | undefined; resync: (() => Promise<void>) | undefined }> {
  const { link, keys, prefix } = member;
  // The fleet's time is Redis's (TIME), not this host's: workers whose clocks disagree still
  // agree on the simulated time, so a pair taken over goes on where it was.
  let offset = await redisOffset(link);
  const origin = from ?? Math.floor((Date.now() + offset) / MINUTE_MS) * MINUTE_MS;
  const mine = speed === undefined ? { speed: null } : { origin, wall: Date.now() + offset, speed };
  const text = await link.call("clock", async (client) => {
    await client.set(keys.clock, JSON.stringify(mine), "NX");
    return client.get(keys.clock);
  });
  const clock = JSON.parse(text ?? "{}") as { origin: number; wall: number; speed: number | null | undefined };
  const theirs = typeof clock.speed === "number" ? clock.speed : undefined;
  if (theirs !== speed) {
    await leave(member);
    await Promise.all([link.close(), store.close()]);
    const fleet = theirs === undefined ? "runs in real time (its first worker had no speed)" : `runs its clock at speed ${theirs} (its first worker's)`;
    const fix = theirs === undefined ? "start this worker without speed (--speed)" : `give this worker speed ${theirs} (--speed ${theirs})`;
    const was = speed === undefined ? "this worker has no speed (real time)" : `this worker has speed ${speed}`;
    throw new ArgumentRangeError(
      `the fleet ${prefix} ${fleet}, as ${keys.clock} says, and ${was}: its pairs would change clocks when it took them over. ${fix[0]?.toUpperCase()}${fix.slice(1)}, or use another prefix (--prefix); to change the fleet's clock, stop all its workers and delete ${keys.clock}`,
      { argument: "options.speed", value: speed },
    );
  }
  if (speed === undefined) return { simulatedNow: undefined, fleetClock: undefined, resync: undefined };
  let synced = Date.now();
  return {
    simulatedNow: () => clock.origin + (Date.now() + offset - clock.wall) * speed * (MINUTE_MS / 1000),
    fleetClock: { origin: clock.origin, speed },
    // Every RESYNC_MS (called by the rounds): this host's clock may be set meanwhile (NTP).
    resync: async () => {
      if (Math.abs(Date.now() - synced) < RESYNC_MS) return;
      synced = Date.now();
      offset = await redisOffset(link).catch(() => offset);
    },
  };
}

/** How often a worker at --speed measures again how far its clock is from Redis's, ms. */
const RESYNC_MS = 30_000;

/** Redis's clock (TIME) less this host's, ms, measured at the middle of the round trip. */
async function redisOffset(link: RedisLink): Promise<number> {
  const before = Date.now();
  const [seconds, micros] = (await link.call("time", (client) => client.time())) as [number | string, number | string];
  const after = Date.now();
  return Number(seconds) * 1000 + Number(micros) / 1000 - (before + after) / 2;
}
