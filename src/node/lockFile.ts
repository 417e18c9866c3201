import { createHash, randomUUID } from "node:crypto";
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { type HolderState, judgeHolder, type ProcessIdentity, selfIdentity } from "./processIdentity";

/**
 * What a lock file holds: who holds it (see `ProcessIdentity`), since when, and a random
 * `token` that tells this process's own locks from a dead namesake's.
 */
export interface LockOwner extends ProcessIdentity {
  since: string;
  token: string;
  /** The store key the lock is for (`fileStore` records it, so a listing can name a key that holds no value). */
  key?: string;
}

export interface HeldLock {
  /** The exact content of the lock file while it is ours. */
  readonly text: string;
  /** Removes the lock file if it is still ours; synchronous, idempotent, never throws. */
  release(): void;
}

export type LockResult = { acquired: true; lock: HeldLock } | { acquired: false; holder: LockOwner | undefined; state: HolderState | undefined };

// Tokens of the locks this process holds, shared by every copy of this module in the process
// (the ESM and CJS builds may both be loaded): a lock file naming this process whose token is
// not here is not held by anyone.
const heldTokens: Set<string> = ((globalThis as Record<symbol, Set<string> | undefined>)[Symbol.for("rxtrade.heldLockTokens")] ??= new Set<string>());

// An unreadable lock file younger than this may be one being written right now (the `wx`
// fallback writes after creating); older, it is debris.
const UNREADABLE_GRACE_MS = 2_000;
const MAX_ATTEMPTS = 20;
const MAX_TAKEOVER_DEPTH = 3;

/** A guard file: `<lock>.takeover-<16 hex>`, possibly nested. */
export const TAKEOVER_GUARD = /\.lock(?:\.takeover-[0-9a-f]{16})+$/;

/**
 * Takes the lock file at `path` for this process, atomically. A lock whose holder is alive, or
 * cannot be proven gone (`judgeHolder`), is refused with its owner; a stale lock is taken over
 * so that of several racing processes exactly one wins.
 *
 * Taking over is a compare-and-delete, which POSIX does not offer; it is made safe by a guard
 * file named after the stale lock's exact bytes, created exclusively: only its creator may
 * delete the lock, and only after checking under the guard that the lock still holds those
 * bytes. A guard left by a process killed mid-takeover is itself a stale lock, taken over the
 * same way (bounded depth).
 *
 * @param mode the permission bits of the lock file (before the umask)
 * @param key the store key, recorded in the lock file for tools that list a store
 */
export function acquireLock(path: string, mode = 0o600, key?: string): LockResult {
  const owner: LockOwner = { ...selfIdentity(), since: new Date().toISOString(), token: randomUUID(), ...(key === undefined ? {} : { key }) };
  const text = JSON.stringify(owner);
  const result = acquire(path, text, mode, 0);
  if (!result.acquired) return result;
  heldTokens.add(owner.token);
  let released = false;
  return {
    acquired: true,
    lock: {
      text,
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
    },
  };
}

/**
 * Removes a leftover takeover guard (or lock) at `path` when its writer is proven gone, by
 * the same guarded compare-and-delete as a takeover; returns whether it was removed.
 */
export function removeIfStale(path: string, mode = 0o600): boolean {
  const found = readIfExists(path);
  if (found === undefined) return false;
  if (!isStale(path, parseOwner(found)).stale) return false;
  return removeIfStill(path, found, readerText(), mode, 1);
}

/** What a lock file says, read without taking it: its holder (if it names one) and whether that holder is proven gone. */
export interface LockInspection {
  path: string;
  /** `undefined`: the file names no rxtrade holder (being written right now, or not rxtrade's). */
  owner: LockOwner | undefined;
  /** What can be said of the holder from this process (`judgeHolder`); `undefined` without an owner. */
  state: HolderState | undefined;
  /** Whether the next `acquireLock` would take it over, by the same rules. */
  stale: boolean;
}

/**
 * Reads the lock file at `path` and judges its holder as `acquireLock` would, without taking
 * or changing anything; `undefined` when there is no lock file.
 */
export function inspectLock(path: string): LockInspection | undefined {
  const found = readIfExists(path);
  if (found === undefined) return undefined;
  const owner = parseOwner(found);
  return { path, owner, ...isStale(path, owner) };
}

function acquire(path: string, text: string, mode: number, depth: number): LockResult {
  let holder: LockOwner | undefined;
  let state: HolderState | undefined;
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (createExclusive(path, text, mode)) return { acquired: true, lock: { text, release: () => undefined } };
    const found = readIfExists(path);
    if (found === undefined) continue; // released meanwhile
    holder = parseOwner(found);
    const judged = isStale(path, holder);
    state = judged.state;
    if (!judged.stale || depth >= MAX_TAKEOVER_DEPTH) return { acquired: false, holder, state };
    removeIfStill(path, found, text, mode, depth + 1);
  }
  return { acquired: false, holder, state };
}

/** Deletes `path` if it still holds `found`, under a guard that makes the check and the delete one step. */
function removeIfStill(path: string, found: string, text: string, mode: number, depth: number): boolean {
  const guard = `${path}.takeover-${createHash("sha256").update(found).digest("hex").slice(0, 16)}`;
  const guarded = acquire(guard, text, mode, depth);
  if (!guarded.acquired) return false; // another process is removing it
  try {
    // Under the guard nobody else can remove `found`: check it is still there, then delete it.
    if (readIfExists(path) !== found) return false;
    unlinkSync(path);
    return true;
  } finally {
    try {
      unlinkSync(guard);
    } catch {
      // A guard that cannot be removed is stale debris for the next taker (or the sweep).
    }
  }
}

/** The content of a guard this process creates only to remove debris. */
function readerText(): string {
  return JSON.stringify({ ...selfIdentity(), since: new Date().toISOString(), token: randomUUID() } satisfies LockOwner);
}

/** Creates `path` holding `text` only if it does not exist; the content is complete when it appears. */
function createExclusive(path: string, text: string, mode: number): boolean {
  const temp = `${path}.new-${process.pid}-${randomUUID()}`;
  writeSynced(temp, text, mode);
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
        writeSynced(path, text, mode);
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

/** Creates `path` exclusively (never through a symlink) with `text`, fsynced. */
function writeSynced(path: string, text: string, mode: number): void {
  const fd = openSync(path, "wx", mode);
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

/** The owner a lock file names, or `undefined` when it is not a lock file this package wrote. */
export function parseOwner(text: string): LockOwner | undefined {
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

function isStale(path: string, owner: LockOwner | undefined): { stale: boolean; state: HolderState | undefined } {
  if (owner === undefined) {
    let stale = false;
    try {
      stale = Date.now() - statSync(path).mtimeMs > UNREADABLE_GRACE_MS;
    } catch {
      // gone meanwhile: the next attempt creates it
    }
    return { stale, state: undefined };
  }
  const state = judgeHolder(owner);
  // A live holder with this pid (in this PID namespace, this boot) is this process: it holds
  // the lock only if the token is one of ours; otherwise it released it, or it is an earlier
  // process that had this pid.
  if (state.kind === "alive" && owner.pid === process.pid) return { stale: !heldTokens.has(owner.token), state };
  return { stale: state.kind === "gone", state };
}
