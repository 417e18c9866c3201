import { constants } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import { StringDecoder } from "node:string_decoder";
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

/**
 * The entries of `key` (any key when `undefined`) in one segment file, in order; every line
 * that is not one is skipped, counted in `counter` and told to `warn`.
 */
export async function* entriesOf(key: string | undefined, path: string, counter: { skipped: number }, warn: (warning: JournalWarning) => void): AsyncGenerator<JournalEntry> {
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

function preview(text: string): string {
  return text.length > 80 ? `${JSON.stringify(text.slice(0, 80))}…` : JSON.stringify(text);
}
