// The errors a call throws at once for what it was given: a schema that cannot run, an argument
// of the wrong type, out of range or that does not parse. Each extends the built-in error 0.1.0
// threw (TypeError, RangeError, SyntaxError) and is an `RxTradeError` too.
import { markAsRxTradeError, setContext } from "./errorBase";

/**
 * A strategy or exchange schema that cannot run: not an object, a missing or empty name, a
 * missing function, an unknown interval. `problems` lists each, with its value. It extends
 * `TypeError` (as 0.1.0's error for a broken schema was) and is an `RxTradeError` too.
 * (Additive to the API's error list.)
 */
export class SchemaError extends TypeError {
  override readonly name = "SchemaError";
  readonly symbol?: string;
  readonly strategyName?: string;
  readonly exchangeName?: string;
  constructor(
    /** Which kind of schema. */
    readonly kind: "strategy" | "exchange",
    readonly problems: readonly string[],
    readonly schema: unknown,
    /** The schema's name, when it has a usable one. */
    name?: string,
  ) {
    super(`rxtrade: invalid ${kind} schema${name === undefined ? "" : ` ${JSON.stringify(name)}`}: ${problems.join("; ")}`);
    if (name !== undefined) setContext(this, kind === "strategy" ? { strategyName: name } : { exchangeName: name });
  }
}
markAsRxTradeError(SchemaError);

/** What the argument errors share: which argument was wrong, and its value. */
export interface ArgumentProblem {
  /** The argument or option, as the caller wrote it: `options.tickMs`, `symbol`, `speed`. */
  argument: string;
  /** The value given (`undefined` when it was missing). */
  value: unknown;
}

/**
 * A function was called with an argument or option of the wrong type or shape (a missing
 * `options.exchange`, a store without `read`, a `stop$` that is not an `ObservableInput`, …).
 * Thrown at once, by the call. It extends `TypeError` (what 0.1.0 threw for these) and is an
 * `RxTradeError` too; `argument` names the argument, `value` holds what was given, and the
 * message says what to give instead. (Additive to the API's error list.)
 *
 * @example
 * import { ArgumentError, liveTrade$ } from "rxtrade";
 * try { liveTrade$("BTCUSDT", strategy, { exchange, tickMs: 0 }); }
 * catch (error) { if (error instanceof ArgumentError) console.error(error.argument, error.value); } // "options.tickMs", 0
 */
export class ArgumentError extends TypeError implements ArgumentProblem {
  override readonly name = "ArgumentError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentError);

/**
 * An argument or option of the right type but out of range (a `speed` of 0, an unknown candle
 * interval, a `fileMode` above 0o777, …). It extends `RangeError` (what 0.1.0 threw for these)
 * and is an `RxTradeError` too, with `argument` and `value` as `ArgumentError`'s. (Additive to
 * the API's error list.)
 */
export class ArgumentRangeError extends RangeError implements ArgumentProblem {
  override readonly name = "ArgumentRangeError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentRangeError);

/**
 * A string argument written in a small language that does not parse: a price marble
 * (`candlesFromMarble`, `marbleExchange`) with a character its `values` do not define. It
 * extends `SyntaxError` (what 0.1.0 threw) and is an `RxTradeError` too, with `argument` and
 * `value` as `ArgumentError`'s. (Additive to the API's error list.)
 */
export class ArgumentSyntaxError extends SyntaxError implements ArgumentProblem {
  override readonly name = "ArgumentSyntaxError";
  readonly argument: string;
  readonly value: unknown;
  constructor(message: string, problem: ArgumentProblem) {
    super(`rxtrade: ${message}`);
    this.argument = problem.argument;
    this.value = problem.value;
  }
}
markAsRxTradeError(ArgumentSyntaxError);
