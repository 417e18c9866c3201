// rxtrade/service's dashboard routes in process, against its real loopback HTTP server, on a
// VirtualClock: the drain routes (403 without a configured token and for a missing or wrong
// one, 404 for an unknown pair with its id, 200 and the pair drains with the right one, 409
// once it has ended, POST /api/drain ends the service), 405 for other methods, the page and
// its assets served from the package's files (uPlot's from the installed uplot), and
// /api/pairs' equity curve and distances to take profit and stop loss.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { afterEach, describe, expect, it } from "vitest";
import { memoryStore, replayExchange, type StrategySchema } from "rxtrade";
import { ArgumentRangeError, type Service, type ServiceEvent, startService } from "rxtrade/service";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const MINUTE = 60_000;
const TICK = 60_001;
const START = 10 * MINUTE;
const TOKEN = "7f3c9a1e5b2d4c6f8a0b1c2d3e4f5a6b";

let service: Service | undefined;
let clock: VirtualClock | undefined;

afterEach(async () => {
  if (service === undefined) return;
  service.drainAll("test over");
  await clock?.flushAsync(START + 400 * TICK);
  await service.done;
  service = undefined;
});

// 100 until minute 40, then 102: a long with TP 101 opens at the first tick and closes by take profit at minute 40.
const prices: number[] = Array.from({ length: 400 }, (_, minute) => (minute < 40 ? 100 : 102));

/** A long with TP 101 / SL 99 at its first ask, then nothing. */
function once(): StrategySchema {
  const asked = new Set<string>();
  return {
    strategyName: "once",
    interval: "1m",
    getSignal: (symbol) => {
      if (asked.has(symbol)) return null;
      asked.add(symbol);
      return { position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 120 };
    },
  };
}

async function start(token?: string, series = prices, strategy = once()): Promise<string> {
  clock = new VirtualClock(START);
  const exchange = replayExchange(candlesFromPrices(series), clock);
  service = await startService({
    pairs: ["AAA", "BTC/USDT"].map((symbol) => ({ symbol, strategy, exchange })),
    store: memoryStore(),
    scheduler: clock,
    http: { host: "127.0.0.1", port: 0, ...(token === undefined ? {} : { token }) },
    logger: false,
    defaultMetrics: false,
  });
  return service.url as string;
}

const post = (url: string, authorization?: string) => fetch(url, { method: "POST", ...(authorization === undefined ? {} : { headers: { authorization } }) });
const json = async (response: Response) => ({ status: response.status, body: (await response.json()) as Record<string, unknown> });
const draining = () => service!.list({ equity: false }).map((pair) => [pair.id, pair.status, pair.draining]);
// The id "BTC/USDT:once", URL-encoded as a path segment.
const BTC = encodeURIComponent("BTC/USDT:once");

