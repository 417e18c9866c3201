// rxtrade/redis fleet (issue 12, regression; the kill loop found both): a holder that dies
// between the store write and the event that announces it. (1) It ended the signal its pair's
// status names (closed it: the store holds nothing) and died before `closed` landed: the
// next holder announces the end, once, as `ended` with late=1 — without it the stream shows
// the signal open for ever and a second one opened on the pair. (2) A holder that claimed a
// pair whose stored signal no event announced writes the status's signal only with
// the event that announces it: a holder that dies between its `claimed` and that event must
// not leave a status naming a signal nobody announced (the next holder would call it
// `resumed`, never `opened`). (3) A holder whose lease expired while it was slow still writes
// its last note until the next holder takes the pair: the next holder reads what the status
// names once it holds the lease, not from the snapshot it chose the pair by (which predates
// that note), or it announces that holder's announced signal a second time.
import { afterAll, beforeAll, expect, it } from "vitest";
import { Redis } from "ioredis";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { type FleetAdmin, fleetAdmin, type FleetEvent, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";
import { checkTokens } from "./fixtures/fleetCheck";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const hold: StrategySchema = {
  strategyName: "hold",
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.15, priceStopLoss: currentPrice * 0.85, minuteEstimatedTime: 240 }),
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

describeRedis("fleet: a holder that dies between the store and the event", () => {
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
    const made = await fleetWorker({ redis, prefix, name, leaseMs: 500, speed: 10, from: Date.parse("2023-03-08T12:00Z"), resolve: (_spec, clock) => ({ strategy: hold, exchange: bundledExchange(candles, clock) }) });
    workers.push(made);
    return made;
  };
  const announced = (events: readonly FleetEvent[], worker: string) => events.find((event) => event.worker === worker && (event.action === "opened" || event.action === "resumed"));

  it("a signal its status names that the store no longer holds: its end announced by the next holder, once, as ended (late)", async () => {
    const prefix = "ended:";
    const view = admin(prefix);
    await view.add({ symbol: "AAAUSDT", strategy: "hold", exchange: "bundled" }, "hold");
    const a = await worker(prefix, "a");
    const opened = await until("a opened a signal", async () => announced(await view.events(), "a"));
    await a.stop(); // hands over: the status names the open signal
    expect((await view.list()).pairs[0]?.signalId).toBe(opened.signalId);
    // The holder closed it in the store (a null write deletes the key) and died before its `closed` landed.
    expect(await server.command("DEL", `${prefix}data:AAAUSDT:hold`)).toBe("1");

    await worker(prefix, "b");
    const next = await until("b opened a new signal", async () => {
      const events = await view.events();
      return events.some((event) => event.worker === "b" && event.action === "opened") ? events : undefined;
    });
    const ofB = next.filter((event) => event.worker === "b").map((event) => ({ action: event.action, signalId: event.signalId === opened.signalId ? "the old one" : event.signalId === "" ? "" : "a new one", late: event.late }));
    expect(ofB.slice(0, 3)).toEqual([
      { action: "claimed", signalId: "", late: undefined },
      { action: "ended", signalId: "the old one", late: "1" },
      { action: "opened", signalId: "a new one", late: undefined },
    ]);
    expect(next.filter((event) => event.signalId === opened.signalId && event.action === "ended")).toHaveLength(1);
    expect(checkTokens(next)).toEqual([]);
  });

  it("a claim whose announcement never lands leaves the status naming no signal", async () => {
    const prefix = "unannounced:";
    const view = admin(prefix);
    await view.add({ symbol: "BBBUSDT", strategy: "hold", exchange: "bundled" }, "hold");
    const a = await worker(prefix, "a");
    const opened = await until("a opened a signal", async () => announced(await view.events(), "a"));
    await a.stop();
    // Its end was announced, then a holder opened another signal in the store and died before announcing it.
    expect(await server.command("HSET", `${prefix}status:BBBUSDT:hold`, "signalId", "")).toBe("0");
    // The next holder's notes that announce a signal never reach Redis (it hangs there, as if killed).
    const client = new Redis(server.url);
    closers.push(() => client.quit());
    const muted = new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== "evalsha" && property !== "eval") return typeof value === "function" ? value.bind(target) : value;
        return (...args: unknown[]) => (args.some((arg) => arg === "opened" || arg === "resumed") ? new Promise(() => undefined) : (value as (...rest: unknown[]) => unknown).apply(target, args));
      },
    });
    await worker(prefix, "b", { client: muted });
    await until("b claimed", async () => ((await view.events()).some((event) => event.worker === "b" && event.action === "claimed") ? true : undefined));
    await sleep(300); // its later notes, had they been written
    const events = await view.events();
    expect(events.filter((event) => event.worker === "b").map((event) => event.action)).toEqual(["claimed"]);
    // Nobody announced the stored signal: the status must not name it (a next holder would call it resumed).
    const pair = (await view.list()).pairs[0];
    expect([pair?.owner, pair?.signalId]).toEqual(["b", null]);
  });

  it("a note that lands between the next holder's snapshot and its lock: read under the lease, the signal is resumed, not opened again", async () => {
    const prefix = "between:";
    const view = admin(prefix);
    await view.add({ symbol: "CCCUSDT", strategy: "hold", exchange: "bundled" }, "hold");
    const a = await worker(prefix, "a");
    const opened = await until("a opened a signal", async () => announced(await view.events(), "a"));
    await a.stop();
    // The snapshot the next holder chooses by says nothing is held: the holder's note announcing
    // its signal has not landed yet…
    expect(await server.command("HSET", `${prefix}status:CCCUSDT:hold`, "signalId", "")).toBe("0");
    // …and lands just before the next holder takes the lease.
    const client = new Redis(server.url);
    closers.push(() => client.quit());
    let landed = false;
    const late = new Proxy(client, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property !== "evalsha" && property !== "eval") return typeof value === "function" ? value.bind(target) : value;
        return async (...args: unknown[]) => {
          if (!landed && args[2] === `${prefix}lease:CCCUSDT:hold`) {
            landed = true;
            await target.hset(`${prefix}status:CCCUSDT:hold`, "signalId", opened.signalId);
          }
          return (value as (...rest: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    await worker(prefix, "b", { client: late });
    const events = await until("b announced the signal", async () => {
      const now = await view.events();
      return announced(now, "b") === undefined ? undefined : now;
    });
    expect(landed).toBe(true);
    expect(events.filter((event) => event.worker === "b" && event.action !== "claimed").map((event) => [event.action, event.signalId === opened.signalId, event.late])[0]).toEqual(["resumed", true, undefined]);
    expect(checkTokens(events)).toEqual([]);
  });
});
