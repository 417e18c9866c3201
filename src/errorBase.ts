// The base of every rxtrade error: `RxTradeError`, the context it carries, and the mark that
// makes `instanceof RxTradeError` true of the errors that extend a built-in error instead.

/** Where in the engine an error happened. */
export interface ErrorContext {
  symbol?: string;
  strategyName?: string;
  exchangeName?: string;
}

// Marks the prototypes of rxtrade's errors; `instanceof RxTradeError` looks for it (see below).
const RXTRADE_ERROR = Symbol("rxtrade error");

/**
 * The base of every error rxtrade throws or reports, so one check catches them all:
 *
 * @example
 * import { RxTradeError } from "rxtrade";
 * try { addStrategy(schema); } catch (error) { if (error instanceof RxTradeError) console.error(error.name, error.message); }
 *
 * `instanceof RxTradeError` is also true of `SchemaError`, which extends `TypeError` (what 0.1.0
 * threw for a broken schema) instead of this class: the check looks for a mark that every
 * rxtrade error's prototype carries. `instanceof` any other class works as usual.
 */
export abstract class RxTradeError extends Error {
  readonly symbol?: string;
  readonly strategyName?: string;
  readonly exchangeName?: string;

  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    setContext(this, context);
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== RxTradeError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === "object" && value !== null && (value as { [RXTRADE_ERROR]?: unknown })[RXTRADE_ERROR] === true;
  }
}
Object.defineProperty(RxTradeError.prototype, RXTRADE_ERROR, { value: true });

export function setContext(error: { symbol?: string; strategyName?: string; exchangeName?: string }, context: ErrorContext): void {
  if (context.symbol !== undefined) error.symbol = context.symbol;
  if (context.strategyName !== undefined) error.strategyName = context.strategyName;
  if (context.exchangeName !== undefined) error.exchangeName = context.exchangeName;
}

// A class that extends a built-in error (for 0.1.0's `instanceof TypeError`/`RangeError`/
// `SyntaxError`) instead of RxTradeError is made one by the mark its instances inherit.
export function markAsRxTradeError(errorClass: { prototype: object }): void {
  Object.defineProperty(errorClass.prototype, RXTRADE_ERROR, { value: true });
}
