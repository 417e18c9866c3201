import { realpathSync } from "node:fs";
import { basename, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { liveReport, type StrategySchema } from "rxtrade";
import { csvCandleFile, writeReport } from "rxtrade/node";
import { type PoolOutcome, runPool, servePool } from "../node/backtestPool";
import { type CsvJob, planWindow } from "./backtestData";
import type { WindowFlags } from "./backtestFlags";
import { combinedStatistics, jsonOf, markPartial, table } from "./backtestOutput";
import { type CtrlC, grouped, type Printer, type ProgressBar, WarningTally } from "./backtestProgress";
import { isolationEntry } from "./backtestIsolated";
import { type RunProgress, type RunResult, runWindow } from "./backtestRun";
import { displayPath, minute, signedPercent, statisticsLines } from "./format";
import { explainReportError } from "./runErrors";
import { resolveStrategy } from "./strategies";
import { EXIT } from "./usage";
import { describeThrown } from "./userModule";

/** The `workerData` that makes this command a worker of a folder's run. */
export const WORKER_JOBS = "rxtrade-backtest-worker";

/** A folder's run: one symbol per file. */
export interface FolderRun {
  data: string;
  jobs: CsvJob[];
  strategy: StrategySchema;
  threads: number;
  window: WindowFlags;
  json: boolean;
  reportDir: string;
  out: Printer;
  bar: ProgressBar;
  ctrlC: CtrlC;
}

/**
 * Runs a folder's files: on worker threads (or one after another in this thread), a row per
 * symbol, the combined statistics, a report per symbol. Resolves to the exit code: 1 when a file
 * failed, 130 when interrupted.
 */
export async function runFolder(run: FolderRun): Promise<number> {
  const { jobs, out, bar } = run;
  const threads = Math.max(1, Math.min(run.threads, jobs.length));
  // One thread is a worker thread too (its watchdog stops a stuck strategy, Ctrl-C is heard),
  // unless the command runs inside another program (see isolationEntry): then this thread.
  const inThisThread = threads === 1 && isolationEntry() === undefined;
  if (!run.json) {
    out.line(
      `rxtrade backtest · ${jobs.length} file${jobs.length === 1 ? "" : "s"} in ${displayPath(resolve(run.data))} · strategy ${run.strategy.strategyName} · ` +
        (inThisThread ? "one after another in this thread" : threads === 1 ? "one after another on a worker thread" : `${threads} worker threads`),
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
  // The last tick each file reported (for the message of a worker stuck after it).
  const reached: Array<number | undefined> = jobs.map(() => undefined);
  const progress = (index: number, value: RunProgress & { from: number; to: number }) => {
    reached[index] = value.now;
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
  const warnings = new WarningTally((text) => out.warn(text));
  const onError = (symbol: string, name: string, message: string) => warnings.add(`${symbol}: error$ ${name}: ${message}`);

  let outcomes: PoolOutcome<RunResult>[];
  if (inThisThread) {
    outcomes = [];
    for (const [index, job] of jobs.entries()) {
      let outcome: PoolOutcome<RunResult>;
      if (run.ctrlC.interrupted) {
        outcome = { ok: false, crashed: false, message: "not run: the backtest was interrupted first", notRun: true };
        outcomes.push(outcome);
        continue;
      }
      try {
        const hooks = { onError: (error: Error) => onError(job.symbol, error.name, error.message), onWarning: (text: string) => out.warn(`rxtrade backtest: ${text}`) };
        outcome = { ok: true, result: await runJob(job, (value) => progress(index, value), hooks, run.ctrlC.signal) };
      } catch (error) {
        outcome = { ok: false, crashed: false, message: describeThrown(error).replace(/^rxtrade: /, ""), ...(run.ctrlC.interrupted ? { interrupted: true } : {}) };
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
        else if (message.kind === "warning") out.warn(`rxtrade backtest: ${message.text}`);
        else onError((jobs[index] as CsvJob).symbol, message.name, message.message);
      },
      onOutput: (index, stream, line) => {
        const from = index === undefined ? "worker" : basename((jobs[index] as CsvJob).file);
        if (stream === "stdout" && !run.json) out.line(`${from}: ${line}`);
        else out.warn(`${from}: ${line}`);
      },
      onDone: (index, outcome) => settle(index, outcome as PoolOutcome<RunResult>),
      signal: run.ctrlC.signal,
      // A worker stuck in a synchronous loop (its heartbeat stopped) is terminated; its file fails.
      stallMs: Math.max(run.window.callTimeoutMs, 1000),
      stalled: (index, ms) =>
        `the strategy ${run.strategy.strategyName} did not return within ${ms % 1000 === 0 ? ms / 1000 : (ms / 1000).toFixed(1)} s` +
        `${reached[index] === undefined ? "" : ` after its tick of ${new Date(reached[index] as number).toISOString()}`} ` +
        "(a synchronous loop in its getSignal or a callback?); its worker was terminated. Raise --call-timeout or fix the strategy",
    });
  }
  bar.end();
  warnings.flush();

  const results: Array<{ job: CsvJob; result: RunResult; report: string }> = [];
  const failures: Array<{ job: CsvJob; message: string; crashed: boolean }> = [];
  const notRun: CsvJob[] = [];
  // Files stopped by Ctrl-C before they had a result (their check, or a strategy that did not stop).
  const stopped: Array<{ job: CsvJob; message: string }> = [];
  for (const [index, outcome] of outcomes.entries()) {
    const job = jobs[index] as CsvJob;
    if (!outcome.ok) {
      if (outcome.notRun === true) notRun.push(job);
      else if (outcome.interrupted === true) stopped.push({ job, message: outcome.message });
      else failures.push({ job, message: outcome.message, crashed: outcome.crashed });
      continue;
    }
    let report: string;
    try {
      report = await writeReport(run.reportDir, job.symbol, outcome.result.strategyName, markPartial(liveReport(outcome.result.strategyName, outcome.result.stats), outcome.result));
    } catch (error) {
      return explainReportError("backtest", error, out.terminal, run.reportDir);
    }
    results.push({ job, result: outcome.result, report });
  }
  const combined = combinedStatistics(results.map(({ result }) => result.trades));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuAtStart);
  const candles = results.reduce((sum, { result }) => sum + result.candles, 0);
  const interrupted = run.ctrlC.interrupted;
  const code = failures.length > 0 ? EXIT.failed : interrupted ? EXIT.interrupted : EXIT.ok;

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
          ...(interrupted ? { interrupted: true, notRun: notRun.map((job) => job.file), stopped: stopped.map(({ job, message }) => ({ file: job.file, symbol: job.symbol, message })) } : {}),
          combined,
        },
        null,
        2,
      ),
    );
    return code;
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
      result.end === "interrupted" ? "interrupted" : result.end === "stopped" ? "stopped" : result.open === null ? "data ended" : "data ended, 1 open",
      basename(job.file),
    ]);
  }
  for (const { job, crashed } of failures) rows.push([job.symbol, "-", "-", "-", "-", "-", "-", crashed ? "CRASHED" : "FAILED", basename(job.file)]);
  for (const { job } of stopped) rows.push([job.symbol, "-", "-", "-", "-", "-", "-", "INTERRUPTED", basename(job.file)]);
  for (const job of notRun) rows.push([job.symbol, "-", "-", "-", "-", "-", "-", "NOT RUN", basename(job.file)]);
  for (const line of table(rows)) out.line(line);
  out.line("");
  out.line(`Combined: ${results.length} symbol${results.length === 1 ? "" : "s"}, ${grouped(candles)} one-minute candles in ${(elapsedMs / 1000).toFixed(2)} s (${grouped(Math.round(candles / Math.max(elapsedMs / 1000, 1e-3)))} candles/s)`);
  if (interrupted) out.line(`Interrupted (Ctrl-C): the statistics below are partial; ${notRun.length} file${notRun.length === 1 ? "" : "s"} not run.`);
  for (const line of statisticsLines(combined)) out.line(line);
  if (results.length > 0) out.line(`Reports: ${displayPath(resolve(run.reportDir))}/<symbol>_${run.strategy.strategyName}.md (${results.length})`);
  for (const { job, message } of stopped) out.warn(`rxtrade backtest: ${job.file} interrupted (Ctrl-C): ${message}`);
  for (const { job, message } of failures) out.warn(`rxtrade backtest: ${job.file} failed: ${message}`);
  if (failures.length > 0) out.warn(`${failures.length} of ${jobs.length} files failed; the results above are the others'.`);
  return code;
}

