import { Subject, type Observable } from "rxjs";
import { ListenerError } from "./errors";
import type { TickResult } from "./model";

/** One tick of one stream, for latency monitoring. */
export interface PerformanceEvent {
  /** Time of the tick (ms, from the stream's scheduler). */
  timestamp: number;
  /** Time of the stream's previous tick, `null` on its first. */
  previousTimestamp: number | null;
  metricType: "live_tick";
  /** Wall-clock time the tick took, in ms. */
  duration: number;
  strategyName: string;
  exchangeName: string;
  symbol: string;
  backtest: false;
}

/** A loop ended by a graceful stop. */
export interface DoneEvent {
  symbol: string;
  strategyName: string;
  exchangeName: string;
  backtest: false;
}

/** Where the library's log lines go. */
export interface Logger {
  log(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

const noop = () => {};
const consoleLogger: Logger = {
  log: noop,
  debug: noop,
  info: noop,
  warn: (...args) => console.warn(...args),
  error: (...args) => console.error(...args),
};
let logger: Logger = consoleLogger;

/** Routes the library's log lines; missing methods are silent. `setLogger(console)` logs everything. */
export function setLogger(next: Partial<Logger>): void {
  logger = {
    log: next.log?.bind(next) ?? noop,
    debug: next.debug?.bind(next) ?? noop,
    info: next.info?.bind(next) ?? noop,
    warn: next.warn?.bind(next) ?? noop,
    error: next.error?.bind(next) ?? noop,
  };
}

/** The logger in force. */
export function getLogger(): Logger {
  return logger;
}

const signalSubject = new Subject<TickResult>();
const signalLiveSubject = new Subject<TickResult>();
const performanceSubject = new Subject<PerformanceEvent>();
const errorSubject = new Subject<Error>();
const doneLiveSubject = new Subject<DoneEvent>();
const exitSubject = new Subject<Error>();

// Events: every tick result (idle, scheduled, opened, active, closed, cancelled) of every stream.
export const signal$: Observable<TickResult> = signalSubject.asObservable();
/** Every tick result of every live stream. */
export const signalLive$: Observable<TickResult> = signalLiveSubject.asObservable();
/** One `live_tick` event per tick. */
export const performance$: Observable<PerformanceEvent> = performanceSubject.asObservable();
/** Every error the engine recovered from or ended on, with its context. */
export const error$: Observable<Error> = errorSubject.asObservable();
/** One event per loop that ends by a graceful stop, after its last result. */
export const doneLive$: Observable<DoneEvent> = doneLiveSubject.asObservable();
/** The error that ended a loop. */
export const exit$: Observable<Error> = exitSubject.asObservable();

/** Engine-side emitters. Not part of the public API. */
export const emit = {
  signal(result: TickResult): void {
    // `observed` first: with no listener, a tick pays nothing for its events.
    if (signalSubject.observed) signalSubject.next(result);
    if (signalLiveSubject.observed) signalLiveSubject.next(result);
  },
  performanceObserved(): boolean {
    return performanceSubject.observed;
  },
  performance(event: PerformanceEvent): void {
    performanceSubject.next(event);
  },
  error(error: unknown): void {
    // Nobody listens: say it anyway, a silent failure is the worst kind.
    if (errorSubject.observed) errorSubject.next(toError(error));
    else logger.warn(`rxtrade: ${toError(error).name}: ${toError(error).message} (listen with listenError to handle it)`);
  },
  done(event: DoneEvent): void {
    doneLiveSubject.next(event);
  },
  exit(error: unknown): void {
    exitSubject.next(toError(error));
  },
};

export function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

// A listener that throws is reported on error$, as a ListenerError with what it threw in
// `cause`, and stays subscribed; an error$ listener that throws is logged (reporting it on
// error$ again could loop).
function guarded<T>(fn: (value: T) => void, onThrow: (error: unknown) => void): (value: T) => void {
  return (value) => {
    try {
      fn(value);
    } catch (error) {
      onThrow(error);
    }
  };
}

function listen<T>(source$: Observable<T>, fn: (value: T) => void, name: string): () => void {
  const subscription = source$.subscribe(guarded(fn, (error) => emit.error(new ListenerError(name, error))));
  return () => subscription.unsubscribe();
}

export const listenSignal = (fn: (result: TickResult) => void) => listen(signal$, fn, "listenSignal");
export const listenSignalLive = (fn: (result: TickResult) => void) => listen(signalLive$, fn, "listenSignalLive");
export const listenPerformance = (fn: (event: PerformanceEvent) => void) => listen(performance$, fn, "listenPerformance");
export const listenDoneLive = (fn: (event: DoneEvent) => void) => listen(doneLive$, fn, "listenDoneLive");
export const listenExit = (fn: (error: Error) => void) => listen(exit$, fn, "listenExit");
export function listenError(fn: (error: Error) => void): () => void {
  const subscription = error$.subscribe(
    guarded(fn, (error) => logger.error("rxtrade: an error$ listener threw", error)),
  );
  return () => subscription.unsubscribe();
}

/** Calls `fn` once, with the first live tick result that passes `filter`. */
export function listenSignalLiveOnce(filter: (result: TickResult) => boolean, fn: (result: TickResult) => void): () => void {
  let done = false;
  let unsubscribe: (() => void) | undefined;
  unsubscribe = listen(
    signalLive$,
    (result) => {
      if (done || !filter(result)) return;
      done = true;
      unsubscribe?.();
      fn(result);
    },
    "listenSignalLiveOnce",
  );
  if (done) unsubscribe();
  return unsubscribe;
}
