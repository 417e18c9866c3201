// Issue 12 review, fix 3: `fleet add` of an existing pair says what it did (added, replaced,
// unchanged), refuses to change the strategy or exchange of a pair that holds a signal unless
// --replace, and a changed spec applies at once: the pair's worker hands it over and it is
// claimed again with the new spec.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { fleetAdmin, type FleetPairSpec, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const idle: StrategySchema = { strategyName: "idle", interval: "1m", getSignal: () => null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeRedis("fix 12.3: fleet add says added/replaced, and a replaced spec applies at once", () => {
  let server: RedisServer;
  let raw: Redis;
  let candles: Candle[];
  const workers: FleetWorker[] = [];
  beforeAll(async () => {
    [server, candles] = await Promise.all([startRedis(), csvCandles(BUNDLED_BTCUSDT_1M)]);
    raw = new Redis(server.url);
  }, 20_000);
  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.stop()));
    raw?.disconnect();
    await server?.stop();
  });
  const cli = async (...args: string[]) => {
    let out = "";
    let err = "";
    const terminal = new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) });
    const code = await main(["fleet", ...args, "--redis", server.url, "--prefix", "add1:"], terminal);
    return { code, out, err };
  };

  it("the command line says added, unchanged, replaced; a pair holding a signal keeps its strategy and exchange unless --replace", async () => {
    const add = ["add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "bundled"];
    expect(await cli(...add)).toEqual({ code: 0, out: "added BTCUSDT:momentum\n", err: "" });
    expect(await cli(...add)).toEqual({ code: 0, out: "unchanged BTCUSDT:momentum (the same spec)\n", err: "" });
    expect(await cli(...add, "--tick-ms", "30000")).toEqual({
      code: 0,
      out: "replaced BTCUSDT:momentum (was strategy momentum, exchange bundled, tick-ms default): its worker hands it over now and it restarts with the new spec\n",
      err: "",
    });
    await raw.hset("add1:status:BTCUSDT:momentum", "signalId", "sig-1");
    const refused = await cli("add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "binance");
    expect(refused.code).toBe(1);
    expect(refused.out).toBe("");
    expect(refused.err).toContain("rxtrade fleet add: pair BTCUSDT:momentum holds signal sig-1 (strategy momentum on exchange bundled): changing it to strategy momentum on exchange binance");
    expect(refused.err).toContain("--replace");
    expect(JSON.parse((await raw.hget("add1:pairs", "BTCUSDT:momentum")) as string)).toEqual({ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", tickMs: 30_000 });
    // Its tick alone may change while it holds a signal.
    expect((await cli(...add)).out).toMatch(/^replaced BTCUSDT:momentum \(was strategy momentum, exchange bundled, tick-ms 30000\)/);
    const replaced = await cli("add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "binance", "--replace");
    expect(replaced.code).toBe(0);
    expect(replaced.out).toMatch(/^replaced BTCUSDT:momentum \(was strategy momentum, exchange bundled, tick-ms default\)/);
    expect(JSON.parse((await raw.hget("add1:pairs", "BTCUSDT:momentum")) as string)).toEqual({ symbol: "BTCUSDT", strategy: "momentum", exchange: "binance" });
  });

  it("a replaced spec applies at once: the worker hands the pair over and claims it again with the new spec", async () => {
    const prefix = "add2:";
    const admin = fleetAdmin({ url: server.url }, { prefix });
    const resolved: FleetPairSpec[] = [];
    try {
      expect(await admin.put({ symbol: "AAAUSDT", strategy: "idle", exchange: "bundled" }, "idle")).toEqual({ pair: "AAAUSDT:idle", outcome: "added", previous: null });
      const worker = await fleetWorker({
        redis: { url: server.url },
        prefix,
        name: "w1",
        leaseMs: 500,
        speed: 10,
        from: Date.parse("2023-03-08T12:00Z"),
        resolve: (spec, clock) => {
          resolved.push(spec);
          return { strategy: idle, exchange: bundledExchange(candles, clock) };
        },
      });
      workers.push(worker);
      for (let n = 0; n < 100 && resolved.length === 0; n++) await sleep(20);
      expect(resolved).toEqual([{ symbol: "AAAUSDT", strategy: "idle", exchange: "bundled" }]);
      const result = await admin.put({ symbol: "AAAUSDT", strategy: "idle", exchange: "bundled", tickMs: 30_000 }, "idle");
      expect(result.outcome).toBe("replaced");
      for (let n = 0; n < 100 && resolved.length < 2; n++) await sleep(20);
      expect(resolved[1]).toEqual({ symbol: "AAAUSDT", strategy: "idle", exchange: "bundled", tickMs: 30_000 });
      // A pair is resolved before its lease is taken: the claim and its event come just after.
      let events = await admin.events();
      for (let n = 0; n < 100 && events.filter((event) => event.action === "claimed").length < 2; n++) {
        await sleep(20);
        events = await admin.events();
      }
      const released = events.find((event) => event.action === "released");
      expect(released?.why).toBe("its spec changed (fleet add): strategy idle, exchange bundled, tickMs 30000");
      const claims = events.filter((event) => event.action === "claimed");
      expect(claims.length).toBe(2);
      expect((claims[1] as { token: number }).token).toBeGreaterThan((claims[0] as { token: number }).token);
    } finally {
      await admin.close();
    }
  });
});
