// The pairs of `rxtrade run`'s config file resolved: each strategy (an example or a module) and
// exchange (bundled, a module or a ccxt id), each failure a problem of its pair, and a ccxt
// pair's symbol looked up in its exchange's markets.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { type ExchangeSchema, getConfig, type StrategySchema } from "rxtrade";
import type { ServiceFilePair, ServiceFileProblem } from "rxtrade/service";
import { isList } from "./runConfigFile";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import { editDistance } from "./usage";
import { describeThrown, loadUserExport, looksLikePath } from "./userModule";

/** A pair of the file with its strategy and exchange resolved (`bundled` is made per pair, on its clock). */
export interface ResolvedPair {
  index: number;
  symbol: string;
  id: string;
  spec: ServiceFilePair;
  strategy: StrategySchema;
  exchange: ExchangeSchema | "bundled";
}

// Every pair's strategy and exchange: example names, modules (each loaded once, by path), ccxt
// ids; each failure a problem of its pair. Pairs with problems in those fields are skipped.
export async function resolvePairs(file: unknown, base: string, timeoutMs: number, simulated: boolean, problems: ServiceFileProblem[]): Promise<ResolvedPair[]> {
  // The file may have problems elsewhere: the fields that are fine are still resolved, so that
  // every problem is listed at once.
  const raw: unknown[] = isList(file) ? (file as { pairs: unknown[] }).pairs : [];
  const modules = new Map<string, Promise<unknown>>();
  const ccxt = new Map<string, ExchangeSchema>();
  const out: ResolvedPair[] = [];
  for (const [index, value] of raw.entries()) {
    if (value === null || typeof value !== "object") continue;
    const spec = value as ServiceFilePair;
    const fieldOk = (field: "strategy" | "exchange") =>
      typeof spec[field] === "string" && spec[field].trim() !== "" && !problems.some((p) => p.index === index && p.field === field);
    const symbol = typeof spec.symbol === "string" ? spec.symbol : undefined;
    const problem = (field: string, message: string) => problems.push({ index, ...(symbol === undefined || symbol === "" ? {} : { symbol }), field, message });
    let strategy: StrategySchema | undefined;
    let exchange: ExchangeSchema | "bundled" | undefined;
    if (fieldOk("strategy")) {
      try {
        strategy = await pairStrategy(spec.strategy, base, timeoutMs, modules);
      } catch (error) {
        problem("strategy", describeThrown(error));
      }
    }
    if (fieldOk("exchange")) {
      try {
        exchange = await pairExchange(spec.exchange, base, timeoutMs, simulated, modules, ccxt);
      } catch (error) {
        problem("exchange", describeThrown(error));
      }
    }
    if (strategy !== undefined && exchange !== undefined && symbol !== undefined && symbol !== "") {
      out.push({ index, symbol, id: `${symbol}:${strategy.strategyName}`, spec, strategy, exchange });
    }
  }
  return out;
}

async function pairStrategy(value: string, base: string, timeoutMs: number, modules: Map<string, Promise<unknown>>): Promise<StrategySchema> {
  if (!looksLikePath(value)) {
    const example = EXAMPLE_STRATEGIES[value];
    if (example !== undefined) return example.create();
    const names = Object.keys(EXAMPLE_STRATEGIES);
    const near = names.find((name) => editDistance(value, name) <= 2);
    throw new Error(
      `${JSON.stringify(value)} is neither an example strategy nor a file path${near === undefined ? "" : `; did you mean ${near}?`} (examples: ${names.join(", ")}; a module: "./my-strategy.js", relative to the config file)`,
    );
  }
  const file = resolve(base, value);
  if (!existsSync(file)) throw new Error(`${value}: no such file (${file})`);
  const loading = modules.get(`strategy ${file}`) ?? resolveStrategy("run", file, timeoutMs);
  modules.set(`strategy ${file}`, loading);
  try {
    return (await loading) as StrategySchema;
  } catch (error) {
    throw new Error(`${value}: ${withoutFlag(error, "strategy", file)}`);
  }
}

