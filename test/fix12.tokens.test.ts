// Issue 12 review, fix 1: fencing tokens stay monotonic when Redis loses acknowledged writes
// (restarted from an older snapshot, a failover to a lagging replica): the fence key rolled back
// or gone, a later holder still gets a higher token than every earlier one (tokens come from
// Redis's clock). And a fleet note is applied only while the pair's lease is held with the
// note's token (or by nobody), not merely while the fence key says that token.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import { redisStore } from "rxtrade/redis";
import { NOTE } from "../src/redis/fleetKeys";
import { runScript } from "../src/redis/redisScripts";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const KEY = "BTCUSDT:momentum";

describeRedis("fix 12.1: fencing tokens across lost writes", () => {
  let server: RedisServer;
  let raw: Redis;
  beforeAll(async () => {
    server = await startRedis();
    raw = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    raw?.disconnect();
    await server?.stop();
  });

  it("a lease taken again after the fence key was lost or rolled back gets a token above every earlier one", async () => {
    const prefix = "tok1:";
    const store = redisStore({ url: server.url }, { prefix, leaseMs: 5_000, callTimeoutMs: 5_000 });
    try {
      const fence = `${prefix}fence:${KEY}`;
      const first = await store.lock(KEY);
      const early = await raw.get(fence);
      first();
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await store.lock(KEY);
      expect(second.token).toBeGreaterThan(first.token);
      second();
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Redis restarted from a snapshot taken before any lease: no fence key at all.
      await raw.del(fence, `${prefix}lease:${KEY}`);
      const third = await store.lock(KEY);
      expect(third.token).toBeGreaterThan(second.token);
      third();
      await new Promise((resolve) => setTimeout(resolve, 20));
      // A failover to a replica that had only the first token.
      await raw.set(fence, early as string);
      await raw.del(`${prefix}lease:${KEY}`);
      const fourth = await store.lock(KEY);
      expect(fourth.token).toBeGreaterThan(third.token);
      expect(Number.isSafeInteger(fourth.token)).toBe(true);
      expect(await raw.get(fence)).toBe(String(fourth.token));
      fourth();
    } finally {
      await store.close();
    }
  });

  it("a note under a token the fence key still says is refused while the lease is held with another token", async () => {
    const prefix = "tok2:";
    const keys = [`${prefix}fence:${KEY}`, `${prefix}status:${KEY}`, `${prefix}events`, `${prefix}lease:${KEY}`];
    // The fence rolled back to an old holder's token 5 while a newer holder (token 9) holds the lease.
    await raw.set(keys[0] as string, "5");
    await raw.set(keys[3] as string, '{"token":9,"owner":{"id":"b"}}', "PX", 5_000);
    expect(await runScript(raw, NOTE, keys, [5, 100, 2, "status", "running", "action", "claimed"])).toBe(0);
    expect(await raw.hget(keys[1] as string, "status")).toBe(null);
    expect(await raw.xlen(keys[2] as string)).toBe(0);
    // Held with that token: applied; released (no lease) and still that token: applied.
    await raw.set(keys[3] as string, '{"token":5,"owner":{"id":"a"}}', "PX", 5_000);
    expect(await runScript(raw, NOTE, keys, [5, 100, 2, "status", "running", "action", "claimed"])).toBe(1);
    await raw.del(keys[3] as string);
    expect(await runScript(raw, NOTE, keys, [5, 100, 0, "action", "released"])).toBe(1);
    // Token 55 is not token 5 (no prefix match).
    await raw.set(keys[0] as string, "5");
    await raw.set(keys[3] as string, '{"token":55,"owner":{"id":"c"}}', "PX", 5_000);
    expect(await runScript(raw, NOTE, keys, [5, 100, 0, "action", "x"])).toBe(0);
    expect(await raw.xlen(keys[2] as string)).toBe(2);
  });
});
