import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isObservable, Observable } from "rxjs";
import type { ExchangeSchema, LockRelease, MaybeAsync, SignalStore, StrategySchema, TradeContext } from "rxtrade";
import type { PacedScheduler } from "../schedulers/pacedScheduler";

const SAVE_EVERY_MS = 250;

/**
 * Where the demo's simulated clock was, per stream key, in one small JSON file in the store's
 * directory (`demo-clock.json`): `{ "version": 1, "clocks": { "BTCUSDT:momentum": 1677636000000 } }`.
 * The next run starts there, so a signal resumed from the store is monitored with the candles
 * after the moment the last run reached, not replayed from the start of the data.
 *
 * Writes are synchronous (a temp file renamed over the file, so a kill leaves the old or the new
 * content) and at most every 250 ms of wall time, plus on request; the temp name follows the
 * store's pattern, so `fileStore` sweeps one left by a killed writer. No fsync: a demo's clock
 * is not worth one per write, and the stored signal's own timestamps bound how far it can lag.
 */
export class DemoClockFile {
  private lastSave = Number.NEGATIVE_INFINITY;
  private written: number | undefined;

  constructor(
    readonly path: string,
    private readonly key: string,
  ) {}

  static in(dir: string, key: string): DemoClockFile {
    return new DemoClockFile(join(dir, "demo-clock.json"), key);
  }

  /** The saved time of this key, or `undefined` (no file, another key, or unreadable: the demo then starts afresh). */
  read(): number | undefined {
    const value = this.readAll()[this.key];
    return typeof value === "number" && Number.isFinite(value) ? value : undefined;
  }

  /**
   * Saves `now` unless a save happened in the last 250 ms (`force` saves anyway). Never throws:
   * the clock is a convenience (a lost save only moves where the next run starts), and a store
   * folder that was removed or made read-only is the stream's to report, not a crash here.
   */
  save(now: number, force = false): void {
    if (now === this.written) return;
    const wall = performance.now();
    if (!force && wall - this.lastSave < SAVE_EVERY_MS) return;
    this.lastSave = wall;
    this.written = now;
    const clocks = { ...this.readAll(), [this.key]: now };
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}-0`);
    try {
      // 0600 like the store's own files (the mode applies to the new temp file the rename keeps).
      writeFileSync(temp, `${JSON.stringify({ version: 1, clocks }, null, 2)}\n`, { mode: 0o600 });
      renameSync(temp, this.path);
    } catch {
      this.written = undefined; // not saved: the next call tries again
    }
  }

  private readAll(): Record<string, unknown> {
    try {
      const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { version?: unknown; clocks?: unknown };
      return parsed.version === 1 && parsed.clocks !== null && typeof parsed.clocks === "object" ? (parsed.clocks as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
}

/** The store as the demo's loop uses it: a `SignalStore` that queues its locks with the folder's other instances. */
export type TrackedStore = Required<SignalStore> & { readonly lockScope?: string };

/**
 * The demo's store, exchange and strategy, each of their calls that goes asynchronous reported
 * in flight to the paced clock (`PacedScheduler.callStarted`) until it settles: the clock takes
 * its next step only once the store has answered, the exchange has served its candles and an
 * async strategy has decided — each bounded by the engine's own time limit of that call
 * (`limits`, from `tradeContext`). A plain (synchronous) answer is passed on as it is; a
 * Promise or thenable is passed on as a Promise; an Observable is in flight until its first value.
 */
export function trackedServices(
  clock: PacedScheduler,
  limits: TradeContext["limits"],
  services: { store: TrackedStore; exchange: ExchangeSchema; strategy: StrategySchema },
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
    write: (key, value) => track(() => store.write(key, value), () => `write(${key})`, limits.storeMs),
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
