import { realpathSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { basename, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isMainThread, workerData } from "node:worker_threads";
import { firstValueFrom, isObservable } from "rxjs";
import { type Candle, CandleDataError, DEFAULT_TICK_MS, type ExchangeSchema, getConfig, listenError, liveReport, liveStatistics, type LiveStatistics, pnl, type SignalState, type StrategySchema, type TickResult } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, writeReport, type BacktestResult, type BacktestTrade, runBacktest } from "rxtrade/node";
import { type PoolOutcome, runPool, servePool } from "../node/backtestPool";
import { describeHeld, displayPath, duration, eventLine, held, minute, price, signedPercent, statisticsLines } from "./format";
import { explainReportError } from "./runErrors";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Output, Terminal } from "./terminal";
import { EXIT, numberFlag, parseFlags, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath, MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";
import { checkWritableFolder } from "./writableFolder";

const MINUTE = 60_000;
/** The default start is this far into the data (as the demo's), so strategies have their history. */
const WARM_UP_MINUTES = 120;
/** `--exchange`: candles fetched before `--from`, for a strategy that reads up to a day of history. */
const FETCH_HISTORY_MINUTES = 24 * 60;
/** `--exchange`: one request's worth of one-minute candles. */
const FETCH_PAGE = 1000;
const DEFAULT_REPORT_DIR = "./dump/backtest";
const BUNDLED_NAME = "Binance.US BTC/USDT one-minute candles";
/** The `workerData` that makes this command a worker of a folder's run. */
const WORKER_JOBS = "rxtrade-backtest-worker";

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
                     BTCUSDT); or a folder of them: one symbol per file, run in parallel on worker
                     threads, with results per symbol and combined
  --exchange ID      fetch the window's one-minute candles from a ccxt exchange (npm install ccxt),
                     then backtest them; or a path to a module exporting an ExchangeSchema or a ccxt
                     exchange instance as \`exchange\` or default. Needs --symbol and --from
  --symbol S         the symbol (with --exchange; with a file, instead of the one in its name)
  --from ISO         the first tick, e.g. 2023-03-08T12:00Z (UTC unless an offset is given; default:
                     two hours into the data)
  --to ISO           the graceful stop (default: the end of the data; with --exchange, now)
  --json             print the results as JSON on stdout (the statistics are LiveStatistics)
  --tick-ms N        ms between ticks, 100 to 86400000 (default ${DEFAULT_TICK_MS}, as the demo and live)
  --threads N        worker threads for a folder, 1 to 64 (default: one per core, at most one per
                     file); each loads the strategy once and backtests its files one after
                     another; 1 runs them all in this thread, without workers
  --report-dir DIR   where the Markdown reports go (default ${DEFAULT_REPORT_DIR})
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

On a terminal a progress bar on stderr shows the share of the window done, the trades so far
and the time left; elsewhere there is none. Exit codes: 0 done, 1 a run or a file failed (the
other files of a folder go on), 2 a wrong command line or data that are not candles.

Examples
  rxtrade backtest --strategy momentum --from 2023-03-08T12:00Z --to 2023-03-11T12:00Z
  rxtrade backtest --strategy ./my-strategy.mjs --data ./candles/ --json
  rxtrade backtest --strategy momentum --exchange binance --symbol BTC/USDT --from 2024-05-01T00:00Z --to 2024-05-03T00:00Z
`;

/** The flags that set a run's window, as given (ms), and its tick period. */
interface WindowFlags {
  from?: number;
  to?: number;
  tickMs: number;
}

/** What a worker is given: one CSV file to backtest. */
interface CsvJob extends WindowFlags {
  file: string;
  symbol: string;
  strategy: string;
  moduleTimeoutMs: number;
}

/** Progress a run reports: how far the clock is, and the closed signals so far. */
interface RunProgress {
  now: number;
  closed: number;
}

/** A backtest's result as the command reports it. */
interface RunResult extends BacktestResult {
  /** The open time of the data's first candle. */
  dataStart: number;
  /** Errors the loop reported on error$ (and survived). */
  errorCount: number;
  elapsedMs: number;
}

type RunHooks = {
  onTick?: (result: TickResult) => void;
  onError?: (error: Error) => void;
};

/**
 * `rxtrade backtest`: a strategy over history, through the live loop on a virtual clock. In a
 * worker thread started by a folder's run, the same entry runs that worker's file instead.
 *
 * @param progressOut where the progress bar goes (stderr); drawn only when it is a terminal
 */
