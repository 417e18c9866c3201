// rxtrade fleet (issue 12 item 2: "when the data runs out the pair drains"), workers in this
// process against a real redis-server, on a short series: 1,800 of the bundled minutes played
// from the fleet's origin (resolve's dataEnd = origin + 1,800 min, as `rxtrade fleet worker
// --speed` sets it for bundled with all 30,240). With the default config the pair takes no new
// signal from dataEnd - (CC_SCHEDULE_AWAIT_MINUTES 120 + CC_MAX_SIGNAL_LIFETIME_MINUTES 1440)
// = origin + 240 min: the signal open then runs to its close, then the pair is drained for
// good (`fleet list`: drained, no owner; nobody claims it again). A pair taken over while it
// drains is drained by its new holder at once: the signal resumed, never a new one.
// Before this change (a11914f) resolve's dataEnd was not read: the pairs traded on forever.
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { type FleetAdmin, fleetAdmin, type FleetEvent, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { checkTokens } from "./fixtures/fleetCheck";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const MINUTE = 60_000;
const LEASE_MS = 500;
const FROM = Date.parse("2023-03-08T12:00Z");
const DATA_MINUTES = 1_800;
const DATA_END = FROM + DATA_MINUTES * MINUTE;
/** dataEnd less the default config's 120 + 1,440 minutes. */
const DRAIN_AT = FROM + 240 * MINUTE;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Long at once, take profit and stop loss 15 % away (never reached here), closed by time after `minutes`. */
const hold = (strategyName: string, minutes: number): StrategySchema => ({
  strategyName,
  interval: "1m",
  getSignal: (_symbol, _when, { currentPrice }) => ({ position: "long", priceTakeProfit: currentPrice * 1.15, priceStopLoss: currentPrice * 0.85, minuteEstimatedTime: minutes }),
});

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms: number): Promise<T> {
  const deadline = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`not within ${ms} ms: ${what}`);
    await sleep(20);
  }
}

const of = (events: readonly FleetEvent[], pair: string, action: string) => events.filter((event) => event.pair === pair && event.action === action);

describeRedis("a fleet pair whose data runs out drains", () => {
  let server: RedisServer;
  let candles: Candle[];
  const workers: FleetWorker[] = [];
  const admins: FleetAdmin[] = [];
  beforeAll(async () => {
    let all: Candle[];
    [server, all] = await Promise.all([startRedis(), csvCandles(BUNDLED_BTCUSDT_1M)]);
    candles = all.slice(0, DATA_MINUTES);
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
  const worker = async (prefix: string, name: string, speed: number, strategy: StrategySchema) => {
    const made = await fleetWorker({
      redis: { url: server.url },
      prefix,
      name,
      leaseMs: LEASE_MS,
      speed,
      from: FROM,
      resolve: (_spec, clock, fleetClock) => ({
        strategy,
        exchange: bundledExchange(candles, clock),
        ...(fleetClock === undefined ? {} : { dataEnd: fleetClock.origin + candles.length * MINUTE }),
      }),
    });
    workers.push(made);
    return made;
  };

  it("no signal from dataEnd - 26 h on; the open one closes by its own rule, then the pair is drained for good", async () => {
    const prefix = "end:";
    const fleet = admin(prefix);
    const id = await fleet.add({ symbol: "BTCUSDT", strategy: "hold", exchange: "bundled" }, "hold");
    // 300 simulated minutes a second: the drain point (240 min) after ~0.8 s, a tick every 0.2 ms of wall time.
    const a = await worker(prefix, "a", 300, hold("hold", 60));
    const listed = await until(
      "the pair drained",
      async () => {
        const { pairs } = await fleet.list();
        // Drained is noted before the lease goes (a hand-over's notes land first): then no owner.
        return pairs[0]?.status === "drained" && pairs[0].owner === null ? pairs[0] : undefined;
      },
      6_000,
    );
    expect(listed).toMatchObject({ pair: id, status: "drained", owner: null, signalId: null });
    expect(a.pairs()).toEqual([]);

    const events = await fleet.events();
    const opened = of(events, id, "opened");
    const closed = of(events, id, "closed");
    // Signals of 60 minutes one after another from the start, the last one opened before the drain point.
    expect(opened.length).toBeGreaterThanOrEqual(3);
    expect(opened.every((event) => Date.parse(event.at) < DRAIN_AT)).toBe(true);
    expect(closed.map((event) => event.signalId)).toEqual(opened.map((event) => event.signalId));
    // The last one was open at the drain point and ran to its close by time, within the data.
    const last = closed.at(-1) as FleetEvent;
    expect(Date.parse(last.at)).toBeGreaterThanOrEqual(DRAIN_AT);
    expect(Date.parse(last.at)).toBeLessThan(DRAIN_AT + 62 * MINUTE);
    const drained = of(events, id, "drained");
    expect(drained).toHaveLength(1);
    expect(drained[0]?.why).toBe(`its data ends at ${new Date(DATA_END).toISOString()}: no new signal from ${new Date(DRAIN_AT).toISOString()}`);
    expect((drained[0] as FleetEvent).id > last.id).toBe(true);
    expect(events.filter((event) => event.pair === id && ["error", "lost"].includes(event.action))).toEqual([]);

    // Drained for good: a worker joining later does not claim it.
    const b = await worker(prefix, "b", 300, hold("hold", 60));
    await sleep(4 * (LEASE_MS / 5));
    expect(b.pairs()).toEqual([]);
    expect((await fleet.list()).pairs[0]).toMatchObject({ status: "drained", owner: null });
    expect(checkTokens(await fleet.events())).toEqual([]);
  }, 20_000);

  it("a pair taken over while it drains: its new holder drains it at once, the signal resumed and closed, none opened", async () => {
    const prefix = "takeover:";
    const fleet = admin(prefix);
    const id = await fleet.add({ symbol: "ETHUSDT", strategy: "long-hold", exchange: "bundled" }, "long-hold");
    // One signal of 600 minutes from the first tick: open across the drain point (240 min).
    // 200 simulated minutes a second: the drain point after ~1.2 s, the signal's end after ~3 s.
    const a = await worker(prefix, "a", 200, hold("long-hold", 600));
    await until(
      "a past the drain point",
      async () => {
        const at = (await fleet.list()).pairs[0]?.lastTickAt;
        return at != null && Date.parse(at) >= DRAIN_AT + 10 * MINUTE ? true : undefined;
      },
      6_000,
    );
    await a.stop(); // hands the pair over
    const b = await worker(prefix, "b", 200, hold("long-hold", 600));
    await until("b holds it", () => (b.pairs().length === 1 ? true : undefined), 3_000);
    await until("drained", async () => ((await fleet.list()).pairs[0]?.status === "drained" ? true : undefined), 6_000);

    const events = await fleet.events();
    const opened = of(events, id, "opened");
    expect(opened).toHaveLength(1);
    expect(opened[0]?.worker).toBe("a");
    const signal = opened[0]?.signalId;
    expect(of(events, id, "resumed").map((event) => [event.worker, event.signalId])).toEqual([["b", signal]]);
    expect(of(events, id, "closed").map((event) => [event.worker, event.signalId])).toEqual([["b", signal]]);
    expect(of(events, id, "drained").map((event) => event.worker)).toEqual(["b"]);
    expect(checkTokens(events)).toEqual([]);
  }, 20_000);
});
