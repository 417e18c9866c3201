import { ArgumentRangeError } from "./errors";
import { getLogger } from "./events";
import { type Candle, CANDLE_INTERVALS, type CandleInterval, type ExchangeSchema, intervalMs, MINUTE_MS } from "./model";

/** The minutes of candles a streamed backtest keeps behind its clock by default: 7 days. */
export const DEFAULT_LOOKBACK_MINUTES = 10_080;
/** A stream is read this far past the clock at a time, so it is awaited about once an hour of data, not every tick. */
const READ_AHEAD_MS = 60 * MINUTE_MS;
/** Dropped candles are cut off the buffer once there are this many and they are half of it. */
const COMPACT_AT = 1024;

/**
 * A source of candles may offer them in chunks (arrays, oldest first) under this key, besides
 * one at a time as an `AsyncIterable`: a backtest then awaits once per chunk, not per candle.
 * `csvCandleFile` does.
 */
export const CANDLE_CHUNKS: unique symbol = Symbol.for("rxtrade.candleChunks") as never;

/** A source of candles, maybe chunked (see `CANDLE_CHUNKS`). */
type CandleSource = AsyncIterable<Candle> & { [CANDLE_CHUNKS]?: () => AsyncIterator<readonly Candle[]> };

/** One interval's candles, built from the one-minute ones as they come. */
interface Series {
  readonly width: number;
  readonly items: Candle[];
  head: number;
  /** The open time of the newest bucket left out: a request reaching it lacks candles. */
  droppedUpTo: number;
}

/**
 * The candles a backtest serves, as `replayExchange` serves them (closed candles only, as of
 * the clock; wider intervals aggregated from the one-minute ones, aligned to multiples of
 * their width), over either a whole array or a stream read as the clock advances. A stream
 * keeps only `lookbackMinutes` of candles behind the clock (and an hour ahead): a year of
 * one-minute candles is never in memory at once. A request that reaches further back than
 * what is kept is served what is kept, with one warning (the library logger).
 */
export class CandleWindow {
  /** Open time of the first candle, once read. */
  first: number | undefined;
  /** Open time of the newest candle read. */
  newest = Number.NEGATIVE_INFINITY;
  /** Whether every candle has been read. */
  ended: boolean;
  /** Told once, when a stream turns out to have ended: the open time of its last candle. */
  onEnded: ((last: number) => void) | undefined;

  private items: Candle[];
  private head = 0;
  private readonly series = new Map<number, Series>();
  private readonly source: AsyncIterator<Candle> | AsyncIterator<readonly Candle[]> | undefined;
  private readonly chunked: boolean;
  /** The chunk being read, and the index of its next candle. */
  private chunk: readonly Candle[] = [];
  private inChunk = 0;
  private readonly keepMs: number;
  private droppedUpTo = Number.NEGATIVE_INFINITY;
  private countFrom = Number.POSITIVE_INFINITY;
  private counted = 0;
  private warned = false;

  private constructor(
    private readonly clock: { now(): number },
    items: Candle[],
    source: CandleSource | undefined,
    lookbackMinutes: number,
    /** A stream is known this far past each time step: at least a tick and two minutes, so its end is known before the last tick is due. */
    private readonly marginMs = 0,
  ) {
    this.items = items;
    this.ended = source === undefined;
    const chunks = source?.[CANDLE_CHUNKS];
    this.chunked = typeof chunks === "function";
    this.source = typeof chunks === "function" ? chunks.call(source) : source?.[Symbol.asyncIterator]();
    this.keepMs = lookbackMinutes * MINUTE_MS;
    if (items.length > 0) {
      this.first = (items[0] as Candle).timestamp;
      this.newest = (items.at(-1) as Candle).timestamp;
    }
  }

  /** Every candle at once (oldest first, checked by the caller): nothing is read or dropped. */
  static ofArray(clock: { now(): number }, candles: readonly Candle[]): CandleWindow {
    return new CandleWindow(clock, candles as Candle[], undefined, Number.POSITIVE_INFINITY);
  }