export async function backtestCommand(args: readonly string[], terminal: Terminal, progressOut: Output = process.stderr): Promise<number> {
  if (!isMainThread && (workerData as { kind?: unknown } | null)?.kind === WORKER_JOBS) return serveJobs();

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
  });
  if (flags.help) {
    terminal.line(BACKTEST_HELP);
    return EXIT.ok;
  }
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
  const tickMs =
    flags["tick-ms"] === undefined
      ? DEFAULT_TICK_MS
      : numberFlag("backtest", "tick-ms", flags["tick-ms"], { min: 100, max: 86_400_000, integer: true, what: "ms between ticks", example: "60001" });
  const threads = flags.threads === undefined ? undefined : numberFlag("backtest", "threads", flags.threads, { min: 1, max: 64, integer: true, what: "worker threads", example: "2" });
  const moduleTimeout = moduleTimeoutMs("backtest", flags["module-timeout"]);
  const reportDir = flags["report-dir"] ?? DEFAULT_REPORT_DIR;
  const json = flags.json === true;
  const bar = new ProgressBar(progressOut);
  const out = new Printer(terminal, bar);
  const window: WindowFlags = { from, to, tickMs };

  const strategy = await resolveStrategy("backtest", flags.strategy.trim(), moduleTimeout);
  if (flags.exchange !== undefined) {
    const symbol = flags.symbol?.trim();
    if (symbol === undefined || symbol === "") throw new UsageError("backtest", `--exchange needs --symbol, e.g. --exchange ${flags.exchange} --symbol BTC/USDT`);
    if (from === undefined) throw new UsageError("backtest", `--exchange needs --from (the window to fetch), e.g. --from 2024-05-01T00:00Z`);
    const exchange = await resolveExchange(flags.exchange, moduleTimeout);
    await checkWritableFolder("backtest", "report-dir", reportDir, DEFAULT_REPORT_DIR);
    const fetched = await fetchHistory(exchange, symbol, { from, to }, out, bar);
    if (typeof fetched === "number") return fetched;
    const description = (range: string) => `${exchange.exchangeName} ${fetched.market} one-minute candles ${range}, fetched`;
    return runSingle({ symbol, strategy, candles: fetched.candles, description, window, json, reportDir, out, bar });
  }

  const data = flags.data ?? "bundled";
  if (data === "bundled") {
    const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    const symbol = flags.symbol?.trim() || "BTCUSDT";
    return runSingle({ symbol, strategy, candles, description: (range) => `${BUNDLED_NAME} ${range}, prices in USDT, bundled (no network)`, window, json, reportDir, out, bar });
  }
  const info = await stat(data).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError("backtest", `--data ${data}: ${error.code === "ENOENT" ? "no such file or folder" : error.message}; give bundled, a .csv or .csv.gz file, or a folder of them`);
  });
  if (info.isDirectory()) {
    if (flags.symbol !== undefined) throw new UsageError("backtest", `--symbol goes with one file or --exchange; the files of a folder are named after their symbols (--data ${data})`);
    const jobs = await folderJobs(data, flags.strategy.trim(), moduleTimeout, window);
    await checkWritableFolder("backtest", "report-dir", reportDir, DEFAULT_REPORT_DIR);
    return runFolder({ data, jobs, strategy, threads: threads ?? Math.min(jobs.length, availableParallelism()), window, json, reportDir, out, bar });
  }
  const symbol = flags.symbol?.trim() || symbolOfFile(data);
  let candles: Candle[];
  try {
    candles = await csvCandles(data);
  } catch (error) {
    if (error instanceof CandleDataError) throw new UsageError("backtest", `--data ${error.message.replace(/^rxtrade: /, "")}; give a CSV of one-minute candles (timestamp,open,high,low,close,volume)`);
    throw error;
  }
  return runSingle({ symbol, strategy, candles, description: (range) => `${displayPath(resolve(data))}, one-minute candles ${range}`, window, json, reportDir, out, bar });
}

// --- one symbol -----------------------------------------------------------------------------

interface SingleRun {
  symbol: string;
  strategy: StrategySchema;
  candles: readonly Candle[];
  /** What the data are, given their first and last minute. */
  description: (range: string) => string;
  window: WindowFlags;
  json: boolean;
  reportDir: string;
  out: Printer;
  bar: ProgressBar;
}

