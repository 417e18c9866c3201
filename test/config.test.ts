import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, getConfig, getDefaultConfig, setConfig, type Config } from "rxtrade";

afterEach(() => {
  setConfig(getDefaultConfig());
});

/** Runs `fn`, expects a ConfigError and returns it. */
function configError(fn: () => void): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError, nothing was thrown");
}

describe("time limits and the stall watchdog (issue 9)", () => {
  it.each([
    ["CC_EXCHANGE_TIMEOUT_SECONDS", 0, "must be a finite number > 0"],
    ["CC_STORE_TIMEOUT_SECONDS", -1, "must be a finite number > 0"],
    ["CC_STALL_TICKS", 0, "must be a positive integer"],
    ["CC_STALL_TICKS", 2.5, "must be a positive integer"],
  ] as const)("%s = %s is refused, naming the key and value", (key, value, why) => {
    const before = getConfig();
    expect(() => setConfig({ [key]: value })).toThrow(`${key} (${value}) ${why}`);
    expect(getConfig()).toBe(before);
  });
});

describe("getDefaultConfig", () => {
  it("holds exactly the 14 documented keys and defaults", () => {
    expect(getDefaultConfig()).toStrictEqual({
      CC_SCHEDULE_AWAIT_MINUTES: 120,
      CC_AVG_PRICE_CANDLES_COUNT: 5,
      CC_PERCENT_SLIPPAGE: 0.1,
      CC_PERCENT_FEE: 0.1,
      CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: 0.5,
      CC_MIN_STOPLOSS_DISTANCE_PERCENT: 0.5,
      CC_MAX_STOPLOSS_DISTANCE_PERCENT: 20,
      CC_MAX_SIGNAL_LIFETIME_MINUTES: 1440,
      CC_MAX_SIGNAL_GENERATION_SECONDS: 180,
      CC_GET_CANDLES_RETRY_COUNT: 3,
      CC_GET_CANDLES_RETRY_DELAY_MS: 5000,
      CC_EXCHANGE_TIMEOUT_SECONDS: 30,
      CC_STORE_TIMEOUT_SECONDS: 30,
      CC_STALL_TICKS: 5,
    });
    expect(Object.keys(getDefaultConfig())).toHaveLength(14);
  });

  it("returns a fresh copy: mutating it changes neither the defaults nor the config in force", () => {
    const copy = getDefaultConfig();
    copy.CC_PERCENT_FEE = 7;
    expect(getDefaultConfig().CC_PERCENT_FEE).toBe(0.1);
    expect(getConfig().CC_PERCENT_FEE).toBe(0.1);
  });

  it("is the config in force initially", () => {
    expect(getConfig()).toStrictEqual(getDefaultConfig());
  });
});

describe("setConfig", () => {
  it("merges a partial config into the one in force", () => {
    setConfig({ CC_PERCENT_FEE: 0.075 });
    setConfig({ CC_SCHEDULE_AWAIT_MINUTES: 30 });
    expect(getConfig()).toStrictEqual({ ...getDefaultConfig(), CC_PERCENT_FEE: 0.075, CC_SCHEDULE_AWAIT_MINUTES: 30 });
  });

  it("ignores a key set to undefined (it does not override)", () => {
    setConfig({ CC_PERCENT_FEE: 0.05 });
    setConfig({ CC_PERCENT_FEE: undefined, CC_AVG_PRICE_CANDLES_COUNT: 3 });
    expect(getConfig().CC_PERCENT_FEE).toBe(0.05);
    expect(getConfig().CC_AVG_PRICE_CANDLES_COUNT).toBe(3);
  });

  it("rejects an unknown key, naming it, and keeps the previous config", () => {
    const before = getConfig();
    const error = configError(() => setConfig({ CC_NOT_A_KEY: 1 } as unknown as Partial<Config>));
    expect(error.message).toContain("CC_NOT_A_KEY");
    expect(error.problems).toHaveLength(1);
    expect(getConfig()).toStrictEqual(before);
  });

  it("has a stable error name", () => {
    const error = configError(() => setConfig({ CC_PERCENT_FEE: -1 }));
    expect(error.name).toBe("ConfigError");
  });
});

