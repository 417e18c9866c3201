import { constants } from "node:fs";
import { type FileHandle, mkdir, open, readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { getLogger } from "../events";
import { ArgumentError, ArgumentRangeError } from "../errors";
import { type Journal, type JournalEntry, journalEntryProblem, type JournalTail } from "../journal";
import { showValue } from "../showValue";
import { serialByKey } from "../stores/keyed";
import { syncDirectory } from "./durableJsonFile";
import { fileNameOf } from "./fileStore";

/** The folder of a store's journal: `<store dir>/journal`. */
export const JOURNAL_DIR = "journal";

/** Default size of a journal segment before the next one is started: 32 MiB. */
export const DEFAULT_JOURNAL_MAX_BYTES = 32 * 1024 * 1024;

/** A line of a journal file that `read` skipped. */
export interface JournalWarning {
  /** The key being read (`undefined` while `keys()` looks for it). */
  key: string | undefined;
  /** The segment file. */
  path: string;
  /** 1-based line number in that file; 0 for the torn end an append found (and started a fresh line after). */
  line: number;
  /**
   * `torn`: the file's last line is incomplete (a kill mid-write, or a line being written by
   * another process right now); `unparsable`: a line that is not JSON (a torn line that later
   * entries were appended after); `foreign`: JSON that is not a journal entry of this key.
   */
  reason: "torn" | "unparsable" | "foreign";
  /** Lines of this read skipped so far, this one included. */
  skipped: number;
  message: string;
}

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
  /** Told of every line `read`, `tail` or `keys` skips. Default: the logger's `warn` (see `setLogger`). */
  onWarning?: (warning: JournalWarning) => void;
}

/** A `Journal` over JSON-lines files, as returned by `fileJournal`. */
export interface FileJournal extends Journal {
  /** `trade` and `run` entries resolve once fsynced; `tick` entries are buffered (`void`). */
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

// The key's current segment in this process, and its buffered tick lines.
interface KeyFile {
  readonly key: string;
  readonly base: string;
  segment: number;
  handle: FileHandle | undefined;
  size: number;
  buffer: string[];
  bufferBytes: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

const SEGMENT = /^(.+)\.(\d{6,})\.jsonl$/;
// A buffer this large is written at once rather than at the timer.
const BUFFER_FLUSH_BYTES = 256 * 1024;
const READ_CHUNK = 64 * 1024;

/**
 * A durable `Journal` for Node: JSON lines, one file per key in `<dir>/journal/` (`dir` is the
 * store's folder, or a `fileStore` itself), named like `fileStore`'s files
 * (`BTCUSDT_momentum-3f9c0a6d1e2b4c5f.000001.jsonl`), so two keys never share a file.
 *
 * - `trade` and `run` entries are appended and fsynced before `append` resolves; `tick`
 *   entries are buffered and written with the next of those, or `flushMs` later at most.
 * - When a segment would pass `maxBytes`, the next one is started (`.000002.jsonl`, …); old
 *   segments are kept, and `read` goes through them in order.
 * - A torn last line (a kill mid-write) is skipped with a warning, never fatal, and the next
 *   append starts on a fresh line; any other line that is not an entry of the key is skipped
 *   and counted too (`onWarning`). A failed write is cut back off the file, so a retry neither
 *   duplicates nor tears a line.
 * - Files 0600, folders 0700 (before the umask), opened without following symlinks.
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
  const root = resolve(storeDir, JOURNAL_DIR);
  const warn =
    options.onWarning ??
    ((warning: JournalWarning) => getLogger().warn(`rxtrade: ${warning.message}`));
  const serial = serialByKey();
  const files = new Map<string, KeyFile>();
  let made: Promise<void> | undefined;

  const makeDir = (): Promise<void> => {
    made ??= mkdir(root, { recursive: true, mode: dirMode }).then(
      () => undefined,
      (error: unknown) => {
        made = undefined;
        throw error;
      },
    );
    return made;
  };

  const baseOf = (key: string) => fileNameOf(key).replace(/\.json$/, "");
  const segmentPath = (base: string, n: number) => join(root, `${base}.${String(n).padStart(6, "0")}.jsonl`);

  /** The segments of `base`, oldest first, by number. */
  const segmentNumbers = async (base: string): Promise<number[]> => {
    let names: string[];
    try {
      names = await readdir(root);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw error;
    }
    const numbers: number[] = [];
    for (const name of names) {
      const match = SEGMENT.exec(name);
      if (match !== null && match[1] === base) numbers.push(Number(match[2]));
    }
    return numbers.sort((a, b) => a - b);
  };

