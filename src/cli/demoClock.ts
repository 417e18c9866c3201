import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { isObservable, Observable } from "rxjs";
import type { ExchangeSchema, LockRelease, MaybeAsync, SignalState, SignalStore, StrategySchema, TradeContext } from "rxtrade";
import type { PacedScheduler } from "../schedulers/pacedScheduler";

/** What a store write leaves under the key once it has landed: nothing, or a signal in a state. */
export type StoredHolding = { status: SignalState["status"]; id: string } | null;

/** A store write of the loop, saved before it was passed on. */
export interface SavedWrite {
  /** Its tick. */
  at: number;
  /** What the key holds once it has landed. */
  holds: StoredHolding;
  /** When the strategy was last asked, at or before `at`. */
  askedAt?: number;
}

/**
 * What the last demo run of a key saved, for the next one (see `restartPoint`):
 *
 * - `started`: it started at `from` and wrote nothing to the store since (or was killed before);
 * - `writing`: its latest store write (`write`), saved before it was passed on, and `from`: the
 *   tick after the write before it (landed, since the loop writes one at a time), or its start;
 * - `stopped`: it ended by itself — a graceful stop, an error, a second Ctrl-C — and the next
 *   run goes on at `next`, the tick after its last;
 * - `legacy`: a file of rxtrade 0.1, only a time (that of the last tick it had reported).
 */
export type SavedClock =
  | { run: "started"; from: number }
  | { run: "writing"; from: number; fromAskedAt?: number; write: SavedWrite }
  | { run: "stopped"; next: number; askedAt?: number }
  | { run: "legacy"; next: number };

/**
 * Where the demo's last run of a key got to, in one small JSON file in the store's directory
 * (`demo-clock.json`), so that the next run goes on as an uninterrupted run would have:
 *
 * ```json
 * { "version": 1,
 *   "clocks": { "BTCUSDT:momentum": 1677636180003 },
 *   "resume": { "BTCUSDT:momentum": { "run": "writing", "from": 1677636060001,
 *     "write": { "at": 1677636180003, "holds": null, "askedAt": 1677636000000 } } } }
 * ```
 *
 * `resume` is the `SavedClock` of each key; `clocks` keeps, for rxtrade 0.1, a time to start at.
 * Saved when a run starts, before each store write of its loop (so a kill after the write finds
 * it: the next run reads the store to tell whether the write landed), and when it ends. Writes
 * are synchronous (a temp file renamed over the file, so a kill leaves the old or the new
 * content); the temp name follows the store's pattern, so `fileStore` sweeps one left by a
 * killed writer. No fsync: the store's own files and the journal (see `restartPoint`) are what a
 * power loss is judged by.
 */
export class DemoClockFile {
  /** Times the strategy was asked that no save covers yet, oldest first. */
  private readonly asks: number[] = [];
  private askedAt: number | undefined;
  private from: { at: number; askedAt?: number } | undefined;
  private lastWrite: SavedWrite | undefined;

  constructor(
    readonly path: string,
    private readonly key: string,
    private readonly tickMs: number,
  ) {}

  static in(dir: string, key: string, tickMs: number): DemoClockFile {
    return new DemoClockFile(join(dir, "demo-clock.json"), key, tickMs);
  }

  /** The saved clock of this key, or `undefined` (no file, another key, or unreadable: the demo then starts afresh). */
  read(): SavedClock | undefined {
    const file = this.readAll();
    const resume = decodeSaved(file.resume[this.key]);
    if (resume !== undefined) return resume;
    const next = file.clocks[this.key];
    return typeof next === "number" && Number.isFinite(next) ? { run: "legacy", next } : undefined;
  }

  /** The run starts at `at`: until it writes, a kill makes the next run start there again. */
  started(at: number): void {
    this.from = { at };
    this.lastWrite = undefined;
    this.save({ run: "started", from: at }, at);
  }

  /** The strategy was asked at `at` (the tick's time): the next run must not ask it again before its interval has passed. */
  asked(at: number): void {
    this.asks.push(at);
  }

  /**
   * The loop is about to write `value` (an encoded state, or `null`) under the key at tick `at`:
   * saved now, before the write can land. The write before it has landed (the loop writes one at
   * a time, each confirmed before the next), so the next run goes on after that one at least.
   */
  writing(at: number, value: unknown): void {
    const previous = this.lastWrite;
    if (previous !== undefined) this.from = { at: previous.at + this.tickMs, ...(previous.askedAt === undefined ? {} : { askedAt: previous.askedAt }) };
    const from = this.from ?? { at };
    const write: SavedWrite = { at, holds: holdingOf(value), ...this.askedBy(at) };
    this.lastWrite = write;
    this.save({ run: "writing", from: from.at, ...(from.askedAt === undefined ? {} : { fromAskedAt: from.askedAt }), write }, at + this.tickMs);
  }

