// rxtrade/redis fleet (issue 12 item 2, new feature): workers in this process against a real
// redis-server — the desired set (add, list, drain, remove), two workers sharing six pairs
// three each, a third joining and getting some, a stopped worker handing its pairs over with
// the open signals resumed under the same ids (announced `resumed`, never a second `opened`),
// and the event stream's tokens never showing two holders of a pair.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { type FleetAdmin, fleetAdmin, type FleetEvent, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";
import { checkTokens } from "./fixtures/fleetCheck";

const LEASE_MS = 500;
const SPEED = 10; // 10 simulated minutes a second: a tick of 60 001 ms every ~100 ms
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Long at once; take profit and stop loss 15 % away, closed by time after 240 minutes (24 s here).
const hold: StrategySchema = {
  strategyName: "hold",
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.15, priceStopLoss: currentPrice * 0.85, minuteEstimatedTime: 240 }),
};
const SYMBOLS = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT"];

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 8_000): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(25);
  }
}

describeRedis("a fleet of workers in one process", () => {
  let server: RedisServer;
  let candles: Candle[];
  const workers: FleetWorker[] = [];
  const admins: FleetAdmin[] = [];
  beforeAll(async () => {
    [server, candles] = await Promise.all([startRedis(), csvCandles(BUNDLED_BTCUSDT_1M)]);
  }, 20_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    await Promise.all(admins.map((admin) => admin.close()));
    await server?.stop();
  });

  const admin = (prefix: string) => {
    const made = fleetAdmin({ url: server.url }, { prefix });
    admins.push(made);
    return made;
  };
  const worker = async (prefix: string, name: string) => {
    const made = await fleetWorker({
      redis: { url: server.url },
      prefix,
      name,
      leaseMs: LEASE_MS,
      speed: SPEED,
      from: Date.parse("2023-03-08T12:00Z"),
      resolve: (_spec, clock) => ({ strategy: hold, exchange: bundledExchange(candles, clock) }),
    });
    workers.push(made);
    return made;
  };

  it("add, list, drain, remove: the desired set and its statuses", async () => {
    const fleet = admin("set:");
    expect(await fleet.add({ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMs: 60_001 }, "momentum")).toBe("BTCUSDT:momentum");
    expect(await fleet.add({ symbol: "ETHUSDT", strategy: "momentum", exchange: "bundled" }, "momentum")).toBe("ETHUSDT:momentum");
    expect(await fleet.list()).toEqual({
      workers: [],
      pairs: [
        { pair: "BTCUSDT:momentum", spec: { symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMs: 60_001 }, owner: null, status: "unowned", signalId: null, lastTickAt: null, token: null },
        { pair: "ETHUSDT:momentum", spec: { symbol: "ETHUSDT", strategy: "momentum", exchange: "bundled" }, owner: null, status: "unowned", signalId: null, lastTickAt: null, token: null },
      ],
    });
    expect(await fleet.drain(["ETHUSDT:momentum"])).toEqual(["ETHUSDT:momentum"]);
    expect((await fleet.list()).pairs.map((pair) => pair.status)).toEqual(["unowned", "draining"]);
    await expect(fleet.drain(["XRPUSDT:momentum"])).rejects.toThrow("fleet drain: no pair XRPUSDT:momentum in set:pairs (pairs: BTCUSDT:momentum, ETHUSDT:momentum)");
    expect(await fleet.remove("BTCUSDT:momentum")).toBe(true);
    expect(await fleet.remove("BTCUSDT:momentum")).toBe(false);
    expect((await fleet.list()).pairs.map((pair) => pair.pair)).toEqual(["ETHUSDT:momentum"]);
  });

  it("two workers share six pairs three each; a third gets two; a stopped one hands its pairs over, their signals resumed", async () => {
    const prefix = "share:";
    const fleet = admin(prefix);
    for (const symbol of SYMBOLS) await fleet.add({ symbol, strategy: "hold", exchange: "bundled" }, "hold");
    const a = await worker(prefix, "a");
    const b = await worker(prefix, "b");
    await until("3 pairs each", () => (a.pairs().length === 3 && b.pairs().length === 3 ? true : undefined));
    // Every pair opened its signal.
    const opened = await until("6 opened", async () => {
      const events = await fleet.events();
      const ids = new Map(events.filter((event) => event.action === "opened").map((event) => [event.pair, event.signalId]));
      return ids.size === 6 ? ids : undefined;
    });
    const listed = await until("list shows 6 running with signals", async () => {
      const { pairs, workers: live } = await fleet.list();
      return pairs.every((pair) => pair.status === "running" && pair.signalId !== null && pair.lastTickAt !== null) ? { pairs, live } : undefined;
    });
    expect(listed.live).toEqual(["a", "b"]);
    expect(listed.pairs.filter((pair) => pair.owner === "a").map((pair) => pair.pair)).toEqual(a.pairs());
    expect(listed.pairs.map((pair) => pair.signalId)).toEqual(SYMBOLS.map((symbol) => opened.get(`${symbol}:hold`)));

    const c = await worker(prefix, "c");
    await until("2 pairs each after c joined", () => (a.pairs().length === 2 && b.pairs().length === 2 && c.pairs().length === 2 ? true : undefined));

    const fromA = a.pairs();
    const stoppedAt = performance.now();
    await a.stop();
    await until("b and c hold a's pairs", () => (b.pairs().length === 3 && c.pairs().length === 3 ? true : undefined), LEASE_MS + 2_000);
    // Released at once: taken within a poll or two and a tick, well before the lease would expire.
    expect(performance.now() - stoppedAt).toBeLessThan(LEASE_MS + 400);

    const events = await until("resumed for a's pairs", async () => {
      const all = await fleet.events();
      return fromA.every((id) => all.some((event) => event.action === "resumed" && event.pair === id && event.worker !== "a")) ? all : undefined;
    });
    for (const id of fromA) {
      const resumed = events.filter((event) => event.pair === id && event.action === "resumed" && event.worker !== "a");
      expect(resumed.at(-1)?.signalId).toBe(opened.get(id));
    }
    expect(events.filter((event) => event.action === "opened").length).toBe(6); // never a second opened
    expect(checkTokens(events)).toEqual([]);
  }, 30_000);
});
