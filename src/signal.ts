import type { Config } from "./config";
import { InvalidSignalError } from "./errors";
import type { Position, SignalRow } from "./model";

/** Who a signal belongs to. */
export interface StreamIdentity {
  readonly symbol: string;
  readonly strategyName: string;
  readonly exchangeName: string;
}

/** `scheduled`: a limit entry waiting for its price; `opened`: an active position. */
export type SignalStatus = "scheduled" | "opened";

/** The engine's state of one stream: the signal it holds, or `null`. */
export interface SignalState {
  readonly status: SignalStatus;
  readonly signal: SignalRow;
}

/** Slack for comparing percent distances, in percentage points. */
const EPSILON = 1e-9;

type Limits = Pick<
  Config,
  | "CC_MIN_TAKEPROFIT_DISTANCE_PERCENT"
  | "CC_MIN_STOPLOSS_DISTANCE_PERCENT"
  | "CC_MAX_STOPLOSS_DISTANCE_PERCENT"
  | "CC_MAX_SIGNAL_LIFETIME_MINUTES"
>;

/** The fields of a `SignalDto`, each read from the returned object exactly once. */
const FIELDS = ["id", "position", "priceOpen", "priceTakeProfit", "priceStopLoss", "minuteEstimatedTime", "note"] as const;
type Fields = Record<(typeof FIELDS)[number], unknown>;

/**
 * Validates what `getSignal` returned and builds the state it starts: `opened` at
 * `currentPrice` for an immediate signal, `scheduled` for a limit entry (`priceOpen` given).
 * Every broken rule is reported at once in one `InvalidSignalError`.
 *
 * Each field is read once, into a plain copy that is both validated and stored: a getter that
 * answers differently on each read cannot pass with one value and be stored with another, and
 * a getter that throws is a problem naming its field. A key set to `undefined` counts as
 * absent (`{ priceOpen: undefined }` is an immediate signal).
 */
export function createSignal(
  dto: unknown,
  currentPrice: number,
  now: number,
  config: Limits,
  identity: StreamIdentity,
  newId: () => string,
): SignalState {
  const problems: string[] = [];
  const d = readFields(dto, problems);
  if (d !== undefined) checkFields(d, currentPrice, config, problems);
  if (problems.length > 0 || d === undefined) throw new InvalidSignalError(problems, dto, identity);
  const limit = d.priceOpen !== undefined;
  const signal: SignalRow = {
    id: d.id === undefined ? newId() : (d.id as string),
    position: d.position as Position,
    priceOpen: limit ? (d.priceOpen as number) : currentPrice,
    priceTakeProfit: d.priceTakeProfit as number,
    priceStopLoss: d.priceStopLoss as number,
    minuteEstimatedTime: d.minuteEstimatedTime as number,
    note: d.note === undefined ? "" : (d.note as string),
    symbol: identity.symbol,
    strategyName: identity.strategyName,
    exchangeName: identity.exchangeName,
    scheduledAt: now,
    pendingAt: now,
  };
  return { status: limit ? "scheduled" : "opened", signal };
}

/** Every rule `dto` breaks, each naming the field and its value; empty when valid. */
export function signalProblems(dto: unknown, currentPrice: number, config: Limits): string[] {
  const problems: string[] = [];
  const d = readFields(dto, problems);
  if (d !== undefined) checkFields(d, currentPrice, config, problems);
  return problems;
}

// Copies the fields of a signal object into a plain object, reading each property once. A
// getter (or Proxy trap) that throws is a problem naming the field; the copy is then not used.
function readFields(dto: unknown, problems: string[]): Fields | undefined {
  let object: boolean;
  try {
    object = dto !== null && typeof dto === "object" && !Array.isArray(dto);
  } catch (thrown) {
    // Array.isArray throws for a revoked Proxy.
    problems.push(`a signal must be an object or null; reading it threw: ${describe(thrown)}`);
    return undefined;
  }
  if (!object) {
    problems.push(`a signal must be an object or null, got ${show(dto)}`);
    return undefined;
  }
  const source = dto as Record<string, unknown>;
  const fields = {} as Fields;
  let readable = true;
  for (const field of FIELDS) {
    try {
      fields[field] = source[field];
    } catch (thrown) {
      problems.push(`${field} could not be read (its getter threw ${describe(thrown)}); return a signal with plain data properties`);
      readable = false;
    }
  }
  return readable ? fields : undefined;
}

