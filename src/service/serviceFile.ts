import { type Config, getConfig, getDefaultConfig, resolveConfig } from "../config";
import { ConfigError, RxTradeError } from "../errors";

/**
 * The service's config file (`rxtrade run <file>`): the pairs to run and where their store is.
 *
 * ```json
 * { "pairs": [ { "symbol": "BTCUSDT", "strategy": "momentum", "exchange": "bundled", "tickMs": 60001, "config": { "CC_STALL_TICKS": 3 } } ],
 *   "store": "./.rxtrade" }
 * ```
 */
export interface ServiceFile {
  pairs: ServiceFilePair[];
  /** The `fileStore` folder (its journal in `<store>/journal`). */
  store?: string;
}

/** One pair of a `ServiceFile`, as written (names and paths not resolved yet). */
export interface ServiceFilePair {
  symbol: string;
  /** An example strategy's name (`momentum`, `ma-cross`, `breakout`) or a path to a module. */
  strategy: string;
  /** A ccxt id, a path to a module, or `bundled`. */
  exchange: string;
  /** ms between ticks, 100 to 86 400 000; default 60 001. */
  tickMs?: number;
  /** Config overrides for this pair (`CC_STALL_TICKS`, …), checked as `setConfig` checks them. */
  config?: Partial<Config>;
}

/** One thing wrong with a service's config: where (the pair, the field) and what. */
export interface ServiceFileProblem {
  /** The pair's place in `pairs` (0-based); absent for the file's own keys. */
  index?: number;
  /** The pair's symbol, when it has one. */
  symbol?: string;
  /** The key at fault: `tickMs`, `config`, `store`, … (`(file)` / `(pair)` for the whole). */
  field: string;
  message: string;
}

/** A service's pairs or file are wrong; `problems` lists each, with its pair and field. */
export class ServiceConfigError extends RxTradeError {
  override readonly name = "ServiceConfigError";
  constructor(readonly problems: readonly ServiceFileProblem[]) {
    super(`rxtrade: invalid service config: ${problems.map(describeProblem).join("; ")}`);
  }
}

/** The range of `tickMs`, as `rxtrade live --tick-ms` takes it. */
export const TICK_MS_RANGE = { min: 100, max: 86_400_000 } as const;

const FILE_KEYS = ["pairs", "store"];
const PAIR_KEYS = ["symbol", "strategy", "exchange", "tickMs", "config"];

/**
 * `pairs[2] (ETHUSDT) tickMs: must be a whole number of ms from 100 to 86400000, got 5`, or
 * `store: …` for the file's own keys.
 */
export function describeProblem(problem: ServiceFileProblem): string {
  const where = problem.index === undefined ? "" : `pairs[${problem.index}]${problem.symbol === undefined ? "" : ` (${problem.symbol})`} `;
  return `${where}${problem.field}: ${problem.message}`;
}

/**
 * Checks the shape of a parsed config file — every problem, not the first: unknown keys, missing
 * or mistyped fields, `tickMs` out of range, `config` keys and values (as `setConfig` checks
 * them). Names and paths are not resolved here (`rxtrade run` does that next); `file` is
 * `undefined` when there are problems.
 *
 * @example
 * const { file, problems } = checkServiceFile(JSON.parse(text));
 * for (const problem of problems) console.error(describeProblem(problem));
 *
 * @param value the parsed JSON
 */
export function checkServiceFile(value: unknown): { file: ServiceFile | undefined; problems: ServiceFileProblem[] } {
  const problems: ServiceFileProblem[] = [];
  if (!isRecord(value)) {
    problems.push({ field: "(file)", message: `must be a JSON object { "pairs": [ … ], "store"?: "dir" }, got ${kindOf(value)}` });
    return { file: undefined, problems };
  }
  for (const key of Object.keys(value)) {
    if (!FILE_KEYS.includes(key)) problems.push({ field: key, message: unknownKey(key, FILE_KEYS) });
  }
  const { pairs, store } = value;
  if (store !== undefined && (typeof store !== "string" || store.trim() === "")) {
    problems.push({ field: "store", message: `must be a folder path (a non-empty string), got ${show(store)}; e.g. "./.rxtrade"` });
  }
  if (pairs === undefined) {
    problems.push({ field: "pairs", message: 'is required: a list of { "symbol", "strategy", "exchange", "tickMs"?, "config"? }' });
  } else if (!Array.isArray(pairs) || pairs.length === 0) {
    problems.push({
      field: "pairs",
      message: `must be a non-empty list of { "symbol", "strategy", "exchange", "tickMs"?, "config"? }, got ${Array.isArray(pairs) ? "an empty list" : show(pairs)}`,
    });
  } else {
    pairs.forEach((pair: unknown, index) => problems.push(...pairProblems(pair, index)));
  }
  return { file: problems.length === 0 ? (value as unknown as ServiceFile) : undefined, problems };
}

