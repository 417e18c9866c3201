import type { Journal, JournalEntry, JournalRun, JournalTail } from "rxtrade";

/**
 * Whether a demo run starting at `start` goes back over ticks that earlier runs of its key may
 * have journaled, from the key's journal tail (`"unread"`: the journal is there but could not be
 * read, so it may): the last run was killed (its last run entry is its `start`: its ticks went on
 * past anything the tail shows), or it stopped at or after `start` (`--from` an earlier time).
 */
export function rewindsJournal(tail: JournalTail | "unread" | undefined, start: number): boolean {
  if (tail === "unread") return true;
  const last = tail?.lastRun;
  return last !== undefined && (last.event === "start" || last.at >= start);
}

/**
 * The demo's journal for a run that goes back over journaled ticks (see `rewindsJournal`): the
 * run's `start` entry carries `rewoundTo: start`, so the earlier `tick` and `gap` entries of the
 * key at or after `start` are superseded — readers and `rxtrade replay` go by this run's — and the
 * journal holds each tick time once, each trade once, as read.
 *
 * Why the run goes back instead of starting after the journal's last tick entry: the restart
 * point (`restartPoint`) is the tick after the store's last landed write, and the ticks after it
 * must run again. A tick whose store write did not land (killed between its `intent` and the
 * write) was journaled as it decided, naming a signal that never existed: it must decide again,
 * and its write must land this time. And a strategy that keeps state between asks (`momentum`
 * keeps the prices since its last signal) rebuilds it only by being asked again at those ticks,
 * as an uninterrupted run asked it. Starting after the last tick entry would skip those decisions
 * and lose that change of position or make other trades than an uninterrupted run's; marking the
 * older entries superseded keeps both the ledger and the decisions of an uninterrupted run. Trade
 * entries are never superseded: each is a store write that landed, and the restart point is never
 * before the journal's last trade.
 *
 * Every other call goes to `journal` as it is; only the first `start` entry of `key` (and its
 * retries, of the same time) is marked.
 */
export function rewoundJournal<J extends Journal>(journal: J, key: string, start: number): J {
  let startAt: number | undefined;
  const append = (entry: JournalEntry) => {
    if (entry.kind === "run" && entry.event === "start" && entry.key === key && (startAt ?? entry.at) === entry.at) {
      startAt = entry.at;
      const marked: JournalRun = { ...entry, rewoundTo: start };
      return journal.append(marked);
    }
    return journal.append(entry);
  };
  return new Proxy(journal, {
    get(target, property) {
      if (property === "append") return append;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
