import { from, Observable, type ObservableInput, Subscriber, type Subscription } from "rxjs";

/** Something told when a stop is requested. */
export interface StopListener {
  onStop(): void;
}

/**
 * A stop request, subscribed once and shared: `liveTicks$` makes one per subscription so that
 * `tick` and `stopGate` hear the same stop, and a cold `stop$` is not restarted when a tick
 * error resubscribes the inner pipeline. It is an Observable too (it emits `true` once).
 * The caller's `stop$` is subscribed at once and released when the last listener leaves.
 */
export class StopLatch extends Observable<true> {
  fired = false;
  /**
   * Set by `tick`: its stream holds no signal and has no tick in flight. `stopGate` ends a
   * stream at once on a stop only when this is true and its last result held nothing.
   */
  quiet = false;
  private listeners: StopListener[] = [];
  private readonly upstream: Subscription;

  constructor(stop$: ObservableInput<unknown>) {
    super((subscriber) => this.listen({ onStop: () => (subscriber.next(true), subscriber.complete()) }));
    this.upstream = from(stop$).subscribe(new LatchSubscriber(this));
  }

  /** Calls `listener.onStop()` once, at once when the stop was already requested; returns the way out. */
  listen(listener: StopListener): () => void {
    if (this.fired) {
      listener.onStop();
      return noop;
    }
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
      if (this.listeners.length === 0 && !this.fired) this.upstream.unsubscribe();
    };
  }

  /** @internal */
  fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.upstream?.unsubscribe();
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener.onStop();
  }
}

/**
 * Listens to any stop input: a `StopLatch` directly (no subscription), anything else through
 * one subscription. Returns the way out.
 */
export function listenStop(stop$: ObservableInput<unknown>, listener: StopListener): () => void {
  if (stop$ instanceof StopLatch) return stop$.listen(listener);
  const latch = new StopLatch(stop$);
  const leave = latch.listen(listener);
  return leave;
}

// A class, not a closure: one small object per stream on the hot many-streams path.
class LatchSubscriber extends Subscriber<unknown> {
  constructor(private readonly latch: StopLatch) {
    super();
  }
  protected override _next(): void {
    this.latch.fire();
  }
}

function noop(): void {}
