import { getConfig, type LiveStatistics, liveStatistics, pnl, type SignalState } from "rxtrade";
import type { BacktestTrade } from "rxtrade/node";
import { grouped } from "./backtestProgress";
import type { RunResult } from "./backtestRun";
import { describeHeld, minute, price, signedPercent } from "./format";

const MINUTE = 60_000;

/** What the graceful stop is called: `--to` when the flag was given, else what it defaults to, the data's end. */
export function stopName(toGiven: boolean): string {
  return toGiven ? "--to" : "the end of the data";
}

/**
 * What the run's end was: the graceful stop, or the data running out (with what stayed open).
 * `toGiven`: whether --to was given (else the stop is the data's end, and is called so).
 */
export function endLines(result: RunResult, toGiven: boolean): string[] {
  const lastCandle = result.dataEnd - MINUTE;
  if (result.end === "interrupted") return [interruptedLine(result)];
  if (result.end === "stopped") {
    const past = result.lastTick !== null && result.lastTick > result.to;
    return [
      past
        ? `Stopped gracefully: ${stopName(toGiven)} ${minute(result.to)} reached; the signal open then closed at ${minute(result.lastTick as number)}, on the candles after ${toGiven ? "--to" : "it"}.`
        : `Stopped gracefully at ${minute(result.to)} (${stopName(toGiven)}).`,
    ];
  }
  const open = result.open;
  if (open === null) {
    return [`The data end at ${minute(lastCandle)} (their last candle)${toGiven ? `, before --to ${minute(result.to)}` : ""}: the backtest ended with them.`];
  }
  const state: SignalState = open.action === "scheduled" ? { status: "scheduled", signal: open.signal } : { status: "opened", signal: open.signal };
  const where =
    open.action === "scheduled"
      ? "it never opened"
      : `at the last price, ${price(open.currentPrice)}, it stands at ${signedPercent(pnl(open.signal.position, open.signal.priceOpen, open.currentPrice, getConfig()).pnlPercentage)} after costs`;
  return [
    `The data end at ${minute(lastCandle)} (their last candle) while ${describeHeld(state)} is still ${open.action === "scheduled" ? "waiting" : "open"}: ` +
      `it stays so, and is not counted in the statistics; ${where}. ${toGiven ? "Give data that go further after --to" : "Give an earlier --to, or data that go further,"} for it to close.`,
  ];
}

export function doneLine(result: RunResult): string {
  const seconds = result.elapsedMs / 1000;
  return (
    `Done: ${grouped(result.ticks)} ticks over ${grouped(result.candles)} one-minute candles in ${seconds.toFixed(2)} s ` +
    `(${grouped(Math.round(result.candles / Math.max(seconds, 1e-3)))} candles/s)` +
    (result.errorCount > 0 ? `; error$ reported ${result.errorCount} error(s), above` : "") +
    (result.end !== "interrupted"
      ? ""
      : result.stoppedBy === "hung"
        ? " (stopped: the strategy hung; partial)"
        : result.stoppedBy === "start"
          ? " (stopped: the worker did not start; partial)"
          : " (interrupted: partial)")
  );
}

/** The statistics of every symbol's trades together, in time order. */
export function combinedStatistics(trades: readonly BacktestTrade[][]): LiveStatistics {
  return liveStatistics(trades.flat().sort((a, b) => a.timestamp - b.timestamp));
}

/** The `--json` form of one symbol's run. */
export function jsonOf(result: RunResult, report: string) {
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

export function table(rows: string[][]): string[] {
  const widths = (rows[0] as string[]).map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows.map((row) => row.map((cell, column) => (column >= 1 && column <= 6 ? cell.padStart(widths[column] as number) : cell.padEnd(widths[column] as number))).join("  ").trimEnd());
}


/** The run was interrupted: where it stopped, and what it left. */
function interruptedLine(result: RunResult): string {
  const reached = result.lastTick === null ? "before its first tick" : `at ${minute(result.lastTick)}`;
  const open = result.open === null ? "" : `; ${describeHeld(stateOf(result.open))} stays ${result.open.action === "scheduled" ? "waiting" : "open"}, not counted`;
  return `${why(result)} ${reached}, ${shareDone(result)} of the window to --to ${minute(result.to)}: the statistics below are partial${open}.`;
}

/** Ctrl-C, or the strategy that hung (its worker thread terminated). */
function why(result: Pick<RunResult, "stoppedBy">): string {
  return result.stoppedBy === "hung" ? "Stopped (the strategy hung)" : result.stoppedBy === "start" ? "Stopped (the worker did not start)" : "Interrupted (Ctrl-C)";
}

function shareDone(result: RunResult): string {
  if (result.lastTick === null) return "0 %";
  const share = Math.max(0, Math.min(1, (result.lastTick - result.from) / Math.max(1, Math.min(result.to, result.dataEnd) - result.from)));
  return `${Math.floor(share * 100)} %`;
}

function stateOf(open: NonNullable<RunResult["open"]>): SignalState {
  return open.action === "scheduled" ? { status: "scheduled", signal: open.signal } : { status: "opened", signal: open.signal };
}

/** The title line of the statistics: partial ones say so, with the time reached. */
export function statisticsTitle(result: Pick<RunResult, "end" | "from" | "lastTick" | "stoppedBy">): string {
  if (result.end !== "interrupted") return "Statistics of the backtest";
  return `Statistics of the backtest (partial: ${result.stoppedBy === "hung" ? "the strategy hung" : "interrupted"}, ${minute(result.from)} to ${result.lastTick === null ? "its start" : minute(result.lastTick)})`;
}

/** A report of an interrupted run says so under its title. */
export function markPartial(report: string, result: Pick<RunResult, "end" | "from" | "lastTick" | "stoppedBy">): string {
  if (result.end !== "interrupted") return report;
  const how = result.stoppedBy === "hung" ? "stopped: the strategy did not return within --call-timeout" : result.stoppedBy === "start" ? "stopped: its worker did not start" : "interrupted (Ctrl-C)";
  const note = `> **Partial:** the backtest was ${how} at ${result.lastTick === null ? "its start" : `${minute(result.lastTick)} UTC`}; these are the trades from ${minute(result.from)} UTC up to then.`;
  const cut = report.indexOf("\n");
  return cut < 0 ? `${report}\n\n${note}\n` : `${report.slice(0, cut)}\n\n${note}${report.slice(cut)}`;
}
