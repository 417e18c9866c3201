import { isObservable, type SchedulerAction, type SchedulerLike, type Subscription, type Unsubscribable } from "rxjs";
import { CallTimeoutError } from "./errors";
import { attempt, isDeferred, settle } from "./maybeAsync";
import type { MaybeAsync, SignalStore } from "./model";

/**
 * The time limit of the calls one stage makes one at a time (a stream's `getCandles`, its
 * `getSignal`), on the stream's scheduler. `arm` before waiting on a call, `disarm` when it
 * settles; `onTimeout` runs if it has not settled by then.
 *
 * Built for the tick path: a synchronous call never arms it, and a steady stream of async
 * calls that settle in time does not create a timer per call — one periodic check per
 * stream, which lapses after a period with no call, and a timer of its own only for a call
 * that is still pending when the check comes round.
 */
export class Deadline {
  private due = Number.POSITIVE_INFINITY;
  private armedAt = 0;
  private onTimeout: (() => void) | undefined;
  private action: Subscription | undefined;
  private armedSinceCheck = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly limitMs: number,
  ) {}

  arm(onTimeout: () => void): void {
    this.armedAt = this.scheduler.now();
    this.due = this.armedAt + this.limitMs;
    this.onTimeout = onTimeout;
    this.armedSinceCheck = true;
    this.action ??= this.scheduler.schedule(check, this.limitMs, this);
  }

  disarm(): void {
    this.due = Number.POSITIVE_INFINITY;
    this.onTimeout = undefined;
  }

  /** Stops the checks for good. */
  cancel(): void {
    this.disarm();
    this.action?.unsubscribe();
    this.action = undefined;
  }

  /** @internal */
  check(action: SchedulerAction<Deadline>): void {
    const now = this.scheduler.now();
    // A wall clock that stepped back must not stretch the limit by the step: count it again from now.
    if (now < this.armedAt && this.due !== Number.POSITIVE_INFINITY) {
      this.armedAt = now;
      this.due = now + this.limitMs;
    }
    const left = this.due - now;
    if (left <= 0) {
      const onTimeout = this.onTimeout;
      this.disarm();
      onTimeout?.();
    }
    if (this.due !== Number.POSITIVE_INFINITY) {
      // A call is pending: wake at its own deadline.
      action.schedule(this, Math.min(this.limitMs, Math.max(0, this.due - this.scheduler.now())));
    } else if (this.armedSinceCheck) {
      // Calls come and go: keep the periodic check (the same delay reuses its timer).
      this.armedSinceCheck = false;
      action.schedule(this, this.limitMs);
    } else {
      this.action = undefined;
    }
  }
}

function check(this: SchedulerAction<Deadline>, deadline?: Deadline): void {
  deadline?.check(this);
}

/**
 * `attempt`, bounded in time: when `fn`'s value has not settled within `limitMs` (on
 * `scheduler`), delivery is abandoned and `error` gets a `CallTimeoutError`. A plain value or
 * a synchronous failure costs no timer. The result cancels both the delivery and the limit.
 */
export function attemptWithin<T>(
  fn: () => MaybeAsync<T>,
  limit: { scheduler: SchedulerLike; ms: number; call: string; key: string },
  next: (value: T) => void,
  error: (error: unknown) => void,
): Unsubscribable | undefined {
  let timer: Subscription | undefined;
  const done = () => timer?.unsubscribe();
  const pending = attempt(
    fn,
    (value) => {
      done();
      next(value);
    },
    (failure) => {
      done();
      error(failure);
    },
  );
  if (pending === undefined) return undefined;
  timer = limit.scheduler.schedule(() => {
    pending.unsubscribe();
    error(new CallTimeoutError(limit.call, limit.key, limit.ms));
  }, limit.ms);
  return {
    unsubscribe() {
      pending.unsubscribe();
      timer?.unsubscribe();
    },
  };
}

