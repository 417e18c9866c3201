import { getConfig } from "../config";
import { CallTimeoutError, JournalError } from "../errors";
import { emit } from "../events";
import type { Journal, JournalEntry } from "../journal";

// The readers of a journal's history (Live.getData/getReport/dump, Performance, rxtrade report,
// the command line's final statistics) run outside any loop: nothing else bounds their calls.
// A read that never settles (a user journal's bug, a FIFO or a stalled mount in place of a
// journal file) would hang them, and the command line's exit with them.

const LIMIT_KEY = "CC_STORE_TIMEOUT_SECONDS";

/** The bound of one journal call of a reader, ms: CC_STORE_TIMEOUT_SECONDS of the config in force. */
export function journalReadLimitMs(): number {
  return getConfig().CC_STORE_TIMEOUT_SECONDS * 1000;
}

/**
 * Bounds the steps of one reader in real time, with a single timer however many steps there
 * are: a journal of a million entries is not a million timers. A step is a call the journal
 * has to answer (its next entry, its keys); the time the reader spends between steps is not
 * counted.
 */
class StepWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private startedAt = -1;
  private late: ((error: Error) => void) | undefined;

  constructor(
    private readonly limitMs: number,
    private readonly timedOut: () => Error,
  ) {}

  bound<T>(step: PromiseLike<T>): Promise<T> {
    this.startedAt = performance.now();
    this.timer ??= setTimeout(() => this.check(), this.limitMs);
    return new Promise<T>((resolve, reject) => {
      this.late = reject;
      step.then(
        (value) => {
          this.idle();
          resolve(value);
        },
        (error: unknown) => {
          this.idle();
          reject(error);
        },
      );
    });
  }

  stop(): void {
    this.idle();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private idle(): void {
    this.startedAt = -1;
    this.late = undefined;
  }

  private check(): void {
    this.timer = undefined;
    if (this.startedAt < 0) return; // between steps: the next step arms it again
    const left = this.limitMs - (performance.now() - this.startedAt);
    if (left > 0) {
      this.timer = setTimeout(() => this.check(), left);
      return;
    }
    const late = this.late;
    this.idle();
    late?.(this.timedOut());
  }
}

function timeoutError(key: string, what: string, limitMs: number, entries: number | undefined): JournalError {
  const call = new CallTimeoutError(what, LIMIT_KEY, limitMs);
  const progress = entries === undefined ? "" : ` (${entries} ${entries === 1 ? "entry" : "entries"} read before it)`;
  return new JournalError({
    key,
    operation: "read",
    message:
      `${what} did not answer within ${LIMIT_KEY} (${limitMs / 1000} s)${progress}: the journal is hanging ` +
      "(a user journal whose read never settles, a FIFO or a stalled mount in place of a journal file); fix or replace the journal, or raise the limit with setConfig",
    cause: call,
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
 * a `JournalError` too, with what it threw in `cause`. An iterator of its own rather than an
 * async generator: a generator's extra layer would cost as much as the bound itself on a
 * journal of a million entries.
 */
export function boundedRead(journal: Journal, key: string, limitMs = journalReadLimitMs()): AsyncIterable<JournalEntry> {
  return {
    [Symbol.asyncIterator]: () => new BoundedIterator(journal, key, limitMs),
  };
}

class BoundedIterator implements AsyncIterator<JournalEntry> {
  private readonly what: string;
  private readonly watch: StepWatch;
  private iterator: AsyncIterator<JournalEntry> | undefined;
  private entries = 0;
  private ended = false;

  constructor(
    private readonly journal: Journal,
    private readonly key: string,
    limitMs: number,
  ) {
    this.what = `journal.read(${JSON.stringify(key)})`;
    this.watch = new StepWatch(limitMs, () => timeoutError(key, this.what, limitMs, this.entries));
  }

  next(): Promise<IteratorResult<JournalEntry>> {
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    let step: Promise<IteratorResult<JournalEntry>>;
    try {
      this.iterator ??= this.journal.read(this.key)[Symbol.asyncIterator]();
      step = this.watch.bound(this.iterator.next());
    } catch (error) {
      return Promise.reject(this.fail(error));
    }
    return step.then(
      (result) => {
        if (result.done === true) this.end(false);
        else this.entries++;
        return result;
      },
      (error: unknown) => {
        throw this.fail(error);
      },
    );
  }

  /** The reader stopped early (`break`): the journal may close its files. */
  return(): Promise<IteratorResult<JournalEntry>> {
    this.end(true);
    return Promise.resolve({ value: undefined, done: true });
  }

  private fail(error: unknown): JournalError {
    this.end(true);
    return failure(this.key, this.what, error);
  }

  private end(early: boolean): void {
    if (this.ended) return;
    this.ended = true;
    this.watch.stop();
    // Not awaited: a journal that hangs may hang there too.
    if (early) Promise.resolve(this.iterator?.return?.()).catch(() => undefined);
  }
}

/** `journal.keys()`, bounded as `boundedRead` bounds each step. */
export async function boundedKeys(journal: Journal, limitMs = journalReadLimitMs()): Promise<string[]> {
  const what = "journal.keys()";
  const watch = new StepWatch(limitMs, () => timeoutError("", what, limitMs, undefined));
  try {
    return [...(await watch.bound(Promise.resolve().then(() => journal.keys())))];
  } catch (error) {
    throw failure("", what, error);
  } finally {
    watch.stop();
  }
}

/**
 * A history read that failed or hung (`Live.getData`, `Performance.getData`): reported on
 * `error$` as a `JournalError` (what, and the limit it passed); returns the note the statistics
 * the pair falls back to carry (`LiveStatistics.historyUnavailable`).
 */
export function historyUnavailable(key: string, error: unknown): string {
  const problem = failure(key, `reading the journal of ${key}`, error);
  emit.error(problem);
  return `history unavailable: ${problem.message.replace(/^rxtrade: /, "")}; these statistics are the current loop's alone, from memory`;
}
