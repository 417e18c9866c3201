import { CandleDataError, ExchangeError, type ErrorContext } from "./errors";
import { type Candle, MINUTE_MS } from "./model";

/** Open time of the oldest of the last `count` one-minute candles that have closed as of `now`. */
export function windowStart(now: number, count: number): number {
  const newestOpen = Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  return newestOpen - (count - 1) * MINUTE_MS;
}

let scratch = new Float64Array(16);

/**
 * `candles` in ascending open-time order: the same array when it already is (one pass, no
 * allocation), a sorted copy otherwise (an exchange that answers newest first). Throws a
 * `CandleDataError` naming the candle and the rule when two candles share an open time (a
 * duplicated candle would count twice), when a candle is impossible (high < low, or open or
 * close outside [low, high]), or when an entry is not a candle with a finite open time (it
 * cannot be put in order). Prices that are not finite or not > 0 and volumes < 0 are left to
 * `vwapPrice`, which refuses them (`ExchangeError`) in its window.
 *
 * @example
 * const ordered = normalizeCandles(await exchange.getCandles("BTCUSDT", "1m", since, 5), { symbol: "BTCUSDT" });
 *
 * @param candles what an exchange returned
 * @param context named in the error (symbol, strategyName, exchangeName)
 */
export function normalizeCandles(candles: readonly Candle[], context: ErrorContext): readonly Candle[] {
  // One pass checks every candle; the common case (oldest first, as ccxt answers) ends here.
  let inOrder = true;
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < candles.length; i++) {
    const c = candles[i] as Candle;
    if (c === null || typeof c !== "object") throw notCandle(c, context);
    if (!possible(c)) throw impossible(c, context);
    if (!(c.timestamp > previous)) inOrder = false;
    previous = c.timestamp;
  }
  return inOrder && previous !== Number.POSITIVE_INFINITY ? candles : sortedCopy(candles, context);
}

let windowFrom = 0;

// The newest `count` closed candles with open time >= since: returns the end of that window
// and leaves its start in `windowFrom` (no allocation). Walking back from the newest, it checks
// on the way that open times strictly ascend — one read of each, the only pass the tick path
// adds for the order — and returns -1 when they do not (another order, a repeated open time,
// an entry that is not a candle or has no finite open time).
function selectWindow(candles: readonly Candle[], now: number, since: number, count: number): number {
  let i = candles.length;
  let later = Number.POSITIVE_INFINITY;
  try {
    // Candles still forming (open time + 1 min > now) are skipped.
    for (; i > 0; i--) {
      const t = (candles[i - 1] as Candle).timestamp;
      if (!(t < later)) return -1;
      if (t + MINUTE_MS <= now) break;
      later = t;
    }
    const end = i;
    for (; i > 0 && end - i < count; i--) {
      const t = (candles[i - 1] as Candle).timestamp;
      if (!(t < later)) return -1;
      if (t < since) break;
      later = t;
    }
    windowFrom = i;
    // The older candles are only checked for order.
    for (; i > 0; i--) {
      const t = (candles[i - 1] as Candle).timestamp;
      if (!(t < later)) return -1;
      later = t;
    }
    return later === Number.NEGATIVE_INFINITY ? -1 : end;
  } catch {
    // A null or undefined entry: sortedCopy names it.
    return -1;
  }
}

// A sorted copy; refuses an entry without a finite open time (it cannot be ordered) and a
// repeated open time.
function sortedCopy(candles: readonly Candle[], context: ErrorContext): Candle[] {
  for (const c of candles) {
    if (c === null || typeof c !== "object" || !Number.isFinite(c.timestamp)) throw notCandle(c, context);
  }
  const sorted = candles.slice().sort((a, b) => a.timestamp - b.timestamp);
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as Candle).timestamp === (sorted[i - 1] as Candle).timestamp) throw duplicated(sorted[i] as Candle, context);
  }
  return sorted;
}

// Open and close within [low, high] (so high >= low). A candle with a price that is not finite
// or not > 0 counts as possible here: vwapPrice's own rule refuses it, in its window only.
function possible(c: Candle): boolean {
  return (c.low <= c.open && c.open <= c.high && c.low <= c.close && c.close <= c.high) || broken(c);
}

function broken(c: Candle): boolean {
  return !(c.open > 0 && c.high > 0 && c.low > 0 && c.close > 0 && Number.isFinite(c.open + c.high + c.low + c.close));
}

function notCandle(c: unknown, context: ErrorContext): CandleDataError {
  return new CandleDataError({
    message: `${source(context)} sent ${showCandle(c)}, which is not a candle with a finite open time (timestamp, ms); cannot put the candles in order`,
    context,
  });
}

function impossible(c: Candle, context: ErrorContext): CandleDataError {
  const rule = c.high < c.low ? "high must be >= low" : "open and close must lie within [low, high]";
  return new CandleDataError({
    message: `impossible candle from ${source(context)}: ${showCandle(c)} (${rule}); fix the exchange's data or its adapter`,
    context,
  });
}