describe("drain routes", () => {
  it("answer 403 without a configured token, whatever the request carries; the page has no drain buttons", async () => {
    const url = await start();
    await clock!.flushAsync(START + 5 * TICK);
    const off = {
      error: "draining over HTTP is off: start the service with a token (rxtrade run --token, or RXTRADE_TOKEN) and send it as Authorization: Bearer <token>",
    };
    expect(await json(await post(`${url}/api/drain`))).toEqual({ status: 403, body: off });
    expect(await json(await post(`${url}/api/drain`, `Bearer ${TOKEN}`))).toEqual({ status: 403, body: off });
    expect(await json(await post(`${url}/api/pairs/${BTC}/drain`, `Bearer ${TOKEN}`))).toEqual({ status: 403, body: off });
    expect(draining()).toEqual([
      ["AAA:once", "running", false],
      ["BTC/USDT:once", "running", false],
    ]);
    const page = await (await fetch(`${url}/`)).text();
    expect(page).toContain('<body data-drain="off">');
  });

  it("with a token: 403 for a missing or wrong one, 404 for an unknown pair, 200 drains the pair, 409 once it has ended", async () => {
    const url = await start(TOKEN);
    await clock!.flushAsync(START + 5 * TICK);
    const pairUrl = `${url}/api/pairs/${BTC}/drain`;
    const missing = { error: "this route needs the service's token (--token or RXTRADE_TOKEN) as Authorization: Bearer <token>" };
    const wrong = { error: "wrong token: send the service's --token (or RXTRADE_TOKEN) as Authorization: Bearer <token>" };
    expect(await json(await post(pairUrl))).toEqual({ status: 403, body: missing });
    expect(await json(await post(pairUrl, TOKEN))).toEqual({ status: 403, body: missing }); // no "Bearer"
    expect(await json(await post(pairUrl, `Basic ${TOKEN}`))).toEqual({ status: 403, body: missing });
    // Wrong: another token of the same length, a prefix, the token with a character more.
    expect(await json(await post(pairUrl, `Bearer ${TOKEN.slice(0, -1)}0`))).toEqual({ status: 403, body: wrong });
    expect(await json(await post(pairUrl, `Bearer ${TOKEN.slice(0, 8)}`))).toEqual({ status: 403, body: wrong });
    expect(await json(await post(pairUrl, `Bearer ${TOKEN}x`))).toEqual({ status: 403, body: wrong });
    expect(await json(await post(`${url}/api/drain`, `Bearer nope`))).toEqual({ status: 403, body: wrong });
    expect(service!.draining).toBe(false);
    expect(draining()).toEqual([
      ["AAA:once", "running", false],
      ["BTC/USDT:once", "running", false],
    ]);

    // An unknown pair, with the right token: 404 naming it (decoded) and the service's pairs.
    expect(await json(await post(`${url}/api/pairs/${encodeURIComponent("ETH/USDT:once")}/drain`, `Bearer ${TOKEN}`))).toEqual({
      status: 404,
      body: { error: 'no pair "ETH/USDT:once" in this service; its pairs: AAA:once, BTC/USDT:once (GET /api/pairs)', id: "ETH/USDT:once" },
    });

    // The right token (the scheme in any case): BTC/USDT drains — its open long runs to its close
    // by take profit, at tick 33 (once the price of 102 reaches the ticks).
    expect(await json(await post(pairUrl, `bearer ${TOKEN}`))).toEqual({ status: 200, body: { id: "BTC/USDT:once", draining: true } });
    expect(draining()).toEqual([
      ["AAA:once", "running", false],
      ["BTC/USDT:once", "running", true],
    ]);
    expect(service!.list()[1]!.signal).toMatchObject({ status: "opened", priceTakeProfit: 101 });
    await clock!.flushAsync(START + 32 * TICK);
    expect(draining()[1]).toEqual(["BTC/USDT:once", "running", true]);
    await clock!.flushAsync(START + 33 * TICK);
    expect(draining()).toEqual([
      ["AAA:once", "running", false],
      ["BTC/USDT:once", "done", true],
    ]);
    expect(service!.list()[1]!.statistics.totalClosed).toBe(1);
    // Drained: nothing more to drain.
    expect(await json(await post(pairUrl, `Bearer ${TOKEN}`))).toEqual({
      status: 409,
      body: { error: "pair BTC/USDT:once has ended (done): there is nothing to drain", id: "BTC/USDT:once", status: "done" },
    });
    expect(service!.draining).toBe(false);
  });

  it("POST /api/drain with the token drains every pair, and the service ends", async () => {
    const url = await start(TOKEN);
    const events: ServiceEvent[] = [];
    service!.events$.subscribe((event) => events.push(event));
    await clock!.flushAsync(START + 5 * TICK);
    expect(await json(await post(`${url}/api/drain`, `Bearer ${TOKEN}`))).toEqual({ status: 200, body: { draining: ["AAA:once", "BTC/USDT:once"] } });
    expect(service!.draining).toBe(true);
    expect(events.filter((event) => event.kind === "stopping")).toEqual([{ kind: "stopping", reason: "POST /api/drain from 127.0.0.1" }]);
    await clock!.flushAsync(START + 45 * TICK);
    expect(await service!.done).toEqual({ code: 0, failed: [] });
    expect(events.filter((event) => event.kind === "done").map((event) => (event as { pair: string }).pair)).toEqual(["AAA:once", "BTC/USDT:once"]);
    service = undefined;
  });

  it("answer 405 with Allow for another method, as /api/events does", async () => {
    const url = await start(TOKEN);
    for (const [method, path, allow] of [
      ["GET", "/api/drain", "POST"],
      ["PUT", "/api/drain", "POST"],
      ["GET", `/api/pairs/${BTC}/drain`, "POST"],
      ["DELETE", `/api/pairs/${BTC}/drain`, "POST"],
      ["POST", "/api/events", "GET, HEAD"],
      ["POST", "/", "GET, HEAD"],
    ] as const) {
      const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect([method, path, response.status, response.headers.get("allow")]).toEqual([method, path, 405, allow]);
      expect(await response.json()).toEqual({ error: `${method} is not allowed on ${path}; use ${allow.replace(", ", " or ")}` });
    }
    expect(draining().every(([, , isDraining]) => isDraining === false)).toBe(true);
  });
});