describe("validation: slippage and fee are finite numbers >= 0", () => {
  it.each([
    ["CC_PERCENT_SLIPPAGE", Number.NaN, "NaN"],
    ["CC_PERCENT_SLIPPAGE", Number.POSITIVE_INFINITY, "Infinity"],
    ["CC_PERCENT_SLIPPAGE", -0.1, "-0.1"],
    ["CC_PERCENT_FEE", Number.NaN, "NaN"],
    ["CC_PERCENT_FEE", Number.POSITIVE_INFINITY, "Infinity"],
    ["CC_PERCENT_FEE", -0.1, "-0.1"],
  ] as const)("%s = %s is rejected, naming the key and the value", (key, value, shown) => {
    const error = configError(() => setConfig({ [key]: value }));
    expect(error.message).toContain(key);
    expect(error.message).toContain(shown);
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(key);
    expect(error.problems[0]).toContain(`(${shown})`);
  });

  it("accepts 0 slippage and 0 fee", () => {
    setConfig({ CC_PERCENT_SLIPPAGE: 0, CC_PERCENT_FEE: 0 });
    expect(getConfig().CC_PERCENT_SLIPPAGE).toBe(0);
    expect(getConfig().CC_PERCENT_FEE).toBe(0);
  });
});

describe("validation: CC_MIN_TAKEPROFIT_DISTANCE_PERCENT", () => {
  it.each([
    [0, "0"],
    [-1, "-1"],
    [Number.NaN, "NaN"],
  ])("%s is rejected (must be > 0), naming the key and the value", (value, shown) => {
    const error = configError(() => setConfig({ CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: value }));
    expect(error.message).toContain("CC_MIN_TAKEPROFIT_DISTANCE_PERCENT");
    expect(error.message).toContain(`(${shown})`);
  });

  it("below 2 x slippage + 2 x fee is rejected as too low to cover trading costs (0.39 with 0.1/0.1)", () => {
    const error = configError(() =>
      setConfig({ CC_PERCENT_SLIPPAGE: 0.1, CC_PERCENT_FEE: 0.1, CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: 0.39 }),
    );
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain("CC_MIN_TAKEPROFIT_DISTANCE_PERCENT");
    expect(error.message).toContain("0.39");
    expect(error.message).toMatch(/too low to cover trading costs/);
    expect(getConfig().CC_MIN_TAKEPROFIT_DISTANCE_PERCENT).toBe(0.5);
  });

  it("exactly 2 x slippage + 2 x fee is accepted (0.4 with 0.1/0.1)", () => {
    setConfig({ CC_PERCENT_SLIPPAGE: 0.1, CC_PERCENT_FEE: 0.1, CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: 0.4 });
    expect(getConfig().CC_MIN_TAKEPROFIT_DISTANCE_PERCENT).toBe(0.4);
  });

  it("raising the fee above what the current min TP covers is rejected (checked on the merged config)", () => {
    // default min TP 0.5 < 2 x 0.1 + 2 x 0.2 = 0.6
    const error = configError(() => setConfig({ CC_PERCENT_FEE: 0.2 }));
    expect(error.message).toContain("CC_MIN_TAKEPROFIT_DISTANCE_PERCENT (0.5)");
    expect(error.message).toMatch(/too low to cover trading costs/);
    expect(getConfig().CC_PERCENT_FEE).toBe(0.1);
  });
});

describe("validation: stop-loss distances 0 < min < max", () => {
  it.each([
    [{ CC_MIN_STOPLOSS_DISTANCE_PERCENT: 0 }, "CC_MIN_STOPLOSS_DISTANCE_PERCENT", "(0)"],
    [{ CC_MIN_STOPLOSS_DISTANCE_PERCENT: -0.5 }, "CC_MIN_STOPLOSS_DISTANCE_PERCENT", "(-0.5)"],
    [{ CC_MAX_STOPLOSS_DISTANCE_PERCENT: 0 }, "CC_MAX_STOPLOSS_DISTANCE_PERCENT", "(0)"],
    [{ CC_MIN_STOPLOSS_DISTANCE_PERCENT: 20 }, "CC_MIN_STOPLOSS_DISTANCE_PERCENT", "(20)"],
    [{ CC_MIN_STOPLOSS_DISTANCE_PERCENT: 25 }, "CC_MIN_STOPLOSS_DISTANCE_PERCENT", "(25)"],
    [{ CC_MAX_STOPLOSS_DISTANCE_PERCENT: 0.4 }, "CC_MAX_STOPLOSS_DISTANCE_PERCENT", "(0.4)"],
  ] as Array<[Partial<Config>, string, string]>)("%o is rejected, naming %s %s", (partial, key, shown) => {
    const before = getConfig();
    const error = configError(() => setConfig(partial));
    expect(error.message).toContain(`${key} ${shown}`);
    expect(getConfig()).toBe(before);
  });

  it("accepts min just below max", () => {
    setConfig({ CC_MIN_STOPLOSS_DISTANCE_PERCENT: 1, CC_MAX_STOPLOSS_DISTANCE_PERCENT: 1.5 });
    expect(getConfig().CC_MIN_STOPLOSS_DISTANCE_PERCENT).toBe(1);
    expect(getConfig().CC_MAX_STOPLOSS_DISTANCE_PERCENT).toBe(1.5);
  });
});

