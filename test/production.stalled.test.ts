// examples/production.ts with a pair whose exchange stops answering (in process, on a
// VirtualClock): /health is 503 while the pair is stalled, and a drain waits for the stalled
// pair's open position instead of counting the pair as ended.
import { expect, it } from "vitest";
import { type Candle, type ExchangeSchema, memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { serviceLogger } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { main } from "../examples/production";

const TICK = 60_001;

it("a stalled pair makes /health 503, and the drain waits for its open position to close", async () => {
  const clock = new VirtualClock(0, { callGraceMs: 20 });
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
  const service = await main({
    pairs: [
      { symbol: "OK", strategy: holder, exchange, scheduler: clock },
      { symbol: "STUCK", strategy: holder, exchange, scheduler: clock },
    ],
    store: memoryStore(),
    port: 0,
    logger: serviceLogger({ destination: { write: (line: string) => log.push(JSON.parse(line) as Record<string, unknown>) } }),
  });
  let exitCode: number | undefined;
  void service.done.then(({ code }) => (exitCode = code));
  const url = `${service.url}/health`;

  await clock.flushAsync(2 * TICK);
  expect(log.filter((entry) => entry.msg === "opened").map((entry) => entry.symbol)).toEqual(["STUCK"]);
  expect((await fetch(url)).status).toBe(200);

  stuckDown = true;
  await clock.flushAsync(10 * TICK);
  const get = await fetch(url);
  expect(get.status).toBe(503);
  expect(((await get.json()) as { stalled: Array<{ id: string }> }).stalled.map((pair) => pair.id)).toEqual(["STUCK:holder"]);
  expect(service.list().map((pair) => [pair.id, pair.status, pair.position])).toEqual([
    ["OK:holder", "running", "none"],
    ["STUCK:holder", "stalled", "opened"],
  ]);
  const head = await fetch(url, { method: "HEAD" });
  expect(head.status).toBe(503);
  expect(await head.text()).toBe("");

  // The drain: OK ends at once; STUCK holds its position, so the service is not done.
  service.drainAll("test");
  await clock.flushAsync(11 * TICK);
  await new Promise((resolve) => setTimeout(resolve, 50)); // let the done chain run
  expect(log.filter((entry) => entry.msg === "done").map((entry) => entry.symbol)).toEqual(["OK"]);
  expect(exitCode).toBeUndefined();

  // The exchange answers again: the position runs to its close (by time), then everything ends.
  stuckDown = false;
  await clock.flushAsync(70 * TICK);
  expect(log.filter((entry) => entry.msg === "closed")).toEqual([expect.objectContaining({ symbol: "STUCK", reason: "time_expired" })]);
  expect(await service.done).toEqual({ code: 0, failed: [] });
  expect(log.at(-1)).toMatchObject({ msg: "stopped", code: 0 });
});
