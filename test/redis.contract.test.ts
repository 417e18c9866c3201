// rxtrade/redis, issue 12 item 1 (new feature): redisStore passes the SignalStore contract
// suite against a real redis-server, and its own promises: where values live, corrupt values
// moved aside, typed errors and time limits when Redis is down, option checks, and a clear
// error when ioredis is missing.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { ArgumentError, ArgumentRangeError, CallTimeoutError, StoreReadError, StoreWriteError } from "rxtrade";
import { RedisConnectionError, redisStore, type RedisStore } from "rxtrade/redis";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";
import { storeContract } from "./helpers/storeContract";

let server: RedisServer;
let prefixes = 0;
const stores: RedisStore[] = [];
/** A store on the test server with a prefix of its own. */
const open = (options: Parameters<typeof redisStore>[1] = {}): RedisStore => {
  const store = redisStore({ url: server.url }, { prefix: `t${++prefixes}:`, ...options });
  stores.push(store);
  return store;
};

describeRedis("redisStore", () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await server?.stop();
  });

  storeContract("redisStore", async () => {
    const store = open();
    return { store, cleanup: () => store.close() };
  });

  it("keeps a value under <prefix>data:<key> as { rxtrade: 1, key, token?, value }; the token is the lease's when written under one", async () => {
    const store = open({ prefix: "app:" });
    await store.write("BTC/USDT:momentum", { n: 1 });
    expect(JSON.parse(await server.command("GET", "app:data:BTC/USDT:momentum"))).toEqual({ rxtrade: 1, key: "BTC/USDT:momentum", value: { n: 1 } });
    const release = await store.lock("BTC/USDT:momentum");
    await store.write("BTC/USDT:momentum", { n: 2 });
    expect(JSON.parse(await server.command("GET", "app:data:BTC/USDT:momentum"))).toEqual({ rxtrade: 1, key: "BTC/USDT:momentum", token: release.token, value: { n: 2 } });
    expect(store.keysOf("BTC/USDT:momentum")).toEqual({ data: "app:data:BTC/USDT:momentum", lease: "app:lease:BTC/USDT:momentum", fence: "app:fence:BTC/USDT:momentum" });
    expect(await server.command("GET", "app:fence:BTC/USDT:momentum")).toBe(String(release.token));
    release();
    await store.write("BTC/USDT:momentum", null);
    expect(await server.command("EXISTS", "app:data:BTC/USDT:momentum")).toBe("0");
  });

  it("moves a value that is not its own aside to <prefix>corrupt:<key>:<time>, throws StoreReadError with quarantinedTo, then reads null", async () => {
    const store = open();
    const { data } = store.keysOf("BTCUSDT:s");
    await server.command("SET", data, "{not json");
    const error = (await store.read("BTCUSDT:s").catch((e: unknown) => e)) as StoreReadError;
    expect(error).toBeInstanceOf(StoreReadError);
    expect(error.key).toBe("BTCUSDT:s");
    expect(error.quarantinedTo).toMatch(new RegExp(`^${store.prefix}corrupt:BTCUSDT:s:\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z:[0-9a-f]{8}$`));
    expect(error.message).toContain("not an rxtrade value: it does not parse as JSON");
    expect(await server.command("GET", error.quarantinedTo as string)).toBe("{not json");
    expect(await store.read("BTCUSDT:s")).toBeNull();
    // Another key's value (copied over by hand) is not this key's either.
    await server.command("SET", data, JSON.stringify({ rxtrade: 1, key: "ETHUSDT:s", value: 1 }));
    await expect(store.read("BTCUSDT:s")).rejects.toMatchObject({ name: "StoreReadError", message: expect.stringContaining('it belongs to key "ETHUSDT:s"') });
  });

  it("a value that is not JSON is refused with StoreWriteError, nothing written", async () => {
    const store = open();
    await expect(store.write("BTCUSDT:s", undefined)).rejects.toMatchObject({ name: "StoreWriteError", message: expect.stringContaining("the value (undefined) is not JSON; write null to clear the key") });
    expect(await store.read("BTCUSDT:s")).toBeNull();
  });

  it("with Redis unreachable: a read and a write fail within callTimeoutMs (StoreReadError / StoreWriteError, CallTimeoutError in cause), and the outage is reported once", async () => {
    const reported: Error[] = [];
    const store = redisStore({ url: "redis://127.0.0.1:1" }, { callTimeoutMs: 1_000, reconnectMinMs: 20, reconnectMaxMs: 50, onError: (e) => reported.push(e) });
    stores.push(store);
    const started = performance.now();
    const readError = (await store.read("BTCUSDT:s").catch((e: unknown) => e)) as StoreReadError;
    const elapsed = performance.now() - started;
    expect(readError).toBeInstanceOf(StoreReadError);
    expect(readError.cause).toBeInstanceOf(CallTimeoutError);
    expect(readError.message).toMatch(/^rxtrade: cannot read BTCUSDT:s \(rxtrade:data:BTCUSDT:s\): redis read\(BTCUSDT:s\) \(Redis at redis:\/\/127\.0\.0\.1:1 is not connected: connect ECONNREFUSED 127\.0\.0\.1:1\) did not settle within redisStore option callTimeoutMs \(1 s\)$/);
    expect(elapsed).toBeGreaterThanOrEqual(990);
    expect(elapsed).toBeLessThan(4_000);
    const writeError = await store.write("BTCUSDT:s", { a: 1 }).catch((e: unknown) => e);
    expect(writeError).toBeInstanceOf(StoreWriteError);
    expect((writeError as Error).cause).toBeInstanceOf(CallTimeoutError);
    const lockError = await store.lock("BTCUSDT:s").catch((e: unknown) => e);
    expect(lockError).toMatchObject({ name: "StoreWriteError", message: expect.stringContaining("cannot lock BTCUSDT:s (rxtrade:lease:BTCUSDT:s): redis lock(BTCUSDT:s)") });
    // Dozens of reconnect attempts failed meanwhile; one report.
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(RedisConnectionError);
    expect(reported[0]?.message).toBe(
      "rxtrade: the connection to Redis at redis://127.0.0.1:1 failed: connect ECONNREFUSED 127.0.0.1:1; reconnecting with backoff (20 to 50 ms between attempts). " +
        "Store calls wait for it within their time limit, then fail (the engine retries its ticks); check that Redis is running and reachable",
    );
    await store.close();
  });

  it("uses a given ioredis client as it is and leaves it open on close", async () => {
    const client = new Redis(server.url);
    const store = redisStore({ client }, { prefix: "given:" });
    await store.write("k:s", { a: 1 });
    expect(await client.get("given:data:k:s")).toBe(JSON.stringify({ rxtrade: 1, key: "k:s", value: { a: 1 } }));
    await store.close();
    expect(await client.ping()).toBe("PONG");
    await expect(store.read("k:s")).rejects.toThrow("this redisStore of the given ioredis client was closed (store.close()); create a new one");
    client.disconnect();
  });

  it("hides the password of the URL in what it reports", async () => {
    const reported: Error[] = [];
    const store = redisStore({ url: "redis://user:s3cret@127.0.0.1:1/0" }, { callTimeoutMs: 1_000, onError: (e) => reported.push(e) });
    const error = (await store.read("a:b").catch((e: unknown) => e)) as Error;
    expect(error.message).toContain("redis://user:***@127.0.0.1:1/0");
    expect(`${error.message} ${reported.map((e) => e.message).join(" ")}`).not.toContain("s3cret");
    await store.close();
  });

  it("checks its arguments", () => {
    expect(() => redisStore({} as never)).toThrow(ArgumentError);
    expect(() => redisStore({ url: "" })).toThrow('rxtrade: redisStore needs { url: "redis://host:6379" } or { client } (an ioredis client); got ["url"]');
    expect(() => redisStore({ url: server.url }, { leaseMs: 0 })).toThrow(
      "rxtrade: redisStore option leaseMs (0) must be a whole number of milliseconds from 1 to 2147483647, e.g. 15000 (the default)",
    );
    expect(() => redisStore({ url: server.url }, { leaseMs: 300, renewMs: 300 })).toThrow(
      "rxtrade: redisStore option renewMs (300) must be below leaseMs (300), e.g. 100 (a third, the default)",
    );
    expect(() => redisStore({ url: server.url }, { callTimeoutMs: 1.5 })).toThrow(ArgumentRangeError);
    expect(() => redisStore({ url: server.url }, { prefix: 3 as never })).toThrow('rxtrade: redisStore option prefix (3) must be a string, e.g. "rxtrade:"');
  });
});

// Outside the server's suite: needs no Redis.
it("without ioredis installed: the first call fails naming the package and the install command", async () => {
  vi.resetModules();
  vi.doMock("ioredis", () => {
    throw new Error("Cannot find package 'ioredis' imported from rxtrade/redis");
  });
  try {
    const { redisStore: freshStore } = await import("rxtrade/redis");
    const store = freshStore({ url: "redis://127.0.0.1:6379" }, { callTimeoutMs: 2_000 });
    const error = (await store.write("BTCUSDT:s", { a: 1 }).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({ name: "StoreWriteError", key: "BTCUSDT:s" });
    expect(error.message).toBe(
      "rxtrade: cannot write BTCUSDT:s (rxtrade:data:BTCUSDT:s): rxtrade/redis needs the ioredis package (an optional peer dependency) to connect to redis://127.0.0.1:6379: npm install ioredis",
    );
    expect((error.cause as Error).name).toBe("RedisConnectionError");
    await store.close();
  } finally {
    vi.doUnmock("ioredis");
    vi.resetModules();
  }
});
