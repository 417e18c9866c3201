// rxtrade/ccxt over a real ccxt binance instance whose HTTP layer answers with canned binance
// responses: ccxt builds the requests, applies its rate limiter, parses exchangeInfo and klines
// and maps HTTP failures to its own error classes itself. Nothing here touches the network:
// `fetchImplementation` (ccxt's transport) is replaced on every instance before its first
// request; an instance without one cannot pick a real HTTP client (see beforeEach); the global
// `fetch` throws; and each test checks that ccxt never loaded undici, its own HTTP client.
import ccxt from "ccxt";
import { lastValueFrom, take, toArray } from "rxjs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ExchangeError, listenError, liveTrade$, type Candle, type SignalDto, type StrategySchema, type TickResult } from "rxtrade";
import { ccxtExchange } from "rxtrade/ccxt";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";

const MINUTE = 60_000;
const T0 = Date.parse("2023-03-01T00:00:00Z");

type Binance = InstanceType<typeof ccxt.binance>;
type Responder = (url: URL) => Response | Promise<Response>;

// --- canned binance ---------------------------------------------------------------------------

const spotPair = (symbol: string, base: string, quote: string, tickSize: string, stepSize: string) => ({
  symbol,
  status: "TRADING",
  baseAsset: base,
  quoteAsset: quote,
  baseAssetPrecision: 8,
  quotePrecision: 8,
  quoteAssetPrecision: 8,
  orderTypes: ["LIMIT", "MARKET"],
  isSpotTradingAllowed: true,
  isMarginTradingAllowed: false,
  permissions: ["SPOT"],
  permissionSets: [["SPOT"]],
  filters: [
    { filterType: "PRICE_FILTER", minPrice: tickSize, maxPrice: "1000000.00000000", tickSize },
    { filterType: "LOT_SIZE", minQty: stepSize, maxQty: "9000.00000000", stepSize },
  ],
});
const perpetual = (symbol: string, base: string, tickSize: string, stepSize: string) => ({
  symbol,
  pair: symbol,
  contractType: "PERPETUAL",
  status: "TRADING",
  baseAsset: base,
  quoteAsset: "USDT",
  marginAsset: "USDT",
  pricePrecision: 2,
  quantityPrecision: 3,
  baseAssetPrecision: 8,
  quotePrecision: 8,
  underlyingType: "COIN",
  deliveryDate: 4133404800000,
  onboardDate: 1569398400000,
  filters: [
    { filterType: "PRICE_FILTER", minPrice: "0.10", maxPrice: "4529764", tickSize },
    { filterType: "LOT_SIZE", minQty: stepSize, maxQty: "1000", stepSize },
  ],
});
const SPOT_INFO = {
  timezone: "UTC",
  serverTime: T0,
  symbols: [
    spotPair("BTCUSDT", "BTC", "USDT", "0.01000000", "0.00001000"),
    spotPair("ETHUSDT", "ETH", "USDT", "0.01000000", "0.00010000"),
    spotPair("ETHBTC", "ETH", "BTC", "0.00001000", "0.00010000"),
    spotPair("XRPUSDT", "XRP", "USDT", "0.00010000", "1.00000000"),
  ],
};
const LINEAR_INFO = { symbols: [perpetual("BTCUSDT", "BTC", "0.10", "0.001"), perpetual("ETHUSDT", "ETH", "0.01", "0.001")] };
const INVERSE_INFO = { symbols: [] };

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

/** Binance klines rows (strings, as the API sends them) for `series` from `startTime`, `limit` of them. */
function klinesOf(series: readonly Candle[], url: URL, cap = 1000): unknown[][] {
  const start = Number(url.searchParams.get("startTime"));
  const limit = Math.min(Number(url.searchParams.get("limit")), cap);
  return series
    .filter((c) => c.timestamp >= start)
    .slice(0, limit)
    .map((c) => [c.timestamp, `${c.open}`, `${c.high}`, `${c.low}`, `${c.close}`, `${c.volume}`, c.timestamp + MINUTE - 1, "0", 1, "0", "0", "0"]);
}