function pairProblems(pair: unknown, index: number): ServiceFileProblem[] {
  if (!isRecord(pair)) {
    return [{ index, field: "(pair)", message: `must be an object { "symbol", "strategy", "exchange", "tickMs"?, "config"? }, got ${kindOf(pair)}` }];
  }
  const symbol = typeof pair.symbol === "string" && pair.symbol !== "" ? pair.symbol : undefined;
  const problems: ServiceFileProblem[] = [];
  const problem = (field: string, message: string) => problems.push({ index, ...(symbol === undefined ? {} : { symbol }), field, message });
  for (const key of Object.keys(pair)) {
    if (!PAIR_KEYS.includes(key)) problem(key, unknownKey(key, PAIR_KEYS));
  }
  const text = (field: "symbol" | "strategy" | "exchange", example: string) => {
    const value = pair[field];
    if (value === undefined) problem(field, `is required, e.g. "${field}": "${example}"`);
    else if (typeof value !== "string" || value.trim() === "") problem(field, `must be a non-empty string, got ${show(value)}; e.g. "${example}"`);
    else if (field === "symbol" && /\s/.test(value)) problem(field, `must not contain spaces, got ${show(value)}; e.g. "${example}"`);
  };
  text("symbol", "BTCUSDT");
  text("strategy", "momentum");
  text("exchange", "bundled");
  const { tickMs, config } = pair;
  if (tickMs !== undefined && !(Number.isSafeInteger(tickMs) && (tickMs as number) >= TICK_MS_RANGE.min && (tickMs as number) <= TICK_MS_RANGE.max)) {
    problem("tickMs", `must be a whole number of ms from ${TICK_MS_RANGE.min} to ${TICK_MS_RANGE.max}, got ${show(tickMs)}; e.g. 60001`);
  }
  if (config !== undefined) {
    if (!isRecord(config)) problem("config", `must be an object of config keys, got ${show(config)}; e.g. { "CC_STALL_TICKS": 3 }`);
    else for (const message of configProblems(config)) problem("config", message);
  }
  return problems;
}

/** Every problem with a pair's config overrides: unknown keys (with the closest known one), then values as `setConfig` checks them. */
export function configProblems(config: Record<string, unknown>): string[] {
  const known = Object.keys(getDefaultConfig());
  const problems: string[] = [];
  const overrides: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    if (known.includes(key)) overrides[key] = value;
    else problems.push(`${unknownKey(key, known).replace(/^unknown key/, `unknown key ${key}`)}`);
  }
  try {
    resolveConfig(getConfig(), overrides as Partial<Config>);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...error.problems);
  }
  return problems;
}

/**
 * Pairs that share an id (`<symbol>:<strategyName>`, the store key): each one after the first
 * is a problem naming the first — two loops on one key would fight over its lock.
 */
export function duplicatePairProblems(pairs: ReadonlyArray<{ index: number; symbol: string; strategyName: string }>): ServiceFileProblem[] {
  const seen = new Map<string, number>();
  const problems: ServiceFileProblem[] = [];
  for (const { index, symbol, strategyName } of pairs) {
    const id = `${symbol}:${strategyName}`;
    const first = seen.get(id);
    if (first === undefined) seen.set(id, index);
    else {
      problems.push({
        index,
        symbol,
        field: "strategy",
        message: `pair id ${id} is also pairs[${first}]'s: one pair per symbol and strategy name (their loops would share one store key); remove one, or give one another strategy`,
      });
    }
  }
  return problems;
}

function unknownKey(key: string, known: readonly string[]): string {
  const typed = key.toLowerCase();
  const near =
    known.find((candidate) => distance(typed, candidate.toLowerCase()) <= Math.max(1, Math.floor(candidate.length / 4))) ??
    (typed.length >= 4 ? known.find((candidate) => candidate.toLowerCase().startsWith(typed)) : undefined);
  return `unknown key${near === undefined ? "" : `; did you mean ${near}?`} (known: ${known.join(", ")})`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : show(value);
}

function show(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

// Levenshtein distance, for "did you mean" hints.
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((previous[j] as number) + 1, (row[j - 1] as number) + 1, (previous[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length] as number;
}
