import { isObservable } from "rxjs";
import type { CallWatcher } from "./deadline";
import { type Journal, type JournalEntry, journalTail } from "./journal";
import { isDeferred, settle } from "./maybeAsync";

/**
 * The journal as the engine calls it under a `CallWatcher` scheduler (a `VirtualClock`, the
 * demo's paced clock): `append` and `tail` (a `tail` made of `read` when the journal has none)
 * report each call that goes asynchronous until it settles, so virtual time does not move on
 * while a file journal fsyncs.
 */
export function watchedJournal(journal: Journal, watcher: CallWatcher, limitMs: number): Journal {
  return Object.create(journal, {
    append: { value: (entry: JournalEntry) => watched(journal.append(entry), watcher, `journal append(${entry.key})`, limitMs) },
    tail: {
      value: (key: string) => watched(journal.tail !== undefined ? journal.tail(key) : journalTail(journal.read(key)), watcher, `journal tail(${key})`, limitMs),
    },
  }) as Journal;
}

function watched<T>(value: T | PromiseLike<T>, watcher: CallWatcher, call: string, limitMs: number): T | PromiseLike<T> {
  if (!isDeferred(value) || isObservable(value)) return value;
  let end: (() => void) | undefined;
  let outcome: { value: T } | { error: unknown } | undefined;
  let resolve: ((value: T) => void) | undefined;
  let reject: ((error: unknown) => void) | undefined;
  const pending = settle(
    value as PromiseLike<T>,
    (settled) => {
      outcome = { value: settled };
      end?.();
      resolve?.(settled);
    },
    (error) => {
      outcome = { error };
      end?.();
      reject?.(error);
    },
  );
  if (pending === undefined && outcome !== undefined) {
    if ("error" in outcome) throw outcome.error;
    return outcome.value;
  }
  end = watcher.callStarted(call, limitMs);
  return new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
}
