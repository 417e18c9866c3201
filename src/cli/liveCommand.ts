import { asyncScheduler } from "rxjs";
import { DEFAULT_TICK_MS, type ExchangeSchema, getConfig } from "rxtrade";
import { fileStore } from "rxtrade/node";
import { displayPath, visible } from "./format";
import { finish, resumedLine, runSession, storedState } from "./session";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { explainReportError, explainRunError } from "./runErrors";
import { EXIT, numberFlag, parseFlags, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath, MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";
import { checkWritableFolder } from "./writableFolder";
import { closeJournal, JOURNAL_HELP, journalLevelFlag, storeJournal } from "./journalFlag";

/** Where `rxtrade live` keeps its store unless `--store` says otherwise (`fileStore()`'s default too). */
export const LIVE_STORE = "./.rxtrade";

const FLAGS = {
  exchange: { type: "string" },
  symbol: { type: "string" },
  strategy: { type: "string" },
  store: { type: "string" },
  journal: { type: "string" },
  "tick-ms": { type: "string" },
  "report-dir": { type: "string" },
  "module-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const LIVE_HELP = `rxtrade live — run a strategy live on a real exchange, through ccxt

Prices the market every tick (VWAP of the last five closed one-minute candles), asks the
strategy for a signal when nothing is open, and opens, monitors and closes its signals with
PnL after fees and slippage, persisting every change first. It places no orders: it runs the
signals against live prices. Stop with Ctrl-C (graceful) — a restart resumes what is open.

Usage
  rxtrade live --exchange <ccxt id> --symbol <symbol> --strategy <path> [--store dir] [--tick-ms N]
               [--journal off|trades|full]

Flags
  --exchange ID      a ccxt exchange id: binance, kraken, bybit, okx, … (needs: npm install ccxt);
                     or a path to a module exporting an ExchangeSchema as \`exchange\` or default
  --symbol SYMBOL    e.g. BTCUSDT or BTC/USDT; looked up in the exchange's markets before the
                     start (an unknown symbol stops here, with close matches)
  --strategy S       a path to a module exporting a StrategySchema as \`strategy\` or default
                     (a .ts file loads through tsx), or an example: ${Object.keys(EXAMPLE_STRATEGIES).join(", ")}
  --store DIR        where open signals are persisted (default ${LIVE_STORE}; see rxtrade store list)
${JOURNAL_HELP}
  --tick-ms N        ms between ticks, 100 to 86400000 (default ${DEFAULT_TICK_MS})
  --report-dir DIR   where the Markdown report is written at the end (default ./dump/live)
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

Stopping
  Ctrl-C (or SIGTERM)  graceful: no new signals; an open signal runs to its close, then the report
  Ctrl-C twice         exit at once (code 130); the open signal stays in the store, the next run resumes it

Example
  rxtrade live --exchange binance --symbol BTCUSDT --strategy ./my-strategy.mjs
`;

/** `rxtrade live`: the live loop on a ccxt exchange (or an exchange module), until Ctrl-C. */
export async function liveCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const flags = parseFlags("live", args, FLAGS, {
    exchange: "binance",
    symbol: "BTCUSDT",
    strategy: "./my-strategy.js",
    store: LIVE_STORE,
    journal: "full",
    "tick-ms": "60001",
    "report-dir": "./dump/live",
    "module-timeout": "30",
  });
  if (flags.help) {
    terminal.line(LIVE_HELP);
    return EXIT.ok;
  }
  const required = (name: "exchange" | "symbol" | "strategy", example: string): string => {
    const value = flags[name];
    if (value === undefined || value.trim() === "") throw new UsageError("live", `--${name} is required, e.g. --${name} ${example}`);
    return value.trim();
  };
  const exchangeArg = required("exchange", "binance");
  const symbol = required("symbol", "BTCUSDT");
  const strategyArg = required("strategy", "./my-strategy.js");
  const tickMs =
    flags["tick-ms"] === undefined
      ? DEFAULT_TICK_MS
      : numberFlag("live", "tick-ms", flags["tick-ms"], { min: 100, max: 86_400_000, integer: true, what: "ms between ticks", example: "60001" });
  const timeoutMs = moduleTimeoutMs("live", flags["module-timeout"]);
  const journalLevel = journalLevelFlag("live", flags.journal);
  const storeDir = flags.store ?? LIVE_STORE;
  const reportDir = flags["report-dir"] ?? "./dump/live";

  const strategy = await resolveStrategy("live", strategyArg, timeoutMs);
  const exchange = await resolveExchange(exchangeArg, timeoutMs);
  // Before the start, not when the report is due after the run.
  await checkWritableFolder("live", "store", storeDir, LIVE_STORE);
  await checkWritableFolder("live", "report-dir", reportDir, "./dump/live");

  // Fail fast on a symbol the exchange does not list (ccxt: the markets are loaded once here).
  const resolveSymbol = (exchange as { resolveSymbol?: (symbol: string) => Promise<string> }).resolveSymbol;
  let market = symbol;
  if (typeof resolveSymbol === "function") {
    terminal.line(`Checking ${visible(symbol)} on ${visible(exchange.exchangeName)}…`);
    // Bounded like every exchange call: an exchange that never answers would hang here for good.
    const limitSeconds = getConfig().CC_EXCHANGE_TIMEOUT_SECONDS;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      market = await Promise.race([
        resolveSymbol.call(exchange, symbol),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new NoAnswer(`no answer within ${limitSeconds} s (CC_EXCHANGE_TIMEOUT_SECONDS)`)), limitSeconds * 1000);
        }),
      ]);
    } catch (error) {
      // Without a cause the exchange answered and the name is wrong (unknown symbol or exchange
      // id); with one, the exchange could not be reached or failed.
      const message = String((error as Error)?.message ?? error).replace(/^rxtrade: /, "");
      if (!(error instanceof NoAnswer) && (error as { cause?: unknown })?.cause === undefined) throw new UsageError("live", message);
      terminal.warn(`rxtrade live: cannot check ${visible(symbol)} on ${visible(exchange.exchangeName)}: ${message}`);
      return EXIT.failed;
    } finally {
      clearTimeout(timer);
    }
  }

  const store = fileStore(storeDir);
  const journal = storeJournal(store, journalLevel);
  let resumed;
  try {
    resumed = await storedState(store, symbol, strategy.strategyName, exchange.exchangeName, terminal);
  } catch (error) {
    return explainRunError("live", error, terminal, storeDir);
  }

  terminal.line(
    `rxtrade live · ${visible(symbol)}${market === symbol ? "" : ` (${visible(market)})`} on ${visible(exchange.exchangeName)} · strategy ${visible(strategy.strategyName)} · store ${visible(displayPath(store.dir))} · a tick every ${tickMs} ms`,
  );
  terminal.line("Ctrl-C: stop gracefully (an open signal runs to its close) · Ctrl-C twice: exit at once");
  if (resumed !== null) terminal.line(resumedLine(resumed));
  terminal.line("");

  let end;
  try {
    end = await runSession({
      symbol,
      strategy,
      exchange,
      store,
      journal,
      journalLevel,
      scheduler: asyncScheduler,
      tickMs,
      terminal,
      resumed,
      timeNote: "",
      plainStatusEveryMs: 10 * 60_000,
    });
  } catch (error) {
    return explainRunError("live", error, terminal, storeDir);
  } finally {
    await closeJournal(journal, terminal);
  }
  terminal.line("");
  terminal.line("Stopped gracefully.");
  try {
    await finish(terminal, end, symbol, strategy.strategyName, reportDir, store.dir);
  } catch (error) {
    return explainReportError("live", error, terminal, reportDir);
  }
  return EXIT.ok;
}

