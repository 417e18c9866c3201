import type { Exchange, MarketInterface, OHLCV } from "ccxt";
import { ArgumentError, ExchangeError } from "../errors";
import { type Candle, type CandleInterval, type ExchangeSchema, intervalMs } from "../model";
import { showValue } from "../showValue";
import { toExchangeError } from "./ccxtErrors";
import { closeMatches, normalizeSymbol } from "./closeMatches";

export interface CcxtExchangeOptions {
  /** The schema's `exchangeName` (what signals and the store record). Default: the ccxt id, e.g. `"binance"`. */
  exchangeName?: string;
  /**
   * Most candles one `fetchOHLCV` call returns. Default: the exchange's own figure from its
   * ccxt `features` (`featureValue(symbol, "fetchOHLCV", "limit")`, 1000 on binance spot);
   * without one, each call asks for all that is left and pages on when fewer come back.
   */
  maxPerRequest?: number;
  /**
   * Where the exchange's data ends, for deciding whether a short page means "no more data".
   * Default: the exchange's clock (`exchange.milliseconds()`). Pass the stream's scheduler
   * when candles are served in virtual time.
   */
  clock?: { now(): number };
  /** Constructor config when `ccxtExchange` is given an id (apiKey, secret, `options`, …). */
  exchangeConfig?: Record<string, unknown>;
  /**
   * A rate limiter that every HTTP request ccxt makes for this exchange goes through first,
   * with the endpoint's ccxt cost (its API definition's `cost`: on binance spot 0.4 for candles,
   * 4 for the markets): `acquire(cost)` resolves when the request may go. It replaces the instance's own
   * limiter (ccxt's `throttle`), since a limit shared by several processes is the one that
   * counts. `redisRateLimiter` (rxtrade/redis) shares one bucket per account across processes
   * and machines. A rejection fails the request with an `ExchangeError` whose `cause` is the
   * limiter's error. Costs are in the units of the exchange's ccxt `rateLimit` (binance: 50 ms a
   * unit, so 20 units a second match ccxt's own pace). Default: ccxt's per-instance limiter.
   */
  rateLimiter?: { acquire(cost: number): PromiseLike<unknown> };
}

/** An `ExchangeSchema` over a ccxt exchange, with a way to reach the instance and check symbols early. */
export interface CcxtExchange extends ExchangeSchema {
  getCandles(symbol: string, interval: CandleInterval, since: Date, limit: number): Promise<Candle[]>;
  formatPrice(symbol: string, price: number): Promise<string>;
  formatQuantity(symbol: string, quantity: number): Promise<string>;
  /** The ccxt instance (constructed on first use when given an id). */
  instance(): Promise<Exchange>;
  /** The ccxt market symbol `symbol` maps to ("BTCUSDT" -> "BTC/USDT"); an unknown one rejects with an `ExchangeError` listing close matches. */
  resolveSymbol(symbol: string): Promise<string>;
}

/**
 * An `ExchangeSchema` backed by a ccxt exchange, for running strategies on a real market.
 * Symbols may be given as the exchange's id ("BTCUSDT"), ccxt's unified symbol ("BTC/USDT",
 * "BTC/USDT:USDT") or a spelling that differs only in case and separators; they are looked up
 * in the exchange's markets, loaded once. `getCandles` is `fetchOHLCV`, paged when `limit`
 * exceeds what one call returns. Every failure is an `ExchangeError` naming the exchange, the
 * symbol and the kind of failure (network error, rate limit exceeded, …), with ccxt's error in
 * `cause`, so the engine reports it and retries on its next tick. ccxt's rate limiter is turned on.
 *
 * Given an id, ccxt (an optional peer dependency) is imported on first use, not when this
 * entry loads: importing ccxt takes about a second.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { ccxtExchange } from "rxtrade/ccxt";
 * liveTrade$("BTCUSDT", strategy, { exchange: ccxtExchange("binance") }).subscribe(console.log);
 *
 * @param exchangeOrId a ccxt exchange instance (`new ccxt.binance({ ... })`) or a ccxt id (`"binance"`)
 * @param options `exchangeName`, `maxPerRequest`, `clock`, `exchangeConfig`, `rateLimiter`
 */
