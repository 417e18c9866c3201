// examples/production.ts with a pair whose exchange stops answering (in process, on a
// VirtualClock): /health is 503 while the pair is "stalled", and a graceful stop waits for the
// stalled pair's open position instead of counting the pair as ended.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { main } from "../examples/production";

const TICK = 60_001;
let work: string | undefined;

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true });
});

it("a stalled pair makes /health 503, and the stop waits for its open position to close", async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-stalled-"));
  const clock = new VirtualClock(0);
  const replay = replayExchange(candlesFromPrices(Array.from({ length: 200 }, () => 100), { start: -10 * 60_000 }), clock);
  let stuckDown = false; // STUCK's candles never come while this holds
  const exchange: ExchangeSchema = {
    exchangeName: "sometimes-silent",
    getCandles: (symbol, interval, since, limit) => (symbol === "STUCK" && stuckDown ? new Promise<Candle[]>(() => {}) : replay.getCandles(symbol, interval, since, limit)),
  };
  // STUCK opens one long at once (closed by time after 60 minutes); OK never signals.
  let asked = 0;
  const holder: StrategySchema = {
    strategyName: "holder",
    interval: "1m",
    getSignal: (symbol) => (symbol === "STUCK" && asked++ === 0 ? { position: "long", priceTakeProfit: 110, priceStopLoss: 90, minuteEstimatedTime: 60 } : null),
  };
  const log: Array<Record<string, unknown>> = [];
  const production = await main({
    exchange,
    pairs: [
      { symbol: "OK", strategy: holder },
      { symbol: "STUCK", strategy: holder },
    ],
    store: memoryStore(),
    scheduler: clock,
    port: 0,
    reportDir: join(work, "reports"),
    log: (entry) => log.push(entry),
  });
  let exitCode: number | undefined;
  void production.done.then((code) => (exitCode = code));
  const url = `http://127.0.0.1:${production.port}/health`;

  await clock.flushAsync(2 * TICK);
  expect(log.filter((entry) => entry.msg === "opened").map((entry) => entry.symbol)).toEqual(["STUCK"]);
  expect((await fetch(url)).status).toBe(200);

  stuckDown = true;
  await clock.flushAsync(10 * TICK);
  const get = await fetch(url);
  expect(get.status).toBe(503);
  expect(await get.json()).toEqual([
    { id: "OK:holder", symbol: "OK", strategyName: "holder", status: "running" },
    { id: "STUCK:holder", symbol: "STUCK", strategyName: "holder", status: "stalled" },
  ]);
  const head = await fetch(url, { method: "HEAD" });
  expect(head.status).toBe(503);
  expect(await head.text()).toBe("");

  // The stop: OK ends at once; STUCK holds its position, so the process is not done.
  production.stop("test");
  await clock.flushAsync(11 * TICK);
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the /health and done chains run
  expect(log.filter((entry) => entry.msg === "done").map((entry) => entry.symbol)).toEqual(["OK"]);
  expect(exitCode).toBeUndefined();

  // The exchange answers again: the position runs to its close (by time), then everything ends.
  stuckDown = false;
  await clock.flushAsync(70 * TICK);
  expect(log.filter((entry) => entry.msg === "closed")).toEqual([expect.objectContaining({ symbol: "STUCK", reason: "time_expired" })]);
  expect(await production.done).toBe(0);
  expect(log.at(-1)).toMatchObject({ msg: "stopped", failed: 0 });
});
