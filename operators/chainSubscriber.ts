import { Subscriber } from "rxjs";

/**
 * The base of the engine's operator subscribers. A plain `Subscriber` registers itself in its
 * destination's finalizer list, an array of its own for every link of the chain; this one
 * keeps a direct pointer instead when the destination is another `ChainSubscriber`, so that a
 * stream is a handful of small objects — the engine runs thousands of streams at once.
 * Unsubscribing still flows upstream, as with rxjs's own operators.
 *
 * It leans on two facts of rxjs 7's `Subscriber` (test/chainSubscriber.test.ts fails loudly if
 * either changes): its default `_error`/`_complete` forward to `this.destination`, and `next`
 * calls `_next` unless stopped. A throw from a subclass's `_next` is caught here, once, and
 * becomes the stream's error, as rxjs's own operators do.
 */
export abstract class ChainSubscriber<T, R = T> extends Subscriber<T> {
  protected readonly out: Subscriber<R>;
  private upstream: Subscriber<unknown> | undefined;

  constructor(destination: Subscriber<R>) {
    super();
    this.out = destination;
    this.destination = destination;
    // A link made for a destination that has already closed is born closed, as rxjs's own
    // (whose `destination.add(this)` unsubscribes it at once): whatever it is then subscribed to
    // — a `timer` — is torn down at once instead of running into a dead end forever. This
    // happens: `tick` completes in its constructor when the stop was requested before it
    // subscribed (a retry after the stop), and only then subscribes its source. Closed here
    // with rxjs's own `unsubscribe`: a subclass's override would run before its fields exist.
    if (destination.closed) super.unsubscribe();
    else if (destination instanceof ChainSubscriber) destination.upstream = this;
    else destination.add(this);
  }

  override next(value: T): void {
    if (this.isStopped) return;
    try {
      this._next(value);
    } catch (error) {
      if (this.closed) throw error;
      const out = this.out;
      this.unsubscribe();
      out.error(error);
    }
  }

  override unsubscribe(): void {
    if (this.closed) return;
    super.unsubscribe();
    const upstream = this.upstream;
    this.upstream = undefined;
    upstream?.unsubscribe();
  }
}
