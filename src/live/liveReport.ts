import { ArgumentRangeError } from "../errors";
import { MINUTE_MS, type TickResult } from "../model";
import type { LiveStatistics } from "./liveStatistics";

/** One column of the Markdown report. */
export interface ReportColumn {
  key: string;
  label: string;
  format(row: TickResult): string;
}

const NA = "N/A";

// Quote currencies a symbol written without a separator (BTCUSDT) may end with; longest first,
// so that BTCUSDT is USDT, not USD. None that would make a common pair ambiguous: with TUSD,
// XBTUSD would read XB/TUSD; with BUSD, BNBUSD would read BN/BUSD.
const QUOTES = ["FDUSD", "USDT", "USDC", "EURC", "DAI", "USD", "EUR", "GBP", "JPY", "TRY", "BRL", "AUD", "BTC", "ETH", "BNB"];

/**
 * The currency a symbol's prices are in, its quote: `BTC/USDT`, `BTC/USDT:USDT` and `BTCUSDT`
 * give `USDT`, `BTC/USD:BTC` gives `USD`; `undefined` when the symbol does not tell.
 */
function quoteCurrency(symbol: string): string | undefined {
  const separated = /^[^/]+\/([^/:]+)(?::[^/:]*)?$/.exec(symbol);
  if (separated !== null) return separated[1];
  if (!/^[A-Z0-9]+$/.test(symbol)) return undefined;
  return QUOTES.find((quote) => symbol.length > quote.length && symbol.endsWith(quote));
}

/** A price with 8 decimals and the symbol's quote currency (`23423.17000000 USDT`), or without a unit when the symbol does not tell. */
const money = (value: number | undefined, symbol: string) => {
  if (value === undefined || !Number.isFinite(value)) return NA;
  const quote = quoteCurrency(symbol);
  return quote === undefined ? value.toFixed(8) : `${value.toFixed(8)} ${quote}`;
};
const percent = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? NA : `${value.toFixed(2)}%`);
const signed = (value: number | null | undefined, digits = 2) =>
  value === null || value === undefined || !Number.isFinite(value) ? NA : `${value > 0 ? "+" : ""}${value.toFixed(digits)}%`;

function durationMinutes(row: TickResult): number | undefined {
  switch (row.action) {
    case "closed":
      return row.closeTimestamp - row.signal.pendingAt;
    case "cancelled":
      return row.closeTimestamp - row.signal.scheduledAt;
    case "active":
      return row.timestamp - row.signal.pendingAt;
    default:
      return undefined;
  }
}

/** The report's default columns, in order. */
export const defaultReportColumns: readonly ReportColumn[] = [
  { key: "timestamp", label: "Timestamp", format: (row) => new Date(row.timestamp).toISOString() },
  { key: "action", label: "Action", format: (row) => row.action.toUpperCase() },
  { key: "symbol", label: "Symbol", format: (row) => row.symbol },
  { key: "signalId", label: "Signal ID", format: (row) => row.signal?.id ?? NA },
  { key: "position", label: "Position", format: (row) => row.signal?.position.toUpperCase() ?? NA },
  { key: "currentPrice", label: "Current Price", format: (row) => money(row.currentPrice, row.symbol) },
  { key: "priceOpen", label: "Open Price", format: (row) => money(row.signal?.priceOpen, row.symbol) },
  { key: "priceTakeProfit", label: "Take Profit", format: (row) => money(row.signal?.priceTakeProfit, row.symbol) },
  { key: "priceStopLoss", label: "Stop Loss", format: (row) => money(row.signal?.priceStopLoss, row.symbol) },
  { key: "percentTp", label: "% to TP", format: (row) => percent(row.action === "active" ? row.percentTp : undefined) },
  { key: "percentSl", label: "% to SL", format: (row) => percent(row.action === "active" ? row.percentSl : undefined) },
  { key: "pnl", label: "PNL (net)", format: (row) => (row.action === "closed" ? signed(row.pnl.pnlPercentage) : NA) },
  {
    key: "closeReason",
    label: "Close Reason",
    format: (row) => (row.action === "closed" ? row.closeReason : row.action === "cancelled" ? row.cancelReason : NA),
  },
  {
    key: "duration",
    label: "Duration (min)",
    format: (row) => {
      const ms = durationMinutes(row);
      return ms === undefined ? NA : String(Math.round(ms / MINUTE_MS));
    },
  },
];

