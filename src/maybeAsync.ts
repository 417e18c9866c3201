import { isObservable, type Observable, type Subscription, type Unsubscribable } from "rxjs";
import type { MaybeAsync } from "./model";

// What a value is, found by reading its `then` (and rxjs's Observable markers) once.
const PLAIN = 0;
const OBSERVABLE = 1;
const THENABLE = 2;
/** Reading `then` (or an Observable marker) threw: the value is that call's failure. */
const BROKEN = 3;
type Kind = typeof PLAIN | typeof OBSERVABLE | typeof THENABLE | typeof BROKEN;

/** A thenable that resolves through this many others synchronously is taken as a cycle. */
const MAX_SYNC_ADOPTIONS = 1000;

const nativeThen = Promise.prototype.then;
const NOTHING = Symbol("nothing");
const COMPLETED_EMPTY = Symbol("completed empty");

// `probe` leaves the `then` it read (or what reading it threw) here, so that no allocation is
// needed to return two values.
let probed: unknown;

// A caller may ask `isDeferred(value)` and then, for a deferred value, `settle(value, …)` at
// once, directly or through `attempt` (persistState does). This one-slot handoff lets settle
// use the `then` that isDeferred read instead of reading it a second time (Promises/A+ 2.3.3.1: `then` is read once; a getter may have side
// effects or answer differently). Any settle call empties the slot; isDeferred overwrites it.
let handedValue: unknown = NOTHING;
let handedKind: Kind = PLAIN;
let handedThen: unknown;

function probe(value: object): Kind {
  try {
    if (isObservable(value)) return OBSERVABLE;
    const then = (value as PromiseLike<unknown>).then;
    if (typeof then !== "function") return PLAIN;
    probed = then;
    return THENABLE;
  } catch (failure) {
    probed = failure;
    return BROKEN;
  }
}

/**
 * Whether a `MaybeAsync` is a Promise-like or an Observable (not a plain value). It reads
 * `then` once; a `then` getter that throws counts as deferred: `settle` then delivers that
 * throw as the failure, without reading `then` again.
 */
export function isDeferred(value: unknown): boolean {
  if (value === null || Array.isArray(value) || (typeof value !== "object" && typeof value !== "function")) return false;
  const kind = probe(value);
  if (kind === PLAIN) {
    handedValue = NOTHING;
    return false;
  }
  handedValue = value;
  handedKind = kind;
  handedThen = probed;
  probed = undefined;
  return true;
}

/**
 * Delivers the value of a `MaybeAsync` to `next`, or its failure to `error`, exactly once:
 * at once for a plain value (no allocation, no scheduling: the synchronous fast path), on the
 * first emission for an Observable, on settlement for a PromiseLike. The result cancels
 * delivery; it is `undefined` when delivery has already happened (synchronously).
 *
 * A PromiseLike that is not a native Promise is adopted as Promises/A+ (2.3.3) says: `then` is
 * read once (a getter that throws is the failure) and called with resolve/reject functions of
 * which only the first call counts; a `then` that throws before either is called is the
 * failure. A thenable that settles inside `then` is delivered before `settle` returns (and
 * `settle` returns `undefined`). A thenable resolved with another thenable is adopted in
 * turn, as `Promise.resolve` does; one resolved with itself, or through more than 1,000
 * thenables synchronously (a cycle), fails with a `TypeError` instead of never settling. A
 * rejection reason is never adopted. Native Promises take a fast path.
 *
 * An Observable that completes without a value calls `empty` when it is given (a strategy's
 * Observable answer that completes empty means "no signal"), else `error`.
 *
 * `next` and `error` run outside the thenable's `then` (or the Observable's subscribe): a throw
 * from them is not mistaken for the thenable's failure.
 */
export function settle<T>(
  value: MaybeAsync<T>,
  next: (value: T) => void,
  error: (error: unknown) => void,
  empty?: () => void,
): Unsubscribable | undefined {
  // Arrays (candles) are the common synchronous value: skip the Observable/thenable probes.
  if (value === null || Array.isArray(value) || (typeof value !== "object" && typeof value !== "function")) {
    next(value as T);
    return undefined;
  }
  let kind: Kind;
  let then: unknown;
  if (value === handedValue) {
    kind = handedKind;
    then = handedThen;
  } else {
    kind = probe(value);
    then = probed;
  }
  handedValue = NOTHING;
  handedThen = undefined;
  probed = undefined;
  switch (kind) {
    case PLAIN:
      next(value as T);
      return undefined;
    case OBSERVABLE:
      return first(value as Observable<T>, next, error, empty);
    case BROKEN:
      error(then);
      return undefined;
    default:
      if (then === nativeThen && value instanceof Promise) return native(value as Promise<T>, next, error);
      return adopt(value, then as PromiseLike<T>["then"], next as (value: unknown) => void, error, undefined);
  }
}

// A native Promise calls back once, never synchronously, and never with a thenable. Its `then`
// was read already: call that one.
function native<T>(promise: Promise<T>, next: (value: T) => void, error: (error: unknown) => void): Unsubscribable | undefined {
  let live = true;
  try {
    nativeThen.call(
      promise,
      (settled) => {
        if (live) next(settled as T);
      },
      (failure: unknown) => {
        if (live) error(failure);
      },
    );
  } catch (thrown) {
    // Only a Promise subclass's species constructor can throw here.
    error(thrown);
    return undefined;
  }
  return {
    unsubscribe() {
      live = false;
    },
  };
}