export function ccxtExchange(exchangeOrId: Exchange | string, options: CcxtExchangeOptions = {}): CcxtExchange {
  if (typeof exchangeOrId !== "string" && (exchangeOrId === null || typeof exchangeOrId !== "object" || typeof exchangeOrId.fetchOHLCV !== "function")) {
    const given = typeof exchangeOrId === "object" && exchangeOrId !== null ? "an object without fetchOHLCV" : showValue(exchangeOrId);
    throw new ArgumentError(`ccxtExchange expects a ccxt exchange instance or a ccxt id such as "binance"; got ${given}`, {
      argument: "exchangeOrId",
      value: exchangeOrId,
    });
  }
  const { maxPerRequest } = options;
  if (maxPerRequest !== undefined && !(Number.isInteger(maxPerRequest) && maxPerRequest > 0)) {
    throw new ArgumentError(
      `maxPerRequest must be a positive integer, got ${showValue(maxPerRequest)}; e.g. 1000, or leave it out for the exchange's own page size`,
      { argument: "options.maxPerRequest", value: maxPerRequest },
    );
  }
  const { rateLimiter } = options;
  if (rateLimiter !== undefined && (rateLimiter === null || typeof rateLimiter !== "object" || typeof rateLimiter.acquire !== "function")) {
    throw new ArgumentError(`rateLimiter must be an object with acquire(cost), e.g. redisRateLimiter(…) from rxtrade/redis; got ${showValue(rateLimiter)}`, {
      argument: "options.rateLimiter",
      value: rateLimiter,
    });
  }
  const id = typeof exchangeOrId === "string" ? exchangeOrId : exchangeOrId.id;
  const exchangeName = options.exchangeName ?? id;

  let instance: Promise<Exchange> | undefined;
  if (typeof exchangeOrId !== "string") {
    exchangeOrId.enableRateLimit = true;
    if (rateLimiter !== undefined) throttleWith(exchangeOrId, rateLimiter, exchangeName);
    instance = Promise.resolve(exchangeOrId);
  }
  const getInstance = (): Promise<Exchange> => {
    // A failed import or construction is not kept: the next call tries again.
    instance ??= construct(id, options.exchangeConfig, exchangeName).then(
      (exchange) => {
        if (rateLimiter !== undefined) throttleWith(exchange, rateLimiter, exchangeName);
        return exchange;
      },
      (error: unknown) => {
        instance = undefined;
        throw error;
      },
    );
    return instance;
  };

  let marketsLoading: Promise<void> | undefined;
  let reloadMarkets = false;
  const loadMarkets = (exchange: Exchange, symbol: string): Promise<void> => {
    marketsLoading ??= exchange.loadMarkets(reloadMarkets).then(
      () => undefined,
      (error: unknown) => {
        // ccxt keeps a failed load's promise and hands it out again unless asked to reload.
        marketsLoading = undefined;
        reloadMarkets = true;
        throw toExchangeError(error, `loading markets (for ${symbol})`, { exchangeName, symbol });
      },
    );
    return marketsLoading;
  };

  const resolved = new Map<string, MarketInterface>();
  const marketOf = async (symbol: string): Promise<{ exchange: Exchange; market: MarketInterface }> => {
    const exchange = await getInstance();
    let market = resolved.get(symbol);
    if (market === undefined) {
      await loadMarkets(exchange, symbol);
      market = findMarket(exchange, symbol) ?? unknownSymbol(exchange, symbol, exchangeName);
      resolved.set(symbol, market);
    }
    return { exchange, market };
  };

  const format = async (symbol: string, value: number, kind: "price" | "quantity"): Promise<string> => {
    const { exchange, market } = await marketOf(symbol);
    const what = `formatting the ${kind} ${value} of ${market.symbol} (${symbol})`;
    let text: string | undefined;
    try {
      text = kind === "price" ? exchange.priceToPrecision(market.symbol, value) : exchange.amountToPrecision(market.symbol, value);
    } catch (error) {
      throw toExchangeError(error, what, { exchangeName, symbol });
    }
    if (text === undefined) throw new ExchangeError(`${exchangeName}: ${what} gave nothing (no precision for the market?)`, { exchangeName, symbol });
    return text;
  };

  return {
    exchangeName,
    instance: getInstance,
    async resolveSymbol(symbol) {
      return (await marketOf(symbol)).market.symbol;
    },
    async getCandles(symbol, interval, since, limit) {
      const wanted = Math.floor(limit);
      const start = since.getTime();
      const width = intervalMs(interval);
      if (width === undefined) throw new ExchangeError(`unknown candle interval ${JSON.stringify(interval)}`, { exchangeName, symbol });
      if (!Number.isFinite(start)) throw new ExchangeError(`getCandles(${symbol}) needs a valid since date`, { exchangeName, symbol });
      if (!(wanted > 0)) return [];
      const { exchange, market } = await marketOf(symbol);
      checkTimeframe(exchange, interval, exchangeName, symbol);
      const perRequest = maxPerRequest ?? ohlcvLimit(exchange, market) ?? wanted;
      const now = options.clock?.now() ?? exchange.milliseconds();

      const byTime = new Map<number, Candle>();
      let cursor = start;
      // Each call starts past every candle received so far, so `wanted` calls always suffice.
      for (let calls = 0; byTime.size < wanted && calls < wanted; calls++) {
        const ask = Math.min(perRequest, wanted - byTime.size);
        let rows: OHLCV[];
        try {
          rows = await exchange.fetchOHLCV(market.symbol, interval, cursor, ask);
        } catch (error) {
          const what = `fetchOHLCV(${market.symbol}, ${interval}, since ${new Date(cursor).toISOString()}, limit ${ask}) for ${symbol}`;
          throw toExchangeError(error, what, { exchangeName, symbol });
        }
        if (!Array.isArray(rows)) break;
        let newest = -Infinity;
        for (const row of rows) {
          const timestamp = row[0];
          if (typeof timestamp !== "number") continue;
          if (timestamp > newest) newest = timestamp;
          if (timestamp >= start && !byTime.has(timestamp)) byTime.set(timestamp, toCandle(row, timestamp));
        }
        // Nothing at or after the cursor: the exchange has no more data (or ignores `since`).
        if (newest < cursor) break;
        cursor = newest + width;
        // A short page may be a silent cap or a gap: go on while candles can exist after it.
        if (cursor > now) break;
      }
      const candles = [...byTime.values()].sort((a, b) => a.timestamp - b.timestamp);
      return candles.length > wanted ? candles.slice(0, wanted) : candles;
    },
    formatPrice: (symbol, price) => format(symbol, price, "price"),
    formatQuantity: (symbol, quantity) => format(symbol, quantity, "quantity"),
  };
}

