// One `instanceof RxTradeError` catches every rxtrade error: each exported error class, from
// every entry, and the registries' errors (RegistryError for names, SchemaError — still a
// TypeError — for broken schemas), whose messages say the bad value and what to do.
import { describe, expect, it } from "vitest";
import * as rxtrade from "rxtrade";
import {
  addExchange,
  addStrategy,
  CallTimeoutError,
  CandleDataError,
  ConfigError,
  ExchangeError,
  getExchange,
  getStrategy,
  InvalidSignalError,
  liveTrade$,
  memoryStore,
  RegistryError,
  ReportWriteError,
  RxTradeError,
  SchemaError,
  StoreConflictError,
  StoreLockedError,
  StoreReadError,
  StoreWriteError,
  StrategyError,
  StreamStalledError,
  type ExchangeSchema,
  type StrategySchema,
  JournalError,
  ReplayError,
  ArgumentError,
  ArgumentRangeError,
  ArgumentSyntaxError,
  ListenerError,
  StoreListError,
} from "rxtrade";
import * as browser from "rxtrade/browser";
import * as ccxt from "rxtrade/ccxt";
import * as node from "rxtrade/node";
import * as operators from "rxtrade/operators";
import * as testing from "rxtrade/testing";

/** One instance of every error class rxtrade exports, by class name. */
const instances: Record<string, Error> = {
  InvalidSignalError: new InvalidSignalError(["priceTakeProfit (99) must be above priceOpen (100)"], {}, { symbol: "BTCUSDT" }),
  ConfigError: new ConfigError(["CC_STALL_TICKS (-1) must be a positive integer"]),
  ExchangeError: new ExchangeError("binance: network error", { exchangeName: "binance" }),
  StrategyError: new StrategyError("getSignal threw", { strategyName: "s" }),
  StoreReadError: new StoreReadError({ key: "BTCUSDT:s", cause: new Error("EACCES") }),
  StoreWriteError: new StoreWriteError({ key: "BTCUSDT:s", cause: new Error("ENOSPC") }),
  StoreLockedError: new StoreLockedError({ key: "BTCUSDT:s", pid: 42 }),
  StoreConflictError: new StoreConflictError({ key: "BTCUSDT:s", found: 1, reason: "a value the engine does not recognise" }),
  CandleDataError: new CandleDataError({ path: "candles.csv", line: 3, message: "not a candle" }),
  CallTimeoutError: new CallTimeoutError("getCandles(BTCUSDT, 1m)", "CC_EXCHANGE_TIMEOUT_SECONDS", 30_000),
  StreamStalledError: new StreamStalledError({ symbol: "BTCUSDT", strategyName: "s" }, 0, 540_000),
  ReportWriteError: new ReportWriteError({ path: "dump/live", message: "EACCES" }),
  RegistryError: new RegistryError("strategy s not found", { strategyName: "s" }, []),
  SchemaError: new SchemaError("strategy", ["getSignal (undefined) must be a function"], {}),
  JournalError: new JournalError({ key: "BTCUSDT:s", operation: "append", message: "journal append failed: ENOSPC", cause: new Error("ENOSPC") }),
  ReplayError: new ReplayError({ reason: "not-full", key: "BTCUSDT:s", message: "the journal of BTCUSDT:s was recorded at level trades" }),
  ArgumentError: new ArgumentError("tickMs (0) must be a finite number of ms > 0", { argument: "options.tickMs", value: 0 }),
  ArgumentRangeError: new ArgumentRangeError("speed (0) must be a finite number > 0", { argument: "options.speed", value: 0 }),
  ArgumentSyntaxError: new ArgumentSyntaxError('price marble "a-b" uses "b", which values does not define', { argument: "marble", value: "a-b" }),
  ListenerError: new ListenerError("listenSignal", new Error("boom")),
  StoreListError: new StoreListError({ path: "/no/such/store", code: "ENOENT", message: "it does not exist" }),
};

const thrown = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a throw");
};