/** Cancels an adoption that went asynchronous; shared by every step of one `settle` call. */
class Adoption implements Unsubscribable {
  live = true;
  unsubscribe(): void {
    this.live = false;
  }
}

const PENDING = 0;
const FULFILLED = 1;
const REJECTED = 2;

// The Promises/A+ resolution procedure, as a loop: each synchronous resolution with another
// thenable is one more turn (no recursion, so a long chain cannot overflow the stack). When a
// `then` returns without settling, the adoption goes asynchronous: the returned handle cancels
// it, and a later resolution continues here with the same handle.
function adopt(
  thenable: object,
  then: PromiseLike<unknown>["then"],
  next: (value: unknown) => void,
  error: (error: unknown) => void,
  adoption: Adoption | undefined,
): Unsubscribable | undefined {
  let x = thenable;
  let xThen = then;
  for (let turn = 1; ; turn++) {
    let state = PENDING;
    let outcome: unknown;
    let inThen = true;
    const current = x;
    const resolve = (y: unknown) => {
      if (state !== PENDING) return;
      state = FULFILLED;
      if (inThen) outcome = y;
      else if ((adoption as Adoption).live) resolved(current, y, next, error, adoption as Adoption);
    };
    const reject = (reason: unknown) => {
      if (state !== PENDING) return;
      state = REJECTED;
      if (inThen) outcome = reason;
      else if ((adoption as Adoption).live) error(reason);
    };
    try {
      xThen.call(x, resolve, reject);
    } catch (thrown) {
      // A throw after resolve or reject was called is ignored (Promises/A+ 2.3.3.3.4.1).
      if (state === PENDING) {
        state = REJECTED;
        outcome = thrown;
      }
    }
    inThen = false;
    if (state === PENDING) return (adoption ??= new Adoption());
    if (state === REJECTED) {
      error(outcome);
      return undefined;
    }
    // Resolved synchronously: with a plain value (delivered), or with a thenable (one more turn).
    const y = outcome;
    outcome = undefined;
    if (y === current) {
      error(selfResolved());
      return undefined;
    }
    if (y === null || (typeof y !== "object" && typeof y !== "function")) {
      next(y);
      return undefined;
    }
    let yThen: unknown;
    try {
      yThen = (y as PromiseLike<unknown>).then;
    } catch (thrown) {
      error(thrown);
      return undefined;
    }
    if (typeof yThen !== "function") {
      next(y);
      return undefined;
    }
    if (turn >= MAX_SYNC_ADOPTIONS) {
      error(new TypeError(`rxtrade: a thenable resolved through ${MAX_SYNC_ADOPTIONS} thenables synchronously (a cycle?); it cannot settle`));
      return undefined;
    }
    x = y;
    xThen = yThen as PromiseLike<unknown>["then"];
  }
}

// A thenable resolved asynchronously with `y`: deliver it, or adopt it when it is a thenable.
function resolved(
  current: object,
  y: unknown,
  next: (value: unknown) => void,
  error: (error: unknown) => void,
  adoption: Adoption,
): void {
  if (y === current) {
    error(selfResolved());
    return;
  }
  if (y === null || (typeof y !== "object" && typeof y !== "function")) {
    next(y);
    return;
  }
  let then: unknown;
  try {
    then = (y as PromiseLike<unknown>).then;
  } catch (thrown) {
    error(thrown);
    return;
  }
  if (typeof then !== "function") next(y);
  else adopt(y, then as PromiseLike<unknown>["then"], next, error, adoption);
}

function selfResolved(): TypeError {
  return new TypeError("rxtrade: a thenable resolved with itself; it can never settle");
}

function first<T>(
  source: Observable<T>,
  next: (value: T) => void,
  error: (error: unknown) => void,
  empty: (() => void) | undefined,
): Unsubscribable | undefined {
  let done = false;
  // While subscribe() runs, a synchronous emission is kept and delivered after it returns, so
  // that a throw from `next`/`error` reaches the caller instead of the Observable.
  let subscribing = true;
  let outcome: unknown = NOTHING;
  let failed = false;
  // `let`, declared first: a synchronous emission arrives while subscribe() is still running.
  let subscription: Subscription | Unsubscribable | undefined;
  const deliver = (value: unknown, failure: boolean) => {
    if (failure) error(value);
    else if (value === COMPLETED_EMPTY) (empty as () => void)();
    else next(value as T);
  };
  const finish = (value: unknown, failure: boolean) => {
    if (done) return;
    done = true;
    if (subscribing) {
      outcome = value;
      failed = failure;
      return;
    }
    subscription?.unsubscribe();
    deliver(value, failure);
  };
  try {
    subscription = source.subscribe({
      next: (value) => finish(value, false),
      error: (failure: unknown) => finish(failure, true),
      complete: () =>
        empty === undefined ? finish(new Error("the observable completed without a value"), true) : finish(COMPLETED_EMPTY, false),
    });
  } catch (thrown) {
    // An Observable-like whose subscribe throws (an rxjs Observable reports it to `error`).
    finish(thrown, true);
  }
  subscribing = false;
  if (!done) return subscription;
  try {
    subscription?.unsubscribe();
  } catch {
    // The value is already here; a broken unsubscribe of a foreign Observable changes nothing.
  }
  deliver(outcome, failed);
  return undefined;
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
