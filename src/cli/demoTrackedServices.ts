// The demo's store, exchange and strategy, each call in flight reported to the paced clock, so
// that it steps only once they have answered.
import { isObservable, Observable } from "rxjs";
import type { ExchangeSchema, LockRelease, MaybeAsync, SignalStore, StrategySchema, TradeContext } from "rxtrade";
import type { PacedScheduler } from "../schedulers/pacedScheduler";

/** The store as the demo's loop uses it: a `SignalStore` that queues its locks with the folder's other instances. */
export type TrackedStore = Required<SignalStore> & { readonly lockScope?: string };

/**
 * The demo's store, exchange and strategy, each of their calls that goes asynchronous reported
 * in flight to the paced clock (`PacedScheduler.callStarted`) until it settles: the clock takes
 * its next step only once the store has answered, the exchange has served its candles and an
 * async strategy has decided — each bounded by the engine's own time limit of that call
 * (`limits`, from `tradeContext`). A plain (synchronous) answer is passed on as it is; a
 * Promise or thenable is passed on as a Promise; an Observable is in flight until its first value.
 *
 * `hooks` hear of what the demo's clock file must know before it happens: `writing` just before
 * each store write is passed on (the clock's time, the key, the value), `asked` just before each
 * call of the strategy's `getSignal` (the tick's time).
 */
export function trackedServices(
  clock: PacedScheduler,
  limits: TradeContext["limits"],
  services: { store: TrackedStore; exchange: ExchangeSchema; strategy: StrategySchema },
  hooks: { writing?(now: number, key: string, value: unknown): void; asked?(at: number): void } = {},
): { store: TrackedStore; exchange: ExchangeSchema; strategy: StrategySchema } {
  const { store, exchange, strategy } = services;
  const track = <T>(call: () => MaybeAsync<T>, name: () => string, limitMs: number): MaybeAsync<T> => {
    const value = call();
    if (isObservable(value)) return trackedObservable(value, () => clock.callStarted(name(), limitMs));
    const pending = asPromise(value);
    if (pending === undefined) return value;
    const end = clock.callStarted(name(), limitMs);
    pending.then(end, end);
    return pending;
  };
  const trackedStore: TrackedStore = {
    read: (key) => track(() => store.read(key), () => `read(${key})`, limits.storeMs),
    write: (key, value) => {
      hooks.writing?.(clock.now(), key, value);
      return track(() => store.write(key, value), () => `write(${key})`, limits.storeMs);
    },
    lock: (key) => track<LockRelease>(() => store.lock(key), () => `lock(${key})`, limits.storeMs),
    ...(store.lockScope === undefined ? {} : { lockScope: store.lockScope }),
  };
  const trackedExchange: ExchangeSchema = {
    exchangeName: exchange.exchangeName,
    getCandles: (symbol, interval, since, limit) =>
      track(() => exchange.getCandles(symbol, interval, since, limit), () => `getCandles(${symbol}, ${interval})`, limits.exchangeMs),
  };
  const { formatPrice, formatQuantity } = exchange;
  if (formatPrice !== undefined) {
    trackedExchange.formatPrice = (symbol, price) => track(() => formatPrice.call(exchange, symbol, price), () => `formatPrice(${symbol})`, limits.exchangeMs);
  }
  if (formatQuantity !== undefined) {
    trackedExchange.formatQuantity = (symbol, quantity) =>
      track(() => formatQuantity.call(exchange, symbol, quantity), () => `formatQuantity(${symbol})`, limits.exchangeMs);
  }
  // A Proxy, not a copy: a strategy from a user's module may be a class instance (getters, methods on its prototype).
  const getSignal = strategy.getSignal;
  const trackedGetSignal = function (this: unknown, ...args: Parameters<StrategySchema["getSignal"]>) {
    const when = args[1];
    hooks.asked?.(when instanceof Date ? when.getTime() : clock.now());
    return track(() => Reflect.apply(getSignal, this, args) as ReturnType<StrategySchema["getSignal"]>, () => `getSignal(${args[0]})`, limits.signalMs);
  };
  const trackedStrategy = new Proxy(strategy, {
    get: (target, property, receiver) => (property === "getSignal" ? trackedGetSignal : Reflect.get(target, property, receiver)),
  });
  return { store: trackedStore, exchange: trackedExchange, strategy: trackedStrategy };
}

// In flight from its subscription to its first value, its end or its unsubscription (the
// engine takes an Observable answer's first value).
function trackedObservable<T>(source: Observable<T>, started: () => () => void): Observable<T> {
  return new Observable<T>((subscriber) => {
    const end = once(started());
    subscriber.add(end);
    subscriber.add(
      source.subscribe({
        next: (value) => {
          end();
          subscriber.next(value);
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
  });
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}

// A Promise for a thenable (its `then` read once, as the engine reads it), `undefined` for a plain value.
function asPromise<T>(value: T | PromiseLike<T>): Promise<T> | undefined {
  if (value instanceof Promise) return value;
  if (value === null || (typeof value !== "object" && typeof value !== "function")) return undefined;
  let then: unknown;
  try {
    then = (value as PromiseLike<T>).then;
  } catch (error) {
    return Promise.reject(error);
  }
  if (typeof then !== "function") return undefined;
  return new Promise<T>((resolve, reject) => {
    (then as PromiseLike<T>["then"]).call(value, resolve, reject);
  });
}
