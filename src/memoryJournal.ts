import type { Journal, JournalEntry, JournalIntent, JournalTail } from "./journal";
import { copyEntry } from "./journalEntries";

/**
 * A journal in memory (tests, the browser without IndexedDB, a process that needs no history).
 * Synchronous: a stream on it journals inside `TestScheduler.run` and `VirtualClock.flush`.
 * `entries` and `read` hold the history (`trade`, `tick`, `run` and `gap` entries); of the
 * `intent` entries it keeps each key's pending one, which `tail` reports.
 *
 * @example
 * import { liveTrade$, memoryJournal } from "rxtrade";
 * const journal = memoryJournal();
 * liveTrade$("BTCUSDT", strategy, { exchange, journal, journalLevel: "full" }).subscribe();
 * for await (const entry of journal.read("BTCUSDT:momentum")) console.log(entry.kind, entry.at);
 */
export function memoryJournal(): Journal & {
  readonly entries: ReadonlyMap<string, readonly JournalEntry[]>;
  tail(key: string): JournalTail;
} {
  const entries = new Map<string, JournalEntry[]>();
  // The intent of a key that no trade or run entry has followed yet.
  const intents = new Map<string, JournalIntent>();
  return {
    entries,
    append(entry) {
      // A copy: what is journaled cannot change afterwards with the caller's object.
      if (entry.kind === "intent") {
        intents.set(entry.key, copyEntry(entry));
        return;
      }
      // A trade confirms the pending intent, a start decides it (see TailScan); a stop does not.
      if (entry.kind === "trade" || (entry.kind === "run" && entry.event === "start")) intents.delete(entry.key);
      const list = entries.get(entry.key);
      if (list === undefined) entries.set(entry.key, [copyEntry(entry)]);
      else list.push(copyEntry(entry));
    },
    async *read(key) {
      for (const entry of entries.get(key) ?? []) yield copyEntry(entry);
    },
    keys: () => [...entries.keys()],
    tail(key) {
      const list = entries.get(key) ?? [];
      const tail: JournalTail = {};
      for (let i = list.length - 1; i >= 0 && (tail.lastTrade === undefined || tail.lastRun === undefined); i--) {
        const entry = list[i] as JournalEntry;
        if (entry.kind === "trade") tail.lastTrade ??= copyEntry(entry);
        else if (entry.kind === "run") tail.lastRun ??= copyEntry(entry);
      }
      const intent = intents.get(key);
      if (intent !== undefined) tail.pendingIntent = copyEntry(intent);
      return tail;
    },
  };
}
