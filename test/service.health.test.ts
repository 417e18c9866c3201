// rxtrade/service's /health on a VirtualClock: a pair whose exchange hangs turns it to 503 once
// it has gone CC_STALL_TICKS tick periods (its own config: 3) without a completed tick on its
// clock, and back to 200 at its next completed tick; a pair whose loop failed is 503 too; a
// drain is healthy, and `done` comes once the last open position has closed.
import { afterEach, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, type LockRelease, memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { type Service, serviceLogger, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

let service: Service | undefined;
let clock: VirtualClock | undefined;

afterEach(async () => {
  if (service === undefined) return;
  service.drainAll("test over");
  await clock?.flushAsync(START + 1000 * TICK);
  await service.done;
  service = undefined;
});

const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };

it("a pair whose exchange hangs makes /health 503 at its stall limit, and 200 again once it ticks", async () => {
  clock = new VirtualClock(START, { callGraceMs: 20 });
  const replay = replayExchange(candlesFromPrices(Array.from({ length: 400 }, () => 100)), clock);
  let down = false;
  const exchange: ExchangeSchema = {
    exchangeName: "sometimes-silent",
    getCandles: (symbol, interval, since, limit) => (symbol === "STUCK" && down ? new Promise<Candle[]>(() => {}) : replay.getCandles(symbol, interval, since, limit)),
  };
  const lines: Array<Record<string, unknown>> = [];
  service = await startService({
    pairs: [
      { symbol: "OK", strategy: quiet, exchange },
      { symbol: "STUCK", strategy: quiet, exchange, config: { CC_STALL_TICKS: 3 } },
    ],
    store: memoryStore(),
    scheduler: clock,
    http: { host: "127.0.0.1", port: 0 },
    logger: serviceLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } }),
  });
  const url = `${service.url}/health`;

  await clock.flushAsync(START + 2 * TICK);
  let health = await fetch(url);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: "ok", draining: false, pairs: 2, stalled: [], failed: [] });

  // STUCK's last completed tick is at START + 2 ticks; its limit is 3 tick periods (180.003 s).
  down = true;
  const lastTick = START + 2 * TICK;
  await clock.flushAsync(lastTick + 3 * TICK - 1);
  expect((await fetch(url)).status).toBe(200);
  await clock.flushAsync(lastTick + 3 * TICK);
  health = await fetch(url);
  expect(health.status).toBe(503);
  expect(await health.json()).toEqual({
    status: "unhealthy",
    draining: false,
    pairs: 2,
    stalled: [{ id: "STUCK:quiet", lastTickAt: new Date(lastTick).toISOString(), lastTickAgeSeconds: 180.003, stallLimitSeconds: 180.003 }],
    failed: [],
  });
  const head = await fetch(url, { method: "HEAD" });
  expect(head.status).toBe(503);
  expect(await head.text()).toBe("");
  expect(service.list().map((pair) => pair.status)).toEqual(["running", "stalled"]);

  // The engine's stall watch says so within a tick period: a log line and rxtrade_stalled.
  await clock.flushAsync(lastTick + 4 * TICK);
  expect(lines.filter((line) => line.msg === "stalled")).toEqual([
    expect.objectContaining({ level: "warn", pair: "STUCK:quiet", symbol: "STUCK", kind: "StreamStalledError", stallLimitSeconds: 180.003 }),
  ]);
  let metrics = parsePrometheusText(await (await fetch(`${service.url}/metrics`)).text());
  expect(sampleValue(metrics, "rxtrade_stalled", { symbol: "STUCK" })).toBe(1);
  expect(sampleValue(metrics, "rxtrade_stalled", { symbol: "OK" })).toBe(0);
  expect(sampleValue(metrics, "rxtrade_last_tick_age_seconds", { symbol: "STUCK" })).toBe(240.004);
  expect(sampleValue(metrics, "rxtrade_errors_total", { symbol: "STUCK", kind: "StreamStalledError" })).toBe(1);
  expect(sampleValue(metrics, "rxtrade_errors_total", { symbol: "STUCK", kind: "ExchangeError" })).toBeGreaterThanOrEqual(1);

  // The exchange answers again: the next tick completes, and the pair is healthy.
  down = false;
  await clock.flushAsync(lastTick + 6 * TICK);
  health = await fetch(url);
  expect(health.status).toBe(200);
  expect(service.list().map((pair) => pair.status)).toEqual(["running", "running"]);
  expect(lines.filter((line) => line.msg === "recovered").map((line) => line.pair)).toEqual(["STUCK:quiet"]);
  metrics = parsePrometheusText(await (await fetch(`${service.url}/metrics`)).text());
  expect(sampleValue(metrics, "rxtrade_stalled", { symbol: "STUCK" })).toBe(0);
});

it("a pair whose loop failed makes /health 503 naming it; a drain is healthy and ends once the open position closes", async () => {
  clock = new VirtualClock(START, { callGraceMs: 20 });
  // 100, then 102 from minute 40: a long with TP 101 opened at once closes by take profit.
  const exchange = replayExchange(candlesFromPrices(Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102))), clock);
  let asked = 0;
  const holder: StrategySchema = {
    strategyName: "holder",
    interval: "1m",
    getSignal: () => (asked++ === 0 ? { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 } : null),
  };
  const store = memoryStore();
  const release = (await store.lock!("LOCKED:holder")) as LockRelease; // another holder of that key
  const lines: Array<Record<string, unknown>> = [];
  service = await startService({
    pairs: [
      { symbol: "HOLD", strategy: holder, exchange },
      { symbol: "LOCKED", strategy: holder, exchange },
    ],
    store,
    scheduler: clock,
    http: { host: "127.0.0.1", port: 0 },
    logger: serviceLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } }),
  });
  let ended: unknown;
  void service.done.then((end) => (ended = end));
  try {
    await clock.flushAsync(START + 5 * TICK);
    const health = await fetch(`${service.url}/health`);
    expect(health.status).toBe(503);
    const body = (await health.json()) as { failed: Array<Record<string, string>>; stalled: unknown[] };
    expect(body.stalled).toEqual([]);
    expect(body.failed).toEqual([{ id: "LOCKED:holder", kind: "StoreLockedError", message: expect.stringContaining("LOCKED:holder") }]);
    expect(service.list().map((pair) => [pair.id, pair.status, pair.position])).toEqual([
      ["HOLD:holder", "running", "opened"],
      ["LOCKED:holder", "failed", "none"],
    ]);

    // The drain: HOLD's position runs to its close; the pairs are not stalled meanwhile.
    service.drainAll("SIGTERM");
    expect(service.drain("LOCKED:holder")).toBe(false); // it has ended
    await clock.flushAsync(START + 20 * TICK);
    expect(ended).toBeUndefined();
    expect(service.list()[0]).toMatchObject({ status: "running", draining: true, position: "opened" });
    await clock.flushAsync(START + 60 * TICK);
    expect(await service.done).toEqual({ code: 1, failed: ["LOCKED:holder"] });
  } finally {
    release();
  }
  expect(lines.map((line) => `${line.pair ?? "-"} ${line.msg}`)).toEqual([
    "- listening",
    "- started",
    "LOCKED:holder error",
    "LOCKED:holder failed",
    "HOLD:holder opened",
    "- stopping",
    "HOLD:holder draining",
    "HOLD:holder closed",
    "HOLD:holder done",
    "- stopped",
  ]);
  service = undefined;
});