async function runSingle(run: SingleRun): Promise<number> {
  const { symbol, strategy, candles, window, out, bar } = run;
  const plan = planWindow(candles, window, (problem) => new UsageError("backtest", problem));
  // Before the run, not when the report is due after it.
  await checkWritableFolder("backtest", "report-dir", run.reportDir, DEFAULT_REPORT_DIR);
  const first = (candles[0] as Candle).timestamp;
  const last = (candles.at(-1) as Candle).timestamp;
  if (!run.json) {
    out.line(`rxtrade backtest · ${symbol} · strategy ${strategy.strategyName}`);
    out.line(`data: ${run.description(`${minute(first)} → ${minute(last)} UTC`)}`);
    out.line(
      `the live loop on a virtual clock, memory store: a tick every ${window.tickMs} ms from ${minute(plan.from)}; graceful stop at ${minute(plan.to)} (${duration((plan.to - plan.from) / MINUTE)})`,
    );
    if (plan.to > last + MINUTE) out.line(`the data end at ${minute(last)} (their last candle), before --to: the backtest ends there`);
    out.line("");
  }

  let current: SignalState | null = null;
  let stopSeen = false;
  let closed = 0;
  const started = performance.now();
  const span = Math.max(1, Math.min(plan.to, last + MINUTE) - plan.from);
  let result: RunResult;
  try {
    result = await runWindow(symbol, strategy, candles, plan, window.tickMs, {
      onTick: (tick) => {
        if (!stopSeen && tick.timestamp >= plan.to) {
          stopSeen = true;
          if (current !== null && !run.json) out.line(`${minute(plan.to)}  --to reached: graceful stop, no new signals; ${describeHeld(current)} runs to its close`);
        }
        const line = eventLine(tick, current);
        current = held(tick);
        if (tick.action === "closed") closed++;
        if (line !== undefined && !run.json) out.line(line);
        const done = Math.min(1, (tick.timestamp - plan.from) / span);
        bar.update(done, `${minute(tick.timestamp)} · ${closed} closed${done >= 1 && current !== null ? " · past --to: the open signal runs to its close" : ""}`, started);
      },
      onError: (error) => out.warn(`error$ ${error.name}: ${error.message}`),
    });
  } catch (error) {
    // An error the loop does not survive (a fatal one, after error$ said it).
    bar.end();
    out.warn(`rxtrade backtest: the run failed: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  bar.end();

  let reportPath: string;
  try {
    reportPath = await writeReport(run.reportDir, symbol, result.strategyName, liveReport(result.strategyName, result.stats));
  } catch (error) {
    return explainReportError("backtest", error, out.terminal, run.reportDir);
  }
  if (run.json) {
    out.line(JSON.stringify(jsonOf(result, reportPath), null, 2));
    return EXIT.ok;
  }
  out.line("");
  for (const line of endLines(result)) out.line(line);
  out.line(doneLine(result));
  out.line("");
  out.line("Statistics of the backtest");
  for (const line of statisticsLines(result.stats)) out.line(line);
  out.line(`Report: ${displayPath(reportPath)}`);
  return EXIT.ok;
}

// --- a folder: one symbol per file, on worker threads --------------------------------------

interface FolderRun {
  data: string;
  jobs: CsvJob[];
  strategy: StrategySchema;
  threads: number;
  window: WindowFlags;
  json: boolean;
  reportDir: string;
  out: Printer;
  bar: ProgressBar;
}

async function runFolder(run: FolderRun): Promise<number> {
  const { jobs, out, bar } = run;
  const threads = Math.max(1, Math.min(run.threads, jobs.length));
  if (!run.json) {
    out.line(
      `rxtrade backtest · ${jobs.length} file${jobs.length === 1 ? "" : "s"} in ${displayPath(resolve(run.data))} · strategy ${run.strategy.strategyName} · ` +
        (threads === 1 ? "one after another in this thread" : `${threads} worker threads`),
    );
    const { from, to } = run.window;
    out.line(
      `the live loop on a virtual clock, memory store, per symbol: a tick every ${run.window.tickMs} ms from ${from === undefined ? "two hours into each file's data" : minute(from)}; ` +
        `graceful stop at ${to === undefined ? "the end of each file's data" : minute(to)}`,
    );
  }

  // Share of each file's window done (a finished file counts whole), and its closed signals.
  const done = jobs.map(() => 0);
  const closed = jobs.map(() => 0);
  let finished = 0;
  const started = performance.now();
  const cpuAtStart = process.cpuUsage();
  const redraw = () => {
    const fraction = done.reduce((sum, value) => sum + value, 0) / jobs.length;
    bar.update(fraction, `${finished}/${jobs.length} files · ${closed.reduce((sum, value) => sum + value, 0)} closed`, started);
  };
  const progress = (index: number, value: RunProgress & { from: number; to: number }) => {
    done[index] = Math.min(1, (value.now - value.from) / Math.max(1, value.to - value.from));
    closed[index] = value.closed;
    redraw();
  };
  const settle = (index: number, outcome: PoolOutcome<RunResult>) => {
    finished++;
    done[index] = 1;
    if (outcome.ok) closed[index] = outcome.result.stats.totalClosed;
    else out.warn(`${basename((jobs[index] as CsvJob).file)}: ${outcome.message}`);
    redraw();
  };

  let outcomes: PoolOutcome<RunResult>[];
  if (threads === 1) {
    outcomes = [];
    for (const [index, job] of jobs.entries()) {
      let outcome: PoolOutcome<RunResult>;
      try {
        outcome = { ok: true, result: await runJob(job, (value) => progress(index, value), (error) => out.warn(`${job.symbol}: error$ ${error.name}: ${error.message}`)) };
      } catch (error) {
        outcome = { ok: false, crashed: false, message: describeThrown(error).replace(/^rxtrade: /, "") };
      }
      outcomes.push(outcome);
      settle(index, outcome);
    }
  } else {
    outcomes = await runPool<CsvJob, RunResult, WorkerProgress>(jobs, {
      entry: workerEntry(),
      argv: ["backtest"],
      workerData: { kind: WORKER_JOBS },
      threads,
      onProgress: (index, message) => {
        if (message.kind === "progress") progress(index, message);
        else out.warn(`${(jobs[index] as CsvJob).symbol}: error$ ${message.name}: ${message.message}`);
      },
      onOutput: (index, stream, line) => {
        const from = index === undefined ? "worker" : basename((jobs[index] as CsvJob).file);
        if (stream === "stdout" && !run.json) out.line(`${from}: ${line}`);
        else out.warn(`${from}: ${line}`);
      },
      onDone: (index, outcome) => settle(index, outcome as PoolOutcome<RunResult>),
    });
  }
  bar.end();

  const results: Array<{ job: CsvJob; result: RunResult; report: string }> = [];
  const failures: Array<{ job: CsvJob; message: string; crashed: boolean }> = [];
  for (const [index, outcome] of outcomes.entries()) {
    const job = jobs[index] as CsvJob;
    if (!outcome.ok) {
      failures.push({ job, message: outcome.message, crashed: outcome.crashed });
      continue;
    }
    let report: string;
    try {
      report = await writeReport(run.reportDir, job.symbol, outcome.result.strategyName, liveReport(outcome.result.strategyName, outcome.result.stats));
    } catch (error) {
      return explainReportError("backtest", error, out.terminal, run.reportDir);
    }
    results.push({ job, result: outcome.result, report });
  }
  const combined = combinedStatistics(results.map(({ result }) => result.trades));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  const candles = results.reduce((sum, { result }) => sum + result.candles, 0);

  if (run.json) {
    out.line(
      JSON.stringify(
        {
          strategyName: run.strategy.strategyName,
          data: resolve(run.data),
          threads,
          elapsedMs: Math.round(elapsedMs),
          // CPU time of the whole process, every thread: over elapsedMs, how many cores it kept busy.
          cpuMs: Math.round((cpu.user + cpu.system) / 1000),
          candles,
          candlesPerSecond: Math.round(candles / Math.max(elapsedMs / 1000, 1e-3)),
          results: results.map(({ job, result, report }) => ({ file: job.file, ...jsonOf(result, report) })),
          failures: failures.map(({ job, message, crashed }) => ({ file: job.file, symbol: job.symbol, crashed, message })),
          combined,
        },
        null,
        2,
      ),
    );
    return failures.length > 0 ? EXIT.failed : EXIT.ok;
  }

  out.line("");
  const rows = [["SYMBOL", "CLOSED", "WON", "LOST", "WIN RATE", "TOTAL PNL", "MAX DD", "END", "FILE"]];
  for (const { job, result } of results) {
    const s = result.stats;
    rows.push([
      job.symbol,
      String(s.totalClosed),
      String(s.winCount),
      String(s.lossCount),
      s.winRate === null ? "n/a" : `${s.winRate.toFixed(1)} %`,
      signedPercent(s.totalPnl),
      s.maxDrawdown === null ? "n/a" : `${s.maxDrawdown.toFixed(2)} %`,
      result.end === "stopped" ? "stopped" : result.open === null ? "data ended" : "data ended, 1 open",
      basename(job.file),
    ]);
  }
  for (const { job, crashed } of failures) rows.push([job.symbol, "-", "-", "-", "-", "-", "-", crashed ? "CRASHED" : "FAILED", basename(job.file)]);
  for (const line of table(rows)) out.line(line);
  out.line("");
  out.line(`Combined: ${results.length} symbol${results.length === 1 ? "" : "s"}, ${candles.toLocaleString("en-US")} one-minute candles in ${(elapsedMs / 1000).toFixed(2)} s (${Math.round(candles / Math.max(elapsedMs / 1000, 1e-3)).toLocaleString("en-US")} candles/s)`);
  for (const line of statisticsLines(combined)) out.line(line);
  if (results.length > 0) out.line(`Reports: ${displayPath(resolve(run.reportDir))}/<symbol>_${run.strategy.strategyName}.md (${results.length})`);
  for (const { job, message } of failures) out.warn(`rxtrade backtest: ${job.file} failed: ${message}`);
  if (failures.length > 0) out.warn(`${failures.length} of ${jobs.length} files failed; the results above are the others'.`);
  return failures.length > 0 ? EXIT.failed : EXIT.ok;
}

/** The jobs of a folder: each .csv / .csv.gz file, its symbol from its name. */
async function folderJobs(dir: string, strategy: string, moduleTimeoutMs: number, window: WindowFlags): Promise<CsvJob[]> {
  const names = (await readdir(dir)).filter((name) => /\.csv(\.gz)?$/i.test(name)).sort();
  if (names.length === 0) throw new UsageError("backtest", `--data ${dir} holds no .csv or .csv.gz file; put one file of one-minute candles per symbol in it (e.g. BTCUSDT.csv)`);
  const jobs = names.map((name): CsvJob => ({ file: resolve(dir, name), symbol: symbolOfFile(name), strategy, moduleTimeoutMs, ...window }));
  const bySymbol = new Map<string, string[]>();
  for (const job of jobs) bySymbol.set(job.symbol, [...(bySymbol.get(job.symbol) ?? []), basename(job.file)]);
  for (const [symbol, files] of bySymbol) {
    if (files.length > 1) {
      throw new UsageError("backtest", `--data ${dir}: ${files.join(" and ")} both name the symbol ${symbol} (the name up to the first "_"); keep one file per symbol`);
    }
  }
  return jobs;
}

type WorkerProgress = ({ kind: "progress" } & RunProgress & { from: number; to: number }) | { kind: "error"; name: string; message: string };

/** A worker thread's side of a folder's run: backtests the files it is given, one after another. */
async function serveJobs(): Promise<number> {
  await servePool<CsvJob, RunResult, WorkerProgress>(
    (job, progress) =>
      runJob(
        job,
        (value) => progress({ kind: "progress", ...value }),
        (error) => progress({ kind: "error", name: error.name, message: error.message }),
      ),
    (error) => describeThrown(error).replace(/^rxtrade: /, ""),
  );
  return EXIT.ok;
}

/** One file: its candles, the window checked against them, the strategy loaded afresh, the run. */
async function runJob(job: CsvJob, onProgress: (progress: RunProgress & { from: number; to: number }) => void, onError: (error: Error) => void): Promise<RunResult> {
  const strategy = await resolveStrategy("backtest", job.strategy, job.moduleTimeoutMs);
  const candles = await csvCandles(job.file);
  const plan = planWindow(candles, job, (problem) => new Error(problem));
  let closed = 0;
  let lastPost = Number.NEGATIVE_INFINITY;
  return runWindow(job.symbol, strategy, candles, plan, job.tickMs, {
    onTick: (tick) => {
      if (tick.action === "closed") closed++;
      const now = performance.now();
      if (now - lastPost < 100) return;
      lastPost = now;
      onProgress({ now: tick.timestamp, closed, from: plan.from, to: Math.min(plan.to, plan.dataEnd) });
    },
    onError,
  });
}

// --- shared by every source -----------------------------------------------------------------

interface WindowPlan {
  from: number;
  to: number;
  dataEnd: number;
}

/**
 * The window of a run over `candles`: --from and --to as given, else two hours into the data
 * and its end. Refuses (with `fail`) a --from the data cannot price with a full VWAP window,
 * and a window that ends before it starts.
 */
function planWindow(candles: readonly Candle[], window: WindowFlags, fail: (problem: string) => Error): WindowPlan {
  const first = candles[0];
  const last = candles.at(-1);
  if (first === undefined || last === undefined) throw fail("the data hold no candles; give one-minute candles (timestamp,open,high,low,close,volume)");
  const count = getConfig().CC_AVG_PRICE_CANDLES_COUNT;
  const earliest = first.timestamp + count * MINUTE;
  const dataEnd = last.timestamp + MINUTE;
  if (earliest >= dataEnd) throw fail(`the data hold ${candles.length} candle(s), too few to price a tick (${count + 1} one-minute candles at least)`);
  const from = window.from ?? Math.min(first.timestamp + WARM_UP_MINUTES * MINUTE, dataEnd - MINUTE);
  if (from < earliest || from >= dataEnd) {
    throw fail(
      `--from ${isoMinute(from)} is outside the data (${minute(first.timestamp)} → ${minute(last.timestamp)} UTC); ` +
        `give a time from ${isoMinute(earliest)} to ${isoMinute(dataEnd - MINUTE)}, e.g. --from ${isoMinute(Math.min(first.timestamp + WARM_UP_MINUTES * MINUTE, dataEnd - MINUTE))}`,
    );
  }
  const to = window.to ?? dataEnd;
  if (to <= from) {
    throw fail(`--to ${isoMinute(to)} is not after the start${window.from === undefined ? ` (two hours into the data, ${isoMinute(from)})` : ` --from ${isoMinute(from)}`}; give a later --to`);
  }
  return { from, to, dataEnd };
}

/** `runBacktest`, timed, with the loop's error$ reports of this symbol counted and passed on. */
async function runWindow(symbol: string, strategy: StrategySchema, candles: readonly Candle[], plan: WindowPlan, tickMs: number, hooks: RunHooks): Promise<RunResult> {
  let errorCount = 0;
  const stopListening = listenError((error) => {
    const context = error as { symbol?: string };
    if (context.symbol !== undefined && context.symbol !== symbol) return;
    errorCount++;
    hooks.onError?.(error);
  });
  const started = performance.now();
  try {
    const result = await runBacktest(symbol, strategy, { candles, from: plan.from, to: plan.to, tickMs, onTick: hooks.onTick });
    return { ...result, dataStart: (candles[0] as Candle).timestamp, errorCount, elapsedMs: performance.now() - started };
  } finally {
    stopListening();
  }
}

/** What the run's end was: the graceful stop, or the data running out (with what stayed open). */
function endLines(result: RunResult): string[] {
  const lastCandle = result.dataEnd - MINUTE;
  if (result.end === "stopped") {
    const past = result.lastTick !== null && result.lastTick > result.to;
    return [
      past
        ? `Stopped gracefully: --to ${minute(result.to)} reached; the signal open then closed at ${minute(result.lastTick as number)}, on the candles after --to.`
        : `Stopped gracefully at ${minute(result.to)} (--to).`,
    ];
  }
  const open = result.open;
  if (open === null) return [`The data end at ${minute(lastCandle)} (their last candle), before --to ${minute(result.to)}: the backtest ended with them.`];
  const state: SignalState = open.action === "scheduled" ? { status: "scheduled", signal: open.signal } : { status: "opened", signal: open.signal };
  const where =
    open.action === "scheduled"
      ? "it never opened"
      : `at the last price, ${price(open.currentPrice)}, it stands at ${signedPercent(pnl(open.signal.position, open.signal.priceOpen, open.currentPrice, getConfig()).pnlPercentage)} after costs`;
  return [
    `The data end at ${minute(lastCandle)} (their last candle) while ${describeHeld(state)} is still ${open.action === "scheduled" ? "waiting" : "open"}: ` +
      `it stays so, and is not counted in the statistics; ${where}. Give data that go further after --to for it to close.`,
  ];
}

function doneLine(result: RunResult): string {
  const seconds = result.elapsedMs / 1000;
  return (
    `Done: ${result.ticks.toLocaleString("en-US")} ticks over ${result.candles.toLocaleString("en-US")} one-minute candles in ${seconds.toFixed(2)} s ` +
    `(${Math.round(result.candles / Math.max(seconds, 1e-3)).toLocaleString("en-US")} candles/s)` +
    (result.errorCount > 0 ? `; error$ reported ${result.errorCount} error(s), above` : "")
  );
}

/** The statistics of every symbol's trades together, in time order. */
function combinedStatistics(trades: readonly BacktestTrade[][]): LiveStatistics {
  return liveStatistics(trades.flat().sort((a, b) => a.timestamp - b.timestamp));
}

/** The `--json` form of one symbol's run. */
function jsonOf(result: RunResult, report: string) {
  const { stats, trades, open, ...rest } = result;
  return {
    ...rest,
    elapsedMs: Math.round(result.elapsedMs),
    candlesPerSecond: Math.round(result.candles / Math.max(result.elapsedMs / 1000, 1e-3)),
    report,
    stats,
    trades,
    open,
  };
}

/** The symbol a CSV file is named after: `BTCUSDT_1m_2023-03.csv.gz` -> `BTCUSDT`. */
export function symbolOfFile(path: string): string {
  const name = basename(path).replace(/\.csv(\.gz)?$/i, "");
  const symbol = name.split("_")[0] ?? "";
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]*$/.test(symbol)) {
    throw new UsageError("backtest", `cannot tell a symbol from the file name ${JSON.stringify(basename(path))}; name the file after its symbol (e.g. BTCUSDT.csv or BTCUSDT_1m.csv.gz), or give --symbol`);
  }
  return symbol;
}

