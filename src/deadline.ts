import type { SchedulerAction, SchedulerLike, Subscription, Unsubscribable } from "rxjs";
import { CallTimeoutError } from "./errors";
import { attempt } from "./maybeAsync";
import type { MaybeAsync } from "./model";

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
