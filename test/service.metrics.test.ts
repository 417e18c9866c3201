// rxtrade/service in process, on a VirtualClock: /metrics parsed by a strict Prometheus text
// parser, with rxtrade's series moving as trades happen (a tick counter, the position state,
// a close by take profit and its PnL, an error by class name, the store and exchange call
// histograms), /api/pairs, and the routes' 404 / 405 / HEAD.
import { afterEach, expect, it } from "vitest";
import { type Candle, type ExchangeSchema, memoryStore, replayExchange, type SignalStore, type StrategySchema } from "rxtrade";
import { EXCHANGE_SAMPLE_MS, ServiceConfigError, ServiceMetrics, type Service, serviceLogger, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { type Family, parsePrometheusText, sampleValue } from "./fixtures/prometheusText";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;

let service: Service | undefined;
let clock: VirtualClock | undefined;

afterEach(async () => {
  if (service === undefined) return;
  service.drainAll("test over");
  await clock?.flushAsync(START + 400 * TICK);
  await service.done;
  service = undefined;
});

// 100 until minute 40, then 102: a long with TP 101 opens at once and closes by take profit.
const prices = Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102));

/** AAA goes long at its first ask; BBB throws at its first (a StrategyError) and goes long at its second. */
function spikeStrategy(): StrategySchema {
  const asked = new Map<string, number>();
  return {
    strategyName: "spike",
    interval: "1m",
    getSignal: (symbol) => {
      const n = (asked.get(symbol) ?? 0) + 1;
      asked.set(symbol, n);
      if (symbol === "BBB" && n === 1) throw new Error("not ready yet");
      return n === (symbol === "BBB" ? 2 : 1) ? { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 } : null;
    },
  };
}

async function start(): Promise<{ url: string; lines: Array<Record<string, unknown>> }> {
  clock = new VirtualClock(START);
  const lines: Array<Record<string, unknown>> = [];
  // Answers as Promises, as a real exchange and a file store give them: those calls are timed.
  const replay = replayExchange(candlesFromPrices(prices), clock);
  const exchange: ExchangeSchema = { exchangeName: "replay", getCandles: async (...args) => replay.getCandles(...args) as Candle[] };
  const memory = memoryStore();
  const store: SignalStore = { read: async (key) => memory.read(key), write: async (key, value) => void memory.write(key, value), lock: memory.lock! };
  service = await startService({
    pairs: ["AAA", "BBB"].map((symbol) => ({ symbol, strategy: spikeStrategy(), exchange })),
    store,
    scheduler: clock,
    http: { host: "127.0.0.1", port: 0 },
    logger: serviceLogger({ destination: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) } }),
  });
  return { url: service.url as string, lines };
}

async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheusText(await response.text());
}

const A = { symbol: "AAA", strategy: "spike" };
const B = { symbol: "BBB", strategy: "spike" };

