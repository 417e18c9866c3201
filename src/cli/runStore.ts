// `rxtrade run`'s store: its folder (the config file's "store", checked writable before
// anything starts) and what it holds for each pair, read under the pair's lock.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { decodeState, type SignalState } from "rxtrade";
import type { FileStore } from "rxtrade/node";
import type { ServiceFileProblem } from "rxtrade/service";
import { displayPath } from "./format";
import type { ResolvedPair } from "./runPairs";
import { isRxtradeError } from "./rxtradeErrors";
import { UsageError } from "./usage";
import { checkWritableFolder } from "./writableFolder";

/** Where `rxtrade run` keeps its store when the file names none: `rxtrade live`'s folder. */
export const RUN_STORE = "./.rxtrade";

// The store's folder: the file's "store" key (relative to the file's folder), else RUN_STORE,
// checked writable (a problem of the field "store" when it is not) unless "store" has a problem
// already. `created`: the first folder the check created, to remove when nothing starts.
export async function checkStoreFolder(file: unknown, base: string, problems: ServiceFileProblem[]): Promise<{ storeDir: string; created: string | undefined }> {
  const storeValue = isRecord(file) ? (file as { store?: unknown }).store : undefined;
  const storeDir = typeof storeValue === "string" && storeValue.trim() !== "" ? resolve(base, storeValue) : RUN_STORE;
  // The check creates the folder: with problems elsewhere, what it created goes again (nothing started).
  let created: string | undefined;
  if (!existsSync(storeDir)) {
    created = storeDir;
    while (!existsSync(dirname(created)) && dirname(created) !== created) created = dirname(created);
  }
  if (!problems.some((problem) => problem.field === "store")) {
    try {
      await checkWritableFolder("run", "store", storeDir, RUN_STORE);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      // The folder is the file's "store" key: rxtrade run has no --store flag.
      const message = error.message
        .replace(/^rxtrade run: /, "")
        .replace(/^--store \S+ (\([^)]*\) )?/, `${displayPath(storeDir)} `)
        .replace(/give another, e\.g\. --store \S+$/, `give another in the config file, e.g. "store": "${RUN_STORE}"`);
      problems.push({ field: "store", message });
    }
  }
  return { storeDir, created };
}

/** What the store holds for a pair, read under its lock; a corrupt value is moved aside (said through `warn`) and the pair starts fresh. */
export async function storedState(store: FileStore, pair: ResolvedPair, warn: (message: string) => void): Promise<SignalState | null> {
  const release = await store.lock(pair.id);
  let value: unknown;
  try {
    value = await store.read(pair.id);
  } catch (error) {
    if (isRxtradeError(error, "StoreReadError") && error.quarantinedTo !== undefined) {
      warn(error.message);
      return null;
    }
    throw error;
  } finally {
    release();
  }
  const exchangeName = pair.exchange === "bundled" ? "bundled" : pair.exchange.exchangeName;
  return decodeState(value, pair.id, { symbol: pair.symbol, strategyName: pair.strategy.strategyName, exchangeName });
}

function isRecord(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
