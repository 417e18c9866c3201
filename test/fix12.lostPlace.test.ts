// Issue 12 review, fix 6: a worker whose name another worker took while it was not heard from
// (frozen with SIGSTOP past its lease, then replaced under its name) no longer loops forever
// saying the name is taken: it stops by itself, its pairs handed over, `done` resolves and
// `error` says it lost its place in the fleet (the command line exits 1 with that message).
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { fleetAdmin, FleetError, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { selfIdentity } from "../src/node/processIdentity";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const idle: StrategySchema = { strategyName: "idle", interval: "1m", getSignal: () => null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeRedis("fix 12.6: a worker that lost its name stops", () => {
  let server: RedisServer;
  let raw: Redis;
  let candles: Candle[];
  beforeAll(async () => {
    [server, candles] = await Promise.all([startRedis(), csvCandles(BUNDLED_BTCUSDT_1M)]);
    raw = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  it("its name taken by a live worker, it stops with a FleetError and hands its pairs over", async () => {
    const prefix = "lp1:";
    const admin = fleetAdmin({ url: server.url }, { prefix });
    await admin.add({ symbol: "AAAUSDT", strategy: "idle", exchange: "bundled" }, "idle");
    const worker = await fleetWorker({
      redis: { url: server.url },
      prefix,
      name: "dup",
      leaseMs: 300,
      speed: 10,
      from: Date.parse("2023-03-08T12:00Z"),
      resolve: (_spec, clock) => ({ strategy: idle, exchange: bundledExchange(candles, clock) }),
    });
    try {
      for (let n = 0; n < 100 && worker.pairs().length === 0; n++) await sleep(20);
      expect(worker.pairs()).toEqual(["AAAUSDT:idle"]);
      // As if it had been frozen past its heartbeat and another "dup" (alive: this process) joined.
      const other = JSON.stringify({ name: "dup", id: "newer", pid: process.pid, host: selfIdentity().hostname, identity: selfIdentity() });
      await raw.set(`${prefix}worker:dup`, other, "PX", 10_000);
      const stopped = await Promise.race([worker.done.then(() => "stopped"), sleep(3_000).then(() => "still running")]);
      expect(stopped).toBe("stopped");
      expect(worker.error).toBeInstanceOf(FleetError);
      expect(worker.error?.message).toContain(`rxtrade: worker dup lost its place in the fleet ${prefix}: a worker named dup is already in the fleet ${prefix}`);
      expect(worker.error?.message).toContain("another worker took its name while this one was not heard from for longer than its lease (300 ms: paused, frozen or cut off from Redis)");
      expect(worker.pairs()).toEqual([]);
      expect(await raw.exists(`${prefix}lease:AAAUSDT:idle`)).toBe(0);
      // The other one keeps its name and its place in the list.
      expect(await raw.get(`${prefix}worker:dup`)).toBe(other);
      expect(await raw.sismember(`${prefix}workers`, "dup")).toBe(1);
    } finally {
      await worker.stop();
      await admin.close();
    }
  });
});
