import type { Observable, Subscription } from "rxjs";

/** An observable as an async iterable: `for await` over `Live.run`; values that come between two `next()` calls are buffered. */
export function asAsyncIterable<T>(results$: Observable<T>): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T> {
      const buffer: T[] = [];
      const waiting: Array<{ resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void }> = [];
      let ended: { error: unknown } | "complete" | undefined;
      let subscription: Subscription | undefined;
      const settle = () => {
        while (waiting.length > 0 && (buffer.length > 0 || ended !== undefined)) {
          const next = waiting.shift() as (typeof waiting)[number];
          if (buffer.length > 0) next.resolve({ value: buffer.shift() as T, done: false });
          else if (ended === "complete") next.resolve({ value: undefined, done: true });
          else next.reject((ended as { error: unknown }).error);
        }
      };
      return {
        next() {
          subscription ??= results$.subscribe({
            next: (value) => {
              buffer.push(value);
              settle();
            },
            error: (error: unknown) => {
              ended = { error };
              settle();
            },
            complete: () => {
              ended = "complete";
              settle();
            },
          });
          return new Promise((resolve, reject) => {
            waiting.push({ resolve, reject });
            settle();
          });
        },
        return() {
          subscription?.unsubscribe();
          ended ??= "complete";
          buffer.length = 0;
          settle();
          return Promise.resolve({ value: undefined, done: true });
        },
      };
    },
  };
}
