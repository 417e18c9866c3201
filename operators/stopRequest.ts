import { from, type ObservableInput, type Subscription } from "rxjs";
import { emit } from "../src/events";
import { CompactSubscriber } from "./chainSubscriber";

/** Something told when a stop is requested. */
export interface StopListener {
  onStop(): void;
}

/**
 * The graceful-stop request of one run of a stream: the one piece of stop state its stages
 * share. `liveTicks$` makes one per subscription, so that `tick`, the retry and `stopGate` hear
 * the same stop and a cold `stop$` is not restarted when a tick error resubscribes the inner
 * pipeline.
 *
 * The protocol:
 * - The caller's `stop$` is subscribed once, at construction; its first emission requests the
 *   stop. An error of `stop$` is reported on `error$` and also requests the stop. A `stop$`
 *   that completes without emitting requests nothing.
 * - `requested` turns true once and stays true. Each listener is told once, synchronously —
 *   possibly in the middle of delivering a result, when a callback, an event listener or
 *   `onWrite` requested the stop. A stage that is delivering a result acts on the stop only
 *   after that delivery returns (`tick` defers its completion; `stopGate` acts on results).
 * - A listener that joins after the request is told at once.
 * - `close()` releases `stop$` (the run is over).
 */
export class StopRequest {
  requested = false;
  // One listener in a field (a run has one: its tick), more in an array: thousands of streams
  // each hold one of these.
  private listeners: StopListener | StopListener[] | undefined;
  private readonly upstream: Subscription;

  constructor(stop$: ObservableInput<unknown>) {
    this.upstream = from(stop$).subscribe(new RequestSubscriber(this));
  }

  /** Calls `listener.onStop()` once: when the stop is requested, or at once if it was. Returns the way out. */
  listen(listener: StopListener): () => void {
    this.join(listener);
    return () => this.leave(listener);
  }

  /** `listen` without a way out to keep: `leave(listener)` is the way out. */
  join(listener: StopListener): void {
    if (this.requested) {
      listener.onStop();
      return;
    }
    const listeners = this.listeners;
    this.listeners = listeners === undefined ? listener : Array.isArray(listeners) ? listeners.concat(listener) : [listeners, listener];
  }

  /** Forgets a listener (it is not told of the stop). */
  leave(listener: StopListener): void {
    const listeners = this.listeners;
    if (listeners === listener) this.listeners = undefined;
    else if (Array.isArray(listeners) && listeners.includes(listener)) {
      const rest = listeners.filter((l) => l !== listener);
      this.listeners = rest.length === 1 ? rest[0] : rest;
    }
  }

  /** Releases the caller's `stop$`; listeners are forgotten. */
  close(): void {
    this.listeners = undefined;
    this.upstream?.unsubscribe();
  }

  /** @internal */
  request(): void {
    if (this.requested) return;
    this.requested = true;
    this.upstream?.unsubscribe();
    const listeners = this.listeners;
    this.listeners = undefined;
    if (Array.isArray(listeners)) for (const listener of listeners) listener.onStop();
    else listeners?.onStop();
  }
}

/**
 * Listens to any stop input: a `StopRequest` directly, anything else through a request of its
 * own (closed with the returned way out).
 */
export function listenStop(stop$: ObservableInput<unknown> | StopRequest, listener: StopListener): () => void {
  if (stop$ instanceof StopRequest) return stop$.listen(listener);
  const request = new StopRequest(stop$);
  const leave = request.listen(listener);
  return () => {
    leave();
    request.close();
  };
}

/** The `StopRequest` of a stop input: the run's own as it is, a new one for anything else (whose user closes it). */
export function stopRequestOf(stop$: ObservableInput<unknown> | StopRequest): StopRequest {
  return stop$ instanceof StopRequest ? stop$ : new StopRequest(stop$);
}

// A class, not a closure: one small object per stream on the hot many-streams path.
class RequestSubscriber extends CompactSubscriber<unknown> {
  constructor(private readonly stop: StopRequest) {
    super();
  }
  protected override _next(): void {
    this.stop.request();
  }
  // A broken stop$ still means "stop": the operator's intent is not lost with its source.
  protected override _error(error: unknown): void {
    emit.error(error);
    this.stop.request();
  }
  protected override _complete(): void {}
}