type WorkerProgress =
  | ({ kind: "progress" } & RunProgress & { from: number; to: number })
  | { kind: "error"; name: string; message: string }
  | { kind: "warning"; text: string };

/** A worker thread's side of a folder's run: backtests the files it is given, one after another. */
export async function serveJobs(): Promise<number> {
  await servePool<CsvJob, RunResult, WorkerProgress>(
    (job, progress, signal, beat) =>
      runJob(
        job,
        (value) => progress({ kind: "progress", ...value }),
        { onError: (error) => progress({ kind: "error", name: error.name, message: error.message }), onWarning: (text) => progress({ kind: "warning", text }), beat },
        signal,
      ),
    (error) => describeThrown(error).replace(/^rxtrade: /, ""),
  );
  return EXIT.ok;
}

/** One file: checked, the window planned on it, the strategy loaded afresh, then the run, streaming it. */
async function runJob(
  job: CsvJob,
  onProgress: (progress: RunProgress & { from: number; to: number }) => void,
  hooks: { onError: (error: Error) => void; onWarning: (text: string) => void; beat?: () => void },
  signal: AbortSignal,
): Promise<RunResult> {
  const strategy = await resolveStrategy("backtest", job.strategy, job.moduleTimeoutMs);
  const file = await csvCandleFile(job.file, { signal });
  for (const warning of file.warnings) hooks.onWarning(warning);
  const source = { candles: file, first: file.first, last: file.last, rows: file.rows, warnings: file.warnings, description: () => job.file };
  const plan = planWindow(source, job, (problem) => new Error(problem));
  let closed = 0;
  let lastPost = Number.NEGATIVE_INFINITY;
  return runWindow(job.symbol, strategy, source, plan, job, {
    onTick: (tick) => {
      hooks.beat?.();
      if (tick.action === "closed") closed++;
      const now = performance.now();
      if (now - lastPost < 100) return;
      lastPost = now;
      onProgress({ now: tick.timestamp, closed, from: plan.from, to: Math.min(plan.to, plan.dataEnd) });
    },
    onError: hooks.onError,
    signal,
    beat: hooks.beat,
  });
}

// The module the workers run: the script this process was started with — the command's own
// entry (dist/cli.js; src/cli/index.ts under tsx). Started with argv ["backtest"] and
// WORKER_JOBS in workerData, it serves a folder's files (serveJobs). Not import.meta.url: in a
// build split into chunks, that would be a chunk, which runs nothing by itself.
export function workerEntry(): URL {
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

