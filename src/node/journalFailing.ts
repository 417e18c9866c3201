import { createHash } from "node:crypto";
import { closeSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, realpathSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { JournalEntry, JournalGap } from "../journal";

/**
 * The "journal failing" marker of a key: written (and fsynced) by `fileJournal` at the first
 * append of a change of position (trade, intent, run, gap) that fails, so that a process killed
 * while its journal fails — its kept entries dying with it — leaves a trace; removed once the
 * run's `stop` entry is appended (every entry queued before it then is). `<journal>/<file>.failing`,
 * or, when the journal's folder cannot take it (a full disk, a read-only mount), the OS temp
 * folder's `rxtrade-<hash of the journal folder>-<file>.failing`.
 */
export interface FailingMarker {
  key: string;
  /** The `at` of the first entry whose append failed (the stream's clock, ms). */
  since: number;
  /** What failed first, e.g. `trade opened 6c1e…`, and why. */
  first: string;
  error: string;
  pid: number;
  /** Wall-clock time of the failure (ms). */
  wallTime: number;
}

/** Where the marker of a journal file `base` may be: beside the journal, then in the OS temp folder. */
export function markerPaths(root: string, base: string): [string, string] {
  return [join(root, `${base}.failing`), join(tmpdir(), tempName(root, `${base}.failing`))];
}

/**
 * The name in the OS temp folder of a file `name` that belongs beside the journal in `root`
 * (absolute): prefixed with a hash of `root`, so two stores' files of one key never mix.
 */
export function tempName(root: string, name: string): string {
  return `rxtrade-${createHash("sha256").update(realRoot(root), "utf8").digest("hex").slice(0, 16)}-${name}`;
}

/**
 * `root`'s real path (symbolic links resolved), so that a store reached by another path (a link,
 * a relative path) names the same temp files; a folder not there yet: its parent's real path and its name.
 */
function realRoot(root: string): string {
  const absolute = resolve(root);
  try {
    return realpathSync(absolute);
  } catch {
    try {
      return join(realpathSync(dirname(absolute)), basename(absolute));
    } catch {
      return absolute;
    }
  }
}

/** Writes the marker (fsynced) beside the journal, else in the temp folder; returns where, or `undefined` when neither could be written. */
export function writeMarker(root: string, base: string, marker: FailingMarker, fileMode: number): string | undefined {
  const text = `${JSON.stringify(marker)}\n`;
  for (const path of markerPaths(root, base)) {
    let fd: number | undefined;
    try {
      fd = openSync(path, "w", fileMode);
      writeSync(fd, text);
      fsyncSync(fd);
      return path;
    } catch {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // nothing to do
        }
        fd = undefined;
        try {
          unlinkSync(path); // an empty or partial marker is worse than the next place
        } catch {
          // nothing to do
        }
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }
  return undefined;
}

/** The marker left for `key` (the journal's folder first), or `undefined`. */
export function readMarker(root: string, base: string, key: string): { marker: FailingMarker; path: string } | undefined {
  for (const path of markerPaths(root, base)) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    try {
      const marker = JSON.parse(text) as Partial<FailingMarker>;
      if (marker.key === key && typeof marker.since === "number" && Number.isFinite(marker.since)) return { marker: marker as FailingMarker, path };
    } catch {
      // a marker torn by a kill mid-write: the journal failed, but since when is lost
    }
    return { marker: { key, since: Number.NaN, first: "unknown", error: "unknown", pid: 0, wallTime: 0 }, path };
  }
  return undefined;
}

/** Removes the marker of `base` wherever it is. */
export function removeMarker(root: string, base: string): void {
  for (const path of markerPaths(root, base)) {
    try {
      unlinkSync(path);
    } catch {
      // not there
    }
  }
}

/**
 * The `gap` entry a run's start appends (before its `start` entry) when it finds the marker of
 * an earlier run: that run's journal was failing from `since` when it ended without its `stop`
 * entry (killed, or it ended with entries it could not append and they were not appended since),
 * so changes of position from then until this start may be missing from the journal.
 */
export function lostGap(key: string, since: number, start: JournalEntry): JournalGap {
  return { kind: "gap", key, at: start.at, from: Number.isFinite(since) ? Math.min(since, start.at) : start.at, to: start.at, ticks: 0, reason: "unrecorded" };
}

/**
 * The `at` of the last whole entry of `key` in the journal segment `path` (its last 64 KiB
 * read), or `undefined`: where the hole of a marker torn by a kill (its since lost) begins at
 * the latest.
 */
export function lastEntryAt(path: string, key: string): number | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const size = fstatSync(fd).size;
    const length = Math.min(size, 65_536);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const lines = buffer.toString("utf8").split("\n");
    for (let i = lines.length - 1; i >= 0; i--) {
      try {
        const entry = JSON.parse(lines[i] as string) as Partial<JournalEntry>;
        if (entry.key === key && typeof entry.at === "number" && Number.isFinite(entry.at)) return entry.at;
      } catch {
        // torn, or the cut first line of the window
      }
    }
  } catch {
    // no segment yet
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  return undefined;
}
