import { DEFAULT_TICK_MS } from "rxtrade";
import { EXAMPLE_STRATEGIES } from "./strategies";
import { numberFlag, parseFlags, UsageError } from "./usage";
import { parseTimeFlag as parseTime } from "./timeFlag";
import { MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";

export const DEFAULT_REPORT_DIR = "./dump/backtest";
/** Real ms a strategy's Promise may take in a backtest (`--call-timeout`). */
export const DEFAULT_CALL_TIMEOUT_MS = 5_000;
/** Minutes of candles kept behind the clock (`--lookback`): 7 days. */
export const DEFAULT_LOOKBACK_MINUTES = 10_080;

const FLAGS = {
  strategy: { type: "string" },
  data: { type: "string" },
  exchange: { type: "string" },
  symbol: { type: "string" },
  from: { type: "string" },
  to: { type: "string" },
  json: { type: "boolean" },
  "tick-ms": { type: "string" },
  threads: { type: "string" },
  "report-dir": { type: "string" },
  "module-timeout": { type: "string" },
  "call-timeout": { type: "string" },
  lookback: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const BACKTEST_HELP = `rxtrade backtest — a strategy over history, through the live loop itself

Runs the real pipeline — liveTrade$'s operators, rules and store writes — on a virtual clock
over recorded one-minute candles (closed candles only, as of the clock; a memory store), and
prints the statistics and writes the Markdown report a live run gives. The same strategy over
the same window gives the same trades as \`rxtrade demo\`: the ticks start at --from, one every
--tick-ms, and --to is a graceful stop as Ctrl-C is live: no new signal; an open one runs to its
close on the candles after --to. If the data ends first, the signal stays open and is reported
as such (not counted in the statistics).

Usage
  rxtrade backtest --strategy name|path [--data bundled|<file.csv[.gz]>|<folder>] [--from ISO] [--to ISO] [--json]
  rxtrade backtest --strategy name|path --exchange <ccxt id> --symbol S --from ISO [--to ISO] [--json]

Flags
  --strategy S       an example strategy: ${Object.keys(EXAMPLE_STRATEGIES).join(", ")}; or a path to a module
                     exporting a StrategySchema as \`strategy\` or default (required)
  --data D           bundled (default: Binance.US BTC/USDT 2023-03-01 to 2023-03-21, prices in USDT);
                     a CSV of one-minute candles (.csv or .csv.gz; header timestamp,open,high,low,
                     close,volume), its symbol from its name up to the first "_" (BTCUSDT_1m.csv:
                     BTCUSDT), streamed (never loaded whole); or a folder of them: one symbol per
                     file, run in parallel on worker threads, with results per symbol and combined
                     (other files in it are skipped)
  --exchange ID      fetch the window's one-minute candles from a ccxt exchange (npm install ccxt),
                     then backtest them; or a path to a module exporting an ExchangeSchema or a ccxt
                     exchange instance as \`exchange\` or default. Needs --symbol and --from
  --symbol S         the symbol (with --exchange; with a file, instead of the one in its name)
  --from ISO         the first tick, e.g. 2023-03-08T12:00Z (UTC unless an offset is given; default:
                     two hours into the data)
  --to ISO           the graceful stop (default: the end of the data; with --exchange, now)
  --json             print the results as JSON on stdout (the statistics are LiveStatistics)
  --tick-ms N        ms between ticks, 100 to 86400000 (default ${DEFAULT_TICK_MS}, as the demo and live)
  --call-timeout MS  real ms a strategy's Promise may take, 10 to 3600000 (default ${DEFAULT_CALL_TIMEOUT_MS}): past it the
                     tick fails (error$, StrategyError naming the tick) and the run goes on; after 3
                     such ticks in a row it stops (exit 1): the strategy looks hung. A strategy
                     stuck in a synchronous loop that long (at least 1 s) is stopped: the run is on
                     a worker thread, terminated then (exit 1, with the partial statistics)
  --lookback MIN     minutes of candles kept behind the clock for the prices and the strategy's
                     getCandles, 60 to 1051200 (default ${DEFAULT_LOOKBACK_MINUTES}, 7 days)
  --threads N        worker threads for a folder, 1 to 64 (default: one per core, at most one per
                     file); each loads the strategy once and backtests its files one after
                     another; 1 runs them all in this thread, without workers
  --report-dir DIR   where the Markdown reports go (default ${DEFAULT_REPORT_DIR})
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

On a terminal a progress bar on stderr shows the share of the window done, the trades so far
and the time left; elsewhere there is none. Ctrl-C stops at the current tick: the statistics so
far (partial, with the time reached), the report, exit 130; a second Ctrl-C exits at once.
Exit codes: 0 done, 1 a run or a file failed (the other files of a folder go on), 2 a wrong
command line or data that are not candles, 130 interrupted.

Examples
  rxtrade backtest --strategy momentum --from 2023-03-08T12:00Z --to 2023-03-11T12:00Z
  rxtrade backtest --strategy ./my-strategy.mjs --data ./candles/ --json
  rxtrade backtest --strategy momentum --exchange binance --symbol BTC/USDT --from 2024-05-01T00:00Z --to 2024-05-03T00:00Z
`;

/** The flags that set a run's window, as given (ms), its tick period and what a backtest allows the strategy. */
export interface WindowFlags {
  from?: number;
  to?: number;
  tickMs: number;
  callTimeoutMs: number;
  lookbackMinutes: number;
}

/** The command line of `rxtrade backtest`, checked. */
export interface BacktestArgs {
  strategy: string;
  data: string | undefined;
  exchange: string | undefined;
  symbol: string | undefined;
  window: WindowFlags;
  threads: number | undefined;
  moduleTimeoutMs: number;
  reportDir: string;
  json: boolean;
}

/** The flags, checked (a `UsageError` naming the flag, the value and the fix); `"help"` for --help. */
export function parseBacktestArgs(args: readonly string[]): BacktestArgs | "help" {
  const flags = parseFlags("backtest", args, FLAGS, {
    strategy: "momentum",
    data: "bundled",
    exchange: "binance",
    symbol: "BTC/USDT",
    from: "2023-03-08T12:00Z",
    to: "2023-03-11T12:00Z",
    "tick-ms": "60001",
    threads: "2",
    "report-dir": DEFAULT_REPORT_DIR,
    "module-timeout": "30",
    "call-timeout": "5000",
    lookback: "10080",
  });
  if (flags.help) return "help";
  if (flags.strategy === undefined || flags.strategy.trim() === "") {
    const examples = Object.keys(EXAMPLE_STRATEGIES).join(", ");
    throw new UsageError("backtest", `--strategy is required, e.g. --strategy momentum (examples: ${examples}) or --strategy ./my-strategy.mjs`);
  }
  if (flags.exchange !== undefined && flags.data !== undefined) {
    throw new UsageError("backtest", `--exchange and --data are two sources of candles; give one (--data ${flags.data} reads a file, --exchange ${flags.exchange} fetches)`);
  }
  const from = flags.from === undefined ? undefined : parseTimeFlag("from", flags.from);
  const to = flags.to === undefined ? undefined : parseTimeFlag("to", flags.to);
  if (from !== undefined && to !== undefined && from >= to) {
    throw new UsageError("backtest", `--from ${flags.from} is not before --to ${flags.to}; give a window of at least a minute, e.g. --from 2023-03-08T12:00Z --to 2023-03-11T12:00Z`);
  }
  const whole = (flag: "tick-ms" | "threads" | "call-timeout" | "lookback", min: number, max: number, what: string, example: string, fallback: number) => {
    const text = flags[flag];
    return text === undefined ? fallback : numberFlag("backtest", flag, text, { min, max, integer: true, what, example });
  };
  return {
    strategy: flags.strategy.trim(),
    data: flags.data,
    exchange: flags.exchange,
    symbol: flags.symbol,
    window: {
      from,
      to,
      tickMs: whole("tick-ms", 100, 86_400_000, "ms between ticks", "60001", DEFAULT_TICK_MS),
      callTimeoutMs: whole("call-timeout", 10, 3_600_000, "real ms a strategy's answer may take", "5000", DEFAULT_CALL_TIMEOUT_MS),
      lookbackMinutes: whole("lookback", 60, 1_051_200, "minutes of candles kept behind the clock", "10080", DEFAULT_LOOKBACK_MINUTES),
    },
    threads: flags.threads === undefined ? undefined : whole("threads", 1, 64, "worker threads", "2", 1),
    moduleTimeoutMs: moduleTimeoutMs("backtest", flags["module-timeout"]),
    reportDir: flags["report-dir"] ?? DEFAULT_REPORT_DIR,
    json: flags.json === true,
  };
}

/** `--from` / `--to` of the backtest, parsed as the demo's and `rxtrade run`'s (./timeFlag): an impossible date is refused. */
export function parseTimeFlag(flag: "from" | "to", text: string): number {
  return parseTime("backtest", flag, text);
}
