// What /api/events and webhooks send for an event: eventJson (the object) and eventJsonText (the
// text the event stream writes, made directly for trade events) agree, character for character,
// for every kind a service announces, a pair id with quotes, backslashes and non-ASCII included.
import { expect, it } from "vitest";
import { memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { eventJson, type ServiceEvent, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { eventJsonText } from "../src/service/serviceEventJson";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

it("eventJsonText is JSON.stringify(eventJson(event)) for every kind of event", async () => {
  const clock = new VirtualClock(START);
  // 100, then 102 from minute 40: the long closes by take profit, the limit entry below 95 never fills.
  const exchange = replayExchange(candlesFromPrices(Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102))), clock);
  const asked = new Map<string, number>();
  const strategy: StrategySchema = {
    strategyName: 'mixed "q" \\ é',
    interval: "1m",
    getSignal: (symbol) => {
      const n = (asked.get(symbol) ?? 0) + 1;
      asked.set(symbol, n);
      if (symbol === "ERR" ) throw new Error('bad "input"\nline two');
      if (n !== 1) return null;
      return symbol === "LIMIT"
        ? { position: "long", priceOpen: 95, priceTakeProfit: 97, priceStopLoss: 93, minuteEstimatedTime: 60 }
        : { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 };
    },
  };
  const service = await startService({
    pairs: ["BTC/USDT", "LIMIT", "ERR"].map((symbol) => ({ symbol, strategy, exchange, config: { CC_SCHEDULE_AWAIT_MINUTES: 5 } })),
    store: memoryStore(),
    scheduler: clock,
    logger: false,
    metrics: false,
  });
  const events: ServiceEvent[] = [];
  service.events$.subscribe((event) => events.push(event));
  await clock.flushAsync(START + 40 * TICK);
  service.drainAll("test over");
  await clock.flushAsync(START + 400 * TICK);
  await service.done;

  const kinds = new Set(events.map((event) => event.kind));
  expect([...kinds].sort()).toEqual(["cancelled", "closed", "done", "draining", "error", "opened", "scheduled", "stopping"]);
  for (const event of events) expect(eventJsonText(event)).toBe(JSON.stringify(eventJson(event)));
  const closed = events.find((event) => event.kind === "closed")!;
  expect(JSON.parse(eventJsonText(closed))).toMatchObject({ kind: "closed", pair: 'BTC/USDT:mixed "q" \\ é', strategy: 'mixed "q" \\ é', reason: "take_profit", priceClose: 101 });
});
