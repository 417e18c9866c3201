import { readdir } from "node:fs/promises";
import { resolve } from "node:path";
import { getLogger } from "../events";
import { ArgumentError, ArgumentRangeError, JournalError } from "../errors";
import { type Journal, type JournalEntry, journalEntryProblem, type JournalTail, TailScan } from "../journal";
import { showValue } from "../showValue";
import { serialByKey } from "../stores/keyed";
import { describeEntry } from "../journalTrouble";
import { lastEntryAt, lostGap, readMarker, removeMarker, writeMarker } from "./journalFailing";
import { entriesOf, type JournalWarning, SkippedSummary } from "./journalLines";
import { keep, type KeyFile, SEGMENT, SegmentFiles, takeBuffer } from "./journalSegments";

/** The folder of a store's journal: `<store dir>/journal`. */
export const JOURNAL_DIR = "journal";

/** Default size of a journal segment before the next one is started: 32 MiB. */
export const DEFAULT_JOURNAL_MAX_BYTES = 32 * 1024 * 1024;

export type { JournalWarning } from "./journalLines";

/** Options of `fileJournal`. */
export interface FileJournalOptions {
  /** A segment's size (bytes) before the next segment is started; old segments are kept. Default 32 MiB. */
  maxBytes?: number;
  /** Permission bits of the files it creates, before the umask. Default `0o600`. */
  fileMode?: number;
  /** Permission bits of the folders it creates, before the umask. Default `0o700`. */
  dirMode?: number;
  /** How long (real ms) `tick` entries may wait in memory before they are written and fsynced. Default 1000. */
  flushMs?: number;
  /**
   * Told of every line `read`, `tail` or `keys` skips. Default: the logger's `warn` (see
   * `setLogger`), once per file and call when it is done, with the count and the first line
   * skipped (`rxtrade: journal <file>: 4 lines skipped; the first: …`), not once per line.
   */
  onWarning?: (warning: JournalWarning) => void;
}

/** A `Journal` over JSON-lines files, as returned by `fileJournal`. */
export interface FileJournal extends Journal {
  /**
   * `intent`, `run` and `gap` entries resolve once fsynced, a `trade` entry once written (fsynced
   * too unless it confirms the intent just before it); `tick` entries are buffered (`void`) —
   * unless the last write of the buffer failed: then the tick is written at once, and its
   * answer says whether the journal works again.
   */
  append(entry: JournalEntry): void | Promise<void>;
  keys(): Promise<string[]>;
  tail(key: string): Promise<JournalTail>;
  /** The journal's folder, absolute: `<store dir>/journal`. */
  readonly dir: string;
  /** The segment files of a key, oldest first (the last one is written to). */
  segmentsOf(key: string): Promise<string[]>;
  /** Writes and fsyncs every buffered `tick` entry. */
  flush(): Promise<void>;
  /** `flush`, then closes the open files (a later append opens them again). */
  close(): Promise<void>;
}

// A buffer this large is written at once rather than at the timer.
const BUFFER_FLUSH_BYTES = 256 * 1024;

/**
 * A durable `Journal` for Node: JSON lines, one file per key in `<dir>/journal/` (`dir` is the
 * store's folder, or a `fileStore` itself), named like `fileStore`'s files
 * (`BTCUSDT_momentum-3f9c0a6d1e2b4c5f.000001.jsonl`), so two keys never share a file.
 *
 * - `intent`, `run` and `gap` entries are appended and fsynced before `append` resolves. A
 *   `trade` entry is fsynced too, unless it confirms the intent appended just before it: that
 *   intent, durable, already makes the change survive a kill, so one fsync per change of
 *   position (the intent's) is all a stream costs. `tick` entries are buffered and written with
 *   the next entry, or `flushMs` later at most; a failed write of them is told to the next
 *   append (see `FileJournal.append`), never only logged.
 * - `read` yields the history: `intent` entries are left out (`tail` reports the pending one).
 * - When a segment would pass `maxBytes`, the next one is started (`.000002.jsonl`, …); old
 *   segments are kept, and `read` goes through them in order.
 * - A torn last line (a kill mid-write) is skipped with a warning, never fatal, and the next
 *   append starts on a fresh line; any other line that is not an entry of the key is skipped
 *   and counted too (`onWarning`; by default one warning per file and read, with the count and
 *   the first line). A failed write is cut back off the file, so a retry neither
 *   duplicates nor tears a line.
 * - Files 0600, folders 0700 (before the umask), opened without following symlinks and without
 *   blocking. A segment path that is not a regular file (a FIFO, a device, a link, a folder) is
 *   refused unopened, by `append` and by `read`, `tail` and `keys`: a `JournalError` naming it
 *   and what it is (a thread blocked opening a FIFO would keep the process from ever exiting).
 * - One writer per key: the store's lock, which every stream holds while it journals, makes
 *   sure of it (this adds no lock of its own). Readers (`rxtrade report`) may read any time.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { fileJournal, fileStore } from "rxtrade/node";
 * const store = fileStore("./.rxtrade");
 * liveTrade$("BTCUSDT", strategy, { exchange, store, journal: fileJournal(store) }).subscribe();
 *
 * @param dir the store's folder (default `./.rxtrade`) or a `fileStore`; the journal is its `journal/` subfolder
 * @param options segment size, file and folder modes, the tick buffer's bound, where warnings go
 */