interface Canned {
  exchange: Binance;
  /** Every HTTP request ccxt made, in order. */
  requests: URL[];
  /** The klines requests (spot and futures). */
  klines(): URL[];
  /** exchangeInfo requests per path. */
  marketLoads(): Record<string, number>;
  /** Answers the next requests with these instead (first in, first used). */
  failNext(...responders: Responder[]): void;
}

const exchanges: Binance[] = [];

/** Puts the canned binance API behind `exchange`'s HTTP transport; `klines` answers candle requests (rows or a Response). */
function canned(exchange: Binance, klines: (url: URL) => unknown[][] | Response): Canned {
  exchanges.push(exchange);
  const requests: URL[] = [];
  const overrides: Responder[] = [];
  exchange.fetchImplementation = async (href: string) => {
    const url = new URL(href);
    requests.push(url);
    const override = overrides.shift();
    if (override !== undefined) return override(url);
    switch (url.pathname) {
      case "/api/v3/exchangeInfo":
        return json(SPOT_INFO);
      case "/fapi/v1/exchangeInfo":
        return json(LINEAR_INFO);
      case "/dapi/v1/exchangeInfo":
        return json(INVERSE_INFO);
      case "/api/v3/klines":
      case "/fapi/v1/klines": {
        const answer = klines(url);
        return answer instanceof Response ? answer : json(answer);
      }
      default:
        return json({ code: -1, msg: `no canned response for ${url.pathname}` }, 404);
    }
  };
  return {
    exchange,
    requests,
    klines: () => requests.filter((url) => url.pathname.endsWith("/klines")),
    marketLoads: () => {
      const loads: Record<string, number> = {};
      for (const url of requests) if (url.pathname.endsWith("/exchangeInfo")) loads[url.pathname] = (loads[url.pathname] ?? 0) + 1;
      return loads;
    },
    failNext: (...responders) => overrides.push(...responders),
  };
}

/** binance with its rate limiter on, refilling every 5 ms instead of 50 to keep the suite quick. */
function fastBinance(): Binance {
  return new ccxt.binance({ rateLimit: 5 });
}

function cannedBinance(series: readonly Candle[]): Canned {
  return canned(fastBinance(), (url) => klinesOf(series, url));
}

/** One-minute candles from T0, `count` of them, candle i priced 100 + i / 100. */
function minutes(count: number, from = T0): Candle[] {
  return Array.from({ length: count }, (_, i) => {
    const p = 100 + i / 100;
    return { timestamp: from + i * MINUTE, open: p, high: p + 1, low: p - 1, close: p + 0.5, volume: 10 + i };
  });
}

const startsOf = (urls: URL[]) => urls.map((url) => (Number(url.searchParams.get("startTime")) - T0) / MINUTE);
const limitsOf = (urls: URL[]) => urls.map((url) => Number(url.searchParams.get("limit")));