  /** The run ended by itself after reporting the tick `lastTick`: the next run goes on at the tick after it. */
  stopped(lastTick: number): void {
    const next = lastTick + this.tickMs;
    this.save({ run: "stopped", next, ...this.askedBy(lastTick) }, next);
  }

  // The last ask at or before `at`: a later one belongs to a tick not reported yet.
  private askedBy(at: number): { askedAt?: number } {
    while (this.asks.length > 0 && (this.asks[0] as number) <= at) this.askedAt = this.asks.shift();
    return this.askedAt === undefined ? {} : { askedAt: this.askedAt };
  }

  /**
   * Never throws: the clock file is a convenience — a lost save is made up for by the next run's
   * floors (the stored signal, the journal; see `restartPoint`) — and a store folder that was
   * removed or made read-only is the stream's to report, not a crash here.
   */
  private save(clock: SavedClock, legacyStart: number): void {
    const file = this.readAll();
    const content = { version: 1, clocks: { ...file.clocks, [this.key]: legacyStart }, resume: { ...file.resume, [this.key]: clock } };
    const temp = join(dirname(this.path), `.${basename(this.path)}.tmp-${process.pid}-0`);
    try {
      // 0600 like the store's own files (the mode applies to the new temp file the rename keeps).
      writeFileSync(temp, `${JSON.stringify(content, null, 2)}\n`, { mode: 0o600 });
      renameSync(temp, this.path);
    } catch {
      // not saved: see above
    }
  }

  private readAll(): { clocks: Record<string, unknown>; resume: Record<string, unknown> } {
    try {
      const parsed = JSON.parse(readFileSync(this.path, "utf8")) as { version?: unknown; clocks?: unknown; resume?: unknown };
      if (parsed.version !== 1) return { clocks: {}, resume: {} };
      return { clocks: record(parsed.clocks), resume: record(parsed.resume) };
    } catch {
      return { clocks: {}, resume: {} };
    }
  }
}

function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

const time = (value: unknown): value is number => typeof value === "number" && Number.isFinite(value);
const optionalTime = (name: string, value: unknown) => (time(value) ? { [name]: value } : {});

function decodeSaved(value: unknown): SavedClock | undefined {
  const saved = record(value);
  switch (saved.run) {
    case "started":
      return time(saved.from) ? { run: "started", from: saved.from } : undefined;
    case "stopped":
      return time(saved.next) ? { run: "stopped", next: saved.next, ...optionalTime("askedAt", saved.askedAt) } : undefined;
    case "writing": {
      const write = record(saved.write);
      const holds = write.holds === null ? null : record(write.holds);
      if (!time(saved.from) || !time(write.at)) return undefined;
      if (holds !== null && !((holds.status === "opened" || holds.status === "scheduled") && typeof holds.id === "string")) return undefined;
      return {
        run: "writing",
        from: saved.from,
        ...optionalTime("fromAskedAt", saved.fromAskedAt),
        write: { at: write.at, holds: holds === null ? null : { status: holds.status as SignalState["status"], id: holds.id as string }, ...optionalTime("askedAt", write.askedAt) },
      };
    }
    default:
      return undefined;
  }
}

// What the key holds once `value` (as the engine encodes a state: `{ version, status, signal }`, or `null`) has landed.
function holdingOf(value: unknown): StoredHolding {
  if (value === null || value === undefined) return null;
  const { status, signal } = value as { status?: unknown; signal?: { id?: unknown } };
  return { status: status === "scheduled" ? "scheduled" : "opened", id: typeof signal?.id === "string" ? signal.id : "" };
}

/** Whether the store, holding `stored` now, holds what a write of `holds` leaves. */
function landed(holds: StoredHolding, stored: SignalState | null): boolean {
  if (holds === null) return stored === null;
  return stored !== null && stored.status === holds.status && stored.signal.id === holds.id;
}

/**
 * The tick a store write belongs to: the stored signal's own time for an open (`pendingAt`) or a
 * limit entry (`scheduledAt`) — the time of the tick that made it; for a clear (a close, a
 * cancel), the last tick of the run's grid (`origin + k * tickMs`) at or before the clock's
 * `now` (the same tick, since the paced clock holds while the loop's store and journal calls are
 * in flight — unless one of them outlasts its time limit).
 */
export function writeTick(now: number, value: unknown, origin: number, tickMs: number): number {
  const { status, signal } = (value ?? {}) as { status?: unknown; signal?: { pendingAt?: unknown; scheduledAt?: unknown } };
  const own = status === "scheduled" ? signal?.scheduledAt : status === "opened" ? signal?.pendingAt : undefined;
  if (typeof own === "number" && Number.isFinite(own)) return own;
  return origin + Math.max(0, Math.floor((now - origin) / tickMs)) * tickMs;
}