describe("the dashboard's files", () => {
  it("GET / is the page (drain buttons on with a token), /assets/ its script, style and uPlot from the installed package", async () => {
    const url = await start(TOKEN);
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'self'");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    const html = await page.text();
    expect(html).toContain('<body data-drain="on">');
    for (const asset of ["assets/uPlot.iife.min.js", "assets/uPlot.min.css", "assets/dashboard.js", "assets/dashboard.css"]) expect(html).toContain(`"${asset}"`);

    const script = await fetch(`${url}/assets/dashboard.js`);
    expect([script.status, script.headers.get("content-type")]).toEqual([200, "text/javascript; charset=utf-8"]);
    expect(await script.text()).toContain('new EventSource("api/events")');
    const uplot = await fetch(`${url}/assets/uPlot.iife.min.js`);
    expect(uplot.status).toBe(200);
    const installed = await readFile(createRequire(import.meta.url).resolve("uplot/dist/uPlot.iife.min.js"));
    expect(Buffer.from(await uplot.arrayBuffer()).equals(installed)).toBe(true);
    expect((await fetch(`${url}/assets/uPlot.min.css`)).headers.get("content-type")).toBe("text/css; charset=utf-8");

    const head = await fetch(`${url}/`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
    expect(await json(await fetch(`${url}/assets/index.php`))).toEqual({ status: 404, body: { error: "no asset index.php; the dashboard is at /" } });
    expect((await fetch(`${url}/assets/../package.json`)).status).toBe(404);
  });
});

describe("/api/pairs", () => {
  it("has each pair's equity curve (the sum of its closed PnL at each close) and the open signal's distance to TP and SL", async () => {
    // Up 2 % every 10 minutes: each long (TP +1 %, SL -1 % of its entry) closes by take profit as the price climbs.
    const rising = Array.from({ length: 400 }, (_, minute) => 100 * 1.02 ** Math.floor(minute / 10));
    const strategy: StrategySchema = {
      strategyName: "climb",
      interval: "1m",
      getSignal: (_symbol, _when, context) => ({ position: "long", priceTakeProfit: context.currentPrice * 1.01, priceStopLoss: context.currentPrice * 0.99, minuteEstimatedTime: 120 }),
    };
    const url = await start(undefined, rising, strategy);
    const closes: Array<{ pair: string; at: number; pnl: number }> = [];
    service!.events$.subscribe((event) => {
      if (event.kind === "closed" && event.result.action === "closed") closes.push({ pair: event.pair, at: event.at, pnl: event.result.pnl.pnlPercentage });
    });
    await clock!.flushAsync(START + 57 * TICK);

    const pairs = (await (await fetch(`${url}/api/pairs`)).json()) as Array<Record<string, any>>;
    const aaa = pairs[0]!;
    const mine = closes.filter((close) => close.pair === "AAA:climb");
    expect(mine.length).toBe(8);
    let sum = 0;
    expect(aaa.equity).toEqual(mine.map((close) => [close.at, (sum += close.pnl)]));
    expect(aaa.statistics.totalClosed).toBe(8);
    expect(aaa.equity.at(-1)[1]).toBeCloseTo(aaa.statistics.totalPnl, 10);
    // Each closes at its take profit, +1 %, less fees and slippage: +0.598 %.
    expect(mine.map((close) => close.pnl.toFixed(6))).toEqual(Array.from({ length: 8 }, () => "0.598202"));

    // The long open now: its TP 1 % above its entry and SL 1 % below, measured from the last price.
    expect(aaa.signal).toMatchObject({ status: "opened", position: "long" });
    const { priceOpen, priceTakeProfit, priceStopLoss, toTakeProfitPercent, toStopLossPercent } = aaa.signal as Record<"priceOpen" | "priceTakeProfit" | "priceStopLoss" | "toTakeProfitPercent" | "toStopLossPercent", number>;
    const last = aaa.price as number;
    expect(priceTakeProfit / priceOpen).toBeCloseTo(1.01, 12);
    expect(toTakeProfitPercent).toBeCloseTo(((priceTakeProfit - last) / last) * 100, 12);
    expect(toStopLossPercent).toBeCloseTo(((priceStopLoss - last) / last) * 100, 12);
    expect(toTakeProfitPercent).toBeGreaterThan(0);
    expect(toStopLossPercent).toBeLessThan(0);

    const lean = (await (await fetch(`${url}/api/pairs?equity=false`)).json()) as Array<Record<string, any>>;
    expect(lean.map((pair) => "equity" in pair)).toEqual([false, false]);
    expect(lean[0]!.statistics.totalClosed).toBe(8);
  });
});

it("refuses a token that cannot go in an Authorization header, before anything starts", async () => {
  for (const token of ["", "two words", "tab\there", "é-accent"]) {
    const starting = startService({
      pairs: [{ symbol: "AAA", strategy: once(), exchange: replayExchange(candlesFromPrices(prices)) }],
      store: memoryStore(),
      http: { host: "127.0.0.1", port: 0, token },
      logger: false,
      metrics: false,
    });
    await expect(starting).rejects.toThrow(ArgumentRangeError);
    await expect(starting).rejects.toThrow(`http.token (${token.length} characters) must be a non-empty string of visible ASCII characters, no spaces`);
  }
});
