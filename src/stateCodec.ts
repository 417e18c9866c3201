import { StoreConflictError } from "./errors";
import type { SignalRow } from "./model";
import type { SignalState, StreamIdentity } from "./signal";

/** The version of the persisted value's shape. */
export const STATE_VERSION = 1;

/** What the engine writes under a stream's key while it holds a signal. */
export interface StoredState {
  version: typeof STATE_VERSION;
  status: SignalState["status"];
  signal: SignalRow;
}

export function encodeState(state: SignalState): StoredState {
  return { version: STATE_VERSION, status: state.status, signal: state.signal };
}

/**
 * The state a stored value holds for this stream. Throws a `StoreConflictError` for a value
 * that is another stream's or that the engine does not recognise: it must be neither traded
 * nor overwritten.
 */
export function decodeState(value: unknown, key: string, identity: StreamIdentity): SignalState | null {
  if (value === null || value === undefined) return null;
  const v = value as Partial<StoredState>;
  const signal = v.signal as Partial<SignalRow> | undefined;
  if (
    typeof value !== "object" ||
    v.version !== STATE_VERSION ||
    (v.status !== "scheduled" && v.status !== "opened") ||
    !isSignalRow(signal)
  ) {
    throw new StoreConflictError({
      key,
      found: value,
      reason: `a value rxtrade does not recognise (expected { version: ${STATE_VERSION}, status, signal }): ${preview(value)}`,
      context: identity,
    });
  }
  if (
    signal.strategyName !== identity.strategyName ||
    signal.exchangeName !== identity.exchangeName ||
    signal.symbol !== identity.symbol
  ) {
    throw new StoreConflictError({
      key,
      found: value,
      reason:
        `signal ${signal.id} of strategy ${signal.strategyName} on exchange ${signal.exchangeName} for ${signal.symbol}, ` +
        `not of this stream (strategy ${identity.strategyName} on exchange ${identity.exchangeName} for ${identity.symbol})`,
      context: identity,
    });
  }
  return { status: v.status, signal };
}

function isSignalRow(row: Partial<SignalRow> | undefined): row is SignalRow {
  if (row === null || typeof row !== "object") return false;
  const finite = (n: unknown) => typeof n === "number" && Number.isFinite(n);
  return (
    typeof row.id === "string" &&
    (row.position === "long" || row.position === "short") &&
    finite(row.priceOpen) &&
    finite(row.priceTakeProfit) &&
    finite(row.priceStopLoss) &&
    finite(row.minuteEstimatedTime) &&
    typeof row.note === "string" &&
    typeof row.symbol === "string" &&
    typeof row.strategyName === "string" &&
    typeof row.exchangeName === "string" &&
    finite(row.scheduledAt) &&
    finite(row.pendingAt)
  );
}

function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
