// What `rxtrade store list` prints: the table (values cut to fit, with notes on what to do) or
// the --json document.
import type { FileStoreListing, ListedKey } from "rxtrade/node";
import { cell, displayPath, minute, price, visible } from "./format";
import { demoHint } from "./storeFolder";
import { lockJson, stateOf } from "./storeKeyState";
import type { Terminal } from "./terminal";

/**
 * The most characters of a value a cell of the `store list` table shows (longer ones are cut with
 * an ellipsis; `--json` has them whole): a key, a signal id, an exchange name, a host name, a path.
 */
const WIDTH = { key: 64, id: 40, exchange: 32, host: 64, path: 120 } as const;

/** `store list --json`: every key with its state, signal, since and lock, and the files moved aside. */
export function toJson(listing: FileStoreListing): Record<string, unknown> {
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

/** `store list`: the table of keys, notes on what to do with the odd ones, and the files moved aside. */
export function printTable(listing: FileStoreListing, dir: string, terminal: Terminal): void {
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
