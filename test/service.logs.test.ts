// rxtrade/service's log lines of trades: written directly for a serviceLogger logger (pino's
// generic path costs some 10 µs a line, one per trade of every pair), the same text pino writes
// — checked against a pino logger made with the same options, for every kind of trade line.
import { expect, it } from "vitest";
import pino from "pino";
import { memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { serviceLogger, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { isoFormatter } from "../src/service/isoTime";
import { directInfoLines } from "../src/service/serviceLogger";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

/** The lines of a run: a long that closes by take profit, a limit entry cancelled, a short that closes by time; ids numbered in order. */
async function run(logger: (write: (line: string) => void) => pino.Logger): Promise<string[]> {
  const clock = new VirtualClock(START);
  const exchange = replayExchange(candlesFromPrices(Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102))), clock);
  const asked = new Map<string, number>();
  const strategy: StrategySchema = {
    strategyName: 'mix "q" é',
    interval: "1m",
    getSignal: (symbol) => {
      const n = (asked.get(symbol) ?? 0) + 1;
      asked.set(symbol, n);
      if (n !== 1) return null;
      if (symbol === "LIMIT") return { position: "long", priceOpen: 95, priceTakeProfit: 97, priceStopLoss: 93, minuteEstimatedTime: 60 };
      if (symbol === "SHORT") return { position: "short", priceTakeProfit: 97.5, priceStopLoss: 103, minuteEstimatedTime: 3 };
      return { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 };
    },
  };
  const lines: string[] = [];
  const service = await startService({
    pairs: ["BTC/USDT", "LIMIT", "SHORT"].map((symbol) => ({ symbol, strategy, exchange, config: { CC_SCHEDULE_AWAIT_MINUTES: 5 } })),
    store: memoryStore(),
    scheduler: clock,
    logger: logger((line) => lines.push(line)),
    metrics: false,
  });
  await clock.flushAsync(START + 40 * TICK);
  service.drainAll("test over");
  await clock.flushAsync(START + 400 * TICK);
  await service.done;
  let n = 0;
  const ids = new Map<string, string>();
  return lines.map((line) =>
    line.replace(/"time":"[^"]+"/, '"time":"T"').replace(/"signalId":"([^"]+)"/, (_, id: string) => `"signalId":"${ids.get(id) ?? (ids.set(id, `s${++n}`), ids.get(id))}"`),
  );
}

it("the trade lines of a serviceLogger logger are the text pino writes for them", async () => {
  const direct = await run((write) => serviceLogger({ destination: { write } }));
  // The same options as serviceLogger's, in a logger of pino's own: every line goes through pino.
  const wallClock = isoFormatter();
  const viaPino = await run((write) => pino({ level: "info", timestamp: () => `,"time":"${wallClock(Date.now())}"`, formatters: { level: (label) => ({ level: label }) } }, { write }));

  const trades = (lines: string[]) => lines.filter((line) => /"msg":"(scheduled|opened|closed|cancelled)"/.test(line));
  expect(trades(direct).map((line) => JSON.parse(line).msg)).toEqual(["opened", "scheduled", "opened", "closed", "cancelled", "closed"]);
  expect(trades(direct)).toEqual(trades(viaPino));
  expect(direct).toEqual(viaPino);
  const closed = JSON.parse(trades(direct)[3]!) as Record<string, unknown>;
  expect(Object.keys(closed)).toEqual([
    "level", "time", "pid", "hostname", "pair", "symbol", "strategy",
    "action", "at", "signalId", "position", "price", "priceOpen", "priceTakeProfit", "priceStopLoss", "reason", "pnlPercent", "priceClose", "msg",
  ]);
  expect(closed).toMatchObject({ level: "info", pid: process.pid, pair: 'SHORT:mix "q" é', action: "closed", reason: "time_expired" });
});

it("writes no trade line while the pair's logger has info off", async () => {
  const lines = await run((write) => serviceLogger({ level: "warn", destination: { write } }));
  expect(lines.filter((line) => line.includes('"level":"info"'))).toEqual([]);
});

it("writes directly only for a serviceLogger logger; another pino logger keeps pino's path", () => {
  const lines: string[] = [];
  const ours = serviceLogger({ destination: { write: (line: string) => lines.push(line) } });
  const child = ours.child({ pair: "A:s" });
  const write = directInfoLines(ours, child, { pair: "A:s" });
  expect(write).toBeTypeOf("function");
  write!(',"action":"opened","n":1', "opened");
  child.info({ action: "opened", n: 1 }, "opened");
  const [direct, viaPino] = lines.map((line) => line.replace(/"time":"[^"]+"/, '"time":"T"'));
  expect(direct).toBe(viaPino);
  expect(JSON.parse(direct!)).toMatchObject({ level: "info", pair: "A:s", action: "opened", n: 1, msg: "opened" });
  const other = pino({}, { write: () => undefined });
  expect(directInfoLines(other, other.child({ pair: "A:s" }), { pair: "A:s" })).toBeUndefined();
});
