import { createHash } from "node:crypto";
import { link, mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Low } from "lowdb";
import { ArgumentRangeError, StoreLockedError, StoreReadError, StoreWriteError } from "../errors";
import type { SignalStore } from "../model";
import { serialByKey } from "../stores/keyed";
import { DurableJsonFile, NotStoreFormat, syncDirectory } from "./durableJsonFile";
import { acquireLock, type LockResult, removeIfStale, TAKEOVER_GUARD } from "./lockFile";
import { WatchedLock, type WatchedRelease } from "./lockWatch";
import { isRunning } from "./processIdentity";

/** The format version of a data file. */
const FORMAT = 1;

/** What a data file holds: the value, and the exact key it belongs to. */
interface Envelope {
  rxtrade: typeof FORMAT;
  key: string;
  value: unknown;
}

/** A `SignalStore` over JSON files, as returned by `fileStore`. */
export interface FileStore extends SignalStore {
  read(key: string): Promise<unknown | null>;
  write(key: string, value: unknown | null): Promise<void>;
  /** The release also tells when the lock is lost (`onLost`): its lock file deleted or replaced. */
  lock(key: string): Promise<WatchedRelease>;
  /** The directory the store writes to, absolute. */
  readonly dir: string;
  /** What the engine queues this process's lock calls by: every `fileStore` of one folder shares it. */
  readonly lockScope: string;
  /** The data file of a key (whether or not it exists). */
  pathOf(key: string): string;
}

/** Options of `fileStore`. */
export interface FileStoreOptions {
  /** Permission bits of the data and lock files it creates, before the umask. Default `0o600`. */
  fileMode?: number;
  /** Permission bits of the folders it creates (`dir` and missing parents), before the umask. Default `0o700`. */
  dirMode?: number;
  /** How often (ms) a held lock's file is checked for loss between writes. Default 1000. */
  lockCheckMs?: number;
}

const TEMP_FILE = /^\..+\.tmp-(\d+)-\d+$/;
const LOCK_DEBRIS = /\.lock(?:\.takeover-[0-9a-f]+)*\.new-(\d+)-[0-9a-f-]{36}$/;

/**
 * A durable `SignalStore` for Node: one JSON file per key in `dir`, written through lowdb
 * with an adapter that fsyncs (temp file, fsync, rename, fsync of the directory), so a write
 * that resolved survives a crash or a power cut, and a file is always either the old value or
 * the new one, never half of each.
 *
 * - File names: a readable part of the key plus a hash of the exact key (`BTC_USDT_USDT_momentum-3f9c….json`),
 *   unambiguous on case-insensitive file systems and within name-length limits.
 * - Files are created 0600 and folders 0700 (before the umask; `fileMode`, `dirMode` widen
 *   them). A folder that exists already keeps its mode.
 * - Writes to one key are applied in call order; `write(key, null)` deletes the file.
 * - A file that does not parse or is not the store's own (`{ rxtrade: 1, key, value }` for
 *   this key) is moved aside to `<file>.corrupt-<timestamp>` and `read` throws a
 *   `StoreReadError` with `quarantinedTo`; the next read returns `null`. Other read failures
 *   throw a `StoreReadError` without it (the engine retries); write failures a `StoreWriteError`.
 * - On first use `dir` is created, temp files of writers that are no longer running are
 *   deleted (never read as data), and so are takeover guards (`<file>.lock.takeover-…`) left
 *   by processes killed mid-takeover, once their writer is proven gone.
 * - `lock(key)`: a lock file `<file>.lock` naming its holder (host, pid, boot id, PID
 *   namespace, process start time), exclusive across processes and within one. A lock is
 *   taken over only when its holder is proven gone (same host, boot and PID namespace, and its
 *   pid not running or reused); any other lock is refused with a `StoreLockedError` that
 *   names the holder and the lock file to delete once that process is gone.
 * - A held lock is watched: before every write of its key and every `lockCheckMs`, the lock
 *   file must still hold this lock's exact bytes. When it was deleted or replaced, the write
 *   does not happen and rejects with `StoreLockedError`, and the release's `onLost` listeners
 *   are called once with that error; the release then leaves the file alone.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { fileStore } from "rxtrade/node";
 * liveTrade$("BTCUSDT", strategy, { exchange, store: fileStore("./.rxtrade") }).subscribe();
 *
 * @param dir the directory of the data files, created when missing (default `./.rxtrade`)
 * @param options file and folder modes, and how often a held lock is checked
 */
