import { Subscriber, Subscription, type TeardownLogic } from "rxjs";

/**
 * A `Subscriber` that keeps its first finalizer in a field. rxjs's `add` keeps finalizers in an
 * array that V8 grows to 17 slots (about 180 bytes) at the first one, and nearly every link of
 * a stream holds exactly one: the link upstream of it, or a timer's action — the engine runs
 * thousands of streams at once. A second finalizer, added while the first is still open, goes
 * to rxjs's array as usual.
 *
 * A Subscription kept in the field does not remove itself from it when it closes (rxjs links
 * the two both ways, through internals); a closed one is replaced by the next `add` instead,
 * and unsubscribing a closed Subscription again does nothing.
 */
export class CompactSubscriber<T> extends Subscriber<T> {
  private finalizer: Exclude<TeardownLogic, void> | undefined;

  override add(teardown: TeardownLogic): void {
    if (teardown === undefined || teardown === null || teardown === this) return;
    if (teardown instanceof Subscription && teardown.closed) return;
    const held = this.finalizer;
    if (!this.closed && (held === undefined || (held instanceof Subscription && held.closed))) this.finalizer = teardown;
    else super.add(teardown); // runs it at once when this one is closed
  }

  override remove(teardown: Exclude<TeardownLogic, void>): void {
    if (teardown === this.finalizer) this.finalizer = undefined;
    else super.remove(teardown);
  }

  override unsubscribe(): void {
    if (this.closed) return;
    // rxjs's finalizers first (later ones, if any), then this one: a link's own state is torn
    // down by its subclass after this returns, once everything upstream of it is gone.
    super.unsubscribe();
    const finalizer = this.finalizer;
    this.finalizer = undefined;
    if (typeof finalizer === "function") finalizer();
    else finalizer?.unsubscribe();
  }
}

/**
 * The base of the engine's operator subscribers: a `CompactSubscriber` that registers itself
 * with its destination, so that a link of a stream is one small object — upstream of another
 * `ChainSubscriber`, it is that one's field; upstream of rxjs's own subscribers, one entry in
 * their finalizers. Unsubscribing flows upstream, as with rxjs's own operators.
 *
 * It leans on two facts of rxjs 7's `Subscriber` (test/chainSubscriber.test.ts fails loudly if
 * either changes): its default `_error`/`_complete` forward to `this.destination`, and `next`
 * calls `_next` unless stopped. A throw from a subclass's `_next` is caught here, once, and
 * becomes the stream's error, as rxjs's own operators do.
 */
export abstract class ChainSubscriber<T, R = T> extends CompactSubscriber<T> {
  protected readonly out: Subscriber<R>;

  constructor(destination: Subscriber<R>) {
    super();
    this.out = destination;
    this.destination = destination;
    // A link made for a destination that has already closed is born closed, as rxjs's own
    // (whose `destination.add(this)` unsubscribes it at once): whatever it is then subscribed to
    // — a `timer` — is torn down at once instead of running into a dead end forever. This
    // happens: `tick` completes in its constructor when the stop was requested before it
    // subscribed (a retry after the stop), and only then subscribes its source. Closed here
    // with the base's `unsubscribe`: a subclass's override would run before its fields exist.
    if (destination.closed) super.unsubscribe();
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
}
