import { ConfigError } from "./errors";

/** Engine settings. Percentages are in percent (0.1 = 0.1 %). */
export interface Config {
  /** A limit entry not reached within this many minutes is cancelled. */
  CC_SCHEDULE_AWAIT_MINUTES: number;
  /** The price is the VWAP of this many closed one-minute candles. */
  CC_AVG_PRICE_CANDLES_COUNT: number;
  /** Slippage per side, percent. */
  CC_PERCENT_SLIPPAGE: number;
  /** Fee per side, percent. */
  CC_PERCENT_FEE: number;
  CC_MIN_TAKEPROFIT_DISTANCE_PERCENT: number;
  CC_MIN_STOPLOSS_DISTANCE_PERCENT: number;
  CC_MAX_STOPLOSS_DISTANCE_PERCENT: number;
  CC_MAX_SIGNAL_LIFETIME_MINUTES: number;
  /** `getSignal` that has not settled after this long is abandoned (error$ + idle tick). */
  CC_MAX_SIGNAL_GENERATION_SECONDS: number;
  /** Attempts in total for one `getCandles` call. */
  CC_GET_CANDLES_RETRY_COUNT: number;
  CC_GET_CANDLES_RETRY_DELAY_MS: number;
  /** One exchange call (`getCandles`, `ctx.getCandles`) that has not settled after this long fails (an attempt). */
  CC_EXCHANGE_TIMEOUT_SECONDS: number;
  /** One store call (read, write, lock) that has not settled after this long fails. */
  CC_STORE_TIMEOUT_SECONDS: number;
  /** A stream with no completed tick for this many tick periods is stalled (`StreamStalledError` on error$). */
  CC_STALL_TICKS: number;
}

const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
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

let current: Readonly<Config> = DEFAULT_CONFIG;

/** The longest time limit, s: 2^31 - 1 ms, the most a runtime timer holds. */
const MAX_TIMER_SECONDS = 2_147_483;

/** The defaults, as a fresh copy. */
export function getDefaultConfig(): Config {
  return { ...DEFAULT_CONFIG };
}

/** The config in force (a frozen object: change it with `setConfig`). */
export function getConfig(): Readonly<Config> {
  return current;
}

/**
 * Merges `partial` into the config in force. An invalid result throws a `ConfigError` listing
 * every problem and leaves the previous config in force.
 *
 * @example
 * setConfig({ CC_PERCENT_FEE: 0.075 });
 */
export function setConfig(partial: Partial<Config>): void {
  current = resolveConfig(current, partial);
}

/** `base` with the defined keys of `overrides`, validated; throws `ConfigError`. */
export function resolveConfig(base: Readonly<Config>, overrides: Partial<Config> | undefined): Readonly<Config> {
  if (overrides === undefined) return base;
  const problems: string[] = [];
  const next: Config = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue; // an undefined key never overrides
    if (!(key in DEFAULT_CONFIG)) {
      problems.push(`unknown key ${key} (known: ${Object.keys(DEFAULT_CONFIG).join(", ")})`);
      continue;
    }
    (next as unknown as Record<string, unknown>)[key] = value;
  }
  problems.push(...validateConfig(next));
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(next);
}