/**
 * An optional capability of a scheduler, found by duck typing: it is told of each call out of
 * the engine — to the exchange (`getCandles`), the store (`read`, `write`, `lock`) or the
 * strategy (`getSignal`) — that did not answer synchronously, and of its end. A scheduler whose
 * time does not follow the wall clock uses it not to move time on while a call is pending:
 * `VirtualClock.flushAsync` waits for these calls (for a bounded real time each) before each
 * time step, so a stream on `fileStore`, over HTTP or with a strategy awaiting a timer runs in
 * virtual time.
 *
 * Only Promise-likes are reported. An Observable answer is not: it usually runs on the scheduler
 * itself, and holding time for it would wait for nothing.
 *
 * @example
 * const scheduler = Object.assign(myScheduler, {
 *   callStarted(call: string, limitMs: number) {
 *     inFlight.add(call);
 *     return () => inFlight.delete(call);
 *   },
 * });
 */
export interface CallWatcher {
  /**
   * A call went asynchronous.
   *
   * @param call what was called, e.g. `getCandles(BTCUSDT, 1m)` or `lock(BTCUSDT:momentum)`
   * @param limitMs its time limit on this scheduler (CC_EXCHANGE_TIMEOUT_SECONDS, …): once that
   *   much time has passed on the scheduler the engine has given up on the call (a
   *   `CallTimeoutError`), so the watcher need not wait for it any more
   * @returns the end of the call: the engine calls it at most once, when the call settled or the
   *   engine stopped waiting for it (an exchange or strategy call's time limit, a torn-down
   *   tick). A store call that never settles is never ended: count it over at `limitMs`.
   */
  callStarted(call: string, limitMs: number): () => void;
}

/** The scheduler as a `CallWatcher`, or `undefined` when it does not watch calls. */
export function callWatcherOf(scheduler: SchedulerLike): CallWatcher | undefined {
  const watcher = scheduler as SchedulerLike & Partial<CallWatcher>;
  return typeof watcher.callStarted === "function" ? (watcher as CallWatcher) : undefined;
}

// Stores with no `lockScope` get one when watched, so that every decorator of one store shares
// the engine's lock queue of that store (lockKey queues pending locks per store or per scope).
const watchedScopes = new WeakMap<SignalStore, string>();
let scopes = 0;

/**
 * The store as the engine calls it under a `CallWatcher`: an object whose prototype is `store`
 * (every other property reads through), whose `read`, `write` and `lock` report each call that
 * goes asynchronous to `watcher` until it settles. A Promise-like answer is adopted once (see
 * `settle`) and handed on as a native Promise; a plain value, a synchronous failure (thrown
 * again), a thenable that settles synchronously and an Observable pass through as they would.
 *
 * @param store the stream's store
 * @param watcher the stream's scheduler, seen as a `CallWatcher`
 * @param limitMs a store call's time limit (CC_STORE_TIMEOUT_SECONDS on that scheduler)
 */
export function watchedStore(store: SignalStore, watcher: CallWatcher, limitMs: number): SignalStore {
  const own = (store as { lockScope?: unknown }).lockScope;
  let scope = typeof own === "string" ? own : watchedScopes.get(store);
  if (scope === undefined) {
    scope = `rxtrade:watched-store-${++scopes}`;
    watchedScopes.set(store, scope);
  }
  const properties: PropertyDescriptorMap = {
    read: { value: (key: string) => watched(store.read(key), watcher, `read(${key})`, limitMs) },
    write: { value: (key: string, value: unknown) => watched(store.write(key, value), watcher, `write(${key})`, limitMs) },
    lockScope: { value: scope },
  };
  if (typeof store.lock === "function") {
    properties.lock = { value: (key: string) => watched((store.lock as NonNullable<SignalStore["lock"]>)(key), watcher, `lock(${key})`, limitMs) };
  }
  return Object.create(store, properties) as SignalStore;
}

function watched<T>(value: MaybeAsync<T>, watcher: CallWatcher, call: string, limitMs: number): MaybeAsync<T> {
  if (!isDeferred(value) || isObservable(value)) return value;
  let failed = false;
  let outcome: unknown;
  let end: (() => void) | undefined;
  let resolve: ((value: T) => void) | undefined;
  let reject: ((error: unknown) => void) | undefined;
  const pending = settle(
    value,
    (settled) => {
      outcome = settled;
      end?.();
      resolve?.(settled);
    },
    (error) => {
      failed = true;
      outcome = error;
      end?.();
      reject?.(error);
    },
  );
  if (pending === undefined) {
    if (failed) throw outcome;
    return outcome as T;
  }
  end = watcher.callStarted(call, limitMs);
  return new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
}
