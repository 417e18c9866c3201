// `rxtrade store list|clear`: the command lines, the help, and clearing a key under its lock.
import { fileStore, listFileStore } from "rxtrade/node";
import { DEMO_STORE } from "./demoCommand";
import { displayPath, visible } from "./format";
import { isRxtradeError } from "./rxtradeErrors";
import { absolute, DEFAULT_STORE, demoHint, readListing, storeFlag, unknownKey } from "./storeFolder";
import { holdsText, lockRefusal, stateOf } from "./storeKeyState";
import { printTable, toJson } from "./storeListing";
import type { Terminal } from "./terminal";
import { editDistance, EXIT, parseCommandLine, UsageError } from "./usage";

const LIST_FLAGS = {
  store: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const CLEAR_FLAGS = {
  store: { type: "string" },
  yes: { type: "boolean", short: "y" },
  help: { type: "boolean", short: "h" },
} as const;

export const STORE_HELP = `rxtrade store — list the keys of a store folder, or clear one that is stuck

A store folder (the --store of rxtrade live and rxtrade demo) keeps one key per symbol and
strategy, e.g. BTCUSDT:momentum: the signal that stream has open or scheduled, or nothing.
A run resumes what its key holds — a signal left there by a kill comes back at the next start.
These commands show what each key holds and remove one.

Usage
  rxtrade store list [--store dir] [--json]
  rxtrade store clear <key> [--store dir] [--yes]

Commands
  list               each key with its state (nothing, scheduled, opened; corrupt), its signal
                     (id, position, exchange), since when (UTC), and whether a running process
                     holds its lock (pid and host)
  clear <key>        removes what the key holds, after a confirmation; refused while a running
                     process holds the key (stop that run first). rxtrade no longer monitors
                     the removed signal: settle a real position by hand.

Flags
  --store DIR        the store folder (default ${DEFAULT_STORE}, the one rxtrade live uses); the
                     demo keeps its own: rxtrade store list --store ${DEMO_STORE}
  --json             list: one JSON document on stdout, for scripts
  -y, --yes          clear: remove without asking (required when stdin is not a terminal)
  -h, --help         show this help

Exit codes
  0 done, 1 not removed (the key is locked by a running process, or the answer was no),
  2 a wrong command line (an unknown key; clear without --yes when nothing can ask) — checked
    first: a wrong command line is exit 2 even for a key that is locked
`;

/** `rxtrade store list|clear`: what a `fileStore` folder holds, and removing one key of it. */
export async function storeCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === "--help" || sub === "-h" || sub === "help") {
    terminal.line(STORE_HELP);
    return EXIT.ok;
  }
  if (sub === "list") return listCommand(rest, terminal);
  if (sub === "clear") return clearCommand(rest, terminal);
  if (sub === undefined) throw new UsageError("store", "a subcommand is required: list or clear, e.g. rxtrade store list");
  const near = ["list", "clear"].find((name) => editDistance(sub, name) <= 2);
  throw new UsageError("store", `unknown subcommand ${JSON.stringify(sub)}${near === undefined ? "" : `; did you mean ${near}?`} (subcommands: list, clear)`);
}

async function listCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags } = parseCommandLine("store", args, LIST_FLAGS, { store: DEFAULT_STORE }, false);
  if (flags.help) {
    terminal.line(STORE_HELP);
    return EXIT.ok;
  }
  const dir = storeFlag(flags.store);
  const listing = await readListing(dir);
  if (flags.json) {
    terminal.line(JSON.stringify(listing === undefined ? { store: absolute(dir), exists: false, keys: [], quarantined: [] } : toJson(listing), null, 2));
    return EXIT.ok;
  }
  if (listing === undefined) {
    terminal.line(`No store folder at ${dir}: nothing is stored there.${demoHint(dir)}`);
    return EXIT.ok;
  }
  printTable(listing, dir, terminal);
  return EXIT.ok;
}

async function clearCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("store", args, CLEAR_FLAGS, { store: DEFAULT_STORE });
  if (flags.help) {
    terminal.line(STORE_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      "store",
      positionals.length === 0
        ? "store clear needs the key to remove, e.g. rxtrade store clear BTCUSDT:momentum (rxtrade store list shows the keys)"
        : `store clear removes one key at a time, got ${positionals.length}: ${positionals.map((p) => `"${visible(p)}"`).join(" ")}`,
    );
  }
  const key = positionals[0] as string;
  const dir = storeFlag(flags.store);
  const listing = await readListing(dir);
  if (listing === undefined) throw new UsageError("store", `--store ${visible(dir)}: no such folder, so no key "${visible(key)}" to clear${demoHint(dir)}`);
  const store = fileStore(listing.dir);
  const path = store.pathOf(key);
  const entry = listing.keys.find((listed) => listed.path === path);
  if (entry === undefined) throw new UsageError("store", unknownKey(key, listing, dir));

  const what = holdsText(entry);
  // A wrong command line is exit 2 before anything else is looked at, the key's lock included.
  if (!flags.yes && !terminal.interactive) {
    throw new UsageError("store", `not asking for a confirmation without a terminal: pass --yes to remove ${visible(key)} from ${visible(dir)}; it holds ${what}`);
  }
  const refusal = lockRefusal(key, entry);
  if (refusal !== undefined) {
    terminal.warn(refusal);
    return EXIT.failed;
  }
  if (!flags.yes) {
    const { state } = stateOf(entry);
    const warning = state === "opened" || state === "scheduled" ? "; rxtrade will no longer monitor that signal" : "";
    const answer = await terminal.ask(`Remove ${visible(key)} from ${visible(displayPath(listing.dir))}? It holds ${what}${warning}. [y/N] `);
    if (!/^\s*y(es)?\s*$/i.test(answer ?? "")) {
      terminal.line(`Not removed: ${visible(key)} still holds ${what}.`);
      return EXIT.failed;
    }
  }

  // Under the key's lock, taken the way a run takes it: a running stream refuses it, a lock
  // left by a dead process is taken over, and no run can start on the key meanwhile.
  let release: () => void;
  try {
    release = await store.lock(key);
  } catch (error) {
    if (!isRxtradeError(error, "StoreLockedError")) throw error;
    terminal.warn(`rxtrade store: cannot clear ${visible(key)}: ${visible(error.message.replace(/^rxtrade: /, ""))}`);
    return EXIT.failed;
  }
  try {
    // What is there now must be what was shown (and confirmed): a run may have come and gone.
    const now = (await listFileStore(listing.dir)).keys.find((listed) => listed.path === path);
    if (now !== undefined && JSON.stringify(now.data) !== JSON.stringify(entry.data)) {
      terminal.warn(`rxtrade store: ${visible(key)} changed meanwhile (it now holds ${holdsText(now)}); nothing removed. Run rxtrade store list and try again.`);
      return EXIT.failed;
    }
    await store.write(key, null);
  } finally {
    release();
  }
  const lockNote = entry.lock !== undefined && "owner" in entry.lock && entry.lock.stale ? `, and the lock left by process ${entry.lock.owner?.pid ?? "unknown"}` : "";
  terminal.line(`Removed ${visible(key)} from ${visible(displayPath(listing.dir))} (it held ${what}${lockNote}).`);
  return EXIT.ok;
}
