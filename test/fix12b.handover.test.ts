// rxtrade/redis fleet (issue 12, hostile review): a graceful stop (SIGTERM's hand-over) between
// the store write of a close and its `closed` event. The worker's loop was unsubscribed, and
// its lease released, while the close's write was in flight: the write landed (the stored
// signal deleted), the result never reached the events (no `closed`: its price, reason and
// pnl lost), and the next holder announced the signal `ended` late. Here the hand-over is
// asked for at that exact moment: the close's write is held at the Redis client until the
// worker's stop has begun.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Redis } from "ioredis";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { type FleetAdmin, fleetAdmin, type FleetEvent, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";
import { checkTokens } from "./fixtures/fleetCheck";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
// Opens at once; closes by its time limit, 2 simulated minutes later (its TP and SL 15 % away, not reached).
const brief: StrategySchema = {
  strategyName: "brief",
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.15, priceStopLoss: currentPrice * 0.85, minuteEstimatedTime: 2 }),
};

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 8_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

describeRedis("fleet: a hand-over asked for while a close is being written", () => {
  let server: RedisServer;
  let candles: Candle[];
  const workers: FleetWorker[] = [];
  const closers: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    [server, candles] = await Promise.all([startRedis(), csvCandles(BUNDLED_BTCUSDT_1M)]);
  }, 20_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    for (const close of closers) await close();
    await server?.stop();
  });

  const admin = (prefix: string): FleetAdmin => {
    const made = fleetAdmin({ url: server.url }, { prefix });
    closers.push(() => made.close());
    return made;
  };
  const worker = async (prefix: string, name: string, redis: { url: string } | { client: Redis } = { url: server.url }) => {
    const made = await fleetWorker({ redis, prefix, name, leaseMs: 500, speed: 10, from: Date.parse("2023-03-08T12:00Z"), resolve: (_spec, clock) => ({ strategy: brief, exchange: bundledExchange(candles, clock) }) });
    workers.push(made);
    return made;
  };

  it("the close written, the worker stopping: its closed event lands, with its result, and the next holder announces no late end", async () => {
    const prefix = "handover:";
    const view = admin(prefix);
    await view.add({ symbol: "BTCUSDT", strategy: "brief", exchange: "bundled" }, "brief");
    // Worker a's Redis client: the close's write (the store's script deleting the stored signal)
    // waits until a's stop has begun (SIGTERM at that tick), then goes on.
    const client = new Redis(server.url);
    closers.push(() => client.quit());
    let a: FleetWorker | undefined;
    let stopping: Promise<void> | undefined;
    const closeWrite = (args: readonly unknown[]) => args.includes(`${prefix}data:BTCUSDT:brief`) && args.includes("del");
    const held = new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== "evalsha" && property !== "eval") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (stopping === undefined && a !== undefined && closeWrite(args)) {
            stopping = a.stop();
            await sleep(150); // the stop hands the pair over meanwhile
          }
          return (value as (...rest: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    a = await worker(prefix, "a", { client: held });
    await until("a's close was written and a stopped", async () => (stopping === undefined ? undefined : stopping.then(() => true)));
    expect(await server.command("EXISTS", `${prefix}data:BTCUSDT:brief`)).toBe("0"); // the close landed in the store

    const ofA = (await view.events()).filter((event) => event.worker === "a");
    const opened = ofA.find((event) => event.action === "opened");
    expect(opened?.signalId).toMatch(/\S/);
    const closed = ofA.find((event) => event.action === "closed");
    expect(closed === undefined ? "no closed event from a" : { signalId: closed.signalId, pnl: typeof closed.pnl }).toEqual({ signalId: opened?.signalId, pnl: "string" });
    expect(Number.isFinite(Number(closed?.pnl))).toBe(true);
    // In order: the close, then the hand-over, under the same token.
    expect(ofA.map((event) => event.action).slice(-2)).toEqual(["closed", "released"]);
    expect((await view.list()).pairs[0]?.signalId).toBe(null);

    // The next holder finds nothing to announce late.
    await worker(prefix, "b");
    const events = await until("b opened a signal", async () => {
      const now = await view.events();
      return now.some((event: FleetEvent) => event.worker === "b" && event.action === "opened") ? now : undefined;
    });
    expect(events.filter((event) => event.action === "ended")).toEqual([]);
    expect(events.filter((event) => event.signalId === opened?.signalId).map((event) => `${event.worker} ${event.action}`)).toEqual(["a opened", "a closed"]);
    expect(checkTokens(events)).toEqual([]);
  });

  it("a pair its worker drains where its data ends is listed as draining until drained", async () => {
    const prefix = "dataend:";
    const view = admin(prefix);
    const id = await view.add({ symbol: "BTCUSDT", strategy: "hold2h", exchange: "bundled" }, "hold2h");
    // Signals of 2 simulated hours (12 s here); the data ends 26 h and 1 min after the fleet's
    // origin: no new signal after the first minute, so the first one closes while the pair drains.
    const hold2h: StrategySchema = { ...brief, strategyName: "hold2h", getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.15, priceStopLoss: currentPrice * 0.85, minuteEstimatedTime: 120 }) };
    const made = await fleetWorker({
      redis: { url: server.url },
      prefix,
      name: "a",
      leaseMs: 500,
      speed: 10,
      from: Date.parse("2023-03-08T12:00Z"),
      resolve: (_spec, clock, fleetClock) => ({ strategy: hold2h, exchange: bundledExchange(candles, clock), ...(fleetClock === undefined ? {} : { dataEnd: fleetClock.origin + (26 * 60 + 1) * 60_000 }) }),
    });
    workers.push(made);
    const opened = await until("a opened a signal", async () => (await view.events()).find((event) => event.action === "opened"));
    await sleep(300); // past the drain point (0.1 s in)
    const listed = (await view.list()).pairs[0];
    expect(listed).toMatchObject({ pair: id, owner: "a", status: "draining", signalId: opened.signalId });
    expect((await view.events()).map((event) => event.action)).not.toContain("drained");
  });
});
