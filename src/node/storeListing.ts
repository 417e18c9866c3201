import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { StoreListError } from "../errors";
import { envelopeProblem, fileNameOf } from "./fileStore";
import { inspectLock, type LockInspection } from "./lockFile";

/** One key of a `fileStore` folder, as `listFileStore` finds it. */
export interface ListedKey {
  /** The exact key, as the data file or the lock file records it; `undefined` when neither does (a corrupt data file, and no lock file or one written before lock files named their key). */
  key: string | undefined;
  /** The key's data file (absolute), whether or not it exists. */
  path: string;
  /**
   * What the data file holds: `value` (the stored value), `missing` (no data file: nothing is
   * stored, only a lock), `corrupt` (a file that is not the store's own for its name; the store
   * moves it aside on the next read of its key) or `unreadable` (an I/O error).
   */
  data: { kind: "value"; value: unknown } | { kind: "missing" } | { kind: "corrupt" | "unreadable"; reason: string };
  /** The key's lock file and its holder, when there is one; `{ error }` when it cannot be read. */
  lock: LockInspection | { path: string; error: string } | undefined;
}

/** What `listFileStore` finds in a store folder. */
export interface FileStoreListing {
  /** The folder, absolute. */
  dir: string;
  /** Every key with a data file or a lock file, sorted by key (unnamed ones last, by file). */
  keys: ListedKey[];
  /** Copies of corrupt data files the store moved aside (`<file>.corrupt-<timestamp>`), absolute. */
  quarantined: string[];
}

const DATA_FILE = /^[^.].*-[0-9a-f]{16}\.json$/;
const QUARANTINED = /^[^.].*-[0-9a-f]{16}\.json\.corrupt-/;

/**
 * Lists what a `fileStore` folder holds, read-only: each key with its data file's value (or why
 * it cannot be read) and its lock file's holder, judged as `lock` would judge it (running, proven
 * gone, or unknown). Nothing is written, created, moved aside or taken over, so a running stream
 * is not disturbed. Rejects with a `StoreListError` when the folder cannot be read (its `code`
 * `ENOENT` when it does not exist, `ENOTDIR` when it is a file).
 *
 * @example
 * import { listFileStore } from "rxtrade/node";
 * for (const { key, data, lock } of (await listFileStore("./.rxtrade")).keys) console.log(key, data.kind, lock?.owner?.pid);
 *
 * @param dir the store's folder, as given to `fileStore`
 */
export async function listFileStore(dir: string): Promise<FileStoreListing> {
  const root = resolve(dir);
  const names = await readdir(root).catch((error: unknown) => {
    throw listError(root, error);
  });
  const present = new Set(names);
  const quarantined: string[] = [];
  const dataFiles = new Set<string>();
  for (const name of names) {
    if (QUARANTINED.test(name)) quarantined.push(join(root, name));
    else if (DATA_FILE.test(name)) dataFiles.add(name);
    else if (name.endsWith(".lock") && DATA_FILE.test(name.slice(0, -".lock".length))) dataFiles.add(name.slice(0, -".lock".length));
  }
  const keys = await Promise.all([...dataFiles].map((name) => listKey(root, name, present)));
  keys.sort((a, b) => (a.key === undefined) !== (b.key === undefined) ? (a.key === undefined ? 1 : -1) : compare(a.key ?? a.path, b.key ?? b.path));
  return { dir: root, keys, quarantined: quarantined.sort(compare) };
}

// The folder's system error, typed, with what to do about it.
function listError(root: string, cause: unknown): StoreListError {
  const code = (cause as NodeJS.ErrnoException | null)?.code;
  const message =
    code === "ENOENT"
      ? `it does not exist (nothing was stored there yet, or a typo); give the folder a fileStore writes to, as passed to fileStore(dir), e.g. ./.rxtrade`
      : code === "ENOTDIR"
        ? `it is a file, not a folder; give the folder passed to fileStore(dir), e.g. ./.rxtrade`
        : `${(cause as Error)?.message ?? String(cause)}; check that it is a folder this process may read`;
  return new StoreListError({ path: root, message, code, cause });
}

async function listKey(root: string, name: string, present: ReadonlySet<string>): Promise<ListedKey> {
  const path = join(root, name);
  let key: string | undefined;
  let data: ListedKey["data"] = { kind: "missing" };
  if (present.has(name)) {
    const read = await readDataFile(path, name);
    key = read.key;
    data = read.data;
  }
  let lock: ListedKey["lock"];
  if (present.has(`${name}.lock`)) {
    try {
      lock = inspectLock(`${path}.lock`);
    } catch (error) {
      lock = { path: `${path}.lock`, error: (error as Error).message };
    }
    // Lock files name their key (older ones do not); it counts only when it is this file's key.
    const named = lock !== undefined && "owner" in lock ? lock.owner?.key : undefined;
    if (key === undefined && typeof named === "string" && fileNameOf(named) === name) key = named;
  }
  return { key, path, data, lock };
}

async function readDataFile(path: string, name: string): Promise<Pick<ListedKey, "key" | "data">> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    // Removed since the folder was read: the key was cleared meanwhile.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { key: undefined, data: { kind: "missing" } };
    return { key: undefined, data: { kind: "unreadable", reason: (error as Error).message } };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { key: undefined, data: { kind: "corrupt", reason: text.length === 0 ? "the file is empty" : `the file is not JSON (${(error as Error).message})` } };
  }
  const key = (parsed as { key?: unknown } | null)?.key;
  if (typeof key !== "string") {
    // The shape's own problem when it has one; else the key is what is wrong.
    const shape = envelopeProblem(parsed, "");
    const reason = shape?.startsWith("expected") ? shape : `expected a string key, found ${JSON.stringify(key) ?? "none"}`;
    return { key: undefined, data: { kind: "corrupt", reason } };
  }
  const problem = envelopeProblem(parsed, key);
  if (problem !== undefined) return { key: undefined, data: { kind: "corrupt", reason: problem } };
  if (fileNameOf(key) !== name) {
    return { key: undefined, data: { kind: "corrupt", reason: `the file belongs to key ${JSON.stringify(key)}, whose file is ${fileNameOf(key)}` } };
  }
  return { key, data: { kind: "value", value: (parsed as { value: unknown }).value } };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