/** An optional column with the signal's note. */
export const noteReportColumn: ReportColumn = { key: "note", label: "Note", format: (row) => row.signal?.note || NA };

// A "|" or a line break inside a cell would break the table.
function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\r?\n/g, " ");
}

/**
 * The Markdown report of a pair: a title, a table of `eventList` (newest first) and the
 * summary lines; `No events recorded yet.` when there is nothing to show.
 *
 * @example
 * liveReport("momentum", await Live.getData("BTCUSDT", "momentum"), [...defaultReportColumns, noteReportColumn]);
 */
export function liveReport(strategyName: string, stats: LiveStatistics, columns: readonly ReportColumn[] = defaultReportColumns): string {
  const title = `# Live Trading Report: ${strategyName}\n\n${unavailableNote(stats)}`;
  if (stats.eventList.length === 0) return `${title}No events recorded yet.\n${endedSection(stats)}`;
  if (columns.length === 0) {
    throw new ArgumentRangeError("a report needs at least one column; give defaultReportColumns, or leave columns out", { argument: "columns", value: columns });
  }
  const lines = [
    `| ${columns.map((c) => cell(c.label)).join(" | ")} |`,
    `| ${columns.map(() => "---").join(" | ")} |`,
    ...stats.eventList.map((row) => `| ${columns.map((c) => cell(c.format(row))).join(" | ")} |`),
  ];
  const ratio = (value: number | null, digits = 3) => (value === null ? NA : value.toFixed(digits));
  const summary = [
    totalLine(stats),
    `**Closed signals:** ${stats.totalClosed}`,
    `**Win rate:** ${stats.winRate === null ? NA : `${stats.winRate.toFixed(2)}%`} (${stats.winCount}W / ${stats.lossCount}L)`,
    `**Average PNL:** ${signed(stats.avgPnl)}`,
    `**Total PNL:** ${signed(stats.totalPnl)}`,
    `**Standard deviation:** ${stats.stdDev === null ? NA : `${stats.stdDev.toFixed(2)}%`}`,
    `**Sharpe ratio:** ${ratio(stats.sharpeRatio)}`,
    `**Annualized Sharpe ratio:** ${ratio(stats.annualizedSharpeRatio)}`,
    `**Certainty ratio:** ${ratio(stats.certaintyRatio)}`,
    `**Expected yearly returns:** ${signed(stats.expectedYearlyReturns)}`,
    `**Max drawdown:** ${stats.maxDrawdown === null ? NA : `${stats.maxDrawdown.toFixed(2)}%`}`,
  ];
  return `${title}${lines.join("\n")}\n\n${summary.join("\n\n")}\n${endedSection(stats)}`;
}

// The table is bounded by maxEvents: the true total, and which part the table shows, so 250 rows never read as all.
function totalLine(stats: LiveStatistics): string {
  const omitted = stats.omittedEvents ?? 0;
  if (omitted <= 0) return `**Total events:** ${stats.totalEvents}`;
  const total = stats.totalEvents + omitted;
  return `**Total events:** ${total} (the table lists the newest ${stats.totalEvents} of ${total}; ${omitted} older left out: raise maxEvents to list more)`;
}

// The statistics are the current loop's: said before anything else, so no one reads them as the history.
function unavailableNote(stats: LiveStatistics): string {
  const why = stats.historyUnavailable;
  return why === undefined ? "" : `> **${cell(why.replace(/^history unavailable/, "History unavailable"))}**\n\n`;
}

// Signals the journal cannot tell the end of: listed, since they are in no number of the summary.
function endedSection(stats: LiveStatistics): string {
  const rows = (stats.endedUnrecorded ?? []).map(({ signalId, status, since }) => `\n| ${cell(signalId)} | ${status.toUpperCase()} | ${new Date(since).toISOString()} |`);
  return rows.length === 0
    ? ""
    : "\n## Ended unrecorded\n\nA later run found the store no longer holding these signals (a process killed between its store write and the journal): " +
        `how, when and at what price they ended is unknown, and they are in no number above.\n\n| Signal ID | Last journaled as | Since |\n| --- | --- | --- |${rows.join("")}\n`;
}
