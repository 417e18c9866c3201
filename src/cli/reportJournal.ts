// What `rxtrade report` reads of a store's journal folder besides the entries: the holes a
// killed run left in the ledger (and how the output says them), the keys under a time limit, and
// the files there that are not journals (a FIFO refused before it is opened, strays warned of).
import { lstat, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { CallTimeoutError, getConfig, type Journal, JournalError } from "rxtrade";
import type { fileJournal } from "rxtrade/node";
import { displayPath, minute } from "./format";
import { isRxtradeError } from "./rxtradeErrors";
import { problem, type SkippedLines } from "./skippedLines";
import type { Terminal } from "./terminal";
import { UsageError } from "./usage";

const SEGMENT = /^(.+)\.(\d{6,})\.jsonl$/;

/**
 * A stretch of a key's history whose changes of position may be missing from the journal: a run
 * ended (killed) while its journal was failing, and a later start found its marker and wrote a
 * `gap` entry with reason `unrecorded` (see fileJournal). `from`: the first failed append; `to`:
 * that later start (ms).
 */
export interface Hole {
  from: number;
  to: number;
}

/** The `unrecorded` gaps of `key` (each once; from --since on). */
export async function unrecordedHoles(journal: Journal, key: string, since: number | undefined): Promise<Hole[]> {
  const holes: Hole[] = [];
  for await (const entry of journal.read(key)) {
    if (entry.kind !== "gap" || (entry.reason as string) !== "unrecorded") continue;
    if (since !== undefined && entry.to < since) continue;
    if (!holes.some((hole) => hole.from === entry.from && hole.to === entry.to)) holes.push({ from: entry.from, to: entry.to });
  }
  return holes;
}

export function holeNote({ from, to }: Hole): string {
  return (
    `  note: ledger incomplete between ${minute(from)} and ${minute(to)} UTC: the journal was failing when its run ended without a stop entry (killed?), ` +
    "so changes of position made then may be missing from these statistics (the store's state at the next start was journaled)"
  );
}

/** The Markdown report with each hole said under its title. */
export function markIncomplete(report: string, holes: readonly Hole[]): string {
  const notes = holes
    .map(({ from, to }) => `> **Ledger incomplete between ${minute(from)} and ${minute(to)} UTC:** the journal was failing when its run ended without a stop entry (killed?); changes of position made then may be missing below.`)
    .join("\n>\n");
  const cut = report.indexOf("\n");
  return cut < 0 ? `${report}\n\n${notes}\n` : `${report.slice(0, cut)}\n\n${notes}${report.slice(cut)}`;
}

/**
 * `journal.keys()` bounded by CC_STORE_TIMEOUT_SECONDS, as readLiveHistory bounds each step of a
 * read. Written here with rxtrade's public classes, not imported from src/live: the command line's
 * bundle would hold its own copy of JournalError (and of the config), and its time-out would then
 * not be the JournalError caught above (an "unexpected error" with a stack trace, exit 1).
 */
export function boundedKeys(journal: Journal): Promise<string[]> {
  const what = "journal.keys()";
  const limitMs = getConfig().CC_STORE_TIMEOUT_SECONDS * 1000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(
        new JournalError({
          key: "",
          operation: "read",
          message: `${what} did not answer within CC_STORE_TIMEOUT_SECONDS (${limitMs / 1000} s): the journal hangs (a read that never settles, a FIFO or a stalled mount in place of a file)`,
          cause: new CallTimeoutError(what, "CC_STORE_TIMEOUT_SECONDS", limitMs),
        }),
      );
    }, limitMs);
    Promise.resolve()
      .then(() => journal.keys())
      .then(
        (keys) => resolve([...keys]),
        (error: unknown) =>
          reject(
            isRxtradeError(error, "JournalError")
              ? error
              : new JournalError({ key: "", operation: "read", message: `${what} failed: ${error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error)}`, cause: error }),
          ),
      )
      .finally(() => clearTimeout(timer));
  });
}

/**
 * Refuses a journal "file" that is not one before anything opens it: opening a FIFO for reading
 * blocks until someone writes to it, and a thread blocked in open() keeps the process from
 * exiting at all, whatever time limit the read has.
 */
export async function regularFiles(journalDir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(journalDir);
  } catch {
    return;
  }
  for (const name of names.filter((entry) => SEGMENT.test(entry))) {
    const path = join(journalDir, name);
    let kind: string | undefined;
    try {
      const info = await lstat(path);
      kind = info.isFile() ? undefined : info.isFIFO() ? "a FIFO" : info.isSymbolicLink() ? "a symbolic link" : info.isDirectory() ? "a folder" : "a socket or a device";
    } catch {
      continue; // gone since: the journal skips it too
    }
    if (kind !== undefined) {
      throw new UsageError("report", `${displayPath(path)} is ${kind}, not a journal file; rxtrade does not open it (a FIFO would block the read for good): move it out of ${displayPath(journalDir)}`);
    }
  }
}

/**
 * The segment files of the journal folder that hold no entry of any key: not a journal (a file
 * put there by hand, a damaged one) or renamed. With no key at all, that is a wrong command
 * line (exit 2, the file and what was wrong with it); beside other keys, a warning each.
 */
export async function notJournals(journal: ReturnType<typeof fileJournal>, journalDir: string, keys: readonly string[], skipped: SkippedLines, terminal: Terminal): Promise<void> {
  const known = new Set<string>();
  for (const key of keys) for (const file of await journal.segmentsOf(key)) known.add(resolve(file));
  let names: string[];
  try {
    names = await readdir(journalDir);
  } catch {
    return;
  }
  const strays = names.filter((name) => SEGMENT.test(name)).map((name) => resolve(journalDir, name)).filter((path) => !known.has(path));
  const why = (path: string) => {
    const lines = skipped.of(path);
    if (lines === undefined) return "its entries are of a key its name is not (a copied or renamed file)";
    return `line ${lines.first.line}: ${problem(lines.first)}${lines.count > 1 ? ` (and ${lines.count - 1} more lines skipped)` : ""}`;
  };
  if (strays.length === 0) return;
  if (keys.length === 0) {
    const [first] = strays as [string];
    throw new UsageError(
      "report",
      `${displayPath(first)} is not a journal file: ${why(first)}${strays.length > 1 ? `; nor are ${strays.length - 1} more files there` : ""}. ` +
        `The journal folder holds what rxtrade live and rxtrade demo write (<symbol>_<strategy>-<hash>.000001.jsonl); move other files out of it`,
    );
  }
  for (const path of strays) terminal.warn(`warning: ${displayPath(path)} is not a journal file of any key (${why(path)}): left out`);
}
