// A worker's place in its fleet: its heartbeat (one live worker of a name), its leaving, and the
// simulated clock that every worker of the fleet shares.
import { ArgumentRangeError } from "../errors";
import { FleetError } from "./fleetErrors";
import { HEARTBEAT, LEAVE } from "./fleetKeys";
import type { FleetClock } from "./fleetWorkerOptions";
import type { FleetMember } from "./fleetWorkerState";
import type { RedisStore } from "./redisStore";
import { runScript } from "./redisScripts";

const MINUTE_MS = 60_000;

/** Renews the worker's heartbeat (TTL `leaseMs`); refused while another live worker has its name. */
export async function heartbeat(member: FleetMember): Promise<void> {
  const { link, keys, name, me, leaseMs, prefix } = member;
  const [ok, holder] = (await link.call("heartbeat", (client) => runScript(client, HEARTBEAT, [keys.worker(name), keys.workers], [me, leaseMs, name]))) as [number, string?];
  if (ok !== 1) {
    throw new FleetError(`a worker named ${name} is already in the fleet ${prefix} (${holder ?? "?"}); give this one another name (--name), or stop that one first`);
  }
}

/** Leaves the fleet (its heartbeat removed); a failure is ignored: the heartbeat expires. */
export async function leave(member: FleetMember): Promise<void> {
  const { link, keys, name, me } = member;
  await link.call("leave", (client) => runScript(client, LEAVE, [keys.worker(name), keys.workers], [me, name])).catch(() => undefined);
}

/**
 * The fleet's simulated clock: one origin for all workers (`<prefix>clock`, stored by the first
 * one from `from`), so a pair keeps its time across owners. A worker of another speed leaves the
 * fleet, closes its connections and is refused.
 */
export async function joinFleetClock(member: FleetMember, store: RedisStore, speed: number, from: number | undefined): Promise<{ simulatedNow: () => number; fleetClock: FleetClock }> {
  const { link, keys, prefix } = member;
  const origin = from ?? Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const text = await link.call("clock", async (client) => {
    await client.set(keys.clock, JSON.stringify({ origin, wall: Date.now(), speed }), "NX");
    return client.get(keys.clock);
  });
  const clock = JSON.parse(text ?? "{}") as { origin: number; wall: number; speed: number };
  if (clock.speed !== speed) {
    await leave(member);
    await Promise.all([link.close(), store.close()]);
    throw new ArgumentRangeError(`the fleet ${prefix} runs its clock at speed ${clock.speed} (set by its first worker in ${keys.clock}); give this worker speed ${clock.speed}, or use another prefix`, {
      argument: "options.speed",
      value: speed,
    });
  }
  return {
    simulatedNow: () => clock.origin + (Date.now() - clock.wall) * clock.speed * (MINUTE_MS / 1000),
    fleetClock: { origin: clock.origin, speed: clock.speed },
  };
}