function duplicated(c: Candle, context: ErrorContext): CandleDataError {
  return new CandleDataError({
    message:
      `${source(context)} sent two candles with open time ${c.timestamp} (${new Date(c.timestamp).toISOString()}), one of them ` +
      `${showCandle(c)}; a duplicated candle would count twice (each open time must appear once): fix the exchange's data or its adapter`,
    context,
  });
}

function source(context: ErrorContext): string {
  return `${context.exchangeName ?? "the exchange"} for ${context.symbol ?? "the symbol"}`;
}

/**
 * The market price as of `now`: VWAP of the last `count` closed one-minute candles in
 * `candles` (typical price (H+L+C)/3 weighted by volume; zero volume -> mean of closes).
 * The candles are put in time order first (any order is accepted; a repeated open time or an
 * entry that is not a candle is a `CandleDataError`). Candles that have not closed by `now`
 * (open time + 1 min > now) or open before `since` are ignored. The candles of the window are
 * checked: an impossible one (high < low, open or close outside [low, high]) is a
 * `CandleDataError`; a value not finite, a price <= 0, a volume < 0 or a price below 1/1000 of
 * the median close is an `ExchangeError`, as is a window with no candle.
 */
export function vwapPrice(
  candles: readonly Candle[],
  now: number,
  since: number,
  count: number,
  context: ErrorContext,
): number {
  let end = selectWindow(candles, now, since, count);
  if (end < 0) {
    // Not oldest first (or a repeated open time, or not candles): rare, so a sorted copy.
    candles = sortedCopy(candles, context);
    end = selectWindow(candles, now, since, count);
  }
  const start = windowFrom;
  if (start === end) {
    throw new ExchangeError(
      `no closed 1m candle for ${context.symbol ?? "the symbol"} since ${new Date(since).toISOString()} ` +
        `(got ${candles.length} candle(s)); cannot price the market`,
      context,
    );
  }
  return scan(candles, start, end, context);
}

/**
 * Throws an `ExchangeError` naming the candle when one in `candles[start, end)` is unusable:
 * a value not finite, a price <= 0, a volume < 0, or a price below 1/1000 of the median close
 * (a broken candle); a `CandleDataError` when one is impossible (high < low, open or close
 * outside [low, high]).
 */
export function checkCandles(candles: readonly Candle[], start: number, end: number, context: ErrorContext): void {
  scan(candles, start, end, context);
}

// One pass over the window (it runs every tick of every stream): checks each candle, sums the
// VWAP, and keeps the closes for the median in a reused buffer; then the 1/1000 rule.
function scan(candles: readonly Candle[], start: number, end: number, context: ErrorContext): number {
  const n = end - start;
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  let weighted = 0;
  let volume = 0;
  let closes = 0;
  let lowest = Number.POSITIVE_INFINITY;
  for (let i = start; i < end; i++) {
    const c = candles[i] as Candle;
    if (
      c === null ||
      typeof c !== "object" ||
      !Number.isFinite(c.timestamp) ||
      !(c.open > 0 && c.high > 0 && c.low > 0 && c.close > 0) ||
      !Number.isFinite(c.open + c.high + c.low + c.close) ||
      !(c.volume >= 0) ||
      !Number.isFinite(c.volume)
    ) {
      throw brokenCandle(c, "values must be finite, prices > 0 and volume >= 0", context);
    }
    if (!(c.low <= c.open && c.open <= c.high && c.low <= c.close && c.close <= c.high)) throw impossible(c, context);
    weighted += ((c.high + c.low + c.close) / 3) * c.volume;
    volume += c.volume;
    closes += c.close;
    const low = Math.min(c.open, c.high, c.low, c.close);
    if (low < lowest) lowest = low;
    scratch[i - start] = c.close;
  }
  // Insertion sort: the window is a handful of candles.
  for (let i = 1; i < n; i++) {
    const value = scratch[i] as number;
    let j = i - 1;
    while (j >= 0 && (scratch[j] as number) > value) {
      scratch[j + 1] = scratch[j] as number;
      j--;
    }
    scratch[j + 1] = value;
  }
  const median = n % 2 === 1 ? (scratch[(n - 1) / 2] as number) : ((scratch[n / 2 - 1] as number) + (scratch[n / 2] as number)) / 2;
  const floor = median / 1000;
  if (lowest < floor) {
    const c = candles.slice(start, end).find((k) => Math.min(k.open, k.high, k.low, k.close) < floor) as Candle;
    throw brokenCandle(c, `a price is below 1/1000 of the median close (${median})`, context);
  }
  return volume > 0 ? weighted / volume : closes / n;
}

function brokenCandle(candle: unknown, why: string, context: ErrorContext): ExchangeError {
  return new ExchangeError(
    `broken candle for ${context.symbol ?? "the symbol"} from ${context.exchangeName ?? "the exchange"}: ${showCandle(candle)} (${why})`,
    context,
  );
}

// JSON.stringify would print NaN and Infinity as null: show them as they are.
function showCandle(candle: unknown): string {
  if (candle === null || typeof candle !== "object") return String(candle);
  const fields = Object.entries(candle as Record<string, unknown>).map(([key, value]) => `${key}: ${typeof value === "string" ? JSON.stringify(value) : String(value)}`);
  return `{ ${fields.join(", ")} }`;
}