describe("RxTradeError", () => {
  it("is the base of every error class rxtrade exports (a new class without it fails here)", () => {
    const exported = Object.entries(rxtrade)
      .filter(([, value]) => typeof value === "function" && value.prototype instanceof Error)
      .map(([name]) => name)
      .sort();
    expect(exported).toEqual(["RxTradeError", ...Object.keys(instances)].sort());
    for (const [name, error] of Object.entries(instances)) {
      expect(error, name).toBeInstanceOf(RxTradeError);
      expect(error, name).toBeInstanceOf((rxtrade as unknown as Record<string, new () => Error>)[name]);
      expect(error.name, name).toBe(name);
      expect(error.message, name).toMatch(/^rxtrade: /);
    }
  });

  it("is not an instance test that matches anything else", () => {
    for (const value of [new Error("x"), new TypeError("x"), new RangeError("x"), {}, null, undefined, "rxtrade: x", Object.create(Error.prototype)]) {
      expect(value instanceof RxTradeError).toBe(false);
    }
    // The subclasses keep their own, ordinary instanceof.
    expect(instances.ConfigError instanceof ExchangeError).toBe(false);
    expect(instances.ConfigError instanceof ConfigError).toBe(true);
    expect(instances.SchemaError instanceof RegistryError).toBe(false);
  });

  it("is the same class from every entry", () => {
    for (const entry of [operators, testing, node, browser, ccxt]) expect(entry.RxTradeError).toBe(RxTradeError);
    for (const entry of [operators, testing, node, browser, ccxt]) expect(entry.SchemaError).toBe(SchemaError);
    for (const entry of [operators, testing, node, browser, ccxt]) expect(entry.ArgumentError).toBe(ArgumentError);
  });

  it("narrows to its context fields", () => {
    const error: unknown = instances.ExchangeError;
    if (!(error instanceof RxTradeError)) throw new Error("expected an RxTradeError");
    expect(error.exchangeName).toBe("binance");
  });
});