it("/metrics is valid Prometheus text whose series move as the pairs trade", async () => {
  const { url } = await start();
  // Before any tick: every pair's series exist, at zero.
  let metrics = await scrape(url);
  expect(sampleValue(metrics, "rxtrade_ticks_total", A)).toBe(0);
  expect(sampleValue(metrics, "rxtrade_position_state", A)).toBe(0);
  expect(sampleValue(metrics, "rxtrade_closed_total", { ...A, reason: "take_profit" })).toBe(0);
  expect(sampleValue(metrics, "rxtrade_pnl_percent_total", B)).toBe(0);
  expect(sampleValue(metrics, "rxtrade_tick_duration_seconds_count", B)).toBe(0);
  expect(metrics.get("rxtrade_tick_duration_seconds")?.type).toBe("histogram");
  expect(metrics.get("rxtrade_ticks_total")?.type).toBe("counter");
  expect(metrics.get("rxtrade_position_state")?.type).toBe("gauge");
  // prom-client's default process metrics are there too.
  expect(sampleValue(metrics, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
  expect(metrics.has("nodejs_heap_size_used_bytes")).toBe(true);

  // 21 ticks (0 … 20), then half a tick period more: both positions open.
  const began = performance.now();
  await clock!.flushAsync(START + 20 * TICK + 30_000);
  const tookMs = performance.now() - began;
  metrics = await scrape(url);
  expect(sampleValue(metrics, "rxtrade_ticks_total", A)).toBe(21);
  expect(sampleValue(metrics, "rxtrade_ticks_total", B)).toBe(21);
  // One tick in 8 of each pair is timed: ticks 0, 8 and 16.
  expect(sampleValue(metrics, "rxtrade_tick_duration_seconds_count", A)).toBe(3);
  expect(sampleValue(metrics, "rxtrade_position_state", A)).toBe(2);
  expect(sampleValue(metrics, "rxtrade_position_state", B)).toBe(2);
  expect(sampleValue(metrics, "rxtrade_errors_total", { ...B, kind: "StrategyError" })).toBe(1);
  expect(() => sampleValue(metrics, "rxtrade_errors_total", { ...A, kind: "StrategyError" })).toThrow("0 samples");
  expect(sampleValue(metrics, "rxtrade_last_tick_age_seconds", A)).toBe(30);
  expect(sampleValue(metrics, "rxtrade_store_write_seconds_count")).toBe(2); // each pair's "opened"
  // One getCandles per tick (the price; the strategy asks for none): 42 calls, of which the first
  // is timed, then at most one every 0.1 s of real time (the clock looked at every 8th call).
  const timedCalls = sampleValue(metrics, "rxtrade_exchange_call_seconds_count", { exchange: "replay" });
  expect(timedCalls).toBeGreaterThanOrEqual(1);
  expect(timedCalls).toBeLessThanOrEqual(Math.min(Math.ceil(42 / 8), 1 + Math.floor(tookMs / EXCHANGE_SAMPLE_MS)));

  const pairs = (await (await fetch(`${url}/api/pairs`)).json()) as Array<Record<string, any>>;
  expect(pairs.map((pair) => [pair.id, pair.status, pair.position])).toEqual([
    ["AAA:spike", "running", "opened"],
    ["BBB:spike", "running", "opened"],
  ]);
  expect(pairs[0]!.signal).toMatchObject({ status: "opened", position: "long", priceTakeProfit: 101, priceStopLoss: 99 });
  expect(pairs[0]!.statistics).toMatchObject({ totalClosed: 0, totalPnl: 0 });
  expect(pairs[0]!.lastTickAt).toBe(new Date(START + 20 * TICK).toISOString());

  // Minute 40 on: the price is 102, above the take profit.
  await clock!.flushAsync(START + 60 * TICK);
  metrics = await scrape(url);
  const [pairA] = service!.list();
  expect(pairA!.statistics.totalClosed).toBe(1);
  for (const labels of [A, B]) {
    expect(sampleValue(metrics, "rxtrade_closed_total", { ...labels, reason: "take_profit" })).toBe(1);
    expect(sampleValue(metrics, "rxtrade_closed_total", { ...labels, reason: "stop_loss" })).toBe(0);
    expect(sampleValue(metrics, "rxtrade_position_state", labels)).toBe(0);
    expect(sampleValue(metrics, "rxtrade_ticks_total", labels)).toBe(61);
  }
  expect(sampleValue(metrics, "rxtrade_pnl_percent_total", A)).toBeCloseTo(pairA!.statistics.totalPnl, 9);
  expect(pairA!.statistics.totalPnl).toBeGreaterThan(0.5);
  expect(sampleValue(metrics, "rxtrade_store_write_seconds_count")).toBe(4); // and each "closed"
  expect(sampleValue(metrics, "rxtrade_stalled", A)).toBe(0);
});

it("serves HEAD like GET, 405 with Allow for another method, 404 elsewhere", async () => {
  const { url } = await start();
  await clock!.flushAsync(START + 2 * TICK);
  const get = await fetch(`${url}/metrics`);
  const body = await get.text();
  const head = await fetch(`${url}/metrics`, { method: "HEAD" });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-type")).toBe(get.headers.get("content-type"));
  expect(Number(head.headers.get("content-length"))).toBeGreaterThan(1000);
  expect(await head.text()).toBe("");
  expect(Number(get.headers.get("content-length"))).toBe(Buffer.byteLength(body));

  const post = await fetch(`${url}/api/pairs`, { method: "POST" });
  expect(post.status).toBe(405);
  expect(post.headers.get("allow")).toBe("GET, HEAD");
  expect(await post.json()).toEqual({ error: "POST is not allowed on /api/pairs; use GET or HEAD" });

  const missing = await fetch(`${url}/healthz?x=1`);
  expect(missing.status).toBe(404);
  expect(await missing.json()).toEqual({ error: "nothing at /healthz; try GET /metrics, GET /health, GET /api/pairs, GET /, GET /api/events, POST /api/drain" });
  expect((await fetch(`${url}/health?verbose=1`)).status).toBe(200);
});

it("logs one JSON line per state change and per error, with the pair's fields", async () => {
  const { lines } = await start();
  await clock!.flushAsync(START + 60 * TICK);
  const pairLines = lines.filter((line) => line.pair !== undefined).map(({ time: _t, pid: _p, hostname: _h, ...rest }) => rest);
  const of = (pair: string) => pairLines.filter((line) => line.pair === pair).map((line) => `${line.level} ${line.msg}`);
  expect(of("AAA:spike")).toEqual(["info opened", "info closed"]);
  expect(of("BBB:spike")).toEqual(["warn error", "info opened", "info closed"]);
  const closed = pairLines.find((line) => line.msg === "closed" && line.pair === "AAA:spike")!;
  expect(closed).toMatchObject({ symbol: "AAA", strategy: "spike", action: "closed", position: "long", reason: "take_profit", priceTakeProfit: 101 });
  expect(closed.signalId).toMatch(/^[0-9a-f-]{36}$/);
  expect(closed.pnlPercent).toBeCloseTo(service!.list()[0]!.statistics.totalPnl, 5);
  const error = pairLines.find((line) => line.msg === "error")!;
  expect(error).toMatchObject({ pair: "BBB:spike", symbol: "BBB", strategy: "spike", kind: "StrategyError", level: "warn" });
  expect(String(error.error)).toContain("not ready yet");
  expect(lines[0]).toMatchObject({ level: "info", msg: "listening" });
});

it("refuses pairs that share an id, and a bad config, naming each pair", async () => {
  const exchange = replayExchange(candlesFromPrices(prices));
  const strategy = spikeStrategy();
  const attempt = startService({
    pairs: [
      { symbol: "AAA", strategy, exchange },
      { symbol: "BBB", strategy, exchange, config: { CC_STALL_TICKS: 0 } },
      { symbol: "AAA", strategy, exchange },
    ],
    store: memoryStore(),
    logger: false,
    metrics: false,
  });
  await expect(attempt).rejects.toThrow(ServiceConfigError);
  const error = (await attempt.catch((e: unknown) => e)) as ServiceConfigError;
  expect(error.problems).toEqual([
    { index: 1, symbol: "BBB", field: "(pair)", message: "invalid config: CC_STALL_TICKS (0) must be a positive integer" },
    {
      index: 2,
      symbol: "AAA",
      field: "strategy",
      message: "pair id AAA:spike is also pairs[0]'s: one pair per symbol and strategy name (their loops would share one store key); remove one, or give one another strategy",
    },
  ]);
});

it("escapes label values once, as Prometheus reads them back", async () => {
  const metrics = new ServiceMetrics({ defaultMetrics: false });
  const pair = metrics.pair('A"B\\C\nD', "s", () => 1.5);
  pair.tickStartedAt = performance.now() - 7; // its price was asked for 7 ms ago
  pair.tick();
  pair.error("Weird\"Error");
  const families = parsePrometheusText(await metrics.text());
  expect(sampleValue(families, "rxtrade_ticks_total", { symbol: 'A"B\\C\nD', strategy: "s" })).toBe(1);
  expect(sampleValue(families, "rxtrade_errors_total", { kind: 'Weird"Error' })).toBe(1);
  expect(sampleValue(families, "rxtrade_tick_duration_seconds_bucket", { le: "0.005" })).toBe(0);
  expect(sampleValue(families, "rxtrade_tick_duration_seconds_bucket", { le: "0.01" })).toBe(1);
  expect(sampleValue(families, "rxtrade_tick_duration_seconds_sum")).toBeCloseTo(0.007, 2);
  expect(sampleValue(families, "rxtrade_last_tick_age_seconds")).toBe(1.5);
  expect(families.get("rxtrade_store_write_seconds")?.type).toBe("histogram");
});

it("the Prometheus text parser of these tests rejects what Prometheus would", () => {
  const ok = "# HELP x_total X.\n# TYPE x_total counter\nx_total{a=\"1\"} 2\n";
  expect(sampleValue(parsePrometheusText(ok), "x_total", { a: "1" })).toBe(2);
  const bad: Array<[string, RegExp]> = [
    ["x_total 1\n", /no TYPE line/],
    [ok.replace("} 2", "} two"), /bad value/],
    [ok + 'x_total{a="1"} 3\n', /appears twice/],
    [ok.replace('a="1"', "a=1"), /not quoted/],
    [ok.slice(0, -1), /end with a newline/],
    ["# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", /not cumulative/],
    ["# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 2\n", /is not _count/],
    ["# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na 2\n", /continues after another/],
  ];
  for (const [text, error] of bad) expect(() => parsePrometheusText(text), text).toThrow(error);
});
