import { createHash, randomUUID } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { hostname } from "node:os";

/** What a lock file holds. `token` tells this process's own locks from a dead namesake's. */
export interface LockOwner {
  pid: number;
  hostname: string;
  since: string;
  token: string;
}

export type LockResult = { acquired: true; release: () => void } | { acquired: false; holder: LockOwner | undefined };

// Tokens of the locks this process holds (module-wide, so every fileStore instance sees them).
// A lock file naming our own pid whose token is not here was left by an earlier process that
// had the same pid (a container restarted as pid 1): it is stale.
const heldTokens = new Set<string>();

// An unreadable lock file younger than this may be one being written right now (the `wx`
// fallback writes after creating); older, it is debris.
const UNREADABLE_GRACE_MS = 2_000;
const MAX_ATTEMPTS = 20;
const MAX_TAKEOVER_DEPTH = 3;

/**
 * Takes the lock file at `path` for this process, atomically. A lock held by a live process
 * (this one included) is refused with its owner; a stale lock — same host, pid not running —
 * is taken over so that of several racing processes exactly one wins.
 *
 * Taking over is a compare-and-delete, which POSIX does not offer; it is made safe by a guard
 * file named after the stale lock's exact bytes, created exclusively: only its creator may
 * delete the lock, and only after checking under the guard that the lock still holds those
 * bytes. A guard left by a process killed mid-takeover is itself a stale lock, taken over the
 * same way (bounded depth).
 */
export function acquireLock(path: string): LockResult {
  const owner: LockOwner = { pid: process.pid, hostname: hostname(), since: new Date().toISOString(), token: randomUUID() };
  const text = JSON.stringify(owner);
  const result = acquire(path, text, 0);
  if (!result.acquired) return result;
  heldTokens.add(owner.token);
  let released = false;
  return {
    acquired: true,
    release() {
      if (released) return;
      released = true;
      heldTokens.delete(owner.token);
      try {
        // Only our own lock is removed: never one that someone else holds now.
        if (readFileSync(path, "utf8") === text) unlinkSync(path);
      } catch {
        // Already gone, or the directory vanished: nothing of ours is left to release.
      }
    },
  };
}

function acquire(path: string, text: string, depth: number): LockResult {
  let holder: LockOwner | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(path, text)) return { acquired: true, release: () => undefined };
    let found: string;
    try {
      found = readFileSync(path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      throw error;
    }
    holder = parseOwner(found);
    if (!isStale(path, holder) || depth >= MAX_TAKEOVER_DEPTH) return { acquired: false, holder };
    const guard = `${path}.takeover-${createHash("sha256").update(found).digest("hex").slice(0, 16)}`;
    const guarded = acquire(guard, text, depth + 1);
    if (!guarded.acquired) continue; // another process is taking this stale lock over
    try {
      // Under the guard nobody else can remove `found`: check it is still there, then delete it.
      if (readIfExists(path) === found) unlinkSync(path);
    } finally {
      try {
        unlinkSync(guard);
      } catch {
        // A guard that cannot be removed is stale debris for the next taker.
      }
    }
  }
  return { acquired: false, holder };
}

/** Creates `path` holding `text` only if it does not exist; the content is complete when it appears. */
function createExclusive(path: string, text: string): boolean {
  const temp = `${path}.new-${process.pid}-${randomUUID()}`;
  writeSynced(temp, text, "wx");
  try {
    linkSync(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST") return false;
    // No hard links here (some FUSE, FAT, SMB mounts): fall back to O_EXCL, whose content
    // appears a moment after the file (see UNREADABLE_GRACE_MS).
    if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS" || code === "EXDEV") {
      try {
        writeSynced(path, text, "wx");
        return true;
      } catch (inner) {
        if ((inner as NodeJS.ErrnoException).code === "EEXIST") return false;
        throw inner;
      }
    }
    throw error;
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // best effort: the link (if any) holds the content
    }
  }
}

function writeSynced(path: string, text: string, flag: string): void {
  const fd = openSync(path, flag);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockOwner>;
    if (typeof value === "object" && value !== null && Number.isInteger(value.pid) && typeof value.hostname === "string") {
      return value as LockOwner;
    }
  } catch {
    // not a lock file we wrote
  }
  return undefined;
}

function isStale(path: string, owner: LockOwner | undefined): boolean {
  if (owner === undefined) {
    try {
      return Date.now() - statSync(path).mtimeMs > UNREADABLE_GRACE_MS;
    } catch {
      return false;
    }
  }
  // A lock of another host cannot be checked from here: it is held until removed by hand.
  if (owner.hostname !== hostname()) return false;
  if (owner.pid === process.pid) return !heldTokens.has(owner.token);
  return !isRunning(owner.pid);
}

/** Whether a process with this pid exists (on this host). */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