/** `resolveSymbol` did not answer in time: the exchange could not be reached (exit 1), not a wrong name. */
class NoAnswer extends Error {}

/** `--exchange`: a ccxt id, or a path to a module exporting an `ExchangeSchema` (loaded within `timeoutMs`). */
async function resolveExchange(value: string, timeoutMs: number): Promise<ExchangeSchema> {
  if (looksLikePath(value)) {
    const exchange = (await loadUserExport({ command: "live", flag: "exchange", path: value, timeoutMs }, "exchange")) as Partial<ExchangeSchema> | null;
    let valid: boolean;
    try {
      valid = exchange !== null && typeof exchange === "object" && typeof exchange.getCandles === "function" && typeof exchange.exchangeName === "string";
    } catch (error) {
      // A getter of the exported object threw.
      throw new UsageError("live", `--exchange ${value}: reading the exported exchange threw: ${describeThrown(error)}`);
    }
    if (!valid) {
      throw new UsageError(
        "live",
        `--exchange ${value}: the module must export an ExchangeSchema ({ exchangeName, getCandles }) as \`exchange\` or as its default export`,
      );
    }
    return exchange as ExchangeSchema;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(value)) {
    throw new UsageError("live", `--exchange ${JSON.stringify(value)} is not a ccxt exchange id (lower case, e.g. binance, kraken, bybit) nor a file path`);
  }
  // Loaded only here: the demo and --help never import ccxt (a second of start-up).
  const { ccxtExchange } = await import("rxtrade/ccxt");
  return ccxtExchange(value);
}