/** `--from` / `--to`: ISO 8601 (`2023-03-08T12:00Z`, `2023-03-08 12:00`, UTC unless an offset is given) or epoch ms — the demo's rules. */
function parseTimeFlag(flag: "from" | "to", text: string): number {
  const trimmed = text.trim();
  let ms: number;
  if (/^\d{12,}$/.test(trimmed)) ms = Number(trimmed);
  else {
    const iso = trimmed.replace(" ", "T");
    ms = Date.parse(/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(iso) ? `${iso}Z` : iso);
  }
  if (!Number.isFinite(ms)) {
    throw new UsageError("backtest", `--${flag} ${JSON.stringify(text)} is not a time; give ISO 8601 in UTC, e.g. --${flag} ${flag === "from" ? "2023-03-08T12:00Z" : "2023-03-11T12:00Z"}`);
  }
  return ms;
}

function isoMinute(ms: number): string {
  return new Date(ms).toISOString().replace(":00.000Z", "Z");
}

function table(rows: string[][]): string[] {
  const widths = (rows[0] as string[]).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column >= 1 && column <= 6 ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number))).join("  ").trimEnd());
}

// The module the workers run: the script this process was started with — the command's own
// entry (dist/cli.js; src/cli/index.ts under tsx). Started with argv ["backtest"] and
// WORKER_JOBS in workerData, it serves a folder's files (serveJobs). Not import.meta.url: in a
// build split into chunks, that would be a chunk, which runs nothing by itself.
function workerEntry(): URL {
  const script = process.argv[1];
  if (script === undefined) return new URL(import.meta.url);
  const entry = pathToFileURL(realpathSync(script));
  if (!/\.[cm]?ts$/.test(entry.pathname)) return entry;
  // The TypeScript sources under tsx: its loader hooks do not reach a worker (Node 20), so the
  // worker loads the entry through tsx's tsImport, with process.argv as if it were the script.
  const load = [
    `import { tsImport } from ${JSON.stringify(import.meta.resolve("tsx/esm/api"))};`,
    `process.argv.splice(1, 0, ${JSON.stringify(script)});`,
    `await tsImport(${JSON.stringify(entry.href)}, ${JSON.stringify(entry.href)});`,
  ].join("\n");
  return new URL(`data:text/javascript,${encodeURIComponent(load)}`);
}

