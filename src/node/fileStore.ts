import { createHash } from "node:crypto";
import { link, mkdir, readdir, rename, stat, unlink } from "node:fs/promises";
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { Low } from "lowdb";
import { StoreLockedError, StoreReadError, StoreWriteError } from "../errors";
import type { SignalStore } from "../model";
import { serialByKey } from "../stores/keyed";
import { DurableJsonFile, NotStoreFormat, syncDirectory } from "./durableJsonFile";
import { acquireLock, isRunning } from "./lockFile";

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
  lock(key: string): Promise<() => void>;
  /** The directory the store writes to, absolute. */
  readonly dir: string;
  /** The data file of a key (whether or not it exists). */
  pathOf(key: string): string;
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
 * - Writes to one key are applied in call order; `write(key, null)` deletes the file.
 * - A file that does not parse or is not the store's own (`{ rxtrade: 1, key, value }` for
 *   this key) is moved aside to `<file>.corrupt-<timestamp>` and `read` throws a
 *   `StoreReadError` with `quarantinedTo`; the next read returns `null`. Other read failures
 *   throw a `StoreReadError` without it (the engine retries); write failures a `StoreWriteError`.
 * - On first use `dir` is created, and temp files of writers that are no longer running are
 *   deleted (never read as data).
 * - `lock(key)`: a lock file `<file>.lock` holding `{ pid, hostname, since }`, exclusive across
 *   processes and within one; a lock of a dead process on this host is taken over.
 *
 * @example
 * import { liveTrade$ } from "rxtrade";
 * import { fileStore } from "rxtrade/node";
 * liveTrade$("BTCUSDT", strategy, { exchange, store: fileStore("./.rxtrade") }).subscribe();
 *
 * @param dir the directory of the data files, created when missing (default `./.rxtrade`)
 */
export function fileStore(dir = "./.rxtrade"): FileStore {
  const root = resolve(dir);
  // Reads and writes of a key run one at a time, in call order.
  const serial = serialByKey();
  let opened: Promise<void> | undefined;

  // First use: create the directory and sweep the debris of writers killed mid-write.
  const open = (): Promise<void> => {
    opened ??= (async () => {
      await mkdir(root, { recursive: true });
      for (const name of await readdir(root)) {
        const writer = TEMP_FILE.exec(name) ?? LOCK_DEBRIS.exec(name);
        if (writer !== null && !isRunning(Number(writer[1]))) await unlink(join(root, name)).catch(() => undefined);
      }
    })().catch((error: unknown) => {
      opened = undefined; // try again on the next call
      throw error;
    });
    return opened;
  };

  const pathOf = (key: string) => join(root, fileNameOf(key));
  const databaseOf = (key: string) =>
    new Low<Envelope | null>(new DurableJsonFile<Envelope>(pathOf(key), (value) => envelopeProblem(value, key)), null);

  return {
    dir: root,
    pathOf,

    read(key) {
      const path = pathOf(key);
      return serial(key, async () => {
        try {
          await open();
          const db = databaseOf(key);
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
        try {
          await open();
          const file = new DurableJsonFile<Envelope>(path, () => undefined);
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
      let result: ReturnType<typeof acquireLock>;
      try {
        mkdirSync(root, { recursive: true });
        result = acquireLock(path);
      } catch (cause) {
        throw new StoreWriteError({ key, path, cause });
      }
      if (!result.acquired) throw new StoreLockedError({ key, ...(result.holder ? { pid: result.holder.pid } : {}) });
      return result.release;
    },
  };
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

function envelopeProblem(value: unknown, key: string): string | undefined {
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
