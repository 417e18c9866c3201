// `rxtrade fleet add|remove|drain`: changing the fleet's desired pairs in Redis.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { COMMON, CONNECT_TIMEOUT_MS, connection, EXAMPLES, help, loadRedis, redisCause, redisFailed } from "./fleetUsage";
import { resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { EXIT, numberFlag, parseCommandLine, UsageError } from "./usage";
import { describeThrown, looksLikePath, moduleTimeoutMs } from "./userModule";

/** `rxtrade fleet add`: the pair's strategy loaded here once (its name makes the pair's id), then stored in the desired set. */
export async function addCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine(
    "fleet",
    args,
    { ...COMMON, symbol: { type: "string" }, strategy: { type: "string" }, exchange: { type: "string" }, "tick-ms": { type: "string" }, "module-timeout": { type: "string" }, replace: { type: "boolean" } },
    { ...EXAMPLES, symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", "tick-ms": "60001" },
  );
  if (flags.help) return help(terminal);
  if (positionals.length > 0) throw new UsageError("fleet", `fleet add takes flags only, got ${positionals.map((arg) => JSON.stringify(arg)).join(" ")}`);
  const { url, prefix } = connection(flags);
  for (const flag of ["symbol", "strategy", "exchange"] as const) {
    if (flags[flag] === undefined || flags[flag] === "") throw new UsageError("fleet", `fleet add needs --${flag}, e.g. --${flag} ${{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" }[flag]}`);
  }
  const symbol = flags.symbol as string;
  if (symbol.includes(":")) throw new UsageError("fleet", `--symbol must not contain ":" (it separates a pair id's symbol and strategy), got ${JSON.stringify(symbol)}`);
  const tickMs = flags["tick-ms"] === undefined ? undefined : numberFlag("fleet", "tick-ms", flags["tick-ms"], { min: 100, max: 86_400_000, integer: true, what: "ms between ticks", example: "60001" });
  const timeoutMs = moduleTimeoutMs("fleet", flags["module-timeout"]);
  // The strategy is loaded here once: its name makes the pair's id, and a bad one is said now, not by every worker.
  const strategyValue = looksLikePath(flags.strategy as string) ? resolve(flags.strategy as string) : (flags.strategy as string);
  const strategy = await resolveStrategy("fleet", strategyValue, timeoutMs);
  const exchange = flags.exchange as string;
  const exchangeValue = looksLikePath(exchange) ? resolve(exchange) : exchange;
  if (looksLikePath(exchange) && !existsSync(exchangeValue)) throw new UsageError("fleet", `--exchange ${exchange}: no such file (${exchangeValue}); give an exchange module's path every worker can read, a ccxt id or bundled`);
  if (!looksLikePath(exchange) && exchange !== "bundled") await checkCcxtId(exchange, terminal);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix, callTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    const { pair, outcome, previous } = await admin.put({ symbol, strategy: strategyValue, exchange: exchangeValue, ...(tickMs === undefined ? {} : { tickMs }) }, strategy.strategyName, { replace: flags.replace === true });
    if (outcome === "replaced" && previous !== null) {
      const before = `strategy ${previous.strategy}, exchange ${previous.exchange}, tick-ms ${previous.tickMs ?? "default"}`;
      terminal.line(`replaced ${pair} (was ${before}): its worker hands it over now and it restarts with the new spec`);
    } else terminal.line(outcome === "readded" ? `added ${pair} again (its drain cancelled: it runs again)` : outcome === "unchanged" ? `unchanged ${pair} (the same spec)` : `added ${pair}`);
    return EXIT.ok;
  } catch (error) {
    if (redisCause(error) !== undefined) return redisFailed("add", url, terminal, error);
    if (!(error instanceof Error) || error.name !== "FleetError") throw error;
    terminal.warn(`rxtrade ${error.message.replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  } finally {
    await admin.close();
  }
}

/**
 * A ccxt id, checked as `rxtrade live` checks it: lower case, and one ccxt has (when ccxt is
 * installed here; otherwise said on stderr: the workers check it).
 */
async function checkCcxtId(id: string, terminal: Terminal): Promise<void> {
  const bad = (why: string) => new UsageError("fleet", `--exchange ${JSON.stringify(id)} ${why}; give a ccxt exchange id (lower case, e.g. binance, kraken, bybit), an exchange module's path or bundled`);
  if (!/^[a-z][a-z0-9_]*$/.test(id)) throw bad("is not a ccxt exchange id, a file path nor bundled");
  let ids: string[];
  try {
    const module = (await import("ccxt")) as unknown as Record<string, unknown>;
    const lib = (module.default ?? module) as Record<string, unknown>;
    ids = Array.isArray(lib.exchanges) ? (lib.exchanges as string[]) : Object.keys((lib.exchanges as object | undefined) ?? {});
  } catch {
    terminal.warn(`rxtrade fleet: ccxt is not installed here, so --exchange ${id} was not checked; the workers need it (npm install ccxt)`);
    return;
  }
  if (!ids.includes(id)) {
    const near = ids.filter((candidate) => candidate.startsWith(id.slice(0, 3))).slice(0, 5);
    throw bad(`is not an exchange ccxt has${near.length > 0 ? ` (did you mean ${near.join(", ")}?)` : ""}`);
  }
}

/** `rxtrade fleet remove <pair>`. */
export async function removeCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, COMMON, EXAMPLES);
  if (flags.help) return help(terminal);
  if (positionals.length !== 1) throw new UsageError("fleet", `fleet remove takes one pair id, e.g. fleet remove BTCUSDT:momentum; got ${positionals.length}`);
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix, callTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    const id = positionals[0] as string;
    const before = (await admin.list()).pairs.find((pair) => pair.pair === id);
    if (!(await admin.remove(id))) {
      terminal.warn(`rxtrade fleet: no pair ${id} in ${prefix}pairs; see rxtrade fleet list`);
      return EXIT.failed;
    }
    terminal.line(`removed ${id}`);
    if (before?.signalId != null) terminal.warn(`rxtrade fleet: ${id} held signal ${before.signalId}: it stays in the store, untraded (fleet drain closes a pair's signal before it stops)`);
    return EXIT.ok;
  } catch (error) {
    return redisFailed("remove", url, terminal, error);
  } finally {
    await admin.close();
  }
}

/** `rxtrade fleet drain <pair>... | --all`. */
export async function drainCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, { ...COMMON, all: { type: "boolean" } }, EXAMPLES);
  if (flags.help) return help(terminal);
  if (flags.all === true && positionals.length > 0) throw new UsageError("fleet", "fleet drain takes pair ids or --all, not both");
  if (flags.all !== true && positionals.length === 0) throw new UsageError("fleet", "fleet drain needs pair ids or --all, e.g. fleet drain BTCUSDT:momentum");
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix, callTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    const ids = await admin.drain(flags.all === true ? "all" : positionals);
    terminal.line(ids.length === 0 ? "nothing to drain" : `draining ${ids.join(", ")}`);
    return EXIT.ok;
  } catch (error) {
    if (redisCause(error) !== undefined) return redisFailed("drain", url, terminal, error);
    terminal.warn(`rxtrade ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  } finally {
    await admin.close();
  }
}