  /** Candles read from `source` as the clock advances (ticks every `tickMs`), `lookbackMinutes` of them kept behind it. */
  static ofStream(clock: { now(): number }, source: CandleSource, lookbackMinutes: number, tickMs: number): CandleWindow {
    return new CandleWindow(clock, [], source, lookbackMinutes, tickMs + 2 * MINUTE_MS);
  }

  /** The exchange of the backtest: `replayExchange`'s answers, from this window. */
  exchange(exchangeName: string): ExchangeSchema {
    return { exchangeName, getCandles: (_symbol, interval, since, limit) => this.candles(interval, since.getTime(), limit) };
  }

  /**
   * Before the clock moves to `time`: a Promise when candles must be read first (every candle
   * before `time` is then in, and the end of the data known if it comes within a tick), else
   * `undefined`.
   */
  prepare = (time: number): Promise<void> | undefined => (this.ended || this.newest >= time + this.marginMs ? undefined : this.fill(time));

  /** Reads candles (the first one at least) until one opens an hour past `time` and the margin (or the stream ends), then drops what is past the look-back. */
  async fill(time: number): Promise<void> {
    const source = this.source;
    if (source === undefined) return;
    const goal = time + this.marginMs + READ_AHEAD_MS;
    let appended = 0;
    while (!this.ended && (this.first === undefined || this.newest < goal)) {
      if (this.inChunk < this.chunk.length) {
        this.append(this.chunk[this.inChunk++] as Candle);
        // A long way to `time` (a late --from): what falls behind the look-back goes as it is passed.
        if (++appended % COMPACT_AT === 0) this.drop(Math.min(time, this.newest) - this.keepMs);
        continue;
      }
      const next = await source.next();
      if (next.done === true) {
        this.ended = true;
        if (this.first !== undefined) this.onEnded?.(this.newest);
        break;
      }
      if (this.chunked) {
        this.chunk = next.value as readonly Candle[];
        this.inChunk = 0;
      } else this.append(next.value as Candle);
    }
    this.drop(time - this.keepMs);
  }

  /** Candles counted by `count` from this open time on. */
  countSince(time: number): void {
    this.countFrom = time;
    this.counted = this.items.length - lowerBound(this.items, time, this.head, this.items.length);
  }

  /** One-minute candles from the `countSince` time up to the minute before `lastTick`: the minutes a run priced. */
  count(lastTick: number): number {
    const after = this.items.length - lowerBound(this.items, lastTick - MINUTE_MS + 1, this.head, this.items.length);
    return Math.max(0, this.counted - after);
  }

