import { liveReport, type SignalState, type StrategySchema, type TickResult } from "rxtrade";
import { type CsvCandleFile, writeReport } from "rxtrade/node";
import { type CandleSource, planWindow, type WindowPlan } from "./backtestData";
import { type FileFacts, isolationEntry, runIsolated, type SingleJob } from "./backtestIsolated";
import { DEFAULT_REPORT_DIR, type WindowFlags } from "./backtestFlags";
import { doneLine, endLines, jsonOf, markPartial, statisticsTitle, stopName } from "./backtestOutput";
import type { CtrlC, Printer, ProgressBar } from "./backtestProgress";
import { WarningTally } from "./backtestProgress";
import { type RunResult, runWindow } from "./backtestRun";
import { describeHeld, displayPath, duration, eventLine, held, minute, statisticsLines } from "./format";
import { explainReportError } from "./runErrors";
import { EXIT, UsageError } from "./usage";
import { describeThrown } from "./userModule";
import { checkWritableFolder } from "./writableFolder";

const MINUTE = 60_000;

/** One symbol's backtest, as the command runs it. */
export interface SingleRun {
  symbol: string;
  strategy: StrategySchema;
  /** --strategy as given, and --module-timeout: what a worker thread loads the strategy from. */
  strategySpec: string;
  moduleTimeoutMs: number;
  source: CandleSource;
  window: WindowFlags;
  json: boolean;
  reportDir: string;
  out: Printer;
  bar: ProgressBar;
  ctrlC: CtrlC;
  /**
   * On a worker thread (the default when this process is the rxtrade command line; see
   * isolationEntry), so a strategy stuck in a synchronous loop can be stopped; `false`: here.
   */
  isolate?: boolean;
}

/** What the worker needs: the flags as given, and the candles as checked here (not checked again there). */
function jobOf(run: SingleRun, plan: WindowPlan): SingleJob {
  const { candles } = run.source;
  return {
    symbol: run.symbol,
    strategy: run.strategySpec,
    moduleTimeoutMs: run.moduleTimeoutMs,
    source: Array.isArray(candles)
      ? { kind: "array", candles }
      : { kind: "file", path: (candles as CsvCandleFile).path, facts: pick(candles as CsvCandleFile) },
    plan,
    window: run.window,
  };
}

function pick(file: CsvCandleFile): FileFacts {
  return { rows: file.rows, first: file.first, last: file.last, gaps: file.gaps, warnings: [...file.warnings] };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Runs one symbol: the header, the trades as they happen, the end, the statistics and the report. Resolves to the exit code. */
export async function runSingle(run: SingleRun): Promise<number> {
  const { symbol, strategy, source, window, out, bar } = run;
  const plan = planWindow(source, window, (problem) => new UsageError("backtest", problem));
  // Before the run, not when the report is due after it.
  await checkWritableFolder("backtest", "report-dir", run.reportDir, DEFAULT_REPORT_DIR);
  for (const warning of source.warnings) out.warn(`rxtrade backtest: ${warning}`);
  if (!run.json) {
    out.line(`rxtrade backtest · ${symbol} · strategy ${strategy.strategyName}`);
    out.line(`data: ${source.description(`${minute(source.first)} → ${minute(source.last)} UTC`)}`);
    out.line(
      `the live loop on a virtual clock, memory store: a tick every ${window.tickMs} ms from ${minute(plan.from)}; graceful stop at ${minute(plan.to)} (${duration((plan.to - plan.from) / MINUTE)})`,
    );
    if (plan.to > source.last + MINUTE) out.line(`the data end at ${minute(source.last)} (their last candle), before --to: the backtest ends there`);
    out.line("");
  }
  if (run.ctrlC.interrupted) {
    out.warn("rxtrade backtest: interrupted (Ctrl-C) before the first tick; nothing ran");
    return EXIT.interrupted;
  }

  let current: SignalState | null = null;
  let stopSeen = false;
  let closed = 0;
  const started = performance.now();
  const span = Math.max(1, Math.min(plan.to, source.last + MINUTE) - plan.from);
  const warnings = new WarningTally((text) => out.warn(text));
  const onTick = (tick: TickResult) => {
    if (!stopSeen && tick.timestamp >= plan.to) {
      stopSeen = true;
      if (current !== null && !run.json) out.line(`${minute(plan.to)}  ${stopName(window.to !== undefined)} reached: graceful stop, no new signals; ${describeHeld(current)} runs to its close`);
    }
    const line = eventLine(tick, current);
    current = held(tick);
    if (tick.action === "closed") closed++;
    if (line !== undefined && !run.json) out.line(line);
    progress(tick.timestamp);
  };
  const progress = (now: number) => {
    const done = Math.min(1, (now - plan.from) / span);
    bar.update(done, `${minute(now)} · ${closed} closed${done >= 1 && current !== null ? " · past --to: the open signal runs to its close" : ""}`, started);
  };
  const onError = (name: string, message: string) => warnings.add(`error$ ${name}: ${message}`);
  let result: RunResult;
  let hung: { at: number; limitMs: number; starting: boolean } | undefined;
  try {
    const entry = run.isolate === false ? undefined : isolationEntry();
    if (entry === undefined) {
      result = await runWindow(symbol, strategy, source, plan, window, { onTick, onError: (error) => onError(error.name, error.message), signal: run.ctrlC.signal });
    } else {
      // On a worker thread: a strategy stuck in a synchronous loop is terminated after --call-timeout, and Ctrl-C still works.
      const outcome = await runIsolated(entry, jobOf(run, plan), strategy.strategyName, {
        onTick,
        onProgress: (now, count) => {
          closed = Math.max(closed, count);
          progress(now);
        },
        onError,
        signal: run.ctrlC.signal,
      });
      result = outcome.result;
      hung = outcome.hung;
    }
  } catch (error) {
    // An error the loop does not survive (a fatal one, after error$ said it), or a hung strategy.
    bar.end();
    warnings.flush();
    out.warn(`rxtrade backtest: the run failed: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  if (hung !== undefined) {
    result = { ...result, stoppedBy: hung.starting ? "start" : "hung" };
    bar.end();
    warnings.flush();
    out.warn(
      hung.starting
        ? `rxtrade backtest: the backtest's worker thread did not start within ${seconds(hung.limitMs)} (loading ${strategy.strategyName}); it was stopped. Raise --module-timeout or check the strategy module's top level`
        : `rxtrade backtest: the strategy ${strategy.strategyName} did not return within ${seconds(hung.limitMs)} at the tick of ${new Date(hung.at).toISOString()} ` +
            `(a synchronous loop in its getSignal or a callback?); the run was stopped there. Raise --call-timeout or fix the strategy`,
    );
  }
  bar.end();
  warnings.flush();

  let reportPath: string;
  try {
    reportPath = await writeReport(run.reportDir, symbol, result.strategyName, markPartial(liveReport(result.strategyName, result.stats), result));
  } catch (error) {
    return explainReportError("backtest", error, out.terminal, run.reportDir);
  }
  const code = hung !== undefined ? EXIT.failed : result.end === "interrupted" ? EXIT.interrupted : EXIT.ok;
  if (run.json) {
    out.line(JSON.stringify(jsonOf(result, reportPath), null, 2));
    return code;
  }
  out.line("");
  for (const line of endLines(result, window.to !== undefined)) out.line(line);
  out.line(doneLine(result));
  out.line("");
  out.line(statisticsTitle(result));
  for (const line of statisticsLines(result.stats)) out.line(line);
  out.line(`Report: ${displayPath(reportPath)}${result.end === "interrupted" ? " (partial)" : ""}`);
  return code;
}
