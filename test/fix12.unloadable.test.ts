// Issue 12 review, fix 4: a pair no worker can load. `fleet add` checks the exchange (a ccxt id
// ccxt has, bundled, or an existing file); a worker that cannot resolve a pair resolves it before
// taking its lease (no fencing token burnt), says so once (an `error` event, status `error` with
// the message in fleet list), retries with a growing delay, and a drained pair with no signal
// that cannot load is `drained` for good.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Candle, StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { fleetAdmin, type FleetWorker, fleetWorker } from "rxtrade/redis";
import { bundledExchange } from "rxtrade/service";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";
import { describeRedis, type RedisServer, startRedis } from "./helpers/redisServer";

const idle: StrategySchema = { strategyName: "idle", interval: "1m", getSignal: () => null };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeRedis("fix 12.4: a pair no worker can load", () => {
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
    const code = await main(["fleet", ...args, "--redis", server.url, "--prefix", "un1:"], terminal);
    return { code, out, err };
  };

  it("fleet add refuses an exchange ccxt does not have and a module path that does not exist (exit 2, nothing stored)", async () => {
    const unknown = await cli("add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "nosuchexchange");
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('--exchange "nosuchexchange" is not an exchange ccxt has; give a ccxt exchange id (lower case, e.g. binance, kraken, bybit), an exchange module\'s path or bundled');
    const missing = await cli("add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "/nonexistent/exchange.mjs");
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("--exchange /nonexistent/exchange.mjs: no such file (/nonexistent/exchange.mjs)");
    expect(await raw.hlen("un1:pairs")).toBe(0);
    expect((await cli("add", "--symbol", "BTCUSDT", "--strategy", "momentum", "--exchange", "binance")).out).toBe("added BTCUSDT:momentum\n");
  });

  it("a worker that cannot resolve a pair burns no token, says it once (event, status error), backs off, and a drain ends it", async () => {
    const prefix = "un2:";
    const admin = fleetAdmin({ url: server.url }, { prefix });
    let attempts = 0;
    try {
      await admin.add({ symbol: "AAAUSDT", strategy: "idle", exchange: "/gone/exchange.mjs" }, "idle");
      const worker = await fleetWorker({
        redis: { url: server.url },
        prefix,
        name: "w1",
        leaseMs: 200, // a round every 40 ms
        resolve: (spec, clock) => {
          if (spec.exchange !== "bundled") {
            attempts++;
            throw new Error(`cannot load the exchange module ${spec.exchange}: no such file`);
          }
          return { strategy: idle, exchange: bundledExchange(candles, clock) };
        },
      });
      workers.push(worker);
      await sleep(1_500);
      // 1 s then 2 s between attempts: 2 in 1.5 s (not one a round: ~37).
      expect(attempts).toBe(2);
      expect(await raw.exists(`${prefix}fence:AAAUSDT:idle`)).toBe(0);
      const { pairs } = await admin.list();
      expect(pairs).toEqual([
        {
          pair: "AAAUSDT:idle",
          spec: { symbol: "AAAUSDT", strategy: "idle", exchange: "/gone/exchange.mjs" },
          owner: null,
          status: "error",
          signalId: null,
          lastTickAt: null,
          token: null,
          error: "cannot load the exchange module /gone/exchange.mjs: no such file",
        },
      ]);
      const errors = (await admin.events()).filter((event) => event.action === "error");
      expect(errors.map(({ pair, worker: who, token, message }) => ({ pair, worker: who, token, message }))).toEqual([
        { pair: "AAAUSDT:idle", worker: "w1", token: 0, message: "cannot load the exchange module /gone/exchange.mjs: no such file" },
      ]);
      // Asked to drain, with no signal: drained for good at its next attempt.
      expect(await admin.drain("all")).toEqual(["AAAUSDT:idle"]);
      for (let n = 0; n < 150 && (await admin.list()).pairs[0]?.status !== "drained"; n++) await sleep(20);
      expect((await admin.list()).pairs[0]?.status).toBe("drained");
      const drained = (await admin.events()).filter((event) => event.action === "drained");
      expect(drained.map((event) => event.why)).toEqual(["it cannot start: cannot load the exchange module /gone/exchange.mjs: no such file"]);
      const tried = attempts;
      await sleep(300);
      expect(attempts).toBe(tried);
    } finally {
      await admin.close();
    }
  });
});