export function fileJournal(dir: string | { readonly dir: string } = "./.rxtrade", options: FileJournalOptions = {}): FileJournal {
  const { maxBytes = DEFAULT_JOURNAL_MAX_BYTES, fileMode = 0o600, dirMode = 0o700, flushMs = 1000 } = options;
  if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 1024)) {
    throw new ArgumentRangeError(`fileJournal option maxBytes (${maxBytes}) must be a whole number of bytes >= 1024, e.g. ${DEFAULT_JOURNAL_MAX_BYTES}`, {
      argument: "options.maxBytes",
      value: maxBytes,
    });
  }
  if (!(Number.isFinite(flushMs) && flushMs >= 0 && flushMs <= 2_147_483_647)) {
    throw new ArgumentRangeError(`fileJournal option flushMs (${flushMs}) must be a number of ms from 0 to 2147483647, e.g. 1000`, { argument: "options.flushMs", value: flushMs });
  }
  for (const [name, mode] of [
    ["fileMode", fileMode],
    ["dirMode", dirMode],
  ] as const) {
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
      throw new ArgumentRangeError(`fileJournal option ${name} (${mode}) must be permission bits from 0o000 to 0o777, e.g. 0o640`, { argument: `options.${name}`, value: mode });
    }
  }
  const storeDir = typeof dir === "string" ? dir : dir?.dir;
  if (typeof storeDir !== "string" || storeDir === "") {
    const given = typeof dir === "object" && dir !== null ? `an object whose dir is ${showValue((dir as { dir?: unknown }).dir)}` : showValue(dir);
    throw new ArgumentError(`fileJournal(dir) needs a store folder or a fileStore, got ${given}; e.g. fileJournal("./.rxtrade")`, { argument: "dir", value: dir });
  }
  const { onWarning } = options;
  // The torn end an append finds (once per file and process) is said as it is found.
  const segments = new SegmentFiles(resolve(storeDir, JOURNAL_DIR), { maxBytes, fileMode, dirMode, warn: onWarning ?? ((warning) => getLogger().warn(`rxtrade: ${warning.message}`)) });
  // Where a read's skipped lines go: each to onWarning, else summed up per file when the read ends.
  const skipped = (): { warn: (warning: JournalWarning) => void; done: () => void } => {
    if (onWarning !== undefined) return { warn: onWarning, done: () => undefined };
    const summary = new SkippedSummary();
    return { warn: summary.add, done: () => summary.log() };
  };
  const serial = serialByKey();
  // Keys whose "journal failing" marker this journal wrote (journalFailing.ts), until their stop entry is appended.
  // (the line of the entry that failed first).
  const failing = new Map<string, string>();

  // Writes the buffered tick lines, then `line` (if any), in the key's turn. A failure keeps
  // the tick lines not written (the entry itself is the caller's to retry).
  const write = (file: KeyFile, line: string | undefined, entry: JournalEntry | undefined): Promise<void> => {
    const lines = takeBuffer(file);
    if (line !== undefined) lines.push(line);
    const id = entry?.kind === "trade" || entry?.kind === "intent" ? `${entry.result.action} ${entry.result.signal.id}` : undefined;
    return serial(file.key, async () => {
      // A trade that confirms the intent just written needs no fsync: the intent stands for it.
      const durable = !(entry?.kind === "trade" && file.intent === id);
      const done = { lines: 0 };
      // A start after a run that ended while its journal was failing (its marker left): a gap
      // entry marks the hole (changes made then may be missing) before the start entry — unless
      // what failed first is this very start (retried now: nothing was lost).
      const start = entry?.kind === "run" && entry.event === "start" && line !== undefined;
      let gapped = false;
      // The marker is used up by this start unless this start is the very entry that failed
      // first (an earlier run's saved entries appended again: their own stop removes it).
      let usedUp = false;
      if (start && failing.get(file.key) !== line) {
        const found = readMarker(segments.root, file.base, file.key);
        if (found !== undefined && !(found.marker.since === entry.at && found.marker.first === describeEntry(entry))) {
          // A marker torn by a kill mid-write (since lost): the hole begins after the last entry recorded at the latest.
          let { since } = found.marker;
          if (!Number.isFinite(since)) {
            const last = (await segments.segmentNumbers(file.base)).at(-1);
            since = (last === undefined ? undefined : lastEntryAt(segments.segmentPath(file.base, last), file.key)) ?? Number.NaN;
          }
          const gap = lostGap(file.key, since, entry);
          // Never a gap of no length (a torn marker's unknown since, a clock set back): nothing to mark.
          if (gap.from < gap.to) {
            lines.splice(lines.length - 1, 0, `${JSON.stringify(gap)}\n`);
            gapped = true;
          } else usedUp = true;
        }
      }
      try {
        await segments.writeLines(file, lines, done, durable);
      } catch (error) {
        keep(file, lines.slice(done.lines, line === undefined ? undefined : -1).filter((_, i) => !gapped || done.lines + i !== lines.length - 2));
        if (line === undefined) file.failure = { error };
        // The first change of position that cannot be appended: a durable trace, in case this process dies with it.
        if (entry !== undefined && line !== undefined && entry.kind !== "tick" && !failing.has(file.key)) {
          failing.set(file.key, line);
          writeMarker(segments.root, file.base, { key: file.key, since: entry.at, first: describeEntry(entry), error: (error as Error)?.message ?? String(error), pid: process.pid, wallTime: Date.now() }, fileMode);
        }
        throw error;
      }
      file.failure = undefined;
      // A stop entry appended: every entry queued before it is too, no hole is left open; a
      // start's gap entry appended: the marker it came from is used up.
      if ((entry?.kind === "run" && entry.event === "stop") || gapped || usedUp || (start && failing.get(file.key) === line)) {
        failing.delete(file.key);
        removeMarker(segments.root, file.base);
      }
      if (entry !== undefined) file.intent = entry.kind === "intent" ? id : entry.kind === "tick" ? file.intent : undefined;
    });
  };

  const flushKey = (file: KeyFile): Promise<void> => (file.buffer.length === 0 ? serial(file.key, async () => undefined) : write(file, undefined, undefined));

  const flushLater = (file: KeyFile): void => {
    if (file.timer !== undefined) return;
    file.timer = setTimeout(() => {
      file.timer = undefined;
      // A failure is kept in file.failure: the next append of the key writes at once and is told.
      flushKey(file).catch(() => undefined);
    }, flushMs);
    file.timer.unref?.();
  };

  // What this process has buffered for `key` is written first, after its pending writes, so a
  // reader sees every entry appended so far.
  const settledWrites = async (key: string): Promise<void> => {
    const file = segments.existing(key);
    if (file !== undefined) await flushKey(file).catch(() => undefined);
  };

  const journal: FileJournal = {
    dir: segments.root,

    append(entry) {
      const problem = journalEntryProblem(entry);
      if (problem !== undefined) throw new ArgumentError(`fileJournal.append: not a journal entry (${problem})`, { argument: "entry", value: entry });
      // Serialised now: what is written is the entry as it was when appended.
      const line = `${JSON.stringify(entry)}\n`;
      const file = segments.fileOf(entry.key);
      if (entry.kind === "tick" && file.failure === undefined) {
        file.buffer.push(line);
        file.bufferBytes += line.length;
        if (file.bufferBytes >= BUFFER_FLUSH_BYTES) flushKey(file).catch(() => undefined);
        else flushLater(file);
        return undefined;
      }
      return write(file, line, entry);
    },

    async *read(key) {
      await settledWrites(key);
      const counter = { skipped: 0 };
      const base = segments.baseOf(key);
      const { warn, done } = skipped();
      try {
        for (const n of await segments.segmentNumbers(base)) {
          for await (const entry of entriesOf(key, segments.segmentPath(base, n), counter, warn)) if (entry.kind !== "intent") yield entry;
        }
      } finally {
        done();
      }
    },

    async tail(key) {
      await settledWrites(key);
      const counter = { skipped: 0 };
      const base = segments.baseOf(key);
      const tail: JournalTail = {};
      let decided = false;
      const { warn, done } = skipped();
      try {
        // Newest segment first; older ones only for what the newer ones lack.
        for (const n of (await segments.segmentNumbers(base)).reverse()) {
          const scan = new TailScan();
          for await (const entry of entriesOf(key, segments.segmentPath(base, n), counter, warn)) scan.add(entry);
          const found = scan.result();
          // The newest segment with a trade, start or intent entry says whether an intent is pending.
          if (!decided && found.pendingIntent !== undefined) tail.pendingIntent = found.pendingIntent;
          decided ||= scan.settles;
          tail.lastTrade ??= found.lastTrade;
          tail.lastRun ??= found.lastRun;
          if (tail.lastTrade !== undefined && tail.lastRun !== undefined && decided) break;
        }
      } finally {
        done();
      }
      if (tail.lastTrade === undefined) delete tail.lastTrade;
      if (tail.lastRun === undefined) delete tail.lastRun;
      return tail;
    },

    async keys() {
      let names: string[];
      try {
        names = await readdir(segments.root);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      const bases = new Map<string, number[]>();
      for (const name of names) {
        const match = SEGMENT.exec(name);
        if (match === null) continue;
        const list = bases.get(match[1] as string) ?? [];
        list.push(Number(match[2]));
        bases.set(match[1] as string, list);
      }
      const { warn, done } = skipped();
      const keys = await Promise.all(
        [...bases].map(async ([base, numbers]) => {
          const counter = { skipped: 0 };
          for (const n of numbers.sort((a, b) => a - b)) {
            for await (const entry of entriesOf(undefined, segments.segmentPath(base, n), counter, warn)) {
              // The file's name must be its key's: a copied or renamed file is not listed under another key.
              if (segments.baseOf(entry.key) === base) return entry.key;
            }
          }
          return undefined;
        }),
      ).finally(done);
      return keys.filter((key): key is string => key !== undefined).sort();
    },

    async segmentsOf(key) {
      const base = segments.baseOf(key);
      return (await segments.segmentNumbers(base)).map((n) => segments.segmentPath(base, n));
    },

    async flush() {
      const failed: Array<{ file: KeyFile; error: unknown }> = [];
      await Promise.all(segments.all().map((file) => flushKey(file).catch((error: unknown) => void failed.push({ file, error }))));
      const first = failed[0];
      if (first !== undefined) throw unwritten(first.file, first.error, failed.length - 1);
    },

    async close() {
      await journal.flush();
      await Promise.all(segments.all().map((file) => serial(file.key, () => segments.closeFile(file))));
    },
  };
  return journal;
}

/** The tick entries of `file` that could not be written (kept in its buffer), as a `JournalError` ("end"). */
function unwritten(file: KeyFile, error: unknown, others: number): JournalError {
  const unappended = file.buffer.map((line) => JSON.parse(line) as JournalEntry);
  const n = unappended.length;
  const span = n === 0 ? "" : ` (${new Date(unappended[0]?.at as number).toISOString()} to ${new Date(unappended.at(-1)?.at as number).toISOString()})`;
  return new JournalError({
    key: file.key,
    operation: "end",
    unappended,
    cause: error,
    message:
      `the journal of ${file.key} could not write its last ${n} tick entr${n === 1 ? "y" : "ies"}${span}: ${error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error)}; ` +
      `they are in this error's unappended (a replay of this run misses those ticks)${others > 0 ? `; ${others} other key${others === 1 ? "" : "s"} failed too` : ""}`,
  });
}