async function construct(id: string, config: Record<string, unknown> | undefined, exchangeName: string): Promise<Exchange> {
  let lib: Record<string, unknown>;
  try {
    const module = (await import("ccxt")) as unknown as Record<string, unknown>;
    lib = (module.default ?? module) as Record<string, unknown>;
  } catch (cause) {
    throw new ExchangeError(`rxtrade/ccxt needs the ccxt package (an optional peer dependency): npm install ccxt`, { exchangeName }, cause);
  }
  const ids = Array.isArray(lib.exchanges) ? (lib.exchanges as string[]) : Object.keys((lib.exchanges as object | undefined) ?? {});
  const Exchange = lib[id];
  if (!ids.includes(id) || typeof Exchange !== "function") {
    const near = closeMatches(id, ids);
    throw new ExchangeError(
      `ccxt has no exchange ${JSON.stringify(id)}${near.length > 0 ? `; did you mean ${near.join(", ")}?` : ""} (ids are lower case, e.g. "binance")`,
      { exchangeName },
    );
  }
  const exchange = new (Exchange as new (config: Record<string, unknown>) => Exchange)({ ...config, enableRateLimit: true });
  return exchange;
}

/**
 * Makes `exchange` wait for `rateLimiter` before each request: ccxt calls `throttle(cost)` before
 * every REST request when `enableRateLimit` is on (`fetch2`), with the endpoint's cost.
 */
function throttleWith(exchange: Exchange, rateLimiter: { acquire(cost: number): PromiseLike<unknown> }, exchangeName: string): void {
  exchange.throttle = async (cost?: number) => {
    const tokens = typeof cost === "number" && Number.isFinite(cost) ? cost : 1;
    if (tokens <= 0) return; // an endpoint ccxt counts as free
    try {
      await rateLimiter.acquire(tokens);
    } catch (error) {
      const message = error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error);
      throw new ExchangeError(`${exchangeName}: the rate limiter did not admit a request (ccxt cost ${tokens}): ${message}`, { exchangeName }, error);
    }
  };
}