async function pairExchange(
  value: string,
  base: string,
  timeoutMs: number,
  simulated: boolean,
  modules: Map<string, Promise<unknown>>,
  ccxt: Map<string, ExchangeSchema>,
): Promise<ExchangeSchema | "bundled"> {
  if (value === "bundled") return "bundled";
  if (looksLikePath(value)) {
    const file = resolve(base, value);
    if (!existsSync(file)) throw new Error(`${value}: no such file (${file})`);
    const loading = modules.get(`exchange ${file}`) ?? loadUserExport({ command: "run", flag: "exchange", path: file, timeoutMs }, "exchange");
    modules.set(`exchange ${file}`, loading);
    let exchange: Partial<ExchangeSchema> | null;
    try {
      exchange = (await loading) as Partial<ExchangeSchema> | null;
    } catch (error) {
      throw new Error(`${value}: ${withoutFlag(error, "exchange", file)}`);
    }
    let valid: boolean;
    try {
      valid = exchange !== null && typeof exchange === "object" && typeof exchange.getCandles === "function" && typeof exchange.exchangeName === "string";
    } catch (error) {
      throw new Error(`${value}: reading the exported exchange threw: ${describeThrown(error)}`);
    }
    if (!valid) throw new Error(`${value}: the module must export an ExchangeSchema ({ exchangeName, getCandles }) as \`exchange\` or as its default export`);
    return exchange as ExchangeSchema;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(value)) {
    throw new Error(`${JSON.stringify(value)} is not a ccxt exchange id (lower case, e.g. binance, kraken, bybit), a file path nor bundled`);
  }
  if (simulated) {
    throw new Error(`${value} is a real exchange, trading in real time: --speed runs simulated clocks, for bundled or an exchange module; leave --speed out, or use "exchange": "bundled"`);
  }
  let exchange = ccxt.get(value);
  if (exchange === undefined) {
    // Loaded only here: a service without ccxt pairs never imports it (a second of start-up).
    let ccxtExchange;
    try {
      ({ ccxtExchange } = await import("rxtrade/ccxt"));
    } catch (error) {
      throw new Error(`${value}: ccxt could not be loaded (npm install ccxt): ${describeThrown(error)}`);
    }
    exchange = ccxtExchange(value);
    ccxt.set(value, exchange);
  }
  return exchange;
}

// `--strategy /abs/x.js: the module failed …` -> `the module failed …` (the caller names the field and the path).
function withoutFlag(error: unknown, flag: string, file: string): string {
  return describeThrown(error).replace(`--${flag} ${file}: `, "").replace(`--${flag} ${file}`, "");
}

// A ccxt pair's symbol, looked up in its markets within CC_EXCHANGE_TIMEOUT_SECONDS: `undefined`
// when it is listed (or the exchange cannot look symbols up), the problem when it is not,
// "unreachable" (said on stderr) when the exchange could not be asked.
export async function checkSymbol(pair: ResolvedPair): Promise<{ field: "symbol" | "exchange"; message: string } | undefined | "unreachable"> {
  if (pair.exchange === "bundled") return undefined;
  const lookUp = (pair.exchange as { resolveSymbol?: (symbol: string) => Promise<string> }).resolveSymbol;
  if (typeof lookUp !== "function") return undefined;
  const limitSeconds = getConfig().CC_EXCHANGE_TIMEOUT_SECONDS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      lookUp.call(pair.exchange, pair.symbol),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${limitSeconds} s (CC_EXCHANGE_TIMEOUT_SECONDS)`), { cause: "timeout" })), limitSeconds * 1000);
      }),
    ]);
    return undefined;
  } catch (error) {
    const message = describeThrown(error).replace(/^rxtrade: /, "");
    // ccxt has no exchange of that id: the exchange's problem, not the symbol's.
    if (/\bccxt has no exchange /.test(message)) return { field: "exchange", message };
    // Without a cause the exchange answered and the name is wrong; with one, it could not be reached.
    if ((error as { cause?: unknown })?.cause === undefined) return { field: "symbol", message };
    process.stderr.write(`rxtrade run: cannot check ${pair.symbol} on ${pair.exchange.exchangeName} (pairs[${pair.index}]): ${message}\n`);
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}
