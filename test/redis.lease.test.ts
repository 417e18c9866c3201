// rxtrade/redis, issue 12 item 1 (new feature): lock(key) is a lease with a fencing token. A
// holder cut off from Redis (its connection stalled by a proxy: its renewals stop getting
// through) loses the key after leaseMs; another store takes it with a higher token; the old
// holder's write is refused with StoreLockedError and its onLost fires. Renewal keeps a lease
// alive past several leaseMs. Writes without a lease go through only while nobody holds it.
import { hostname } from "node:os";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { StoreLockedError } from "rxtrade";
import { redisStore, type RedisRelease, type RedisStore } from "rxtrade/redis";
import { describeRedis, type RedisServer, stallingProxy, startRedis, type StallingProxy } from "./helpers/redisServer";

const KEY = "BTCUSDT:momentum";
const LEASE_MS = 600;

let server: RedisServer;
let prefixes = 0;
let cleanups: Array<() => Promise<void> | void> = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two stores on one prefix: `holder` (through `url`, e.g. a proxy) and `other` (direct). */
function pair(url = server.url, reported: Error[] = []): { holder: RedisStore; other: RedisStore; prefix: string } {
  const prefix = `lease${++prefixes}:`;
  const holder = redisStore({ url }, { prefix, leaseMs: LEASE_MS, callTimeoutMs: 5_000, onError: (e) => reported.push(e) });
  const other = redisStore({ url: server.url }, { prefix, leaseMs: LEASE_MS, callTimeoutMs: 5_000, onError: (e) => reported.push(e) });
  cleanups.push(() => holder.close(), () => other.close());
  return { holder, other, prefix };
}

/** Tries `store.lock(key)` every 20 ms until it succeeds; the release, how long it took and the refusals seen. */
async function lockWhenFree(store: RedisStore, key: string, withinMs: number): Promise<{ release: RedisRelease; afterMs: number; refusals: StoreLockedError[] }> {
  const started = performance.now();
  const refusals: StoreLockedError[] = [];
  for (;;) {
    try {
      const release = await store.lock(key);
      return { release, afterMs: performance.now() - started, refusals };
    } catch (error) {
      if (!(error instanceof StoreLockedError)) throw error;
      refusals.push(error);
      if (performance.now() - started > withinMs) throw new Error(`${key} still locked after ${withinMs} ms: ${error.message}`);
      await sleep(20);
    }
  }
}