/** The market `symbol` names: an exact unified symbol, then an exchange id, then the same letters with other separators. */
function findMarket(exchange: Exchange, symbol: string): MarketInterface | undefined {
  const markets = (exchange.markets ?? {}) as Record<string, MarketInterface | undefined>;
  const exact = markets[symbol];
  if (exact !== undefined) return exact;
  const byId = (exchange.markets_by_id as Record<string, MarketInterface[] | undefined> | undefined)?.[symbol];
  if (byId !== undefined && byId.length > 0) return preferred(exchange, byId);
  const key = normalizeSymbol(symbol);
  const same = Object.values(markets).filter(
    (market): market is MarketInterface =>
      market !== undefined &&
      (normalizeSymbol(market.symbol) === key || normalizeSymbol(String(market.id)) === key || normalizeSymbol(`${market.base}${market.quote}`) === key),
  );
  return same.length > 0 ? preferred(exchange, same) : undefined;
}

/** "BTCUSDT" is both a spot pair and a perpetual on binance: take the exchange's default type, then spot, then an active market. */
function preferred(exchange: Exchange, markets: readonly MarketInterface[]): MarketInterface {
  const defaultType = (exchange.options as Record<string, unknown> | undefined)?.defaultType ?? "spot";
  const rank = (market: MarketInterface) => (market.type === defaultType ? 0 : 2) + (market.spot ? 0 : 1) + (market.active === false ? 4 : 0);
  return [...markets].sort((a, b) => rank(a) - rank(b))[0] as MarketInterface;
}

function unknownSymbol(exchange: Exchange, symbol: string, exchangeName: string): never {
  const markets = Object.values((exchange.markets ?? {}) as Record<string, MarketInterface>);
  // Spot pairs first among equally close matches: "BTCUSD" more likely means BTC/USDT than a future.
  const symbols = [...markets].sort((a, b) => Number(!a.spot) - Number(!b.spot)).map((market) => market.symbol);
  const near = closeMatches(symbol, symbols);
  throw new ExchangeError(
    `${exchangeName} has no market ${JSON.stringify(symbol)}` +
      (near.length > 0 ? `; close matches: ${near.join(", ")}` : `; nothing close among its ${markets.length} markets`) +
      ` (give a symbol as "BTCUSDT" or "BTC/USDT")`,
    { exchangeName, symbol },
  );
}

function checkTimeframe(exchange: Exchange, interval: CandleInterval, exchangeName: string, symbol: string): void {
  if (!exchange.has?.fetchOHLCV) throw new ExchangeError(`${exchangeName} does not offer candles (fetchOHLCV)`, { exchangeName, symbol });
  const timeframes = exchange.timeframes as Record<string, unknown> | undefined;
  if (timeframes !== undefined && Object.keys(timeframes).length > 0 && !(interval in timeframes)) {
    throw new ExchangeError(`${exchangeName} has no ${interval} candles; it offers ${Object.keys(timeframes).join(", ")}`, { exchangeName, symbol });
  }
}

/** The exchange's own figure for the most candles per `fetchOHLCV` call, when it declares one. */
function ohlcvLimit(exchange: Exchange, market: MarketInterface): number | undefined {
  let limit: unknown;
  try {
    // ccxt 4.4.33 added the `features` tree; `featureValue`, which reads it, came in a later 4.5 release.
    limit =
      typeof exchange.featureValue === "function"
        ? exchange.featureValue(market.symbol, "fetchOHLCV", "limit")
        : (featuresOf(exchange, market)?.fetchOHLCV as { limit?: unknown } | undefined)?.limit;
  } catch {
    return undefined;
  }
  return typeof limit === "number" && Number.isInteger(limit) && limit > 0 ? limit : undefined;
}

/** The `features` of `market`'s kind, as `featureValue` finds them: `features.spot`, or `features[type][subType]`. */
function featuresOf(exchange: Exchange, market: MarketInterface): Record<string, unknown> | undefined {
  const byType = (exchange.features as Record<string, Record<string, unknown> | undefined> | undefined)?.[market.type ?? ""];
  if (market.type === "spot") return byType;
  return market.subType === undefined ? undefined : (byType?.[market.subType] as Record<string, unknown> | undefined);
}

function toCandle(row: OHLCV, timestamp: number): Candle {
  // A missing price stays NaN so the engine reports the candle as broken; a missing volume is 0.
  return {
    timestamp,
    open: row[1] ?? Number.NaN,
    high: row[2] ?? Number.NaN,
    low: row[3] ?? Number.NaN,
    close: row[4] ?? Number.NaN,
    volume: row[5] ?? 0,
  };
}
