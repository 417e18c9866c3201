import { ExchangeError, type ErrorContext } from "../errors";

// ccxt error classes, most specific first, with how a message names them. Matched by class
// name along the prototype chain, not by `instanceof`, so an error from a second copy of ccxt
// (the user's own, beside ours) is recognised too, and this module needs no ccxt import.
const KINDS: ReadonlyArray<readonly [className: string, kind: string]> = [
  ["RateLimitExceeded", "rate limit exceeded"],
  ["DDoSProtection", "rate limited (DDoS protection)"],
  ["RequestTimeout", "request timed out"],
  ["OnMaintenance", "exchange under maintenance"],
  ["ExchangeNotAvailable", "exchange not available"],
  ["NetworkError", "network error"],
  ["BadSymbol", "bad symbol"],
  ["AuthenticationError", "authentication failed"],
  ["NotSupported", "not supported"],
  ["BadRequest", "bad request"],
  ["InvalidOrder", "invalid order"],
  ["BadResponse", "bad response"],
  ["BaseError", "exchange error"],
];

/** How a message names a ccxt failure ("rate limit exceeded", "network error", …). */
export function ccxtErrorKind(error: unknown): string {
  const names = classNames(error);
  for (const [className, kind] of KINDS) if (names.has(className)) return kind;
  return "unexpected error";
}

/**
 * `error` as an `ExchangeError` naming the exchange, what was asked and the kind of failure,
 * with the original in `cause`; an `ExchangeError` passes through unchanged.
 */
export function toExchangeError(error: unknown, what: string, context: ErrorContext): ExchangeError {
  if (error instanceof ExchangeError) return error;
  const kind = ccxtErrorKind(error);
  const className = error instanceof Error ? error.constructor.name : typeof error;
  const message = error instanceof Error ? error.message : String(error);
  return new ExchangeError(
    `${context.exchangeName ?? "the exchange"}: ${what} failed: ${kind} (${className}): ${message}`,
    context,
    error,
  );
}

function classNames(error: unknown): Set<string> {
  const names = new Set<string>();
  if (error === null || typeof error !== "object") return names;
  const name = (error as { name?: unknown }).name;
  if (typeof name === "string") names.add(name);
  for (let proto = Object.getPrototypeOf(error); proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    const ctor = (proto as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === "string") names.add(ctor.name);
  }
  return names;
}