  /** Stops reading the stream (closes its file). */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    void this.source?.return?.()?.catch?.(() => undefined);
  }

  private append(candle: Candle): void {
    const time = candle?.timestamp;
    if (typeof time !== "number" || !Number.isFinite(time) || time <= this.newest) {
      throw new ArgumentRangeError(
        `backtest candles must come oldest first, one per open time: got ${typeof time === "number" ? new Date(time).toISOString() : String(time)} after ${new Date(this.newest).toISOString()}; sort the data and remove repeated rows`,
        { argument: "options.candles", value: candle },
      );
    }
    this.first ??= time;
    this.newest = time;
    this.items.push(candle);
    if (time >= this.countFrom) this.counted++;
    for (const series of this.series.values()) fold(series, candle);
  }

  // Keeps the candles that open at or after `before`; a wider interval keeps its buckets a width longer.
  private drop(before: number): void {
    const items = this.items;
    let head = this.head;
    while (head < items.length && (items[head] as Candle).timestamp < before) head++;
    if (head > this.head) this.droppedUpTo = (items[head - 1] as Candle).timestamp;
    // The dropped head is cut off once it is half the array: amortized O(1) per candle.
    if (head >= COMPACT_AT && head >= items.length / 2) {
      this.items = items.slice(head);
      head = 0;
    }
    this.head = head;
    for (const series of this.series.values()) {
      let from = series.head;
      while (from < series.items.length && (series.items[from] as Candle).timestamp < before - series.width) from++;
      if (from > series.head) series.droppedUpTo = (series.items[from - 1] as Candle).timestamp;
      if (from >= COMPACT_AT && from >= series.items.length / 2) {
        series.items.splice(0, from);
        from = 0;
      }
      series.head = from;
    }
  }

  private candles(interval: CandleInterval, since: number, limit: number): Candle[] {
    const width = intervalMs(interval);
    if (width === undefined) {
      throw new ArgumentRangeError(`unknown candle interval ${JSON.stringify(interval)}; use one of ${CANDLE_INTERVALS.join(", ")}`, { argument: "interval", value: interval });
    }
    const series = width === MINUTE_MS ? undefined : this.seriesOf(width);
    const items = series?.items ?? this.items;
    const head = series?.head ?? this.head;
    if (since <= (series?.droppedUpTo ?? this.droppedUpTo)) this.tooFarBack(interval, limit, since, items[head]);
    const from = lowerBound(items, since, head, items.length);
    // Closed: open time + width <= now. Searched only within the `limit` candles after `from`.
    const to = upperBound(items, this.clock.now() - width, from, Math.min(items.length, from + Math.max(0, limit)));
    return items.slice(from, to);
  }

  private seriesOf(width: number): Series {
    let series = this.series.get(width);
    if (series === undefined) {
      series = { width, items: [], head: 0, droppedUpTo: Number.NEGATIVE_INFINITY };
      let i = this.head;
      // Minutes were dropped before this interval was first asked for: its first bucket may lack some; leave it out.
      const oldest = this.items[i];
      if (oldest !== undefined && this.droppedUpTo >= Math.floor(oldest.timestamp / width) * width) {
        const firstBucket = Math.floor(oldest.timestamp / width) * width;
        series.droppedUpTo = firstBucket;
        while (i < this.items.length && (this.items[i] as Candle).timestamp < firstBucket + width) i++;
      }
      for (; i < this.items.length; i++) fold(series, this.items[i] as Candle);
      this.series.set(width, series);
    }
    return series;
  }

  private tooFarBack(interval: CandleInterval, limit: number, since: number, oldest: Candle | undefined): void {
    if (this.warned) return;
    this.warned = true;
    const now = this.clock.now();
    const minutes = Math.ceil((now - since) / MINUTE_MS);
    getLogger().warn(
      `rxtrade: getCandles(${interval}, ${limit}) at ${iso(now)} asks for candles from ${iso(since)} (${minutes} minutes back), ` +
        `past the ${this.keepMs / MINUTE_MS} minutes of candles this backtest keeps behind its clock (lookbackMinutes); ` +
        `it got those from ${oldest === undefined ? "now" : iso(oldest.timestamp)} on. Raise lookbackMinutes (rxtrade backtest --lookback) to ${minutes} or more. (Said once.)`,
    );
  }
}

// Adds a one-minute candle to the bucket of its width (a new bucket when it opens a new one).
function fold(series: Series, c: Candle): void {
  const open = Math.floor(c.timestamp / series.width) * series.width;
  const bucket = series.items.at(-1);
  if (bucket === undefined || bucket.timestamp !== open) {
    series.items.push({ timestamp: open, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume });
    return;
  }
  if (c.high > bucket.high) bucket.high = c.high;
  if (c.low < bucket.low) bucket.low = c.low;
  bucket.close = c.close;
  bucket.volume += c.volume;
}

/** Index of the first candle in [lo, hi) with timestamp >= `time` (`hi` when there is none). */
function lowerBound(candles: readonly Candle[], time: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first candle in [lo, hi) with timestamp > `time` (`hi` when there is none). */
function upperBound(candles: readonly Candle[], time: number, lo: number, hi: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((candles[mid] as Candle).timestamp <= time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