// --- candles from an exchange ---------------------------------------------------------------

/** `--exchange`: a ccxt id, or a module exporting an `ExchangeSchema` or a ccxt exchange instance. */
async function resolveExchange(value: string, timeoutMs: number): Promise<ExchangeSchema & { resolveSymbol?: (symbol: string) => Promise<string> }> {
  if (looksLikePath(value)) {
    const exported = (await loadUserExport({ command: "backtest", flag: "exchange", path: value, timeoutMs }, "exchange")) as Record<string, unknown> | null;
    if (exported !== null && typeof exported === "object" && typeof exported.fetchOHLCV === "function") {
      const { ccxtExchange } = await import("rxtrade/ccxt");
      return ccxtExchange(exported as never);
    }
    if (exported !== null && typeof exported === "object" && typeof exported.getCandles === "function" && typeof exported.exchangeName === "string") {
      return exported as unknown as ExchangeSchema;
    }
    throw new UsageError("backtest", `--exchange ${value}: the module must export an ExchangeSchema ({ exchangeName, getCandles }) or a ccxt exchange instance as \`exchange\` or as its default export`);
  }
  if (!/^[a-z][a-z0-9_]*$/.test(value)) {
    throw new UsageError("backtest", `--exchange ${JSON.stringify(value)} is not a ccxt exchange id (lower case, e.g. binance, kraken, bybit) nor a file path`);
  }
  const { ccxtExchange } = await import("rxtrade/ccxt");
  return ccxtExchange(value);
}