export function fileStore(dir = "./.rxtrade", options: FileStoreOptions = {}): FileStore {
  const { fileMode = 0o600, dirMode = 0o700, lockCheckMs = 1_000 } = options;
  checkMode("fileMode", fileMode);
  checkMode("dirMode", dirMode);
  if (!(Number.isFinite(lockCheckMs) && lockCheckMs > 0)) {
    throw new ArgumentRangeError(`fileStore option lockCheckMs (${lockCheckMs}) must be a positive number of milliseconds, e.g. 1000 (the default)`, {
      argument: "options.lockCheckMs",
      value: lockCheckMs,
    });
  }
  const root = resolve(dir);
  // Reads and writes of a key run one at a time, in call order.
  const serial = serialByKey();
  // The locks this instance holds, checked before each write of their key.
  const held = new Map<string, WatchedLock>();
  let opened: Promise<void> | undefined;

  // First use: create the directory and sweep the debris of writers killed mid-write.
  const open = (): Promise<void> => {
    opened ??= (async () => {
      await mkdir(root, { recursive: true, mode: dirMode });
      for (const name of await readdir(root)) {
        const writer = TEMP_FILE.exec(name) ?? LOCK_DEBRIS.exec(name);
        if (writer !== null && !isRunning(Number(writer[1]))) await unlink(join(root, name)).catch(() => undefined);
        else if (TAKEOVER_GUARD.test(name)) {
          try {
            removeIfStale(join(root, name), fileMode);
          } catch {
            // Left for the next open: a guard only matters to a takeover, which handles it itself.
          }
        }
      }
    })().catch((error: unknown) => {
      opened = undefined; // try again on the next call
      throw error;
    });
    return opened;
  };

  const pathOf = (key: string) => join(root, fileNameOf(key));
  const fileOf = (key: string, check: (value: unknown) => string | undefined) => new DurableJsonFile<Envelope>(pathOf(key), check, fileMode);

  /** Rejects with the loss when this instance locked `key` and its lock file is no longer ours. */
  const checkHeld = async (key: string, path: string): Promise<void> => {
    const lock = held.get(key);
    if (lock === undefined) return;
    let lost: StoreLockedError | undefined;
    try {
      lost = await lock.verify();
    } catch (cause) {
      const why = new Error(`its lock file ${lock.path} cannot be read to check that the lock is still held (${(cause as Error).message})`, { cause });
      throw new StoreWriteError({ key, path, cause: why });
    }
    if (lost !== undefined) throw lost;
  };

  return {
    dir: root,
    lockScope: `file:${root}`,
    pathOf,

    read(key) {
      const path = pathOf(key);
      return serial(key, async () => {
        try {
          await open();
          const db = new Low<Envelope | null>(
            fileOf(key, (value) => envelopeProblem(value, key)),
            null,
          );
          await db.read();
          return db.data === null ? null : (db.data.value ?? null);
        } catch (error) {
          if (!(error instanceof NotStoreFormat)) throw new StoreReadError({ key, path, cause: error });
          let quarantinedTo: string;
          try {
            quarantinedTo = await quarantine(path);
          } catch (moveError) {
            throw new StoreReadError({ key, path, cause: moveError, message: `${error.message}, and it cannot be moved aside` });
          }
          throw new StoreReadError({ key, path, quarantinedTo, cause: error, message: `not an rxtrade store file: ${error.message}` });
        }
      });
    },

    write(key, value) {
      const path = pathOf(key);
      return serial(key, async () => {
        // Before anything touches the disk: a stream that lost its lock writes nothing more.
        await checkHeld(key, path);
        try {
          await open();
          const file = fileOf(key, () => undefined);
          if (value === null) {
            await file.remove();
            return;
          }
          const envelope: Envelope = { rxtrade: FORMAT, key, value };
          if (value === undefined || typeof value === "function" || typeof value === "symbol") {
            throw new TypeError(`the value (${typeof value}) is not JSON; write null to clear the key`);
          }
          const db = new Low<Envelope | null>(file, envelope);
          await db.write();
        } catch (cause) {
          throw new StoreWriteError({ key, path, cause });
        }
      });
    },

    async lock(key) {
      const path = `${pathOf(key)}.lock`;
      let result: LockResult;
      try {
        mkdirSync(root, { recursive: true, mode: dirMode });
        result = acquireLock(path, fileMode, key);
      } catch (cause) {
        throw new StoreWriteError({ key, path, cause });
      }
      if (!result.acquired) throw lockedError(key, path, result);
      const watched: WatchedLock = new WatchedLock(key, path, result.lock, lockCheckMs, () => {
        if (held.get(key) === watched) held.delete(key);
      });
      held.set(key, watched);
      return watched.release;
    },
  };
}

