import { constants, type Stats } from "node:fs";
import { type FileHandle, lstat, open } from "node:fs/promises";
import { dirname } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { JournalError } from "../errors";
import { getLogger } from "../events";
import { type JournalEntry, journalEntryProblem } from "../journal";

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

const READ_CHUNK = 64 * 1024;

// O_NONBLOCK: should a FIFO take a segment's place between the check and the open, the open
// returns at once instead of waiting for a writer (and the check after it refuses the FIFO). It
// changes nothing for a regular file.
const READ_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

/** What a path that is not a regular file is: `a FIFO`, `a folder`, …; `undefined` for a regular file. */
export function notRegular(info: Stats): string | undefined {
  if (info.isFile()) return undefined;
  if (info.isFIFO()) return "a FIFO";
  if (info.isSymbolicLink()) return "a symbolic link";
  if (info.isDirectory()) return "a folder";
  if (info.isSocket()) return "a socket";
  return info.isCharacterDevice() ? "a character device" : "a block device";
}

/**
 * The `JournalError` for a segment path that is not a regular file: a FIFO (or a device) is
 * never opened for good, since a thread blocked opening one keeps the process from exiting at
 * all, even at process.exit, whatever time limit the call has.
 */
export function notRegularError(key: string | undefined, path: string, kind: string, operation: "append" | "read"): JournalError {
  const what = operation === "append" ? "nothing is appended to it" : "it is not read";
  const blocks = kind === "a FIFO" || kind.endsWith("device") ? " (opening it could block the process for good)" : "";
  return new JournalError({
    key: key ?? "",
    operation,
    message:
      `journal ${path} is ${kind}, not a regular file: ${what}${blocks}; ` +
      `move it out of ${dirname(path)}${operation === "append" ? " (the next append then writes to a file of its own)" : ""}`,
  });
}

/**
 * Opens a segment file after checking, without following a link and without blocking, that it
 * is a regular file: `undefined` when there is none; a `JournalError` when it is anything else.
 */
export async function openRegular(key: string | undefined, path: string, flags: number, mode: number | undefined, operation: "append" | "read"): Promise<FileHandle | undefined> {
  let info: Stats;
  try {
    info = await lstat(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  const before = notRegular(info);
  if (before !== undefined) throw notRegularError(key, path, before, operation);
  let handle: FileHandle;
  try {
    handle = await open(path, flags | (constants.O_NONBLOCK ?? 0), mode);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // Replaced between the lstat and the open: what was opened is checked again.
  let after: string | undefined;
  try {
    after = notRegular(await handle.stat());
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
  if (after !== undefined) {
    await handle.close().catch(() => undefined);
    throw notRegularError(key, path, after, operation);
  }
  return handle;
}

/** Lines of one segment file: each with its 1-based number and whether a newline ended it. */
async function* linesOf(key: string | undefined, path: string): AsyncGenerator<{ text: string; number: number; ended: boolean }> {
  const handle = await openRegular(key, path, READ_FLAGS, undefined, "read");
  if (handle === undefined) return;
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

/**
 * The entries of `key` (any key when `undefined`) in one segment file, in order; every line
 * that is not one is skipped, counted in `counter` and told to `warn`.
 */
export async function* entriesOf(key: string | undefined, path: string, counter: { skipped: number }, warn: (warning: JournalWarning) => void): AsyncGenerator<JournalEntry> {
  for await (const { text, number, ended } of linesOf(key, path)) {
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

/**
 * The default of the journals' `onWarning`: the lines skipped in a read, said once per file when
 * the read is done — the count and the first line — not once per line (a damaged file can
 * have thousands). A line told twice counts once.
 */
export class SkippedSummary {
  private readonly files = new Map<string, { count: number; first: JournalWarning; lines: Set<number> }>();

  readonly add = (warning: JournalWarning): void => {
    const file = this.files.get(warning.path);
    if (file === undefined) this.files.set(warning.path, { count: 1, first: warning, lines: new Set([warning.line]) });
    else if (!file.lines.has(warning.line)) {
      file.lines.add(warning.line);
      file.count++;
    }
  };

  /** One `warn` per file (`rxtrade: journal <file>: 4 lines skipped; the first: …`), then forgets them. */
  log(): void {
    for (const [path, { count, first }] of this.files) {
      getLogger().warn(count === 1 ? `rxtrade: ${first.message}` : `rxtrade: journal ${path}: ${count} lines skipped; the first: ${first.message.replace(/^journal /, "")}`);
    }
    this.files.clear();
  }
}

function preview(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}…` : JSON.stringify(text);
}
