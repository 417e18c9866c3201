import { resolve } from "node:path";
import { decodeState, type SignalState } from "rxtrade";
import { fileStore, type FileStoreListing, listFileStore, type ListedKey } from "rxtrade/node";
import { DEMO_STORE } from "./demoCommand";
import { cell, displayPath, minute, price, visible } from "./format";
import { LIVE_STORE } from "./liveCommand";
import { isRxtradeError } from "./rxtradeErrors";
import type { Terminal } from "./terminal";
import { editDistance, EXIT, parseCommandLine, UsageError } from "./usage";

/** `--store`'s default: the store of `rxtrade live` (and of `fileStore()`); the demo's is named in the help. */
const DEFAULT_STORE = LIVE_STORE;

/**
 * The most characters of a value a cell of the `store list` table shows (longer ones are cut with
 * an ellipsis; `--json` has them whole): a key, a signal id, an exchange name, a host name, a path.
 */
const WIDTH = { key: 64, id: 40, exchange: 32, host: 64, path: 120 } as const;

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

function storeFlag(value: string | undefined): string {
  const dir = value ?? DEFAULT_STORE;
  if (dir.trim() === "") throw new UsageError("store", `--store needs a folder, got an empty value; e.g. --store ${DEFAULT_STORE}`);
  return dir;
}

