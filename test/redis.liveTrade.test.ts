// rxtrade/redis, issue 12 item 1 (new feature): liveTrade$ on redisStore. A stream cut off
// from Redis past its lease, whose key another store then takes, stops trading: it writes
// nothing more and ends with StoreLockedError. A stream that keeps its lease trades as on a
// memoryStore — also across a restart of Redis (AOF on): the outage is reported, the store
// reconnects, and nothing is lost.
import { Subject } from "rxjs";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { listenError, liveTrade$, memoryStore, type SignalStore, StoreLockedError } from "rxtrade";
import { redisStore, type RedisStore } from "rxtrade/redis";
import { marbleExchange, scriptedStrategy, VirtualClock } from "rxtrade/testing";
import { describeRedis, type RedisServer, stallingProxy, startRedis } from "./helpers/redisServer";

const TICK = 60_001;
const KEY = "BTCUSDT:fleet";
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
const LONG = { position: "long" as const, priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };

let server: RedisServer;
let prefixes = 0;
let cleanups: Array<() => Promise<void> | void> = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A stream that opens a long at tick 1 (price 100, TP 101) and would close it at tick 6 (101.5),
 * stopped at tick 8. `run(until)` moves its virtual clock on.
 */
function stream(store: SignalStore) {
  const clock = new VirtualClock(0);
  //                               minute: 0123456789
  const exchange = marbleExchange("aaaab-c---", { a: 100, b: 100.5, c: 101.5 }, clock, { start: -60_000 });
  const stop$ = new Subject<void>();
  const trades: string[] = [];
  const state = { ended: "" };
  liveTrade$("BTCUSDT", scriptedStrategy("fleet", [null, LONG]), { exchange, store, scheduler: clock, stop$, config }).subscribe({
    next: (r) => trades.push(`${r.action} @${r.currentPrice} t=${clock.now() / TICK}`),
    complete: () => (state.ended = `complete t=${clock.now() / TICK}`),
    error: (e: Error) => (state.ended = `${e.name} t=${clock.now() / TICK}`),
  });
  clock.schedule(() => stop$.next(), 8 * TICK);
  return { trades, state, run: (ticks: number) => clock.flushAsync(ticks * TICK) };
}

function errorsSeen(): Error[] {
  const errors: Error[] = [];
  cleanups.push(listenError((e) => errors.push(e)));
  return errors;
}

describeRedis("liveTrade$ on redisStore", () => {
  beforeAll(async () => {
    server = await startRedis();
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("trades as on a memoryStore while it holds its lease, and frees the key at the end", async () => {
    const store = redisStore({ url: server.url }, { prefix: `lt${++prefixes}:`, leaseMs: 600 });
    cleanups.push(() => store.close());
    const onRedis = stream(store);
    await onRedis.run(10);
    const onMemory = stream(memoryStore());
    await onMemory.run(10);
    expect(onRedis.trades).toEqual(["opened @100 t=1", "closed @101 t=6"]);
    expect(onRedis.trades).toEqual(onMemory.trades);
    expect(onRedis.state.ended).toBe("complete t=8");
    expect(await store.read(KEY)).toBeNull();
    const again = await store.lock(KEY);
    again();
  });

  it("a stream cut off past its lease, whose key another store takes, writes nothing more and ends with StoreLockedError", async () => {
    const errors = errorsSeen();
    const proxy = await stallingProxy(server.port);
    const prefix = `lt${++prefixes}:`;
    const reported: Error[] = [];
    const cutOff = redisStore({ url: proxy.url }, { prefix, leaseMs: 600, callTimeoutMs: 5_000, onError: (e) => reported.push(e) });
    const taker = redisStore({ url: server.url }, { prefix, leaseMs: 600 });
    cleanups.push(() => proxy.close(), () => cutOff.close(), () => taker.close());

    const run = stream(cutOff);
    await run.run(3);
    expect(run.trades).toEqual(["opened @100 t=1"]);
    const opened = (await taker.read(KEY)) as { signal?: { priceOpen?: number } };
    expect(opened.signal?.priceOpen).toBe(100);

    // Cut off: its renewals stop getting through; once the lease runs out, another store takes the key.
    proxy.stall();
    let taken;
    const started = performance.now();
    for (;;) {
      taken = await taker.lock(KEY).catch((error: unknown) => {
        if (!(error instanceof StoreLockedError)) throw error;
        return undefined;
      });
      if (taken !== undefined || performance.now() - started > 3_000) break;
      await sleep(20);
    }
    expect(taken).toBeDefined();
    proxy.resume();

    // Tick 6 would close the position (101.5 >= TP 101): the close is never written.
    await run.run(10);
    expect(run.trades).toEqual(["opened @100 t=1"]);
    expect(run.state.ended).toMatch(/^StoreLockedError t=\d$/);
    expect(await taker.read(KEY)).toEqual(opened);
    const lost = errors.find((e) => e instanceof StoreLockedError);
    expect(lost?.message).toContain(`the stream lost its lease on ${KEY}`);
    expect(lost?.message).toContain(`(token ${taken?.token})`);
    taken?.();
  });

  it("Redis restarted (AOF on) while a stream runs: the outage is reported, the store reconnects, the state and the lease are kept, the stream trades on", async () => {
    const errors = errorsSeen();
    const reported: Error[] = [];
    const prefix = `lt${++prefixes}:`;
    // A lease longer than the restart: it is still this stream's when Redis is back.
    const store = redisStore({ url: server.url }, { prefix, leaseMs: 5_000, callTimeoutMs: 5_000, reconnectMinMs: 20, reconnectMaxMs: 100, onError: (e) => reported.push(e) });
    const other = redisStore({ url: server.url }, { prefix });
    cleanups.push(() => store.close(), () => other.close());

    const run = stream(store);
    await run.run(3);
    expect(run.trades).toEqual(["opened @100 t=1"]);
    const before = await store.read(KEY);
    const lease = await server.command("GET", `${prefix}lease:${KEY}`);

    await server.restart(300);
    // Read back from the AOF: the open position and the lease, with its token.
    expect(await other.read(KEY)).toEqual(before);
    expect(await server.command("GET", `${prefix}lease:${KEY}`)).toBe(lease);
    await expect(other.lock(KEY)).rejects.toBeInstanceOf(StoreLockedError);

    await run.run(10);
    expect(run.trades).toEqual(["opened @100 t=1", "closed @101 t=6"]);
    expect(run.state.ended).toBe("complete t=8");
    expect(await other.read(KEY)).toBeNull();
    // One report of the outage; on a loaded machine a renewal may also have timed out meanwhile (reported, not fatal).
    const outages = reported.filter((e) => e.name === "RedisConnectionError");
    expect(outages).toHaveLength(1);
    expect(outages[0]?.message).toMatch(/^rxtrade: the connection to Redis at redis:\/\/127\.0\.0\.1:\d+ failed: /);
    for (const other of reported.filter((e) => e.name !== "RedisConnectionError")) expect(other.message).toContain(`cannot renew the lease of ${KEY}`);
    expect(errors).toEqual([]);
    // The lease was released at the end.
    const next = await other.lock(KEY);
    next();
  });
});