describe("the registries' errors", () => {
  const strategy = (strategyName: string): StrategySchema => ({ strategyName, interval: "1m", getSignal: () => null });
  const exchange = (exchangeName: string): ExchangeSchema => ({ exchangeName, getCandles: () => [] });

  it("an unknown name is a RegistryError naming it, what is registered and how to register it", () => {
    const none = thrown(() => getStrategy("ma-cross"));
    expect(none).toBeInstanceOf(RegistryError);
    expect(none).toBeInstanceOf(RxTradeError);
    expect(none.message).toBe(
      'rxtrade: strategy ma-cross not found (no strategy is registered); register it with addStrategy({ strategyName: "ma-cross", … }) before using it by name',
    );
    addStrategy(strategy("errors-a"));
    addStrategy(strategy("errors-b"));
    const missing = thrown(() => getStrategy("errors-c")) as RegistryError;
    expect(missing.message).toBe(
      'rxtrade: strategy errors-c not found (registered: errors-a, errors-b); register it with addStrategy({ strategyName: "errors-c", … }) before using it by name',
    );
    expect(missing).toMatchObject({ name: "RegistryError", strategyName: "errors-c", registered: ["errors-a", "errors-b"] });

    addExchange(exchange("errors-x"));
    const noExchange = thrown(() => getExchange("binanse")) as RegistryError;
    expect(noExchange).toBeInstanceOf(RegistryError);
    expect(noExchange.message).toBe(
      'rxtrade: exchange binanse not found (registered: errors-x); register it with addExchange({ exchangeName: "binanse", … }) before using it by name',
    );
    expect(noExchange).toMatchObject({ exchangeName: "binanse", registered: ["errors-x"] });
  });

  it("a name used by name in liveTrade$ or Live that is not registered is the same RegistryError", () => {
    const error = thrown(() => liveTrade$("BTCUSDT", "errors-nowhere", { exchange: "errors-x", store: memoryStore() }).subscribe());
    expect(error).toBeInstanceOf(RegistryError);
    expect(error.message).toMatch(/^rxtrade: strategy errors-nowhere not found \(registered: /);
    const live = thrown(() => rxtrade.Live.run("BTCUSDT", { strategyName: "errors-a", exchangeName: "errors-nowhere" }));
    expect(live).toBeInstanceOf(RegistryError);
    expect(live.message).toMatch(/^rxtrade: exchange errors-nowhere not found \(registered: errors-x\)/);
  });

  it("a name already registered is a RegistryError, and the first registration stays", () => {
    const first = strategy("errors-dup");
    addStrategy(first);
    const again = thrown(() => addStrategy(strategy("errors-dup"))) as RegistryError;
    expect(again).toBeInstanceOf(RegistryError);
    expect(again.message).toBe(
      "rxtrade: strategy errors-dup is already registered; pick another strategyName (a registered strategy cannot be replaced)",
    );
    expect(again.strategyName).toBe("errors-dup");
    expect(getStrategy("errors-dup")).toBe(first);

    addExchange(exchange("errors-dup-x"));
    const exchangeAgain = thrown(() => addExchange(exchange("errors-dup-x")));
    expect(exchangeAgain).toBeInstanceOf(RegistryError);
    expect(exchangeAgain.message).toBe(
      "rxtrade: exchange errors-dup-x is already registered; pick another exchangeName (a registered exchange cannot be replaced)",
    );
  });

  it("a broken schema is a SchemaError — a TypeError and an RxTradeError — listing each problem with its value", () => {
    const broken = thrown(() => addStrategy({ strategyName: "errors-broken", interval: "2m", getSignal: "buy" } as unknown as StrategySchema)) as SchemaError;
    expect(broken).toBeInstanceOf(SchemaError);
    expect(broken).toBeInstanceOf(TypeError);
    expect(broken).toBeInstanceOf(RxTradeError);
    expect(broken.message).toBe(
      'rxtrade: invalid strategy schema "errors-broken": getSignal ("buy") must be a function; interval ("2m") must be one of 1m, 3m, 5m, 15m, 30m, 1h',
    );
    expect(broken).toMatchObject({ name: "SchemaError", kind: "strategy", strategyName: "errors-broken" });
    expect(broken.problems).toHaveLength(2);
    // Nothing was registered.
    expect(thrown(() => getStrategy("errors-broken"))).toBeInstanceOf(RegistryError);

    const colon = thrown(() => addStrategy({ strategyName: "a:b", interval: "1m", getSignal: () => null }));
    expect(colon.message).toBe('rxtrade: invalid strategy schema "a:b": strategyName ("a:b") must not contain ":" (it is part of the store key)');
    expect(thrown(() => addStrategy(null as unknown as StrategySchema)).message).toBe(
      "rxtrade: invalid strategy schema: a strategy schema must be an object, got null",
    );
    expect(thrown(() => addExchange((() => []) as unknown as ExchangeSchema)).message).toBe(
      "rxtrade: invalid exchange schema: an exchange schema must be an object, got a function",
    );
    const exchangeError = thrown(() => addExchange({ exchangeName: "", getCandles: [] } as unknown as ExchangeSchema));
    expect(exchangeError).toBeInstanceOf(SchemaError);
    expect(exchangeError.message).toBe(
      'rxtrade: invalid exchange schema: exchangeName ("") must be a non-empty string; getCandles (an array) must be a function',
    );
  });

  it("liveTrade$ with a broken schema object throws the same SchemaError", () => {
    const error = thrown(() =>
      liveTrade$("BTCUSDT", { strategyName: "errors-live", interval: "1m" } as unknown as StrategySchema, {
        exchange: exchange("errors-live-x"),
        store: memoryStore(),
      }).subscribe(),
    );
    expect(error).toBeInstanceOf(SchemaError);
    expect(error).toBeInstanceOf(RxTradeError);
    expect(error.message).toBe('rxtrade: invalid strategy schema "errors-live": getSignal (undefined) must be a function');
  });
});