/** The listing, or `undefined` when the folder does not exist. */
async function readListing(dir: string): Promise<FileStoreListing | undefined> {
  try {
    return await listFileStore(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return undefined;
    if (code === "ENOTDIR") throw new UsageError("store", `--store ${dir} is a file, not a store folder; e.g. --store ${DEFAULT_STORE}`);
    throw new UsageError("store", `--store ${dir} cannot be read: ${(error as Error).message}`);
  }
}

function demoHint(dir: string): string {
  return absolute(dir) === absolute(DEFAULT_STORE) ? ` (the demo keeps its own store: rxtrade store list --store ${DEMO_STORE})` : "";
}

function absolute(dir: string): string {
  return resolve(dir);
}

function unknownKey(key: string, listing: FileStoreListing, dir: string): string {
  const named = listing.keys.flatMap((listed) => (listed.key === undefined ? [] : [listed.key]));
  if (named.length === 0) return `no key "${visible(key)}" in ${visible(dir)}: the store holds no keys${demoHint(dir)}`;
  const near = named.find((candidate) => editDistance(key, candidate) <= 2);
  return `no key "${visible(key)}" in ${visible(dir)}${near === undefined ? "" : `; did you mean ${visible(near)}?`} (keys: ${named.map(visible).join(", ")})`;
}

/** Why a key cannot be cleared now (a running or unknown holder), or `undefined`. */
function lockRefusal(rawKey: string, entry: ListedKey): string | undefined {
  const key = visible(rawKey);
  const { lock } = entry;
  if (lock === undefined) return undefined;
  if (!("owner" in lock)) return `rxtrade store: cannot clear ${key}: its lock file ${visible(lock.path)} cannot be read (${visible(lock.error)}); fix its permissions, then try again`;
  if (lock.stale) return undefined;
  const { owner, state } = lock;
  if (owner === undefined) {
    return `rxtrade store: cannot clear ${key}: its lock file ${visible(lock.path)} names no rxtrade holder (one being written right now, or not rxtrade's); if no rxtrade process uses this store, delete ${visible(lock.path)}, then try again`;
  }
  const who = `process ${owner.pid} on host ${visible(owner.hostname)}`;
  if (state?.kind === "alive") {
    return `rxtrade store: cannot clear ${key}: it is locked by ${who}, which is running — an rxtrade run trades this key now. Stop that run first (Ctrl-C in its terminal, or kill -TERM ${owner.pid}: a graceful stop lets an open signal run to its close), then clear the key if it still holds something.`;
  }
  const why = state?.kind === "unknown" ? state.why : "it cannot be proven gone";
  return `rxtrade store: cannot clear ${key}: it is locked by ${who}, which cannot be proven gone from here (${visible(why)}). If that process is gone, delete ${visible(lock.path)}, then try again.`;
}

/** A key's state for the listing: what its data file holds, decoded as the engine decodes it. */
function stateOf(entry: ListedKey): { state: string; signal?: SignalState["signal"]; since?: number; reason?: string } {
  const { data } = entry;
  if (data.kind === "missing") return { state: "nothing" };
  if (data.kind !== "value") return { state: data.kind, reason: data.reason };
  if (data.value === null || data.value === undefined) return { state: "nothing" };
  const key = entry.key as string;
  const colon = key.lastIndexOf(":");
  const exchangeName = (data.value as { signal?: { exchangeName?: unknown } })?.signal?.exchangeName;
  try {
    const decoded = decodeState(data.value, key, {
      symbol: key.slice(0, Math.max(0, colon)),
      strategyName: key.slice(colon + 1),
      exchangeName: typeof exchangeName === "string" ? exchangeName : "",
    });
    if (decoded === null) return { state: "nothing" };
    const since = decoded.status === "opened" ? decoded.signal.pendingAt : decoded.signal.scheduledAt;
    return { state: decoded.status, signal: decoded.signal, since };
  } catch (error) {
    // StoreConflictError: "<key> holds <reason>; it is left untouched. …" — the reason is what the listing needs.
    const message = (error as Error).message;
    return { state: "unrecognised", reason: /holds (.*); it is left untouched/.exec(message)?.[1] ?? message };
  }
}

/** `opened signal <id> (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC)`, `nothing`, `a corrupt file (…)`. */
function holdsText(entry: ListedKey): string {
  const { state, signal, since, reason } = stateOf(entry);
  if (signal !== undefined && since !== undefined) {
    return `${state === "opened" ? "opened" : "scheduled (limit entry)"} signal ${visible(signal.id)} (${signal.position} @ ${price(signal.priceOpen)} on ${visible(signal.exchangeName)}, since ${minute(since)} UTC)`;
  }
  if (state === "nothing") return "nothing";
  const what = state === "unrecognised" ? "a value rxtrade does not recognise" : state === "corrupt" ? "a corrupt file" : "a file that cannot be read";
  return state === "unrecognised" ? what : `${what} (${visible(reason ?? "")})`;
}

function lockJson(lock: ListedKey["lock"]): Record<string, unknown> | null {
  if (lock === undefined) return null;
  if (!("owner" in lock)) return { file: lock.path, holder: "unknown", why: `the lock file cannot be read: ${lock.error}` };
  const { owner, state, stale } = lock;
  const holder = stale ? "gone" : state?.kind === "alive" ? "running" : "unknown";
  const why = owner === undefined ? "the lock file names no rxtrade holder" : state?.kind === "unknown" ? state.why : undefined;
  return { file: lock.path, pid: owner?.pid ?? null, hostname: owner?.hostname ?? null, since: owner?.since ?? null, holder, ...(why === undefined ? {} : { why }) };
}

function toJson(listing: FileStoreListing): Record<string, unknown> {
  return {
    store: listing.dir,
    exists: true,
    keys: listing.keys.map((entry) => {
      const { state, signal, since, reason } = stateOf(entry);
      return {
        key: entry.key ?? null,
        file: entry.path,
        state,
        ...(reason === undefined ? {} : { reason }),
        signal: signal ?? null,
        since: since === undefined ? null : new Date(since).toISOString(),
        lock: lockJson(entry.lock),
      };
    }),
    quarantined: listing.quarantined,
  };
}

/** `held by pid 4242 on host h (running)`, `left by pid 4242 on host h (gone; …)`, `pid 4242 on host db-2 (cannot tell …)`; `cut`: the host name was cut to fit. */
function lockCell(lock: ListedKey["lock"]): { text: string; cut: boolean } {
  const json = lockJson(lock);
  if (json === null) return { text: "-", cut: false };
  const { holder, pid, hostname } = json as { holder: string; pid: number | null; hostname: string | null };
  const host = cell(String(hostname), WIDTH.host);
  const who = pid === null ? "a lock file naming no holder" : `pid ${pid} on host ${host}`;
  const cut = pid !== null && host !== visible(String(hostname));
  if (holder === "running") return { text: `held by ${who} (running)`, cut };
  if (holder === "gone") return { text: `left by ${who} (gone; taken over at the next start)`, cut };
  return { text: `${who} (cannot tell whether it runs; see below)`, cut };
}

/**
 * A key as a shell word for a command to paste: as it is when plain, else in single quotes, or
 * as bash's `$'…'` with the escapes of `visible` when it holds control characters.
 */
function shellWord(text: string): string {
  if (/^[\w@%+=:,./-]+$/.test(text)) return text;
  if (visible(text) === text) return `'${text.replaceAll("'", `'\\''`)}'`;
  return `$'${visible(text.replaceAll("\\", "\\\\").replaceAll("'", "\\'"))}'`;
}

function printTable(listing: FileStoreListing, dir: string, terminal: Terminal): void {
  const shown = visible(displayPath(listing.dir));
  const count = listing.keys.length;
  if (count === 0) {
    terminal.line(`Store ${shown} holds no keys.${demoHint(dir)}`);
  } else {
    terminal.line(`Store ${shown}: ${count} ${count === 1 ? "key" : "keys"}`);
    terminal.line("");
    const rows = [["KEY", "STATE", "SINCE (UTC)", "SIGNAL", "LOCK"]];
    const notes: string[] = [];
    let cut = false;
    const fit = (text: string, max: number) => {
      const shown = cell(text, max);
      if (shown !== visible(text)) cut = true;
      return shown;
    };
    for (const entry of listing.keys) {
      const { state, signal, since, reason } = stateOf(entry);
      // Whole (escaped) in the notes; cut to fit in the table.
      const name = entry.key === undefined ? `? (${visible(displayPath(entry.path))})` : visible(entry.key);
      const lock = lockCell(entry.lock);
      rows.push([
        entry.key === undefined ? `? (${fit(displayPath(entry.path), WIDTH.path)})` : fit(entry.key, WIDTH.key),
        state,
        since === undefined ? "-" : minute(since),
        signal === undefined ? "-" : `${fit(signal.id, WIDTH.id)}  ${signal.position} @ ${price(signal.priceOpen)} on ${fit(signal.exchangeName, WIDTH.exchange)}`,
        lock.text,
      ]);
      if (lock.cut) cut = true;
      if (reason !== undefined) {
        const effect = state === "unrecognised" ? "a run on this key stops with StoreConflictError" : state === "corrupt" ? "a run moves it aside (<file>.corrupt-<time>) when it reads the key" : "a run retries the read until it can be read";
        const fix = entry.key === undefined ? `its key is unknown: delete ${visible(displayPath(entry.path))} by hand if it is not needed` : `rxtrade store clear ${shellWord(entry.key)} removes it`;
        notes.push(`${name}: ${state}: ${visible(reason.replace(/\s+/g, " "))}; ${effect}; ${fix}.`);
      }
      const held = lockJson(entry.lock);
      if (held?.holder === "unknown") notes.push(`${name}: whether the lock's holder runs cannot be told from here: ${visible(held.why as string)}; if that process is gone, delete ${visible(displayPath(held.file as string))}.`);
    }
    const widths = (rows[0] as string[]).map((_, column) => Math.max(...rows.map((row) => (row[column] as string).length)));
    for (const row of rows) terminal.line(row.map((text, column) => (column === row.length - 1 ? text : text.padEnd(widths[column] as number))).join("  ").trimEnd());
    if (cut) notes.push("Values cut to fit end in …; rxtrade store list --json prints them whole.");
    if (notes.length > 0) {
      terminal.line("");
      for (const note of notes) terminal.line(note);
    }
  }
  if (listing.quarantined.length > 0) {
    terminal.line("");
    terminal.line(`Corrupt files moved aside earlier (inspect, then delete by hand): ${listing.quarantined.map((path) => visible(displayPath(path))).join(", ")}`);
  }
}
