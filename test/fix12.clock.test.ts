// Issue 12 review, fix 8: the simulated clock of a fleet at --speed is Redis's (TIME), not each
// worker's Date.now(): a worker whose clock is an hour off still agrees with the others on the
// fleet's simulated time (it ran its pairs 600 simulated hours ahead at speed 10).
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { fleetKeys } from "../src/redis/fleetKeys";
import { joinFleetClock } from "../src/redis/fleetMembership";
import type { FleetMember } from "../src/redis/fleetWorkerState";
import { RedisLink } from "../src/redis/redisConnection";
import type { RedisStore } from "../src/redis/redisStore";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const HOUR_MS = 3_600_000;

describeRedis("fix 12.8: the fleet's simulated clock is Redis's", () => {
  let server: RedisServer;
  const links: RedisLink[] = [];
  beforeAll(async () => {
    server = await startRedis();
  }, 20_000);
  afterAll(async () => {
    await Promise.all(links.map((link) => link.close()));
    await server?.stop();
  });
  const member = (name: string): FleetMember => {
    const link = new RedisLink({ url: server.url }, { reconnectMinMs: 100, reconnectMaxMs: 1_000, callTimeoutMs: 5_000, report: () => undefined });
    links.push(link);
    return { name, prefix: "ck1:", keys: fleetKeys("ck1:"), me: JSON.stringify({ name }), leaseMs: 1_000, link };
  };

  it("a worker whose clock is an hour ahead reads the same simulated time as the first", async () => {
    const realNow = Date.now.bind(Date);
    const first = await joinFleetClock(member("a"), undefined as unknown as RedisStore, 10, Date.parse("2023-03-08T12:00Z"));
    const skew = vi.spyOn(Date, "now").mockImplementation(() => realNow() + HOUR_MS);
    try {
      const skewed = await joinFleetClock(member("b"), undefined as unknown as RedisStore, 10, undefined);
      const theirs = (skewed.simulatedNow as () => number)();
      skew.mockRestore();
      const ours = (first.simulatedNow as () => number)();
      // 200 ms of wall time at speed 10 is 2 simulated minutes; the skew was 600 simulated hours.
      expect(Math.abs(theirs - ours)).toBeLessThan(120_000);
      expect(skewed.fleetClock).toEqual({ origin: Date.parse("2023-03-08T12:00Z"), speed: 10 });
    } finally {
      skew.mockRestore();
    }
  });
});