function checkMode(name: string, mode: number): void {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new ArgumentRangeError(`fileStore option ${name} (${mode}) must be permission bits from 0o000 to 0o777, e.g. 0o640`, {
      argument: `options.${name}`,
      value: mode,
    });
  }
}

/** The refusal of a lock: who holds it, why it cannot be taken over, and how to clear it. */
function lockedError(key: string, path: string, refused: Extract<LockResult, { acquired: false }>): StoreLockedError {
  const { holder, state } = refused;
  if (holder === undefined) {
    return new StoreLockedError({
      key,
      path,
      message: `${key} is locked: its lock file ${path} names no rxtrade holder (one being written right now, or not rxtrade's); if no rxtrade process uses this store, delete ${path}`,
    });
  }
  // The first sentence is 0.1.0's (scripts may match it); then who exactly, and how to clear it.
  const head = `${key} is locked by process ${holder.pid}; stop that stream first (one stream per symbol and strategy per store)`;
  const names = `the lock file ${path} names process ${holder.pid} on host ${holder.hostname}`;
  const clear = `if that process is gone, delete ${path}`;
  const message =
    state?.kind === "alive"
      ? `${head}. ${capitalise(names)}, which is running; ${clear}`
      : state?.kind === "unknown"
        ? `${head}. ${capitalise(names)}, which cannot be proven gone from here: ${state.why}; ${clear}`
        : `${key} was locked by process ${holder.pid} on host ${holder.hostname}, which is gone, but other processes kept taking the lock over at the same time (lock file ${path}); try again`;
  return new StoreLockedError({ key, path, pid: holder.pid, hostname: holder.hostname, message });
}

function capitalise(text: string): string {
  return `${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

/** `<readable part>-<hash of the exact key>.json`: unambiguous, safe on case-insensitive file systems. */
export function fileNameOf(key: string): string {
  const readable = key
    .normalize("NFKD")
    .replace(/[^A-Za-z0-9_-]+/g, "_")
    .replace(/^[_-]+|[_-]+$/g, "")
    .slice(0, 48);
  const hash = createHash("sha256").update(key, "utf8").digest("hex").slice(0, 16);
  return `${readable === "" ? "key" : readable}-${hash}.json`;
}

/** Why `value` (a parsed data file) is not the store's own file of `key`, or `undefined` when it is. */
export function envelopeProblem(value: unknown, key: string): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return `expected an object, found ${preview(value)}`;
  const envelope = value as Partial<Envelope>;
  if (envelope.rxtrade !== FORMAT || !("value" in envelope)) return `expected { rxtrade: ${FORMAT}, key, value }, found ${preview(value)}`;
  if (envelope.key !== key) return `the file belongs to key ${JSON.stringify(envelope.key)}`;
  return undefined;
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

/** Moves a corrupt file to `<file>.corrupt-<timestamp>[-n]`, never over an earlier copy. */
async function quarantine(path: string): Promise<string> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (let n = 0; n < 1000; n++) {
    const target = `${path}.corrupt-${stamp}${n === 0 ? "" : `-${n}`}`;
    try {
      // A hard link fails when the target exists, so an earlier copy is never replaced.
      await link(path, target);
      await unlink(path);
      await syncDirectory(dirname(path));
      return target;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") continue;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw error;
      // No hard links on this file system: check, then rename (a tiny race, only between corruptions).
      if (await exists(target)) continue;
      await rename(path, target);
      await syncDirectory(dirname(path));
      return target;
    }
  }
  throw new Error(`too many quarantined copies of ${path}`);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
