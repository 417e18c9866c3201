// Issue 13 review, fix 10: rxtrade_last_tick_age_seconds of a drained pair read 0 (its clock no
// longer moves), as if it had just ticked: the series is left out once the pair has ended.
import { expect, it } from "vitest";
import { memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const MINUTE = 60_000;
const quiet: StrategySchema = { strategyName: "quiet", interval: "1m", getSignal: () => null };

it("a drained pair has no rxtrade_last_tick_age_seconds; a running one has its age", async () => {
  const clock = new VirtualClock(10 * MINUTE, { callGraceMs: 20 });
  const exchange = replayExchange(candlesFromPrices(Array.from({ length: 400 }, () => 100)), clock);
  const service = await startService({
    pairs: [
      { symbol: "GONE", strategy: quiet, exchange },
      { symbol: "LIVE", strategy: quiet, exchange },
    ],
    store: memoryStore(),
    scheduler: clock,
    logger: false,
    defaultMetrics: false,
  });
  await clock.flushAsync(10 * MINUTE + 3 * 60_001);
  expect(service.drain("GONE:quiet")).toBe(true);
  await clock.flushAsync(10 * MINUTE + 6 * 60_001 + 30_000);
  expect(service.list().map((pair) => [pair.id, pair.status])).toEqual([
    ["GONE:quiet", "done"],
    ["LIVE:quiet", "running"],
  ]);
  const metrics = parsePrometheusText(await service.metrics());
  expect(() => sampleValue(metrics, "rxtrade_last_tick_age_seconds", { symbol: "GONE" })).toThrow("0 samples");
  expect(sampleValue(metrics, "rxtrade_last_tick_age_seconds", { symbol: "LIVE" })).toBe(30);
  service.drainAll("test over");
  await clock.flushAsync(10 * MINUTE + 100 * 60_001);
  await service.done;
});
