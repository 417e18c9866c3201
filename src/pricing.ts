import { ExchangeError, type ErrorContext } from "./errors";
import { type Candle, MINUTE_MS } from "./model";

/** Open time of the oldest of the last `count` one-minute candles that have closed as of `now`. */
export function windowStart(now: number, count: number): number {
  const newestOpen = Math.floor(now / MINUTE_MS) * MINUTE_MS - MINUTE_MS;
  return newestOpen - (count - 1) * MINUTE_MS;
}

let scratch = new Float64Array(16);

/**
 * The market price as of `now`: VWAP of the last `count` closed one-minute candles in
 * `candles` (typical price (H+L+C)/3 weighted by volume; zero volume -> mean of closes).
 * Candles that have not closed by `now` or start before `since` are ignored. Throws an
 * `ExchangeError` when no candle is usable or one is broken.
 */
export function vwapPrice(
  candles: readonly Candle[],
  now: number,
  since: number,
  count: number,
  context: ErrorContext,
): number {
  // Pick the newest `limit` closed candles without allocating: candles are oldest first.
  let end = candles.length;
  while (end > 0 && (candles[end - 1] as Candle).timestamp + MINUTE_MS > now) end--;
  let start = end;
  while (start > 0 && end - start < count && (candles[start - 1] as Candle).timestamp >= since) start--;
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
 * (a broken candle).
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
