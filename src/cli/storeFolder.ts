// The --store folder of `rxtrade store`: its default, reading its listing, and what a miss says
// (an unknown key; the demo's own store).
import { resolve } from "node:path";
import { type FileStoreListing, listFileStore } from "rxtrade/node";
import { DEMO_STORE } from "./demoCommand";
import { visible } from "./format";
import { LIVE_STORE } from "./liveCommand";
import { editDistance, UsageError } from "./usage";

/** `--store`'s default: the store of `rxtrade live` (and of `fileStore()`); the demo's is named in the help. */
export const DEFAULT_STORE = LIVE_STORE;

/** The --store folder given, or the default; an empty one is a usage error. */
export function storeFlag(value: string | undefined): string {
  const dir = value ?? DEFAULT_STORE;
  if (dir.trim() === "") throw new UsageError("store", `--store needs a folder, got an empty value; e.g. --store ${DEFAULT_STORE}`);
  return dir;
}

/** The listing, or `undefined` when the folder does not exist. */
export async function readListing(dir: string): Promise<FileStoreListing | undefined> {
  try {
    return await listFileStore(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ENOTDIR") throw new UsageError("store", `--store ${dir} is a file, not a store folder; e.g. --store ${DEFAULT_STORE}`);
    throw new UsageError("store", `--store ${dir} cannot be read: ${(error as Error).message}`);
  }
}

/** Where the default store was looked at: a hint that the demo keeps its own. */
export function demoHint(dir: string): string {
  return absolute(dir) === absolute(DEFAULT_STORE) ? ` (the demo keeps its own store: rxtrade store list --store ${DEMO_STORE})` : "";
}

/** The folder as an absolute path. */
export function absolute(dir: string): string {
  return resolve(dir);
}

/** What `store clear` says of a key the folder does not hold: the one meant, when one is near. */
export function unknownKey(key: string, listing: FileStoreListing, dir: string): string {
  const named = listing.keys.flatMap((listed) => (listed.key === undefined ? [] : [listed.key]));
  if (named.length === 0) return `no key "${visible(key)}" in ${visible(dir)}: the store holds no keys${demoHint(dir)}`;
  const near = named.find((candidate) => editDistance(key, candidate) <= 2);
  return `no key "${visible(key)}" in ${visible(dir)}${near === undefined ? "" : `; did you mean ${visible(near)}?`} (keys: ${named.map(visible).join(", ")})`;
}