describeRedis("redisStore leases", () => {
  let proxy: StallingProxy;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("a holder cut off past its lease loses the key: another takes it with a higher token, the old holder's write is refused and its onLost fires once", async () => {
    proxy = await stallingProxy(server.port);
    cleanups.push(() => proxy.close());
    const reported: Error[] = [];
    const { holder, other, prefix } = pair(proxy.url, reported);
    const mine = await holder.lock(KEY);
    await holder.write(KEY, { by: "holder", n: 1 });
    const heard: Error[] = [];
    mine.onLost((error) => heard.push(error));

    // While the holder renews, the key is refused to others, naming the holder.
    const refused = (await other.lock(KEY).catch((e: unknown) => e)) as StoreLockedError;
    expect(refused).toBeInstanceOf(StoreLockedError);
    expect(refused).toMatchObject({ key: KEY, pid: process.pid, hostname: hostname(), path: `${prefix}lease:${KEY}` });
    expect(refused.message).toMatch(
      new RegExp(`^rxtrade: ${KEY} is locked by process ${process.pid}; stop that stream first .*Its lease ${prefix}lease:${KEY} is held by process ${process.pid} on host .* \\(token ${mine.token}\\); it expires in \\d+ ms unless renewed`),
    );

    // Cut off: its renewals no longer get through. The lease runs out within LEASE_MS of the last one.
    proxy.stall();
    const taken = await lockWhenFree(other, KEY, 3_000);
    expect(taken.afterMs).toBeGreaterThan(LEASE_MS / 3);
    expect(taken.afterMs).toBeLessThan(LEASE_MS + 1_000);
    expect(taken.release.token).toBeGreaterThan(mine.token);
    await other.write(KEY, { by: "other" });
    expect(heard).toEqual([]); // the holder cannot know yet

    // Back: its next write is refused by the fencing script, and the loss is told once.
    proxy.resume();
    const error = (await holder.write(KEY, { by: "holder", n: 2 }).catch((e: unknown) => e)) as StoreLockedError;
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: KEY, pid: process.pid, path: `${prefix}lease:${KEY}` });
    expect(error.message).toBe(
      `rxtrade: the stream lost its lease on ${KEY} (Redis key ${prefix}lease:${KEY} at ${proxy.url}, token ${mine.token}): ` +
        `the lease is now held by process ${process.pid} on host ${hostname()} (token ${taken.release.token}), so another process may be trading this key. ` +
        "This stream stops trading it and writes nothing more; a process paused or cut off from Redis for longer than leaseMs loses its keys. " +
        `Make sure one process alone trades ${KEY}, then start it again`,
    );
    expect(heard).toEqual([error]);
    expect(await other.read(KEY)).toEqual({ by: "other" });
    // Lost for good: later writes reject with the same error without touching Redis.
    expect(await holder.write(KEY, null).catch((e: unknown) => e)).toBe(error);
    expect(await other.read(KEY)).toEqual({ by: "other" });
    await sleep(LEASE_MS / 2);
    expect(heard).toHaveLength(1);

    // Its release leaves the new holder's lease alone.
    mine();
    await sleep(50);
    expect(JSON.parse(await server.command("GET", `${prefix}lease:${KEY}`))).toMatchObject({ token: taken.release.token });
    await expect(holder.lock(KEY)).rejects.toBeInstanceOf(StoreLockedError);
    taken.release();
    // The renewals that timed out while cut off were reported (once per failure streak), not thrown.
    expect(reported.length).toBeGreaterThanOrEqual(1);
    for (const error of reported) expect(error).toMatchObject({ name: "StoreWriteError", message: expect.stringContaining(`cannot renew the lease of ${KEY}`) });
  });

  it("a renewal that finds the lease another's fires onLost with no write", async () => {
    const { holder, other, prefix } = pair();
    const mine = await holder.lock(KEY);
    const heard: Error[] = [];
    mine.onLost((error) => heard.push(error));
    // The lease vanishes (as if it had expired) and another takes it.
    await server.command("DEL", `${prefix}lease:${KEY}`);
    const theirs = await other.lock(KEY);
    const started = performance.now();
    while (heard.length === 0 && performance.now() - started < 1_000) await sleep(10);
    expect(performance.now() - started).toBeLessThan(LEASE_MS);
    expect(heard).toHaveLength(1);
    expect(heard[0]).toMatchObject({ name: "StoreLockedError", key: KEY });
    expect(heard[0]?.message).toContain(`the lease is now held by process ${process.pid} on host ${hostname()} (token ${theirs.token})`);
    // A listener added after the loss hears it too, asynchronously.
    const late: Error[] = [];
    mine.onLost((error) => late.push(error));
    expect(late).toEqual([]);
    await Promise.resolve();
    expect(late).toEqual(heard);
    mine();
    theirs();
  });

  it("a renewal that finds the lease gone fires onLost too", async () => {
    const { holder, prefix } = pair();
    const mine = await holder.lock(KEY);
    const lost = new Promise<Error>((resolve) => mine.onLost(resolve));
    await server.command("DEL", `${prefix}lease:${KEY}`);
    const error = await lost;
    expect(error.message).toContain(`the lease expired (no renewal got through within leaseMs, ${LEASE_MS} ms) and nobody holds it now`);
    await expect(holder.write(KEY, { after: true })).rejects.toBe(error);
    expect(await holder.read(KEY)).toBeNull();
    mine();
  });

  it("renewal keeps a lease alive past several leaseMs: others are refused all along, writes go through, the token stays", async () => {
    const { holder, other, prefix } = pair();
    const mine = await holder.lock(KEY);
    const heard: Error[] = [];
    mine.onLost((error) => heard.push(error));
    const started = performance.now();
    let attempts = 0;
    while (performance.now() - started < 4 * LEASE_MS) {
      await expect(other.lock(KEY)).rejects.toBeInstanceOf(StoreLockedError);
      attempts++;
      await holder.write(KEY, { attempts });
      await sleep(40);
    }
    expect(attempts).toBeGreaterThan(10);
    expect(heard).toEqual([]);
    expect(await other.read(KEY)).toEqual({ attempts });
    const lease = JSON.parse(await server.command("GET", `${prefix}lease:${KEY}`)) as { token: number };
    expect(lease.token).toBe(mine.token);
    expect(Number(await server.command("PTTL", `${prefix}lease:${KEY}`))).toBeGreaterThan(LEASE_MS / 3);
    mine();
    // Released: the key is free at once, to another store of this process too.
    const next = await other.lock(KEY);
    expect(next.token).toBeGreaterThan(mine.token);
    next();
  });

  it("a write without the lease applies only while nobody holds it", async () => {
    const { holder, other, prefix } = pair();
    await other.write(KEY, { free: true });
    const mine = await holder.lock(KEY);
    const error = (await other.write(KEY, { sneaky: true }).catch((e: unknown) => e)) as StoreLockedError;
    expect(error).toBeInstanceOf(StoreLockedError);
    expect(error).toMatchObject({ key: KEY, pid: process.pid, path: `${prefix}lease:${KEY}` });
    expect(error.message).toBe(
      `rxtrade: cannot write ${KEY}: its lease ${prefix}lease:${KEY} is held by process ${process.pid} on host ${hostname()} (token ${mine.token}), ` +
        "and a write without the lease is applied only while nobody holds it. Stop that stream first, or write through the stream that holds the key",
    );
    expect(await other.read(KEY)).toEqual({ free: true });
    mine();
    // Released (the deletion is on its way): an unleased write waits for it and goes through.
    await other.write(KEY, null);
    expect(await other.read(KEY)).toBeNull();
  });

  it("a release is synchronous, idempotent and never throws, even with Redis gone; the failure is reported and the lease expires by itself", async () => {
    const proxy = await stallingProxy(server.port);
    cleanups.push(() => proxy.close());
    const reported: Error[] = [];
    const prefix = `lease${++prefixes}:`;
    const holder = redisStore({ url: proxy.url }, { prefix, leaseMs: LEASE_MS, callTimeoutMs: 1_000, onError: (e) => reported.push(e) });
    const other = redisStore({ url: server.url }, { prefix, leaseMs: LEASE_MS });
    cleanups.push(() => holder.close(), () => other.close());
    const mine = await holder.lock(KEY);
    proxy.stall();
    expect(mine()).toBeUndefined();
    expect(() => mine()).not.toThrow();
    const taken = await lockWhenFree(other, KEY, 2_000);
    expect(taken.afterMs).toBeLessThan(LEASE_MS + 1_000);
    // The deletion, stalled, gives up after callTimeoutMs and says so.
    const releasing = (): string | undefined => reported.map((e) => e.message).find((m) => m.includes("cannot release"));
    for (let waited = 0; releasing() === undefined && waited < 3_000; waited += 20) await sleep(20);
    expect(releasing()).toMatch(
      new RegExp(`^rxtrade: cannot release the lease of ${KEY} \\(Redis key ${prefix}lease:${KEY} at ${proxy.url.replace(/\./g, "\\.")}, token ${mine.token}\\): redis release\\(${KEY}\\) did not settle within redisStore option callTimeoutMs \\(1 s\\); it expires by itself within leaseMs \\(${LEASE_MS} ms\\)$`),
    );
    taken.release();
    proxy.resume();
  });

  it("tokens only grow: five holders in turn get five increasing tokens (Redis's clock, µs)", async () => {
    const { holder, other } = pair();
    const tokens: number[] = [];
    for (let n = 0; n < 5; n++) {
      const release = await (n % 2 === 0 ? holder : other).lock(KEY);
      tokens.push(release.token);
      release();
    }
    for (let n = 1; n < 5; n++) expect(tokens[n]).toBeGreaterThan(tokens[n - 1] as number);
    expect(tokens.every((token) => Number.isSafeInteger(token))).toBe(true);
  });
});
