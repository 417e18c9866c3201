import { isObservable } from "rxjs";
import { StrategyError } from "./errors";
import type { SignalDto, StrategySchema } from "./model";

/** What a backtest gives a strategy's answer: real ms per call, and how many calls in a row may time out. */
export interface CallTimeouts {
  ms: number;
  inARow: number;
}

/** The strategy of a backtest, and a way to clear its pending timers when the run ends. */
export interface TimedStrategy {
  strategy: StrategySchema;
  dispose(): void;
}

/**
 * The strategy as a backtest asks it: an answer that is a Promise (or a thenable) has
 * `timeouts.ms` of real time to settle — a backtest has no market to wait for. Past that, the
 * call rejects with a `StrategyError` naming the tick (the engine reports it on `error$` and
 * the tick answers `null`); `hung` hears of the `timeouts.inARow`-th such failure in a row
 * (any answer in time starts the count again). Synchronous answers and Observables pass as
 * they are. A Proxy, not a copy: a strategy from a user's module may be a class instance.
 */
export function timedStrategy(strategy: StrategySchema, timeouts: CallTimeouts, hung: (error: StrategyError) => void): TimedStrategy {
  const getSignal = strategy.getSignal;
  const name = strategy.strategyName;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const late: number[] = [];
  const timedGetSignal = (...args: Parameters<StrategySchema["getSignal"]>): ReturnType<StrategySchema["getSignal"]> => {
    const answer = Reflect.apply(getSignal, strategy, args) as ReturnType<StrategySchema["getSignal"]>;
    const pending = promiseOf(answer);
    if (pending === undefined) {
      late.length = 0;
      return answer;
    }
    const [symbol, when] = args;
    const tick = when instanceof Date ? when.toISOString() : String(when);
    return new Promise<SignalDto | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        late.push(when instanceof Date ? when.getTime() : Number.NaN);
        reject(
          new StrategyError(
            `getSignal(${symbol}) of ${name} for the tick of ${tick} did not answer within ${timeouts.ms} ms of real time (the backtest's callTimeoutMs, ` +
              "rxtrade backtest --call-timeout): a backtest has no market to wait for; make getSignal settle, or give it more time",
            { symbol, strategyName: name },
          ),
        );
        if (late.length >= timeouts.inARow) hung(hungError(name, symbol, late, timeouts));
      }, timeouts.ms);
      timers.add(timer);
      pending.then(
        (value) => {
          if (!timers.delete(timer)) return;
          clearTimeout(timer);
          late.length = 0;
          resolve(value as SignalDto | null);
        },
        (error: unknown) => {
          if (!timers.delete(timer)) return;
          clearTimeout(timer);
          late.length = 0;
          reject(error);
        },
      );
    });
  };
  const bound = new Map<PropertyKey, unknown>();
  // The Proxy's target is a fresh object (its prototype the strategy, for `in`), not the
  // strategy: a frozen strategy's getSignal could not be reported otherwise.
  const timed = new Proxy(Object.create(strategy) as StrategySchema, {
    get: (_target, property) => {
      if (property === "getSignal") return timedGetSignal;
      const value = Reflect.get(strategy, property, strategy) as unknown;
      if (typeof value !== "function") return value;
      // Its other methods keep the strategy itself as `this` (private fields work).
      let method = bound.get(property);
      if (method === undefined) bound.set(property, (method = (value as (...args: unknown[]) => unknown).bind(strategy)));
      return method;
    },
  });
  return {
    strategy: timed,
    dispose() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

function hungError(name: string, symbol: string, late: readonly number[], timeouts: CallTimeouts): StrategyError {
  const ticks = late.map((time) => new Date(time).toISOString());
  const shown = ticks.length > 3 ? [...ticks.slice(0, 2), "…", ticks.at(-1)] : ticks;
  return new StrategyError(
    `the backtest stopped: getSignal of ${name} on ${symbol} did not answer on ${late.length} ticks in a row (${shown.join(", ")}), ` +
      `given ${timeouts.ms} ms of real time each (callTimeoutMs); it looks hung. Make getSignal settle, ` +
      "or give it more time (callTimeoutMs, rxtrade backtest --call-timeout) or more tries (maxCallTimeouts)",
    { symbol, strategyName: name },
  );
}

// A Promise for a Promise-like answer (its `then` read once, as the engine reads it), `undefined` for anything else.
function promiseOf<T>(value: T): Promise<unknown> | undefined {
  if (value instanceof Promise) return value;
  if (value === null || (typeof value !== "object" && typeof value !== "function") || isObservable(value)) return undefined;
  let then: unknown;
  try {
    then = (value as { then?: unknown }).then;
  } catch {
    return undefined;
  }
  if (typeof then !== "function") return undefined;
  return new Promise((resolve, reject) => {
    (then as (onFulfilled: (value: unknown) => void, onRejected: (error: unknown) => void) => void).call(value, resolve, reject);
  });
}
