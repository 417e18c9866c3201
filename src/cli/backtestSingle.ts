import { liveReport, type SignalState, type StrategySchema } from "rxtrade";
import { writeReport } from "rxtrade/node";
import { type CandleSource, planWindow } from "./backtestData";
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
  source: CandleSource;
  window: WindowFlags;
  json: boolean;
  reportDir: string;
  out: Printer;
  bar: ProgressBar;
  ctrlC: CtrlC;
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
  let result: RunResult;
  try {
    result = await runWindow(symbol, strategy, source, plan, window, {
      onTick: (tick) => {
        if (!stopSeen && tick.timestamp >= plan.to) {
          stopSeen = true;
          if (current !== null && !run.json) out.line(`${minute(plan.to)}  ${stopName(window.to !== undefined)} reached: graceful stop, no new signals; ${describeHeld(current)} runs to its close`);
        }
        const line = eventLine(tick, current);
        current = held(tick);
        if (tick.action === "closed") closed++;
        if (line !== undefined && !run.json) out.line(line);
        const done = Math.min(1, (tick.timestamp - plan.from) / span);
        bar.update(done, `${minute(tick.timestamp)} · ${closed} closed${done >= 1 && current !== null ? " · past --to: the open signal runs to its close" : ""}`, started);
      },
      onError: (error) => warnings.add(`error$ ${error.name}: ${error.message}`),
      signal: run.ctrlC.signal,
    });
  } catch (error) {
    // An error the loop does not survive (a fatal one, after error$ said it), or a hung strategy.
    bar.end();
    warnings.flush();
    out.warn(`rxtrade backtest: the run failed: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  bar.end();
  warnings.flush();

  let reportPath: string;
  try {
    reportPath = await writeReport(run.reportDir, symbol, result.strategyName, markPartial(liveReport(result.strategyName, result.stats), result));
  } catch (error) {
    return explainReportError("backtest", error, out.terminal, run.reportDir);
  }
  const code = result.end === "interrupted" ? EXIT.interrupted : EXIT.ok;
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