function checkFields(d: Fields, currentPrice: number, config: Limits, problems: string[]): void {
  const { position } = d;
  if (position !== "long" && position !== "short") problems.push(`position (${show(position)}) must be "long" or "short"`);
  if (d.id !== undefined && (typeof d.id !== "string" || d.id.length === 0)) {
    problems.push(`id (${show(d.id)}) must be a non-empty string when given`);
  }
  if (d.note !== undefined && typeof d.note !== "string") problems.push(`note (${show(d.note)}) must be a string when given`);

  const price = (field: "priceOpen" | "priceTakeProfit" | "priceStopLoss"): number | undefined => {
    const value = d[field];
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      problems.push(`${field} (${show(value)}) must be a finite number > 0`);
      return undefined;
    }
    return value;
  };
  const limit = d.priceOpen !== undefined;
  const open = limit ? price("priceOpen") : currentPrice;
  const tp = price("priceTakeProfit");
  const sl = price("priceStopLoss");

  const minutes = d.minuteEstimatedTime;
  if (!Number.isSafeInteger(minutes) || (minutes as number) <= 0) {
    problems.push(`minuteEstimatedTime (${show(minutes)}) must be a positive integer`);
  } else if ((minutes as number) > config.CC_MAX_SIGNAL_LIFETIME_MINUTES) {
    problems.push(
      `minuteEstimatedTime (${show(minutes)}) must be <= CC_MAX_SIGNAL_LIFETIME_MINUTES (${config.CC_MAX_SIGNAL_LIFETIME_MINUTES})`,
    );
  }

  if ((position !== "long" && position !== "short") || open === undefined || tp === undefined || sl === undefined) {
    return;
  }
  const long = position === "long";
  const entry = limit ? `priceOpen (${open})` : `the current price (${open})`;
  if (long ? !(tp > open) : !(tp < open)) {
    problems.push(`priceTakeProfit (${tp}) must be ${long ? "above" : "below"} ${entry} for a ${position} signal`);
  }
  if (long ? !(sl < open) : !(sl > open)) {
    problems.push(`priceStopLoss (${sl}) must be ${long ? "below" : "above"} ${entry} for a ${position} signal`);
  }
  if (limit && (long ? !(currentPrice > sl) : !(currentPrice < sl))) {
    problems.push(
      `the current price (${currentPrice}) is already ${long ? "at or below" : "at or above"} priceStopLoss (${sl}); ` +
        `the limit entry would be cancelled at once`,
    );
  }

  // Distances are compared with a little slack: 2 -> 2.01 is 0.49999999999998934 % in floating point.
  const tpDistance = (Math.abs(tp - open) / open) * 100;
  if ((long ? tp > open : tp < open) && tpDistance < config.CC_MIN_TAKEPROFIT_DISTANCE_PERCENT - EPSILON) {
    problems.push(
      `priceTakeProfit (${tp}) is ${percent(tpDistance)} from ${entry}; it must be at least ` +
        `CC_MIN_TAKEPROFIT_DISTANCE_PERCENT (${config.CC_MIN_TAKEPROFIT_DISTANCE_PERCENT} %) away to cover fees and slippage`,
    );
  }
  const slDistance = (Math.abs(open - sl) / open) * 100;
  if (long ? sl < open : sl > open) {
    if (slDistance < config.CC_MIN_STOPLOSS_DISTANCE_PERCENT - EPSILON) {
      problems.push(
        `priceStopLoss (${sl}) is ${percent(slDistance)} from ${entry}; it must be at least ` +
          `CC_MIN_STOPLOSS_DISTANCE_PERCENT (${config.CC_MIN_STOPLOSS_DISTANCE_PERCENT} %) away`,
      );
    } else if (slDistance > config.CC_MAX_STOPLOSS_DISTANCE_PERCENT + EPSILON) {
      problems.push(
        `priceStopLoss (${sl}) is ${percent(slDistance)} from ${entry}; it must be at most ` +
          `CC_MAX_STOPLOSS_DISTANCE_PERCENT (${config.CC_MAX_STOPLOSS_DISTANCE_PERCENT} %) away`,
      );
    }
  }
}

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || value === undefined || value === null || typeof value === "boolean") return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return `${thrown.name}: ${thrown.message}`;
  return show(thrown);
}

function percent(value: number): string {
  return `${Number(value.toFixed(4))} %`;
}
