import { createReadStream } from "node:fs";
import { lstat, readFile, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { ArgumentError } from "../errors";
import { type JournalEntry, journalEntryProblem } from "../journal";
import { boundedRead } from "../live/journalRead";
import { fileJournal, JOURNAL_DIR, type JournalWarning } from "./fileJournal";
import { SkippedSummary } from "./journalLines";

/** A key's journal as `readJournalFile` read it. */
export interface JournalFile {
  /** The journal's key, `<symbol>:<strategyName>` (its first entry's). */
  key: string;
  /** The files read, oldest first: every segment of the key when the file is one of a store's journal segments, else the file alone. */
  files: string[];
  /** The entries, oldest first (what is not an entry of the key is skipped, with a warning). */
  entries: JournalEntry[];
  /** Lines that were skipped. */
  skipped: number;
}

/** Options of `readJournalFile`. */
export interface ReadJournalFileOptions {
  /**
   * Told of every line skipped: torn, not JSON, or not an entry of the key. Default: one line
   * per file to the logger's `warn` once the file is read, with the count and the first line
   * skipped (not one per line: a damaged file can have thousands).
   */
  onWarning?: (warning: JournalWarning) => void;
}

const SEGMENT = /^(.+)\.(\d{6,})\.jsonl$/;

/**
 * Reads the journal a file belongs to, for a replay (`rxtrade replay <file>`): its key is its
 * first entry's. A segment of a store's journal (`<store>/journal/<name>.000002.jsonl`) stands
 * for its key: every segment of the key is read, oldest first, through `fileJournal`. Any other
 * file (a copy, a file sent along with a report) is read alone. Either way a torn last line (a
 * kill mid-write) and any line that is not an entry of the key is skipped with a warning.
 * A file with no journal entry at all resolves with `entries` empty (its lines skipped). The
 * reading of a key's other segments is bounded as `readLiveHistory`'s (a `JournalError` once a
 * step has not answered within CC_STORE_TIMEOUT_SECONDS).
 *
 * @example
 * import { runReplay } from "rxtrade";
 * import { readJournalFile } from "rxtrade/node";
 * const { entries } = await readJournalFile(".rxtrade/journal/BTCUSDT_momentum-4106cc36fad9a2b2.000001.jsonl");
 * const summary = await runReplay(entries, () => momentumStrategy());
 *
 * @param path a journal file
 * @param options where warnings go
 */
export async function readJournalFile(path: string, options: ReadJournalFileOptions = {}): Promise<JournalFile> {
  const file = resolve(path);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem = new ArgumentError(`readJournalFile: ${file} cannot be read (${code ?? String(error)}); give a journal file, e.g. one in <store>/journal/`, {
      argument: "path",
      value: path,
    });
    // `code` kept, as Node's error has it (rxtrade replay tells ENOENT apart).
    throw Object.assign(problem, { code, cause: error });
  }
  if (info.isDirectory()) {
    const problem = new ArgumentError(`readJournalFile: ${file} is not a file; give one of the journal files (*.jsonl) in it`, { argument: "path", value: path });
    throw Object.assign(problem, { code: "EISDIR" });
  }
  if (!info.isFile()) {
    // A FIFO would block the read until someone writes to it: refused before it is opened.
    throw new ArgumentError(`readJournalFile: ${file} is not a regular file (a FIFO, a socket or a device); give a journal file (*.jsonl), e.g. one in <store>/journal/`, {
      argument: "path",
      value: path,
    });
  }
  const summary = options.onWarning === undefined ? new SkippedSummary() : undefined;
  try {
    return await readFileOf(file, options.onWarning ?? (summary as SkippedSummary).add);
  } finally {
    summary?.log();
  }
}

async function readFileOf(file: string, warn: (warning: JournalWarning) => void): Promise<JournalFile> {
  const key = await firstKey(file);
  if (key !== undefined && basename(dirname(file)) === JOURNAL_DIR && SEGMENT.test(basename(file))) {
    let skipped = 0;
    const journal = fileJournal(dirname(dirname(file)), {
      onWarning: (warning) => {
        skipped++;
        warn(warning);
      },
    });
    const files = await journal.segmentsOf(key);
    // Its name must be its key's: a renamed file is read alone, as any other.
    if (files.includes(file)) {
      for (const segment of files) await regularFile(segment, file);
      const entries: JournalEntry[] = [];
      // Bounded (CC_STORE_TIMEOUT_SECONDS a step): another segment of the key may be what hangs.
      for await (const entry of boundedRead(journal, key)) entries.push(entry);
      return { key, files, entries, skipped };
    }
  }
  return { ...(await readAlone(file, key, warn)), files: [file] };
}

// Before anything opens it: a FIFO blocks its reader until someone writes to it, and a thread
// blocked in open() keeps the process from exiting at all, whatever time limit the read has.
async function regularFile(segment: string, path: string): Promise<void> {
  const info = await lstat(segment).catch(() => undefined);
  if (info === undefined || info.isFile()) return;
  throw new ArgumentError(
    `readJournalFile: ${segment}, a segment of the journal of ${path}, is not a regular file (${info.isFIFO() ? "a FIFO" : info.isSymbolicLink() ? "a symbolic link" : "a socket, a device or a folder"}); move it out of the journal folder, or give a copy of the file to read it alone`,
    { argument: "path", value: path },
  );
}

// The key of the first line that is a journal entry (read up to it, not the whole file).
async function firstKey(file: string): Promise<string | undefined> {
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        continue;
      }
      if (journalEntryProblem(value) === undefined) return (value as JournalEntry).key;
    }
  } finally {
    lines.close();
  }
  return undefined;
}

async function readAlone(file: string, key: string | undefined, warn: (warning: JournalWarning) => void): Promise<Omit<JournalFile, "files">> {
  const text = await readFile(file, "utf8");
  const lines = text.split("\n");
  const entries: JournalEntry[] = [];
  let skipped = 0;
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const number = index + 1;
    const ended = index < lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      skipped++;
      warn({
        key,
        path: file,
        line: number,
        reason: ended ? "unparsable" : "torn",
        skipped,
        message: ended
          ? `journal ${file}:${number}: not JSON: skipped (${skipped} skipped in this read): ${preview(line)}`
          : `journal ${file}:${number}: the last line is incomplete (a kill mid-write, or being written right now): skipped (${skipped} skipped in this read)`,
      });
      return;
    }
    const problem = key === undefined ? "no line of the file is a journal entry" : journalEntryProblem(value, key);
    if (problem !== undefined) {
      skipped++;
      warn({
        key,
        path: file,
        line: number,
        reason: "foreign",
        skipped,
        message: `journal ${file}:${number}: not a journal entry${key === undefined ? "" : ` of ${key}`} (${problem}): skipped (${skipped} skipped in this read)`,
      });
      return;
    }
    entries.push(value as JournalEntry);
  });
  return { key: key ?? "", entries, skipped };
}

function preview(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