/** Where a continuing demo run starts, and why (see `restartPoint`). */
export interface RestartPoint {
  at: number;
  /**
   * `stopped`: where the last run stopped by itself; `written`: the tick after the last run's
   * last store write (it was killed); `unlanded`: it was killed before that write landed, so from
   * the tick after the write before it, or from its start (`write`: the tick that did not land); `started`: it was
   * killed before it wrote anything, so from its own start; `legacy`: a clock of rxtrade 0.1;
   * `journal`: the tick after the journal's last trade; `signal`: the tick after the stored
   * signal's last change.
   */
  why: "stopped" | "written" | "unlanded" | "started" | "legacy" | "journal" | "signal";
  /** Moved on to the strategy's next ask: when it was asked last. */
  askedAt?: number;
  /** `unlanded`: the tick of the write that did not land. */
  write?: number;
}

/**
 * Where a demo run that goes on from the last one starts, and why; `undefined` when nothing says
 * (a first run). From what the last run saved (`saved`), what the store holds now (`stored`), and
 * the time of the journal's last trade (`lastJournaled`). Every answer is a tick of the last run's
 * grid (`tickMs` apart), so the ticks go on as in an uninterrupted run:
 *
 * - The last run stopped by itself: the tick after its last.
 * - It was killed: the tick after its last store write, when the store holds what that write left
 *   (it landed); otherwise the tick after the write before it, or the killed run's own start when
 *   there was none. So a tick whose write landed never runs again, one whose write did not runs
 *   again, and the ticks in between run again from the same point as before: a strategy that keeps
 *   state between calls rebuilds it as it was (`momentum` keeps the prices it was asked at since
 *   its last signal), and the trades are those of an uninterrupted run. The ticks run again are
 *   journaled again: the run's start entry (`rewoundTo`) supersedes the killed run's entries of
 *   them (see `rewoundJournal`).
 * - Never before the store's last write: the tick after the stored signal's last change
 *   (`pendingAt` when opened, `scheduledAt` when scheduled), and after the journal's last trade
 *   (appended after its store write). These floors decide only when the clock file is missing,
 *   from rxtrade 0.1, or a save of it failed.
 * - With nothing stored, not before the strategy is due again (its last ask + `signalIntervalMs`):
 *   a fresh loop asks at its first tick, an uninterrupted one once the interval has passed; the
 *   idle ticks in between change nothing there, so they are skipped.
 *
 * What a restart cannot give back: a fresh loop asks the strategy at the first tick after a stored
 * signal ends, where an uninterrupted one waits out the strategy's interval since the ask that
 * created the signal — a difference only for a signal stored at the restart that closes (or is
 * cancelled) less than one interval after it was created, never for a `1m` strategy (asked at every
 * 60 001 ms tick anyway); and a strategy's state older than the store's last write (state that a
 * signal of its own does not reset), which no restart after that write rebuilds.
 */
export function restartPoint(input: {
  saved: SavedClock | undefined;
  stored: SignalState | null;
  lastJournaled: number | undefined;
  tickMs: number;
  signalIntervalMs: number;
}): RestartPoint | undefined {
  const { saved, stored, lastJournaled, tickMs, signalIntervalMs } = input;
  let point: RestartPoint | undefined;
  let askedAt: number | undefined;
  switch (saved?.run) {
    case undefined:
      break;
    case "stopped":
      point = { at: saved.next, why: "stopped" };
      askedAt = saved.askedAt;
      break;
    case "started":
      point = { at: saved.from, why: "started" };
      break;
    case "legacy":
      point = { at: saved.next, why: "legacy" };
      break;
    case "writing":
      if (landed(saved.write.holds, stored)) {
        point = { at: saved.write.at + tickMs, why: "written" };
        askedAt = saved.write.askedAt;
      } else {
        point = { at: saved.from, why: "unlanded", write: saved.write.at };
        askedAt = saved.fromAskedAt;
      }
      break;
  }
  const floor = (at: number, why: RestartPoint["why"]) => {
    if (point !== undefined && point.at >= at) return;
    point = { at, why };
    askedAt = undefined;
  };
  if (lastJournaled !== undefined) floor(lastJournaled + tickMs, "journal");
  if (stored !== null) floor((stored.status === "opened" ? stored.signal.pendingAt : stored.signal.scheduledAt) + tickMs, "signal");
  if (point !== undefined && stored === null && askedAt !== undefined) {
    const due = askedAt + signalIntervalMs;
    if (point.at < due) point = { ...point, at: point.at + Math.ceil((due - point.at) / tickMs) * tickMs, askedAt };
  }
  return point;
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