  const fileOf = (key: string): KeyFile => {
    let file = files.get(key);
    if (file === undefined) {
      file = { key, base: baseOf(key), segment: 0, handle: undefined, size: 0, buffer: [], bufferBytes: 0, timer: undefined };
      files.set(key, file);
    }
    return file;
  };

  const openFlags = constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0);

  // Opens segment `n` for appending; a new file makes its folder entry durable.
  const openSegment = async (file: KeyFile, n: number): Promise<void> => {
    const path = segmentPath(file.base, n);
    let created = false;
    let handle: FileHandle;
    try {
      handle = await open(path, openFlags | constants.O_EXCL, fileMode);
      created = true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      handle = await open(path, openFlags, fileMode);
    }
    file.handle = handle;
    file.segment = n;
    file.size = (await handle.stat()).size;
    if (created) await syncDirectory(root);
  };

  // First write of a key in this process: its last segment, whose last line a kill may have torn.
  const ready = async (file: KeyFile): Promise<FileHandle> => {
    if (file.handle !== undefined) return file.handle;
    await makeDir();
    const numbers = await segmentNumbers(file.base);
    await openSegment(file, numbers.at(-1) ?? 1);
    const handle = file.handle as unknown as FileHandle;
    if (file.size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, file.size - 1);
      if (last[0] !== 0x0a) {
        const path = segmentPath(file.base, file.segment);
        await writeAll(handle, Buffer.from("\n"));
        await handle.datasync();
        file.size += 1;
        warn({
          key: file.key,
          path,
          line: 0,
          reason: "torn",
          skipped: 0,
          message: `journal ${path} ended in an incomplete line (a kill mid-write?); it is left as it is (read skips it) and the next entry starts on a fresh line`,
        });
      }
    }
    return handle;
  };

  // Writes `lines` at the end of the key's current segment, starting the next segment before a
  // line that would take it past maxBytes, with an fsync per segment written. `done.lines`
  // counts the lines that are durable; on failure, what was written of the rest is cut off again.
  const writeLines = async (file: KeyFile, lines: readonly string[], done: { lines: number }): Promise<void> => {
    let handle = await ready(file);
    while (done.lines < lines.length) {
      if (file.size > 0 && file.size + Buffer.byteLength(lines[done.lines] as string) > maxBytes) {
        await handle.close();
        file.handle = undefined;
        await openSegment(file, file.segment + 1);
        handle = file.handle as unknown as FileHandle;
      }
      // As many lines as fit in this segment (at least one: a line longer than maxBytes gets a segment of its own).
      let end = done.lines;
      let bytes = file.size;
      const chunk: string[] = [];
      while (end < lines.length) {
        const length = Buffer.byteLength(lines[end] as string);
        if (chunk.length > 0 && bytes + length > maxBytes) break;
        chunk.push(lines[end] as string);
        bytes += length;
        end++;
      }
      const data = Buffer.from(chunk.join(""), "utf8");
      const before = file.size;
      try {
        await writeAll(handle, data);
        await handle.datasync();
      } catch (error) {
        // Cut back to the last whole entry, so that a retry neither duplicates nor tears a line;
        // if even that fails, the file is opened afresh (and its end checked) next time.
        try {
          await handle.truncate(before);
          await handle.datasync();
        } catch {
          // reopened below
        }
        file.handle = undefined;
        await handle.close().catch(() => undefined);
        throw error;
      }
      file.size = before + data.length;
      done.lines = end;
    }
  };

  // Takes the buffered tick lines (the next write carries them).
  const takeBuffer = (file: KeyFile): string[] => {
    if (file.timer !== undefined) {
      clearTimeout(file.timer);
      file.timer = undefined;
    }
    const lines = file.buffer;
    file.buffer = [];
    file.bufferBytes = 0;
    return lines;
  };

  const flushKey = (file: KeyFile): Promise<void> => {
    if (file.buffer.length === 0) return serial(file.key, async () => undefined);
    const lines = takeBuffer(file);
    return serial(file.key, async () => {
      const done = { lines: 0 };
      try {
        await writeLines(file, lines, done);
      } catch (error) {
        // Kept, in front of what came since: the next trade or run entry writes them (or fails, visibly).
        keep(file, lines.slice(done.lines));
        throw error;
      }
    });
  };

  const flushLater = (file: KeyFile): void => {
    if (file.timer !== undefined) return;
    file.timer = setTimeout(() => {
      file.timer = undefined;
      flushKey(file).catch((error: unknown) => {
        getLogger().warn(`rxtrade: journal of ${file.key}: cannot write its buffered tick entries (${(error as Error).message}); they are kept for the next write`);
      });
    }, flushMs);
    file.timer.unref?.();
  };

  /** Lines of one segment file: each with its 1-based number and whether a newline ended it. */
  async function* linesOf(path: string): AsyncGenerator<{ text: string; number: number; ended: boolean }> {
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return;
      throw error;
    }
    try {
      const decoder = new StringDecoder("utf8");
      const chunk = Buffer.alloc(READ_CHUNK);
      let carry = "";
      let number = 0;
      for (;;) {
        const { bytesRead } = await handle.read(chunk, 0, READ_CHUNK, null);
        if (bytesRead === 0) break;
        carry += decoder.write(chunk.subarray(0, bytesRead));
        let newline: number;
        while ((newline = carry.indexOf("\n")) >= 0) {
          const text = carry.slice(0, newline);
          carry = carry.slice(newline + 1);
          number++;
          yield { text, number, ended: true };
        }
      }
      carry += decoder.end();
      if (carry !== "") yield { text: carry, number: number + 1, ended: false };
    } finally {
      await handle.close();
    }
  }

  /** The entries of `key` in one segment; skipped lines go to `warn`. */
  async function* entriesOf(key: string | undefined, path: string, counter: { skipped: number }): AsyncGenerator<JournalEntry> {
    for await (const { text, number, ended } of linesOf(path)) {
      if (text.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        counter.skipped++;
        const torn = !ended;
        warn({
          key,
          path,
          line: number,
          reason: torn ? "torn" : "unparsable",
          skipped: counter.skipped,
          message: torn
            ? `journal ${path}:${number}: the last line is incomplete (a kill mid-write, or being written right now): skipped (${counter.skipped} skipped in this read)`
            : `journal ${path}:${number}: not JSON (a line torn by a kill, then appended after): skipped (${counter.skipped} skipped in this read): ${preview(text)}`,
        });
        continue;
      }
      const problem = journalEntryProblem(value, key);
      if (problem !== undefined) {
        counter.skipped++;
        warn({
          key,
          path,
          line: number,
          reason: "foreign",
          skipped: counter.skipped,
          message: `journal ${path}:${number}: not a journal entry${key === undefined ? "" : ` of ${key}`} (${problem}): skipped (${counter.skipped} skipped in this read)`,
        });
        continue;
      }
      yield value as JournalEntry;
    }
  }

  // What this process has buffered for `key` is written first, after its pending writes, so a
  // reader sees every entry appended so far.
  const settledWrites = async (key: string): Promise<void> => {
    const file = files.get(key);
    if (file === undefined) return;
    await flushKey(file).catch(() => undefined);
  };

  const journal: FileJournal = {
    dir: root,

    append(entry) {
      const problem = journalEntryProblem(entry);
      if (problem !== undefined) throw new ArgumentError(`fileJournal.append: not a journal entry (${problem})`, { argument: "entry", value: entry });
      // Serialised now: what is written is the entry as it was when appended.
      const line = `${JSON.stringify(entry)}\n`;
      const file = fileOf(entry.key);
      if (entry.kind === "tick") {
        file.buffer.push(line);
        file.bufferBytes += line.length;
        if (file.bufferBytes >= BUFFER_FLUSH_BYTES) flushKey(file).catch(() => undefined);
        else flushLater(file);
        return undefined;
      }
      const lines = takeBuffer(file);
      lines.push(line);
      return serial(entry.key, async () => {
        const done = { lines: 0 };
        try {
          await writeLines(file, lines, done);
        } catch (error) {
          // The tick lines it carried and did not write are kept for the retry; the entry itself
          // (the last line, never written when this fails) is the caller's to retry.
          keep(file, lines.slice(done.lines, -1));
          throw error;
        }
      });
    },

    async *read(key) {
      await settledWrites(key);
      const counter = { skipped: 0 };
      const base = baseOf(key);
      for (const n of await segmentNumbers(base)) yield* entriesOf(key, segmentPath(base, n), counter);
    },

    async tail(key) {
      await settledWrites(key);
      const counter = { skipped: 0 };
      const base = baseOf(key);
      const tail: JournalTail = {};
      // Newest segment first; older ones only for what the newer ones lack.
      for (const n of (await segmentNumbers(base)).reverse()) {
        let lastTrade: JournalTail["lastTrade"];
        let lastRun: JournalTail["lastRun"];
        for await (const entry of entriesOf(key, segmentPath(base, n), counter)) {
          if (entry.kind === "trade") lastTrade = entry;
          else if (entry.kind === "run") lastRun = entry;
        }
        tail.lastTrade ??= lastTrade;
        tail.lastRun ??= lastRun;
        if (tail.lastTrade !== undefined && tail.lastRun !== undefined) break;
      }
      if (tail.lastTrade === undefined) delete tail.lastTrade;
      if (tail.lastRun === undefined) delete tail.lastRun;
      return tail;
    },

    async keys() {
      let names: string[];
      try {
        names = await readdir(root);
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
      const keys = await Promise.all(
        [...bases].map(async ([base, numbers]) => {
          const counter = { skipped: 0 };
          for (const n of numbers.sort((a, b) => a - b)) {
            for await (const entry of entriesOf(undefined, segmentPath(base, n), counter)) {
              // The file's name must be its key's: a copied or renamed file is not listed under another key.
              if (baseOf(entry.key) === base) return entry.key;
            }
          }
          return undefined;
        }),
      );
      return keys.filter((key): key is string => key !== undefined).sort();
    },

    async segmentsOf(key) {
      const base = baseOf(key);
      return (await segmentNumbers(base)).map((n) => segmentPath(base, n));
    },

    async flush() {
      await Promise.all([...files.values()].map((file) => flushKey(file)));
    },

    async close() {
      await journal.flush();
      await Promise.all(
        [...files.values()].map((file) =>
          serial(file.key, async () => {
            const handle = file.handle;
            file.handle = undefined;
            await handle?.close();
          }),
        ),
      );
    },
  };
  return journal;
}

/** Puts lines that could not be written back in front of the key's buffer. */
function keep(file: KeyFile, lines: readonly string[]): void {
  if (lines.length === 0) return;
  file.buffer.unshift(...lines);
  file.bufferBytes += lines.reduce((sum, line) => sum + line.length, 0);
}

async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset, null);
    offset += bytesWritten;
  }
}

function preview(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}…` : JSON.stringify(text);
}
