import type { JournalEntry } from "./journal";

/** An entry waiting to be appended, and who waits for it. */
export interface Pending {
  entry: JournalEntry;
  /** Told once: when the entry is appended, or when the caller should stop waiting for it. */
  waiter: (() => void) | undefined;
}

/** A run's entries waiting for its journal, oldest first, with a count of the tick entries among them. */
export class PendingEntries {
  private readonly items: Pending[] = [];
  /** Tick entries among them. */
  ticks = 0;

  get length(): number {
    return this.items.length;
  }

  get head(): Pending | undefined {
    return this.items[0];
  }

  push(entry: JournalEntry, waiter: (() => void) | undefined): Pending {
    const pending = { entry, waiter };
    this.items.push(pending);
    if (entry.kind === "tick") this.ticks++;
    return pending;
  }

  /** Removes the head. */
  shift(): void {
    if ((this.items.shift() as Pending).entry.kind === "tick") this.ticks--;
  }

  /** Puts entries in front, nobody waiting for them. */
  unshift(entries: readonly JournalEntry[]): void {
    this.items.unshift(...entries.map((entry) => ({ entry, waiter: undefined })));
    for (const entry of entries) if (entry.kind === "tick") this.ticks++;
  }

  /** Lets every waiter go: nobody waits for the journal any more. */
  release(): void {
    for (const pending of this.items) {
      const waiter = pending.waiter;
      pending.waiter = undefined;
      waiter?.();
    }
  }

  /** Drops the tick entries but `keep` (one in flight), telling `dropped` of each, oldest first. */
  dropTicks(keep: Pending | undefined, dropped: (at: number) => void): void {
    if (this.ticks === 0) return;
    const kept = this.items.filter((pending) => {
      if (pending.entry.kind !== "tick" || pending === keep) return true;
      dropped(pending.entry.at);
      return false;
    });
    this.items.splice(0, this.items.length, ...kept);
    this.ticks = keep?.entry.kind === "tick" ? 1 : 0;
  }

  /** Empties it, waiters let go; returns the entries, oldest first. */
  takeAll(): JournalEntry[] {
    this.release();
    this.ticks = 0;
    return this.items.splice(0).map((pending) => pending.entry);
  }
}
