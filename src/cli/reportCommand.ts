import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { historyStatistics, type LiveHistory, type LiveStatistics, readLiveHistory } from "rxtrade";
import { fileJournal, JOURNAL_DIR } from "rxtrade/node";
import { DEMO_STORE } from "./demoCommand";
import { displayPath } from "./format";
import { isRxtradeError } from "./rxtradeErrors";
import { LIVE_STORE } from "./liveCommand";
import { historyNotes, historyTitle, printStatistics, splitKey } from "./sessionReport";
import { SkippedLines } from "./skippedLines";
import { boundedKeys, type Hole, holeNote, markIncomplete, notJournals, regularFiles, unrecordedHoles } from "./reportJournal";
import type { Terminal } from "./terminal";
import { editDistance, EXIT, parseFlags, UsageError } from "./usage";
import { checkWritableFolder } from "./writableFolder";

const FLAGS = {
  store: { type: "string" },
  symbol: { type: "string" },
  strategy: { type: "string" },
  since: { type: "string" },
  json: { type: "boolean" },
  "report-dir": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Not ./dump/live: that is where live runs write theirs, and a report of a --since window must not replace it. */
const REPORT_DIR = "./dump/report";

export const REPORT_HELP = `rxtrade report — the statistics and Markdown report of every run, from a store's journal

Reads the journal a store keeps (<store>/journal/, one file per symbol and strategy, written by
rxtrade live and rxtrade demo) and reports every run's trades, each once: a run, a kill -9 and
a second run report the trades of both. It starts no loop and takes no lock, so it can run
beside a live run (it sees the trades journaled so far).

Usage
  rxtrade report [--store dir] [--symbol S] [--strategy name] [--since ISO] [--json] [--report-dir dir]

Flags
  --store DIR        the store folder whose journal is read (default ${LIVE_STORE}, rxtrade live's;
                     the demo's is ${DEMO_STORE})
  --symbol SYMBOL    only this symbol, e.g. BTCUSDT (as the run wrote it)
  --strategy NAME    only this strategy, e.g. momentum
  --since ISO        only trades from this time on, e.g. 2023-03-08T12:00Z (UTC unless an offset
                     is given; epoch ms works too)
  --json             print the statistics as JSON (LiveStatistics, as Live.getData gives them):
                     an object by key, e.g. {"BTCUSDT:momentum": {…}}, or the one object itself
                     when --symbol and --strategy are both given; writes no report file.
                     Signals that ended unrecorded (a process killed between its store write
                     and its journal) are listed in "endedUnrecorded": [{"signalId", "status",
                     "since"}], present only when there are any; they are in no number
  --report-dir DIR   where the Markdown reports go (default ${REPORT_DIR}; not ./dump/live, where
                     live runs write theirs), one per symbol and strategy, <symbol>_<strategy>.md,
                     in the live run's format
  -h, --help         show this help

Exit codes
  0 done, 1 the store has no journal (its runs journaled nothing), the journal cannot be read
  (a read that fails, or does not answer within CC_STORE_TIMEOUT_SECONDS) or a report cannot
  be written, 2 a wrong command line (an unknown flag or value, no such store folder, a symbol
  or strategy the journal does not have, a journal file that is not a journal)
`;

/** `rxtrade report`: statistics and reports of every run from a store's journal, without a loop or a lock. */
export async function reportCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const flags = parseFlags("report", args, FLAGS, {
    store: LIVE_STORE,
    symbol: "BTCUSDT",
    strategy: "momentum",
    since: "2023-03-08T12:00Z",
    "report-dir": REPORT_DIR,
  });
  if (flags.help) {
    terminal.line(REPORT_HELP);
    return EXIT.ok;
  }
  const storeDir = nonEmpty("store", flags.store, LIVE_STORE) ?? LIVE_STORE;
  const symbol = nonEmpty("symbol", flags.symbol, "BTCUSDT");
  const strategyName = nonEmpty("strategy", flags.strategy, "momentum");
  const since = flags.since === undefined ? undefined : parseSince(flags.since);
  const reportDir = nonEmpty("report-dir", flags["report-dir"], REPORT_DIR) ?? REPORT_DIR;

  const journalDir = join(storeDir, JOURNAL_DIR);
  if (!(await isFolder(storeDir, "store"))) {
    throw new UsageError("report", `--store ${storeDir}: no such folder, so no journal to report${storeDir === LIVE_STORE ? ` (the demo keeps its own store: rxtrade report --store ${DEMO_STORE})` : ""}`);
  }
  if (!(await isFolder(journalDir, "store"))) {
    terminal.warn(
      `rxtrade report: the store ${displayPath(storeDir)} has no journal (${displayPath(journalDir)}): its runs journaled nothing (they ran with --journal off, or before rxtrade journaled), so there is no history to report. rxtrade live and rxtrade demo journal there by default (--journal trades).`,
    );
    return EXIT.failed;
  }
  await regularFiles(journalDir);
  const skipped = new SkippedLines();
  const journal = fileJournal(storeDir, { onWarning: skipped.add });
  const histories: Array<{ key: string; history: LiveHistory; stats: LiveStatistics; holes: Hole[] }> = [];
  try {
    const all = [...(await boundedKeys(journal))].sort();
    await notJournals(journal, journalDir, all, skipped, terminal);
    const keys = selectKeys(all, symbol, strategyName, storeDir);
    for (const key of keys) {
      const history = await readLiveHistory(journal, key, since === undefined ? {} : { since });
      const stats: LiveStatistics & { ledgerIncomplete?: Hole[] } = historyStatistics(history);
      const holes = await unrecordedHoles(journal, key, since);
      if (holes.length > 0) stats.ledgerIncomplete = holes;
      histories.push({ key, history, stats, holes });
    }
  } catch (error) {
    if (!isRxtradeError(error, "JournalError")) throw error;
    for (const line of skipped.lines()) terminal.warn(line);
    terminal.warn(`rxtrade report: the journal ${displayPath(journalDir)} cannot be read: ${error.message.replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  for (const line of skipped.lines()) terminal.warn(line);

  if (flags.json) {
    const one = symbol !== undefined && strategyName !== undefined;
    terminal.line(JSON.stringify(one ? (histories[0] as (typeof histories)[number]).stats : Object.fromEntries(histories.map(({ key, stats }) => [key, stats])), null, 2));
    return EXIT.ok;
  }
  // Before anything is printed, as live and demo check it before they start.
  await checkWritableFolder("report", "report-dir", reportDir, REPORT_DIR);
  if (histories.length === 0) {
    terminal.line(`The journal ${displayPath(journalDir)} holds no runs yet.`);
    return EXIT.ok;
  }
  let code: number = EXIT.ok;
  for (const [index, { key, history, stats, holes }] of histories.entries()) {
    if (index > 0) terminal.line("");
    const [keySymbol, keyStrategy] = splitKey(key);
    try {
      const file = await printStatistics(terminal, historyTitle(key, history, since), stats, keySymbol, keyStrategy, reportDir, [...historyNotes(history), ...holes.map(holeNote)]);
      if (holes.length > 0) await writeFile(file, markIncomplete(await readFile(file, "utf8"), holes));
    } catch (error) {
      terminal.warn(`rxtrade report: the report of ${key} could not be written to ${reportDir}: ${(error as Error).message.replace(/^rxtrade: /, "")}; give another folder, e.g. --report-dir ${REPORT_DIR}`);
      code = EXIT.failed;
    }
  }
  return code;
}

/** A string flag's value, refused when empty. */
function nonEmpty(flag: string, value: string | undefined, example: string): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === "") throw new UsageError("report", `--${flag} needs a value, got an empty one; e.g. --${flag} ${example}`);
  return trimmed;
}

/** Whether `path` is a folder; a file there is a wrong command line. */
async function isFolder(path: string, flag: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) throw new UsageError("report", `--${flag} ${path} is a file, not a store folder; e.g. --${flag} ${LIVE_STORE}`);
    return true;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR") throw new UsageError("report", `--${flag} ${path}: a part of the path is a file, not a folder; e.g. --${flag} ${LIVE_STORE}`);
    throw new UsageError("report", `--${flag} ${path} cannot be read: ${(error as Error).message}`);
  }
}

/** The journal's keys that `--symbol` and `--strategy` select; a selection that matches none is a wrong command line. */
function selectKeys(keys: readonly string[], symbol: string | undefined, strategyName: string | undefined, storeDir: string): string[] {
  const selected = keys.filter((key) => {
    const [keySymbol, keyStrategy] = splitKey(key);
    return (symbol === undefined || keySymbol === symbol) && (strategyName === undefined || keyStrategy === strategyName);
  });
  if (selected.length > 0 || (symbol === undefined && strategyName === undefined)) return selected;
  const wanted = [symbol === undefined ? undefined : `--symbol ${symbol}`, strategyName === undefined ? undefined : `--strategy ${strategyName}`].filter((part) => part !== undefined).join(" ");
  // The closest: an exact strategy name with the symbol written another way first, then a typo.
  const near = keys.find((key) => nearPart(key, symbol, strategyName, 0)) ?? keys.find((key) => nearPart(key, symbol, strategyName, 2));
  const known = keys.length === 0 ? "it holds no runs yet" : `it holds ${keys.join(", ")}`;
  throw new UsageError("report", `the journal of ${storeDir} has nothing for ${wanted}: ${known}${near === undefined ? "" : `; did you mean ${near}?`}`);
}

/**
 * A key close to what was asked for: its symbol written another way (`btc/usdt` for `BTCUSDT`)
 * or its strategy name mistyped (`momentun`), the other part matching when given.
 */
function nearPart(key: string, symbol: string | undefined, strategyName: string | undefined, typos: number): boolean {
  const [keySymbol, keyStrategy] = splitKey(key);
  const bare = (text: string) => text.toUpperCase().replace(/[/:\-_]/g, "");
  const symbolNear = symbol === undefined || bare(keySymbol) === bare(symbol) || bare(keySymbol) === bare(symbol.split(":")[0] as string);
  const strategyNear = strategyName === undefined || editDistance(keyStrategy.toLowerCase(), strategyName.toLowerCase()) <= typos;
  return symbolNear && strategyNear;
}

const ISO = /^(\d{4})-(\d\d)-(\d\d)(?:T(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?(Z|[+-](\d\d):?(\d\d))?$/;
const ISO_FORMAT = "YYYY-MM-DD[THH:MM[:SS]][Z|±HH:MM]";

/** `--since`: ISO 8601 (`2023-03-08T12:00Z`, `2023-03-08 12:00`, `2023-03-08`; UTC unless an offset is given) or epoch ms. */
export function parseSince(text: string): number {
  const trimmed = text.trim();
  // Epoch ms: 0 (everything), or 12 digits and more; fewer digits are more likely seconds or a year.
  if (/^0+$/.test(trimmed) || /^\d{12,}$/.test(trimmed)) return Number(trimmed);
  if (/^\d+$/.test(trimmed)) {
    throw new UsageError("report", `--since ${trimmed} reads as ${new Date(Number(trimmed)).toISOString()} in epoch ms (seconds, or a year?); give epoch ms (e.g. 1678276800000), 0 for every trade, or ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z`);
  }
  // ISO 8601's letters in either case: 2023-03-01t12:00z is 2023-03-01T12:00Z.
  const match = ISO.exec(trimmed.replace(" ", "T").toUpperCase());
  if (match === null) {
    throw new UsageError("report", `--since ${JSON.stringify(text)} is not a time; give ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z (${ISO_FORMAT}), or epoch ms`);
  }
  const [, year, month, day, hour = "00", minutes = "00", seconds = "00", fraction = "", offset, offsetHours = "0", offsetMinutes = "0"] = match;
  // Date.parse rolls an impossible date over (2023-02-30 is March 2): each field is checked first.
  const days = new Date(Date.UTC(Number(year), Number(month), 0)).getUTCDate();
  const wrong =
    Number(month) < 1 || Number(month) > 12
      ? `there is no month ${month}`
      : Number(day) < 1 || Number(day) > days
        ? `${year}-${month} has ${days} days`
        : Number(hour) > 23 || Number(minutes) > 59 || Number(seconds) > 59
          ? `${hour}:${minutes}:${seconds} is not a time of day`
          : Number(offsetHours) > 14 || Number(offsetMinutes) > 59
            ? `${offset} is not a UTC offset`
            : undefined;
  if (wrong !== undefined) {
    throw new UsageError("report", `--since ${JSON.stringify(text)} is not a date: ${wrong}; give ISO 8601 in UTC, e.g. --since 2023-03-08T12:00Z (${ISO_FORMAT})`);
  }
  // Without an offset, UTC, as every time printed is.
  return Date.parse(`${year}-${month}-${day}T${hour}:${minutes}:${seconds}${fraction}${offset ?? "Z"}`);
}
