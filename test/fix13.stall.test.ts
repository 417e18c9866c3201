// Issue 13 review, fix 1: under --speed (a paced clock, which does not move while an exchange
// call is in flight) a hung exchange is a stall within the stall limit's wall-clock length
// (CC_STALL_TICKS x tickMs of wall time), not only once the call's own 30 s limit gives up:
// /health turns 503 within it and back to 200 once the exchange answers, after a hold of one
// tick period; the stall's message gives the limit in wall time (3 x 1000 ms = 3 s, not 5400 s).
import { afterEach, beforeAll, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, memoryStore, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { bundledExchange, pacedScheduler, type PacedScheduler, type Service, type ServiceEvent, startService } from "rxtrade/service";
import { stallMessage } from "../src/service/serviceViews";

const MINUTE = 60_000;
const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };

let candles: Candle[];
let service: Service | undefined;
let clocks: PacedScheduler[] = [];
beforeAll(async () => {
  candles = await csvCandles(BUNDLED_BTCUSDT_1M);
});
afterEach(async () => {
  service?.drainAll("test over");
  await service?.done;
  for (const clock of clocks) clock.stop();
  service = undefined;
  clocks = [];
});

const until = async (what: () => boolean, withinMs: number): Promise<number> => {
  const start = performance.now();
  while (!what()) {
    if (performance.now() - start > withinMs) return Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return performance.now() - start;
};

it("at --speed, a hung exchange is stalled within CC_STALL_TICKS x tickMs of wall time, and healthy again once it answers", async () => {
  // --speed 60: 3600 clock ms per wall ms. tickMs 100, CC_STALL_TICKS 3: the limit is 300 ms of wall time.
  const speed = (60 * MINUTE) / 1000;
  const clock = pacedScheduler({ origin: Date.parse("2023-03-08T12:00Z"), speed });
  clocks.push(clock);
  const inner = bundledExchange(candles, clock);
  let down = false;
  const held: Array<() => void> = [];
  const exchange: ExchangeSchema = {
    exchangeName: "sometimes-silent",
    getCandles: (symbol, interval, since, limit) =>
      down ? new Promise<Candle[]>((resolve) => held.push(() => resolve(inner.getCandles(symbol, interval, since, limit) as Candle[] | Promise<Candle[]>))) : inner.getCandles(symbol, interval, since, limit),
  };
  service = await startService({
    pairs: [{ symbol: "STUCK", strategy: quiet, exchange, scheduler: clock, tickMs: 100, config: { CC_STALL_TICKS: 3 } }],
    store: memoryStore(),
    logger: false,
    metrics: false,
  });
  const running = service;
  const events: ServiceEvent[] = [];
  let healthAtRecovery: ReturnType<Service["health"]> | undefined;
  running.events$.subscribe((event) => {
    events.push(event);
    if (event.kind === "recovered") healthAtRecovery = running.health();
  });
  expect(await until(() => running.list()[0]?.lastTickAt !== null, 2000)).toBeLessThan(2000);
  expect(running.health().status).toBe("ok");

  down = true;
  // The hang starts at the next tick (within a tick period, 100 ms of wall time), the stall 300 ms after the last completed tick.
  const stalledIn = await until(() => running.health().status === "unhealthy", 1500);
  expect(stalledIn).toBeLessThan(100 + 300 + 250);
  expect(running.health().stalled.map((pair) => pair.id)).toEqual(["STUCK:quiet"]);
  expect(await until(() => events.some((event) => event.kind === "stalled"), 500)).toBeLessThan(500);
  const stalled = events.find((event) => event.kind === "stalled") as Extract<ServiceEvent, { kind: "stalled" }>;
  expect(stalled.message).toContain("the limit: CC_STALL_TICKS x tickMs = 3 x 100 ms = 0.3 s of wall time");
  expect(held.length).toBeGreaterThanOrEqual(1);

  down = false;
  for (const release of held.splice(0)) release();
  expect(await until(() => events.some((event) => event.kind === "recovered"), 1000)).toBeLessThan(1000);
  // Held for one tick period after the recovery: a probe still sees the stall.
  expect(healthAtRecovery?.status).toBe("unhealthy");
  expect(healthAtRecovery?.stalled).toEqual([expect.objectContaining({ id: "STUCK:quiet", recoveredAt: expect.any(String) })]);
  expect(await until(() => running.health().status === "ok", 1000)).toBeLessThan(1000);
  expect(events.filter((event) => event.kind === "stalled" || event.kind === "recovered").map((event) => event.kind)).toEqual(["stalled", "recovered"]);
});

it("a stall's message gives the limit as CC_STALL_TICKS x tickMs, in wall time under --speed", () => {
  // CC_STALL_TICKS 3, tickMs 1000 at --speed 30 (1800 clock ms per wall ms): 5400 s on the clock is 3 s.
  const scale = (30 * MINUTE) / 1000;
  expect(stallMessage(3 * 1000 * scale, 3 * 1000 * scale, 1000, scale)).toBe(
    "no completed tick for 3 s of wall time (5400 s on its clock, which runs 1800 times as fast; the limit: CC_STALL_TICKS x tickMs = 3 x 1000 ms = 3 s of wall time)",
  );
  expect(stallMessage(3000, 3000, 1000, undefined)).toBe("no completed tick for 3 s on its clock (the limit: CC_STALL_TICKS x tickMs = 3 s)");
});
