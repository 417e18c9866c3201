import { type MonoTypeOperatorFunction, Observable, type ObservableInput, type Subscriber } from "rxjs";
import type { TickResult } from "../src/model";
import { holdsSignal } from "../src/rules";
import { ChainSubscriber } from "./chainSubscriber";
import { type StopRequest, stopRequestOf } from "./stopRequest";

/**
 * The graceful stop, as seen from the results: once `stop$` has fired, completes right after
 * the first result that leaves nothing open or scheduled (that result is passed on first), or
 * when the source completes. `stop$` is subscribed at once. The source (and a store lock in
 * it) is released before the completion is announced.
 *
 * Why not rxjs's `takeWhile((r) => !stopped || holdsSignal(r), true)`, which reads the same:
 * - The condition is on the value and on an outside event. `takeWhile`'s predicate sees only the
 *   value, so the stop would be a flag that something else subscribes to `stop$` and sets; the
 *   gate subscribes `stop$` itself, at subscription, and owns that state.
 * - It looks at the stop after the result has been passed on, `takeWhile` before: a stop
 *   requested while a result is delivered (from a callback, a `signal$` listener, the
 *   subscriber) ends the stream right after that result, not a tick period later with the next.
 * - It tears its source down (releasing a store lock in it) before announcing the completion;
 *   `takeWhile` announces first and unsubscribes its source after, so whoever hears of the end
 *   (`doneLive$`, a restart of the pair) would find the key still locked.
 * - The stop alone ends nothing: a new signal may still be on its way to the store. Inside
 *   `liveTrade$`, `tick` ends the stream at the stop when nothing is held; this gate is the
 *   same rule, on the results, for pipelines composed without `tick`.
 *
 * ```
 * stop$:          -----s-------
 * source:         --a--a--a--c--a--
 * stopGate(s$):   --a--a--a--c|
 * ```
 *
 * @example
 * source$.pipe(stopGate(fromEvent(process, "SIGTERM")));
 *
 * @param stop$ its first emission requests the stop (a `StopRequest` is shared, not resubscribed)
 */
export function stopGate(stop$: ObservableInput<unknown> | StopRequest): MonoTypeOperatorFunction<TickResult> {
  return (source) =>
    new Observable<TickResult>((subscriber) => {
      if (!subscriber.closed) source.subscribe(new StopGateSubscriber(subscriber, stop$));
    });
}

class StopGateSubscriber extends ChainSubscriber<TickResult> {
  // The gate only looks at the stop after each result: it reads `requested` then, with no
  // listener to register (and no way out to keep) per stream.
  private readonly stop: StopRequest;
  private readonly ownsStop: boolean;

  constructor(destination: Subscriber<TickResult>, stop$: ObservableInput<unknown> | StopRequest) {
    super(destination);
    this.stop = stopRequestOf(stop$);
    this.ownsStop = this.stop !== stop$;
  }

  protected override _next(result: TickResult): void {
    this.out.next(result);
    if (this.stop.requested && !holdsSignal(result) && !this.closed) {
      // Upstream first, so whoever hears of the completion can start the pair again at once.
      this.unsubscribe();
      this.out.complete();
    }
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    if (this.ownsStop) this.stop.close();
  }
}