describe("validation: integer settings", () => {
  const positiveIntegers = [
    "CC_SCHEDULE_AWAIT_MINUTES",
    "CC_AVG_PRICE_CANDLES_COUNT",
    "CC_MAX_SIGNAL_LIFETIME_MINUTES",
    "CC_MAX_SIGNAL_GENERATION_SECONDS",
  ] as const;
  const cases = positiveIntegers.flatMap((key) => [0, 1.5, -1].map((value) => [key, value] as const));

  it.each(cases)("%s = %s is rejected (must be a positive integer)", (key, value) => {
    const error = configError(() => setConfig({ [key]: value }));
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]).toContain(`${key} (${value})`);
    expect(error.message).toContain(`${key} (${value})`);
  });

  it.each(positiveIntegers)("%s = 1 is accepted", (key) => {
    setConfig({ [key]: 1 });
    expect(getConfig()[key]).toBe(1);
  });

  const nonNegativeIntegers = ["CC_GET_CANDLES_RETRY_COUNT", "CC_GET_CANDLES_RETRY_DELAY_MS"] as const;

  it.each(nonNegativeIntegers.flatMap((key) => [-1, 0.5].map((value) => [key, value] as const)))(
    "%s = %s is rejected (must be an integer >= 0)",
    (key, value) => {
      const error = configError(() => setConfig({ [key]: value }));
      expect(error.problems).toHaveLength(1);
      expect(error.message).toContain(`${key} (${value})`);
    },
  );

  it.each(nonNegativeIntegers)("%s = 0 is accepted", (key) => {
    setConfig({ [key]: 0 });
    expect(getConfig()[key]).toBe(0);
  });
});

describe("a failed setConfig", () => {
  it("lists every problem in one ConfigError and leaves the previous config in force", () => {
    setConfig({ CC_PERCENT_FEE: 0.05 });
    const before = getConfig();
    const snapshot = { ...before };
    const error = configError(() =>
      setConfig({
        CC_PERCENT_SLIPPAGE: -1,
        CC_SCHEDULE_AWAIT_MINUTES: 0,
        CC_AVG_PRICE_CANDLES_COUNT: 1.5,
        CC_GET_CANDLES_RETRY_DELAY_MS: -1,
        CC_MIN_STOPLOSS_DISTANCE_PERCENT: 30,
      }),
    );
    expect(error.problems).toHaveLength(5);
    for (const key of [
      "CC_PERCENT_SLIPPAGE (-1)",
      "CC_SCHEDULE_AWAIT_MINUTES (0)",
      "CC_AVG_PRICE_CANDLES_COUNT (1.5)",
      "CC_GET_CANDLES_RETRY_DELAY_MS (-1)",
      "CC_MIN_STOPLOSS_DISTANCE_PERCENT (30)",
    ]) {
      expect(error.message).toContain(key);
    }
    expect(getConfig()).toBe(before);
    expect(getConfig()).toStrictEqual(snapshot);
    expect(getConfig().CC_PERCENT_FEE).toBe(0.05);
  });

  it("applies none of the valid keys passed alongside an invalid one", () => {
    configError(() => setConfig({ CC_SCHEDULE_AWAIT_MINUTES: 60, CC_PERCENT_FEE: Number.NaN }));
    expect(getConfig().CC_SCHEDULE_AWAIT_MINUTES).toBe(120);
    expect(getConfig().CC_PERCENT_FEE).toBe(0.1);
  });
});
