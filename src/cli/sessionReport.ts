// The statistics and the Markdown report a demo or live run ends with, and the history
// output rxtrade report shares with it: a key's whole journaled history when there is one.
import { stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { historyStatistics, type LiveHistory, type LiveStatistics, liveReport, readLiveHistory, TradeLedger } from "rxtrade";
import { fileJournal, JOURNAL_DIR, writeReport } from "rxtrade/node";
import { displayPath, minute, statisticsLines, visible } from "./format";
import type { SessionEnd } from "./session";
import type { Terminal } from "./terminal";

/**
 * Prints the statistics a run ends with and writes the Markdown report to
 * `{dir}/{symbol}_{strategyName}.md` (named by `reportFileName`, written as `Live.dump` writes:
 * temp file + rename, 0600, never through a symlink); returns its path. With a journal in
 * `<store>/journal/`, the statistics and the report are the key's whole history: every run's
 * trades, each once, this run's included (also when it journaled nothing, `--journal off`), so
 * a later run never replaces the report of earlier ones with its own; titled `Statistics of
 * <key> since <first journaled trade> (…; N runs)` once earlier runs have traded. Without a
 * journal, or when it cannot be read (said on stderr), they are this run's.
 */
export async function finish(terminal: Terminal, end: SessionEnd, symbol: string, strategyName: string, reportDir: string, storeDir: string): Promise<string> {
  terminal.line("");
  const key = `${symbol}:${strategyName}`;
  const dir = join(storeDir, JOURNAL_DIR);
  let history: LiveHistory | undefined;
  if (await isFolder(dir)) {
    try {
      history = await readLiveHistory(fileJournal(storeDir), key);
    } catch (error) {
      terminal.warn(`warning: the journal ${displayPath(dir)} could not be read (${(error as Error).message.replace(/^rxtrade: /, "")}); the statistics below are this run's alone`);
    }
  }
  if (history === undefined) return printStatistics(terminal, "Statistics of this run", end.stats, symbol, strategyName, reportDir);
  const ledger = new TradeLedger();
  for (const result of history.results) ledger.add(result);
  const unjournaled = end.trades.filter((result) => ledger.add(result)).length;
  const notes = historyNotes(history);
  if (unjournaled > 0) {
    notes.push(
      `  note: ${unjournaled} of this run's trades are not in the journal (--journal off, or appends that failed): counted here; ` +
        "the next start journals those whose intent was journaled (see the JournalError above), until then rxtrade report leaves them out",
    );
  }
  // A history of this run alone (a first run, or earlier runs that traded nothing) is titled as such.
  const own = new TradeLedger();
  for (const result of end.trades) own.add(result);
  const earlier = history.results.filter((result) => own.add(result)).length;
  const title = earlier === 0 ? "Statistics of this run" : historyTitle(key, { firstAt: ledger.results[0]?.timestamp ?? null, runs: history.runs });
  // Signals that ended unrecorded are in the statistics too, so the report lists them ("Ended unrecorded").
  return printStatistics(terminal, title, historyStatistics({ results: ledger.results, endedUnrecorded: history.endedUnrecorded }), symbol, strategyName, reportDir, notes);
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * What the statistics of a history leave out, said under them: signals whose end is not in the
 * journal. The journal cannot tell why (a run whose appends failed to its end, stop entry
 * included, looks like a killed one), so the note does not claim a kill.
 */
export function historyNotes(history: Pick<LiveHistory, "endedUnrecorded">): string[] {
  return history.endedUnrecorded.map(
    ({ signalId, status, since }) =>
      `  note: signal ${signalId} (${status} since ${minute(since)}) ended unrecorded: its end is not in the journal — its process was killed between the store write ` +
      "and the journal, or the journal failed before its end was recorded (see that run's JournalError); it is in no statistic",
  );
}

/** `BTC/USDT:USDT:momentum` -> `["BTC/USDT:USDT", "momentum"]`: a strategy name has no `:`. */
export function splitKey(key: string): [symbol: string, strategyName: string] {
  const at = key.lastIndexOf(":");
  return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
}

/**
 * The title of a key's statistics over its journal's history: `Statistics of BTCUSDT:momentum
 * since 2023-03-01 02:41 UTC (the first journaled trade; 2 runs)`.
 */
export function historyTitle(rawKey: string, history: Pick<LiveHistory, "firstAt" | "runs">, since?: number): string {
  const key = visible(rawKey); // a strategy's name may hold anything but ":"
  const runs = history.runs > 0 ? `${history.runs} ${history.runs === 1 ? "run" : "runs"}` : undefined;
  if (history.firstAt === null) {
    return `Statistics of ${key}: no trades journaled${since === undefined ? " yet" : ` since ${minute(since)} UTC`}${runs === undefined ? "" : ` (${runs})`}`;
  }
  const from = since === undefined ? `${minute(history.firstAt)} UTC (the first journaled trade` : `${minute(since)} UTC (--since`;
  return `Statistics of ${key} since ${from}${runs === undefined ? "" : `; ${runs}`})`;
}

/** Prints `title`, the statistics, and writes the Markdown report as `finish` does; returns its path. */
export async function printStatistics(
  terminal: Terminal,
  title: string,
  stats: LiveStatistics,
  symbol: string,
  strategyName: string,
  reportDir: string,
  notes: readonly string[] = [],
): Promise<string> {
  terminal.line(title);
  for (const line of [...statisticsLines(stats), ...notes]) terminal.line(line);
  const file = await writeReport(reportDir, symbol, strategyName, liveReport(strategyName, stats));
  const shown = relative(process.cwd(), file);
  terminal.line(`Report: ${visible(shown.startsWith("..") ? file : shown)}`);
  return file;
}
