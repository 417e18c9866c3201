// The journal entries a run's end could not append (a full disk, a failing mount): saved beside
// the journal (else in the OS temp folder) whole or not at all, and appended by the next start of
// the key, once, from the best copy, torn lines skipped.
import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Journal, JournalEntry } from "rxtrade";
import { tempName } from "../node/journalFailing";
import { displayPath } from "./format";
import type { Terminal } from "./terminal";

const unappendedPrefix = (key: string) => `${key.replace(/[^A-Za-z0-9_-]/g, "_")}.unappended-`;

/**
 * Writes `entries` (a run's end could not append them) to `<journal>/<key>.unappended-<time>.jsonl`
 * (0600), else to the OS temp folder; returns the path, or `undefined` when neither could be written.
 * Written whole or not at all: to `<name>.partial`, fsynced, then renamed (a full disk cannot
 * leave a torn copy under the name the next start reads).
 */
export function saveUnappended(journalDir: string, key: string, entries: readonly JournalEntry[]): string | undefined {
  const name = `${unappendedPrefix(key)}${new Date().toISOString().replace(/[:.]/g, "")}.jsonl`;
  const content = entries.map((entry) => JSON.stringify(entry)).join("\n") + "\n";
  // In the temp folder under a name of this journal's (see appendSaved).
  for (const path of [join(journalDir, name), join(tmpdir(), tempName(journalDir, name))]) {
    const partial = `${path}.partial`;
    let fd: number | undefined;
    try {
      fd = openSync(partial, "wx", 0o600);
      writeSync(fd, content);
      fsyncSync(fd);
      closeSync(fd);
      fd = undefined;
      renameSync(partial, path);
      return path;
    } catch {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // nothing to do
        }
        try {
          unlinkSync(partial);
        } catch {
          // nothing to do
        }
      }
      // the next place
    }
  }
  return undefined;
}

/** The entries of `key` in a saved file: its whole lines; a line that is not JSON (torn by a full disk or a kill) counted and skipped. */
function savedEntries(path: string, key: string): { entries: JournalEntry[]; torn: number } | undefined {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
  const entries: JournalEntry[] = [];
  let torn = 0;
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    let entry: unknown;
    try {
      entry = JSON.parse(line);
    } catch {
      torn++;
      continue;
    }
    if (typeof entry === "object" && entry !== null && (entry as JournalEntry).key === key) entries.push(entry as JournalEntry);
  }
  return { entries, torn };
}

/**
 * At a run's start, before its start entry: appends the entries an earlier run of `key` saved
 * (`saveUnappended`, in the journal's folder or the OS temp folder), oldest file first, each once
 * (the file is then renamed `.done`). A file saved in both places (one torn by a full disk) is
 * appended once, from the copy with the most whole entries; a torn line is skipped and said; an
 * empty file is removed quietly. An append that fails is said, and the files kept for the next start.
 */
export async function appendSaved(journal: Journal, journalDir: string, key: string, terminal: Terminal): Promise<void> {
  const saved = new Map<string, string[]>();
  for (const [dir, prefix] of [
    [journalDir, unappendedPrefix(key)],
    [tmpdir(), tempName(journalDir, unappendedPrefix(key))],
  ] as const) {
    try {
      for (const name of readdirSync(dir)) {
        if (!(name.startsWith(prefix) && name.endsWith(".jsonl"))) continue;
        const time = name.slice(prefix.length);
        saved.set(time, [...(saved.get(time) ?? []), join(dir, name)]);
      }
    } catch {
      // no such folder
    }
  }
  for (const time of [...saved.keys()].sort()) {
    const copies = (saved.get(time) as string[])
      .map((path) => ({ path, read: savedEntries(path, key) }))
      .filter((copy): copy is { path: string; read: { entries: JournalEntry[]; torn: number } } => copy.read !== undefined);
    if (copies.length === 0) continue;
    // The copy with the most whole entries, the one not torn first.
    copies.sort((a, b) => b.read.entries.length - a.read.entries.length || a.read.torn - b.read.torn);
    const best = copies[0] as (typeof copies)[number];
    const setAside = (path: string) => {
      try {
        if (statSizeIsZero(path)) unlinkSync(path);
        else renameSync(path, `${path}.done`);
      } catch {
        // nothing to do
      }
    };
    if (best.read.entries.length === 0 && best.read.torn === 0) {
      for (const copy of copies) setAside(copy.path); // empty: nothing was saved there
      continue;
    }
    try {
      for (const entry of best.read.entries) await journal.append(entry);
    } catch (error) {
      terminal.warn(`warning: the journal entries saved in ${displayPath(best.path)} could not be appended (${(error as Error).message}); the next start tries again`);
      return;
    }
    for (const copy of copies) setAside(copy.path);
    const others = copies.slice(1).map((copy) => displayPath(copy.path));
    terminal.warn(
      `the ${best.read.entries.length} journal entries an earlier run could not append (${displayPath(best.path)}) are now in the journal` +
        (best.read.torn > 0 ? `; ${best.read.torn} torn line${best.read.torn === 1 ? "" : "s"} of that file (a full disk or a kill mid-write) could not be read and ${best.read.torn === 1 ? "was" : "were"} skipped` : "") +
        (others.length > 0 ? `; the other copy (${others.join(", ")}) set aside` : ""),
    );
  }
}

function statSizeIsZero(path: string): boolean {
  try {
    return statSync(path).size === 0;
  } catch {
    return false;
  }
}