/** Every problem with `config`, each naming the key and its value; empty when valid. */
export function validateConfig(config: Config): string[] {
  const problems: string[] = [];
  const nonNegative = (key: keyof Config) => {
    const value = config[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      problems.push(`${key} (${show(value)}) must be a finite number >= 0`);
      return false;
    }
    return true;
  };
  const positive = (key: keyof Config) => {
    const value = config[key];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      problems.push(`${key} (${show(value)}) must be a finite number > 0`);
      return false;
    }
    return true;
  };
  const positiveInteger = (key: keyof Config) => {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value <= 0) problems.push(`${key} (${show(value)}) must be a positive integer`);
  };
  const nonNegativeInteger = (key: keyof Config) => {
    const value = config[key];
    if (!Number.isSafeInteger(value) || value < 0) problems.push(`${key} (${show(value)}) must be an integer >= 0`);
  };

  const slippageOk = nonNegative("CC_PERCENT_SLIPPAGE");
  const feeOk = nonNegative("CC_PERCENT_FEE");
  if (positive("CC_MIN_TAKEPROFIT_DISTANCE_PERCENT") && slippageOk && feeOk) {
    const costs = 2 * config.CC_PERCENT_SLIPPAGE + 2 * config.CC_PERCENT_FEE;
    if (config.CC_MIN_TAKEPROFIT_DISTANCE_PERCENT < costs - 1e-12) {
      problems.push(
        `CC_MIN_TAKEPROFIT_DISTANCE_PERCENT (${config.CC_MIN_TAKEPROFIT_DISTANCE_PERCENT}) is too low to cover trading costs: ` +
          `it must be >= 2 x CC_PERCENT_SLIPPAGE + 2 x CC_PERCENT_FEE = ${round(costs)}`,
      );
    }
  }
  const minSlOk = positive("CC_MIN_STOPLOSS_DISTANCE_PERCENT");
  const maxSlOk = positive("CC_MAX_STOPLOSS_DISTANCE_PERCENT");
  if (minSlOk && maxSlOk && config.CC_MIN_STOPLOSS_DISTANCE_PERCENT >= config.CC_MAX_STOPLOSS_DISTANCE_PERCENT) {
    problems.push(
      `CC_MIN_STOPLOSS_DISTANCE_PERCENT (${config.CC_MIN_STOPLOSS_DISTANCE_PERCENT}) must be below ` +
        `CC_MAX_STOPLOSS_DISTANCE_PERCENT (${config.CC_MAX_STOPLOSS_DISTANCE_PERCENT})`,
    );
  }
  if (maxSlOk && config.CC_MAX_STOPLOSS_DISTANCE_PERCENT >= 100) {
    problems.push(`CC_MAX_STOPLOSS_DISTANCE_PERCENT (${config.CC_MAX_STOPLOSS_DISTANCE_PERCENT}) must be below 100`);
  }
  positiveInteger("CC_SCHEDULE_AWAIT_MINUTES");
  positiveInteger("CC_AVG_PRICE_CANDLES_COUNT");
  positiveInteger("CC_MAX_SIGNAL_LIFETIME_MINUTES");
  positiveInteger("CC_MAX_SIGNAL_GENERATION_SECONDS");
  if (Number.isSafeInteger(config.CC_MAX_SIGNAL_GENERATION_SECONDS) && config.CC_MAX_SIGNAL_GENERATION_SECONDS > MAX_TIMER_SECONDS) {
    problems.push(
      `CC_MAX_SIGNAL_GENERATION_SECONDS (${config.CC_MAX_SIGNAL_GENERATION_SECONDS}) must be at most ${MAX_TIMER_SECONDS} s (about 24.8 days, the longest timer a runtime keeps)`,
    );
  }
  nonNegativeInteger("CC_GET_CANDLES_RETRY_COUNT");
  nonNegativeInteger("CC_GET_CANDLES_RETRY_DELAY_MS");
  // Runtime timers hold at most 2^31 - 1 ms (about 24.8 days); a longer delay fires at once.
  const timerSeconds = (key: keyof Config) => {
    if (positive(key) && config[key] > MAX_TIMER_SECONDS) {
      problems.push(`${key} (${config[key]}) must be at most ${MAX_TIMER_SECONDS} s (about 24.8 days, the longest timer a runtime keeps)`);
    }
  };
  timerSeconds("CC_EXCHANGE_TIMEOUT_SECONDS");
  timerSeconds("CC_STORE_TIMEOUT_SECONDS");
  positiveInteger("CC_STALL_TICKS");
  return problems;
}

function show(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(value) : String(value);
}

function round(value: number): number {
  return Math.round(value * 1e9) / 1e9;
}