/**
 * The one-minute candles of the window from the exchange, a page at a time with progress: from
 * a day before --from (the strategy's history) to the time an open signal needs after --to
 * (CC_SCHEDULE_AWAIT_MINUTES + CC_MAX_SIGNAL_LIFETIME_MINUTES), closed candles only. Returns
 * the exit code when the symbol is unknown (2, thrown) or the exchange fails (1).
 */
async function fetchHistory(
  exchange: ExchangeSchema & { resolveSymbol?: (symbol: string) => Promise<string> },
  symbol: string,
  window: { from: number; to: number | undefined },
  out: Printer,
  bar: ProgressBar,
): Promise<{ candles: Candle[]; market: string } | number> {
  const config = getConfig();
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  if (window.from >= now) throw new UsageError("backtest", `--from ${isoMinute(window.from)} is not in the past; give a time before ${isoMinute(now)}`);
  const to = window.to ?? now;
  const start = window.from - FETCH_HISTORY_MINUTES * MINUTE;
  const end = Math.min(to + (config.CC_SCHEDULE_AWAIT_MINUTES + config.CC_MAX_SIGNAL_LIFETIME_MINUTES) * MINUTE, now);
  let market = symbol;
  try {
    if (typeof exchange.resolveSymbol === "function") market = await exchange.resolveSymbol(symbol);
  } catch (error) {
    const message = describeThrown(error).replace(/^rxtrade: /, "");
    // Without a cause the exchange answered and the name is wrong; with one, it could not be reached.
    if ((error as { cause?: unknown })?.cause === undefined) throw new UsageError("backtest", message);
    out.warn(`rxtrade backtest: cannot check ${symbol} on ${exchange.exchangeName}: ${message}`);
    return EXIT.failed;
  }
  const candles: Candle[] = [];
  const started = performance.now();
  let cursor = start;
  try {
    while (cursor < end) {
      const page = await answerOf(exchange.getCandles(symbol, "1m", new Date(cursor), Math.min(FETCH_PAGE, Math.ceil((end - cursor) / MINUTE))));
      const fresh = page.filter((candle) => candle.timestamp >= cursor && candle.timestamp < end);
      if (fresh.length === 0) break;
      candles.push(...fresh);
      cursor = (fresh.at(-1) as Candle).timestamp + MINUTE;
      bar.update((cursor - start) / (end - start), `fetching ${market} 1m candles from ${exchange.exchangeName}: ${candles.length.toLocaleString("en-US")}`, started);
    }
  } catch (error) {
    bar.end();
    out.warn(`rxtrade backtest: fetching ${market} candles from ${exchange.exchangeName} failed after ${candles.length} candles: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  bar.end();
  if (candles.length === 0) {
    throw new UsageError("backtest", `${exchange.exchangeName} has no one-minute candles of ${market} from ${isoMinute(start)} to ${isoMinute(end)}; give another window (--from, --to)`);
  }
  return { candles, market };
}

/** An exchange's answer, whichever form it takes (an array, a Promise, an Observable's first value). */
async function answerOf<T>(answer: T | PromiseLike<T> | import("rxjs").Observable<T>): Promise<T> {
  return isObservable(answer) ? firstValueFrom(answer) : await answer;
}

// --- output ---------------------------------------------------------------------------------

/** Lines on stdout and warnings on stderr, each printed with the progress bar out of its way. */
class Printer {
  constructor(
    readonly terminal: Terminal,
    private readonly bar: ProgressBar,
  ) {}

  line(text: string): void {
    this.bar.hide();
    this.terminal.line(text);
    this.bar.show();
  }

  warn(text: string): void {
    this.bar.hide();
    this.terminal.warn(text);
    this.bar.show();
  }
}

const REDRAW_EVERY_MS = 100;
const BAR_WIDTH = 24;

/**
 * A progress bar on a terminal, redrawn in place (`\r`, erase line) at most every 100 ms: the
 * share done, what the caller says, and the time left at the pace so far. Nothing at all when
 * the output is not a terminal.
 */
export class ProgressBar {
  private enabled: boolean;
  private text = "";
  private shown = false;
  private lastDraw = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly out: Output,
    /** Real time in ms (`performance.now()`): the pace, for the time left. */
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.enabled = out.isTTY === true;
  }

  /** `fraction` of the work done (0 to 1), a note, and when the work started (on `clock`) for the time left. */
  update(fraction: number, note: string, startedAt: number): void {
    if (!this.enabled) return;
    const now = this.clock();
    if (now - this.lastDraw < REDRAW_EVERY_MS) return;
    this.lastDraw = now;
    const share = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(share * BAR_WIDTH);
    const elapsed = (now - startedAt) / 1000;
    const left = share > 0.01 && share < 1 ? ` · ETA ${remaining((elapsed * (1 - share)) / share)}` : "";
    this.text = `${"█".repeat(filled)}${"░".repeat(BAR_WIDTH - filled)} ${String(Math.floor(share * 100)).padStart(3)} % · ${note}${left}`;
    this.draw();
  }

  hide(): void {
    if (!this.shown) return;
    this.out.write("\r\x1b[2K");
    this.shown = false;
  }

  show(): void {
    if (this.enabled && this.text !== "") this.draw();
  }

  /** Removes the bar for good. */
  end(): void {
    this.hide();
    this.enabled = false;
  }

  private draw(): void {
    const width = Math.max(20, (this.out.columns || 100) - 1);
    const fitted = this.text.length > width ? `${this.text.slice(0, width - 1)}…` : this.text;
    this.out.write(`\r\x1b[2K${fitted}`);
    this.shown = true;
  }
}

function remaining(seconds: number): string {
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}