/** The rejection of `promise`, which must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

const NO_NETWORK = "no canned transport: this request would reach the network";

beforeEach(() => {
  vi.stubGlobal("fetch", () => {
    throw new Error("a test tried to use the network through globalThis.fetch");
  });
  // ccxt picks its HTTP client (undici, or the global fetch) on an instance's first request,
  // unless a fetchImplementation was supplied: refuse to let it pick one.
  const loadFetchImplementation = ccxt.Exchange.prototype.loadFetchImplementation;
  vi.spyOn(ccxt.Exchange.prototype, "loadFetchImplementation").mockImplementation(function (this: InstanceType<typeof ccxt.Exchange>) {
    if (this.fetchImplementation === undefined) return Promise.reject(new Error(NO_NETWORK));
    return loadFetchImplementation.call(this);
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  for (const exchange of exchanges.splice(0)) expect(exchange.undiciModule).toBeUndefined();
});

// --- tests --------------------------------------------------------------------------------------

describe("the test harness", () => {
  it("lets no ccxt instance without a canned transport reach the network", async () => {
    const error = await rejectionOf(ccxtExchange(fastBinance()).getCandles("BTCUSDT", "1m", new Date(T0), 1));
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error.message).toContain(NO_NETWORK);
  });
});

describe("ccxtExchange: symbols and markets", () => {
  it("maps BTCUSDT, BTC/USDT and other spellings to the spot market, BTC/USDT:USDT to the perpetual", async () => {
    const api = cannedBinance(minutes(10));
    const exchange = ccxtExchange(api.exchange);
    expect(exchange.exchangeName).toBe("binance");
    expect(await exchange.resolveSymbol("BTCUSDT")).toBe("BTC/USDT");
    expect(await exchange.resolveSymbol("BTC/USDT")).toBe("BTC/USDT");
    expect(await exchange.resolveSymbol("btc-usdt")).toBe("BTC/USDT");
    expect(await exchange.resolveSymbol("ETHBTC")).toBe("ETH/BTC");
    expect(await exchange.resolveSymbol("BTC/USDT:USDT")).toBe("BTC/USDT:USDT");

    const expected = minutes(3);
    expect(await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 3)).toEqual(expected);
    expect(await exchange.getCandles("BTC/USDT", "1m", new Date(T0), 3)).toEqual(expected);
    expect(await exchange.getCandles("BTC/USDT:USDT", "1m", new Date(T0), 3)).toEqual(expected);
    expect(api.klines().map((url) => `${url.host}${url.pathname}?symbol=${url.searchParams.get("symbol")}`)).toEqual([
      "api.binance.com/api/v3/klines?symbol=BTCUSDT",
      "api.binance.com/api/v3/klines?symbol=BTCUSDT",
      "fapi.binance.com/fapi/v1/klines?symbol=BTCUSDT",
    ]);
  });

  it("an unknown symbol is an ExchangeError that lists close matches, without a klines request", async () => {
    const api = cannedBinance(minutes(10));
    const exchange = ccxtExchange(api.exchange);
    const error = await rejectionOf(exchange.getCandles("ETHUSD", "1m", new Date(T0), 5));
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error.message).toBe(
      'rxtrade: binance has no market "ETHUSD"; close matches: ETH/USDT, ETH/USDT:USDT (give a symbol as "BTCUSDT" or "BTC/USDT")',
    );
    expect(error).toMatchObject({ name: "ExchangeError", symbol: "ETHUSD", exchangeName: "binance" });
    expect((await rejectionOf(exchange.formatPrice("DOGEUSDT", 1))).message).toContain("nothing close among its 6 markets");
    expect(api.klines()).toEqual([]);
  });

  it("loads the markets once, however many calls and symbols", async () => {
    const api = cannedBinance(minutes(10));
    const exchange = ccxtExchange(api.exchange);
    await Promise.all([
      exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2),
      exchange.getCandles("ETHUSDT", "1m", new Date(T0), 2),
      exchange.formatPrice("BTCUSDT", 1),
    ]);
    await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2);
    await exchange.formatQuantity("XRPUSDT", 1);
    expect(api.marketLoads()).toEqual({ "/api/v3/exchangeInfo": 1, "/fapi/v1/exchangeInfo": 1, "/dapi/v1/exchangeInfo": 1 });
  });

  it("a failed market load is an ExchangeError, and the next call loads them again", async () => {
    const api = cannedBinance(minutes(10));
    const exchange = ccxtExchange(api.exchange);
    api.failNext(() => new Response("<html>503 Service Unavailable</html>", { status: 503 }));
    const error = await rejectionOf(exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2));
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error.message).toMatch(/^rxtrade: binance: loading markets \(for BTCUSDT\) failed: exchange not available \(ExchangeNotAvailable\): binance GET https:\/\/api\.binance\.com\/api\/v3\/exchangeInfo 503/);
    expect(error.cause).toBeInstanceOf(ccxt.ExchangeNotAvailable);

    expect(await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2)).toEqual(minutes(2));
    await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2);
    expect(api.marketLoads()["/api/v3/exchangeInfo"]).toBe(2);
  });

  it("constructs the exchange from a ccxt id on first use, with the rate limiter on", async () => {
    const exchange = ccxtExchange("binance", { exchangeName: "binance-main", exchangeConfig: { enableRateLimit: false } });
    expect(exchange.exchangeName).toBe("binance-main");
    const instance = (await exchange.instance()) as Binance;
    expect(instance).toBeInstanceOf(ccxt.binance);
    expect(instance.enableRateLimit).toBe(true);
    expect(await exchange.instance()).toBe(instance);
    canned(instance, (url) => klinesOf(minutes(10), url));
    expect(await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 2)).toEqual(minutes(2));

    const given = new ccxt.binance({ enableRateLimit: false });
    ccxtExchange(given);
    expect(given.enableRateLimit).toBe(true);

    const unknown = await rejectionOf(ccxtExchange("binanse").getCandles("BTCUSDT", "1m", new Date(T0), 2));
    expect(unknown).toBeInstanceOf(ExchangeError);
    expect(unknown.message).toBe('rxtrade: ccxt has no exchange "binanse"; did you mean binance? (ids are lower case, e.g. "binance")');
  });
});

describe("ccxtExchange: getCandles paging", () => {
  it("pages when limit exceeds the exchange's 1000 per request, from the last timestamp + 1m", async () => {
    const series = minutes(3000);
    const api = cannedBinance(series);
    const candles = await ccxtExchange(api.exchange).getCandles("BTCUSDT", "1m", new Date(T0), 2500);
    expect(startsOf(api.klines())).toEqual([0, 1000, 2000]);
    expect(limitsOf(api.klines())).toEqual([1000, 1000, 500]);
    expect(candles).toHaveLength(2500);
    expect(candles).toEqual(series.slice(0, 2500));
  });

  it("stops when the exchange has no more data", async () => {
    const series = minutes(1200);
    const api = cannedBinance(series);
    const candles = await ccxtExchange(api.exchange).getCandles("BTCUSDT", "1m", new Date(T0), 2500);
    // 1000, then a short page of 200 (1200 minutes in the past: more may exist), then nothing.
    expect(startsOf(api.klines())).toEqual([0, 1000, 1200]);
    expect(candles).toEqual(series);
  });

  it("does not ask past the present: a short page that reaches the clock's now is the end", async () => {
    const series = minutes(1200);
    const api = cannedBinance(series);
    // Minute 1199 is forming: it opened 30 s ago.
    const clock = { now: () => T0 + 1199 * MINUTE + 30_000 };
    const candles = await ccxtExchange(api.exchange, { clock }).getCandles("BTCUSDT", "1m", new Date(T0), 2500);
    expect(startsOf(api.klines())).toEqual([0, 1000]);
    expect(candles).toEqual(series);
  });

  it("goes on after a silently capped page and drops candles it already has", async () => {
    const series = minutes(1000);
    // At most 300 rows a call, each page led by the candle before startTime (already received).
    const api = canned(fastBinance(), (url) => {
      const before = klinesOf(series, new URL(`${url.origin}${url.pathname}?startTime=${Number(url.searchParams.get("startTime")) - MINUTE}&limit=1`));
      return [...before, ...klinesOf(series, url, 300)];
    });
    const candles = await ccxtExchange(api.exchange).getCandles("BTCUSDT", "1m", new Date(T0 + 10 * MINUTE), 700);
    expect(startsOf(api.klines())).toEqual([10, 310, 610]);
    expect(limitsOf(api.klines())).toEqual([700, 400, 100]);
    expect(candles).toEqual(series.slice(10, 710));
  });

  it("maxPerRequest caps each call", async () => {
    const api = cannedBinance(minutes(100));
    const candles = await ccxtExchange(api.exchange, { maxPerRequest: 10 }).getCandles("BTCUSDT", "1m", new Date(T0), 25);
    expect(candles).toEqual(minutes(25));
    expect(startsOf(api.klines())).toEqual([0, 10, 20]);
    expect(limitsOf(api.klines())).toEqual([10, 10, 5]);
  });
});

describe("ccxtExchange: precision", () => {
  it("formats prices and quantities through the market's precision", async () => {
    const exchange = ccxtExchange(cannedBinance(minutes(1)).exchange);
    expect(await exchange.formatPrice("BTCUSDT", 42000.123456)).toBe("42000.12");
    expect(await exchange.formatQuantity("BTCUSDT", 0.1234567)).toBe("0.12345");
    expect(await exchange.formatPrice("ETHBTC", 0.0712345)).toBe("0.07123");
    expect(await exchange.formatQuantity("XRPUSDT", 12.9)).toBe("12");
    expect(await exchange.formatPrice("BTC/USDT:USDT", 42000.17)).toBe("42000.2");
    expect(await exchange.formatQuantity("BTC/USDT:USDT", 0.1239)).toBe("0.123");
  });
});

describe("ccxtExchange: errors", () => {
  const cases: Array<{ kind: string; respond: Responder; ccxtClass: new (message: string) => Error; className: string }> = [
    {
      kind: "network error",
      respond: () => {
        throw new TypeError("fetch failed", { cause: new Error("read ECONNRESET") });
      },
      ccxtClass: ccxt.NetworkError,
      className: "NetworkError",
    },
    {
      kind: "rate limited (DDoS protection)",
      respond: () => json({ code: -1003, msg: "Too many requests; current limit is 6000 request weight per 1 MINUTE." }, 429),
      ccxtClass: ccxt.DDoSProtection,
      className: "DDoSProtection",
    },
    {
      kind: "rate limit exceeded",
      respond: () => {
        throw new ccxt.RateLimitExceeded("binance 429 rate limit");
      },
      ccxtClass: ccxt.RateLimitExceeded,
      className: "RateLimitExceeded",
    },
    {
      kind: "exchange not available",
      respond: () => new Response("<html>502 Bad Gateway</html>", { status: 502 }),
      ccxtClass: ccxt.ExchangeNotAvailable,
      className: "ExchangeNotAvailable",
    },
    {
      kind: "request timed out",
      respond: () => {
        throw new DOMException("This operation was aborted", "AbortError");
      },
      ccxtClass: ccxt.RequestTimeout,
      className: "RequestTimeout",
    },
  ];

  it.each(cases)("$className from ccxt -> ExchangeError ($kind) naming the exchange and symbol, ccxt's error in cause", async ({ kind, respond, ccxtClass, className }) => {
    const api = cannedBinance(minutes(10));
    const exchange = ccxtExchange(api.exchange);
    await exchange.resolveSymbol("BTCUSDT");
    api.failNext(respond);
    const error = await rejectionOf(exchange.getCandles("BTCUSDT", "1m", new Date(T0), 5));
    expect(error).toBeInstanceOf(ExchangeError);
    expect(error).toMatchObject({ name: "ExchangeError", symbol: "BTCUSDT", exchangeName: "binance" });
    expect(error.message).toContain(
      `rxtrade: binance: fetchOHLCV(BTC/USDT, 1m, since 2023-03-01T00:00:00.000Z, limit 5) for BTCUSDT failed: ${kind} (${className}): `,
    );
    expect(error.cause).toBeInstanceOf(ccxtClass);
    expect(error.cause).toBeInstanceOf(ccxt.NetworkError);
    // The next call goes through.
    expect(await exchange.getCandles("BTCUSDT", "1m", new Date(T0), 5)).toEqual(minutes(5));
  });
});

describe("liveTrade$ over ccxtExchange", () => {
  it("opens and closes a signal on canned binance candles served as of the virtual clock, after a rate-limited first tick", async () => {
    const TICK = 60_001;
    const start = T0 + 10 * MINUTE;
    // Flat 100, then 101.5 from minute 14: the long's take profit (101) is hit once minute 14 has closed.
    const series = candlesFromPrices(
      Array.from({ length: 40 }, (_, m) => (m < 14 ? 100 : 101.5)),
      { start: T0 },
    );
    const clock = new VirtualClock(start);
    // As a real exchange does, serve every candle opened by now, the forming one included;
    // the first candle request is turned away with HTTP 429.
    let rateLimited = false;
    const api = canned(fastBinance(), (url) => {
      if (!rateLimited) {
        rateLimited = true;
        return json({ code: -1003, msg: "Too many requests" }, 429);
      }
      return klinesOf(series.filter((c) => c.timestamp <= clock.now()), url);
    });

    // The ccxt calls in flight, so virtual time waits for them (ccxt's rate limiter runs in real time).
    const inFlight = new Set<Promise<unknown>>();
    for (const method of ["loadMarkets", "fetchOHLCV"] as const) {
      const original = api.exchange[method].bind(api.exchange) as (...args: unknown[]) => Promise<unknown>;
      (api.exchange as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
        const call = original(...args);
        inFlight.add(call);
        const done = () => inFlight.delete(call);
        call.then(done, done);
        return call;
      };
    }
    const settled = async () => {
      for (;;) {
        await new Promise((resolve) => setImmediate(resolve));
        if (inFlight.size === 0) return;
        await Promise.allSettled([...inFlight]);
      }
    };

    const long: SignalDto = { id: "ccxt-1", position: "long", priceTakeProfit: 101, priceStopLoss: 99, minuteEstimatedTime: 60 };
    let asked = 0;
    const strategy: StrategySchema = {
      strategyName: "ccxt-test",
      interval: "1m",
      getSignal: () => (asked++ === 0 ? long : null),
    };
    const errors: Error[] = [];
    const stopListening = listenError((error) => errors.push(error));

    const results: TickResult[] = [];
    const done = lastValueFrom(
      liveTrade$("BTCUSDT", strategy, {
        exchange: ccxtExchange(api.exchange),
        scheduler: clock,
        tickMs: TICK,
        config: { CC_AVG_PRICE_CANDLES_COUNT: 1, CC_GET_CANDLES_RETRY_COUNT: 1 },
      }).pipe(take(2), toArray()),
    );
    done.then((emitted) => results.push(...emitted), () => undefined);
    for (let k = 0; k <= 10 && results.length === 0; k++) {
      clock.flush(start + k * TICK);
      await settled();
    }
    stopListening();
    expect(results.map((result) => result.action)).toEqual(["opened", "closed"]);
    const [opened, closed] = results;

    // Tick 0 was rate limited: reported, then retried on the next tick.
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ExchangeError);
    const mapped = errors[0]?.cause;
    expect(mapped).toBeInstanceOf(ExchangeError);
    expect((mapped as Error).message).toContain("failed: rate limited (DDoS protection) (DDoSProtection)");
    expect((mapped as Error).cause).toBeInstanceOf(ccxt.DDoSProtection);

    expect(opened).toMatchObject({
      action: "opened",
      symbol: "BTCUSDT",
      exchangeName: "binance",
      currentPrice: 100,
      timestamp: start + TICK,
      signal: { id: "ccxt-1", symbol: "BTCUSDT", exchangeName: "binance", pendingAt: start + TICK },
    });
    expect(closed).toMatchObject({
      action: "closed",
      closeReason: "take_profit",
      currentPrice: 101,
      timestamp: start + 5 * TICK,
      signal: { id: "ccxt-1" },
    });
    expect((closed as Extract<TickResult, { action: "closed" }>).pnl.pnlPercentage).toBeCloseTo(0.598202, 6);
    expect(api.marketLoads()).toEqual({ "/api/v3/exchangeInfo": 1, "/fapi/v1/exchangeInfo": 1, "/dapi/v1/exchangeInfo": 1 });
    // One request per tick, for the last closed minute (the failed one at tick 0 included).
    expect(startsOf(api.klines())).toEqual([9, 10, 11, 12, 13, 14]);
  });
});
