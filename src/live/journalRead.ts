import { getConfig } from "../config";
import { CallTimeoutError, JournalError } from "../errors";
import { emit } from "../events";
import type { Journal, JournalEntry } from "../journal";

// The readers of a journal's history (Live.getData/getReport/dump, Performance, rxtrade report,
// the command line's final statistics, a replay) run outside any loop: nothing else bounds
// their calls. A read that never settles (a user journal's bug, a FIFO or a stalled mount in
// place of a journal file) would hang them, and the command line's exit with them.

const LIMIT_KEY = "CC_STORE_TIMEOUT_SECONDS";

/** The bound of one journal call of a reader, ms: CC_STORE_TIMEOUT_SECONDS of the config in force. */
export const journalReadLimitMs = (): number => getConfig().CC_STORE_TIMEOUT_SECONDS * 1000;

function timedOut(key: string, what: string, limitMs: number, entries?: number): JournalError {
  return new JournalError({
    key,
    operation: "read",
    message: `${what} did not answer within ${LIMIT_KEY} (${limitMs / 1000} s)${entries === undefined ? "" : ` after ${entries} entries`}: the journal hangs (a read that never settles, a FIFO or a stalled mount in place of a file)`,
    cause: new CallTimeoutError(what, LIMIT_KEY, limitMs),
  });
}

function failure(key: string, what: string, error: unknown): JournalError {
  if (error instanceof JournalError) return error;
  return new JournalError({ key, operation: "read", message: `${what} failed: ${error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error)}`, cause: error });
}

/**
 * `journal.read(key)` with each step bounded: the journal must give its next entry (or its
 * end) within `limitMs` of real time, else the read ends with a `JournalError` (`operation`
 * "read", `cause` a `CallTimeoutError` with the limit). A read that throws or rejects ends with
 * a `JournalError` too, with what it threw in `cause`.
 */
export function boundedRead(journal: Journal, key: string, limitMs = journalReadLimitMs()): AsyncIterable<JournalEntry> {
  return { [Symbol.asyncIterator]: () => new BoundedIterator(journal, key, limitMs) };
}

// An iterator of its own, not an async generator around the journal's: that extra layer would
// cost as much as the bound. One timer for the whole read, however many entries (a journal of
// a million entries is not a million timers); the time the reader spends between steps is not
// counted.
class BoundedIterator implements AsyncIterator<JournalEntry> {
  private iterator: AsyncIterator<JournalEntry> | undefined;
  private entries = 0;
  private ended = false;
  private startedAt = -1;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private late: ((error: Error) => void) | undefined;
  private readonly what: string;

  constructor(
    private readonly journal: Journal,
    private readonly key: string,
    private readonly limitMs: number,
  ) {
    this.what = `journal.read(${JSON.stringify(key)})`;
  }

  next(): Promise<IteratorResult<JournalEntry>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      let step: Promise<IteratorResult<JournalEntry>>;
      try {
        step = (this.iterator ??= this.journal.read(this.key)[Symbol.asyncIterator]()).next();
      } catch (error) {
        reject(this.fail(error));
        return;
      }
      this.startedAt = performance.now();
      this.late = reject;
      this.timer ??= setTimeout(this.check, this.limitMs);
      step.then(
        (result) => {
          this.startedAt = -1;
          if (result.done === true) this.end(false);
          else this.entries++;
          resolve(result);
        },
        (error: unknown) => {
          this.startedAt = -1;
          reject(this.fail(error));
        },
      );
    });
  }

  /** The reader stopped early (`break`): the journal may close its files. */
  return(): Promise<IteratorResult<JournalEntry>> {
    this.end(true);
    return Promise.resolve({ value: undefined, done: true });
  }

  private readonly check = (): void => {
    this.timer = undefined;
    if (this.startedAt < 0 || this.ended) return; // between steps: the next one arms it again
    const left = this.limitMs - (performance.now() - this.startedAt);
    if (left > 0) this.timer = setTimeout(this.check, left);
    else this.late?.(this.fail(timedOut(this.key, this.what, this.limitMs, this.entries)));
  };

  private fail(error: unknown): JournalError {
    this.end(true);
    return failure(this.key, this.what, error);
  }

  private end(early: boolean): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    // Not awaited: a journal that hangs may hang there too.
    if (early) Promise.resolve(this.iterator?.return?.()).catch(() => undefined);
  }
}

/** `journal.keys()`, bounded as `boundedRead` bounds each step. */
export function boundedKeys(journal: Journal, limitMs = journalReadLimitMs()): Promise<string[]> {
  const what = "journal.keys()";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(timedOut("", what, limitMs)), limitMs);
    Promise.resolve()
      .then(() => journal.keys())
      .then(
        (keys) => resolve([...keys]),
        (error: unknown) => reject(failure("", what, error)),
      )
      .finally(() => clearTimeout(timer));
  });
}

/**
 * A history read that failed or hung (`Live.getData`, `Performance.getData`): reported on
 * `error$` as a `JournalError` (what, and the limit it passed); returns the note the statistics
 * the pair falls back to carry (`LiveStatistics.historyUnavailable`).
 */
export function historyUnavailable(key: string, error: unknown): string {
  const problem = failure(key, `reading the journal of ${key}`, error);
  emit.error(problem);
  return `history unavailable: ${problem.message.replace(/^rxtrade: /, "")}; statistics of the current loop, from memory`;
}
