import { isObservable, type Subscription, type Unsubscribable } from "rxjs";
import type { MaybeAsync } from "./model";

/** Whether a `MaybeAsync` is a Promise-like or an Observable (not a plain value). */
export function isDeferred(value: unknown): boolean {
  if (value === null || Array.isArray(value) || (typeof value !== "object" && typeof value !== "function")) return false;
  return isObservable(value) || typeof (value as PromiseLike<unknown>).then === "function";
}

/**
 * Delivers the value of a `MaybeAsync` to `next`, or its failure to `error`: at once for a
 * plain value (no allocation, no scheduling: the synchronous fast path), on settlement for a
 * PromiseLike, on the first emission for an Observable. The result cancels delivery; it is
 * `undefined` when the value was delivered synchronously.
 */
export function settle<T>(
  value: MaybeAsync<T>,
  next: (value: T) => void,
  error: (error: unknown) => void,
): Unsubscribable | undefined {
  // Arrays (candles) are the common synchronous value: skip the Observable/thenable probes.
  if (value !== null && !Array.isArray(value) && (typeof value === "object" || typeof value === "function")) {
    if (isObservable(value)) return first(value, next, error);
    if (typeof (value as PromiseLike<T>).then === "function") {
      let live = true;
      (value as PromiseLike<T>).then(
        (settled) => {
          if (live) next(settled);
        },
        (failure: unknown) => {
          if (live) error(failure);
        },
      );
      return {
        unsubscribe() {
          live = false;
        },
      };
    }
  }
  next(value as T);
  return undefined;
}

function first<T>(
  source: import("rxjs").Observable<T>,
  next: (value: T) => void,
  error: (error: unknown) => void,
): Unsubscribable | undefined {
  let done = false;
  // `let`, declared first: a synchronous emission arrives while subscribe() is still running.
  let subscription: Subscription | undefined;
  subscription = source.subscribe({
    next(value) {
      if (done) return;
      done = true;
      subscription?.unsubscribe();
      next(value);
    },
    error(failure: unknown) {
      if (done) return;
      done = true;
      error(failure);
    },
    complete() {
      if (done) return;
      done = true;
      error(new Error("the observable completed without a value"));
    },
  });
  if (done) {
    subscription.unsubscribe();
    return undefined;
  }
  return subscription;
}

/** Calls `fn`, turning a synchronous throw into a rejected-like delivery through `settle`. */
export function attempt<T>(
  fn: () => MaybeAsync<T>,
  next: (value: T) => void,
  error: (error: unknown) => void,
): Unsubscribable | undefined {
  let value: MaybeAsync<T>;
  try {
    value = fn();
  } catch (failure) {
    error(failure);
    return undefined;
  }
  return settle(value, next, error);
}
