import { collectDefaultMetrics, Registry } from "prom-client";
import type { CloseReason, CancelReason, ExchangeSchema, SignalStore } from "../model";

/** `rxtrade_position_state`: what a pair holds. */
export const POSITION_STATE = { none: 0, scheduled: 1, opened: 2 } as const;

const TICK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
const EXCHANGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CLOSE_REASONS: readonly CloseReason[] = ["take_profit", "stop_loss", "time_expired"];
/** An exchange's calls are timed one at a time, at most one every this many ms of wall-clock time (see `watchExchange`). */
export const EXCHANGE_SAMPLE_MS = 100;
/** The clock is read to see whether the next sample is due at one call in this many. */
const EXCHANGE_CHECK = 8;
/** One tick in this many of each pair is timed into `rxtrade_tick_duration_seconds` (its first, then every 8th). */
export const TICK_SAMPLE = 8;

/**
 * The service's Prometheus metrics. Per pair (labels `symbol`, `strategy`):
 * `rxtrade_ticks_total`, `rxtrade_tick_duration_seconds`, `rxtrade_errors_total` (+ `kind`),
 * `rxtrade_position_state`, `rxtrade_closed_total` (+ `reason`), `rxtrade_cancelled_total`
 * (+ `reason`), `rxtrade_pnl_percent_total`, `rxtrade_stalled`, `rxtrade_last_tick_age_seconds`;
 * for the process: `rxtrade_store_write_seconds`, `rxtrade_exchange_call_seconds`
 * (+ `exchange`), and prom-client's default process metrics, from a prom-client registry of the
 * service's own (not prom-client's global one, so two services in one process do not collide).
 *
 * Thousands of pairs tick every period and are scraped every few seconds, so rxtrade's own
 * families are kept lean: their counts are plain numbers (a tick is an increment, an
 * observation a bucket's), and each series' name with its labels is escaped once, when it is
 * created; a scrape writes them in the text format after the registry's lines. (prom-client's
 * own counters and histograms hash and check their labels on every increment — a few µs, as
 * much as a whole idle tick — and format every line on every scrape.)
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly pairs: PairMetrics[] = [];
  /** Errors that name no pair of the service (`symbol` and `strategy` empty). */
  private unattributed: PairMetrics | undefined;
  private readonly storeWrites = new HistogramSeries("rxtrade_store_write_seconds", "", STORE_BUCKETS);
  private readonly exchangeCalls = new Map<string, HistogramSeries>();
  private readonly watchedStores = new WeakMap<SignalStore, SignalStore>();
  private readonly watchedExchanges = new WeakMap<ExchangeSchema, ExchangeSchema>();
  private readonly families: Family[];
  private eventStream: { readonly size: number; readonly dropped: number } | undefined;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const pairs = this.pairs;
    const withUnattributed = () => (this.unattributed === undefined ? pairs : [...pairs, this.unattributed]);
    this.families = [
      perPair("rxtrade_ticks_total", "counter", "Ticks the pair completed.", pairs, (pair, out) => out(pair.names.ticks, pair.ticks)),
      perPair(
        "rxtrade_tick_duration_seconds",
        "histogram",
        `Wall-clock time of a tick, from its price request to its result, persisted; one tick in ${TICK_SAMPLE} of each pair (its first, then every ${TICK_SAMPLE}th).`,
        pairs,
        (pair, out) => pair.durations.write(out),
      ),
      perPair("rxtrade_errors_total", "counter", "Errors reported on error$ (the loop survived them, or ended on one), by error class name.", withUnattributed, (pair, out) => {
        for (const [kind, count] of pair.errors) out(pair.labelled("rxtrade_errors_total", "kind", kind), count);
      }),
      perPair("rxtrade_position_state", "gauge", "What the pair holds: 0 nothing, 1 a scheduled limit entry, 2 an open position.", pairs, (pair, out) =>
        out(pair.names.position, pair.positionState),
      ),
      perPair("rxtrade_closed_total", "counter", "Signals closed, by reason (take_profit, stop_loss, time_expired).", pairs, (pair, out) =>
        CLOSE_REASONS.forEach((reason, i) => out(pair.labelled("rxtrade_closed_total", "reason", reason), pair.closedByReason[i] as number)),
      ),
      perPair("rxtrade_cancelled_total", "counter", "Scheduled entries cancelled before they opened, by reason (timeout, stop_loss).", pairs, (pair, out) => {
        for (const [reason, count] of pair.cancelledByReason) out(pair.labelled("rxtrade_cancelled_total", "reason", reason), count);
      }),
      perPair(
        "rxtrade_pnl_percent_total",
        "gauge",
        "Sum of the closed signals' PnL in percent (after fees and slippage) since the service started; a gauge: losses lower it.",
        pairs,
        (pair, out) => out(pair.names.pnl, pair.pnlTotal),
      ),
      perPair("rxtrade_stalled", "gauge", "1 while the pair is stalled (no completed tick for CC_STALL_TICKS tick periods on its clock), else 0.", pairs, (pair, out) =>
        out(pair.names.stalled, pair.isStalled ? 1 : 0),
      ),
      perPair("rxtrade_last_tick_age_seconds", "gauge", "Time since the pair's last completed tick (since its start before the first), on the pair's own clock.", pairs, (pair, out) =>
        out(pair.names.age, pair.ageSeconds()),
      ),
      family("rxtrade_store_write_seconds", "histogram", "Time a store write took to settle (fsync included for fileStore), for the answers that came as a Promise.", (out) => this.storeWrites.write(out)),
      optional(() => this.eventStream !== undefined, "rxtrade_event_clients", "gauge", "Clients connected to GET /api/events (the dashboard's live events).", (out) =>
        out("rxtrade_event_clients", this.eventStream?.size ?? 0),
      ),
      optional(() => this.eventStream !== undefined, "rxtrade_event_clients_dropped_total", "counter", "Clients of GET /api/events dropped for not taking their events (more than the buffer's bytes waiting).", (out) =>
        out("rxtrade_event_clients_dropped_total", this.eventStream?.dropped ?? 0),
      ),
      family(
        "rxtrade_exchange_call_seconds",
        "histogram",
        `Time an exchange's getCandles took to settle, for a sample of the calls that answered with a Promise (at most one every ${EXCHANGE_SAMPLE_MS} ms).`,
        (out) => {
          for (const series of this.exchangeCalls.values()) series.write(out);
        },
      ),
    ];
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `text()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format: the registry's (the process's), then rxtrade's. */
  async text(): Promise<string> {
    const registry = await this.registry.metrics();
    const chunks = registry === "\n" ? [] : [registry];
    for (const family of this.families) family(chunks);
    return chunks.join("");
  }

  /**
   * A pair's series, at zero until it ticks (so they are scraped from the start).
   *
   * @param ageSeconds reads the pair's last-tick age on its own clock, when scraped
   */
  pair(symbol: string, strategy: string, ageSeconds: () => number): PairMetrics {
    const pair = new PairMetrics(symbol, strategy, ageSeconds);
    this.pairs.push(pair);
    return pair;
  }

  /** Adds `rxtrade_event_clients` and `rxtrade_event_clients_dropped_total`, read from the service's event stream when scraped. */
  watchEventStream(stream: { readonly size: number; readonly dropped: number }): void {
    this.eventStream = stream;
  }

  /** Counts an error that names no pair of the service (`symbol` and `strategy` empty). */
  unattributedError(kind: string): void {
    this.unattributed ??= new PairMetrics("", "", () => 0);
    this.unattributed.error(kind);
  }

  /**
   * `store` with its `write` timed into `rxtrade_store_write_seconds` when it answers with a
   * Promise (every other property reads through; one wrapper per store, so its pairs still share
   * one lock queue). Writes are rare — one per trade — so each is timed.
   */
  watchStore(store: SignalStore): SignalStore {
    let watched = this.watchedStores.get(store);
    if (watched === undefined) {
      const series = this.storeWrites;
      watched = Object.create(store, {
        write: {
          value: (key: string, value: unknown) => {
            const started = performance.now();
            return timed(store.write(key, value), started, series);
          },
        },
      }) as SignalStore;
      this.watchedStores.set(store, watched);
    }
    return watched;
  }

  /**
   * `exchange` as one pair calls it (every other property reads through): the pair's first call
   * of a tick (the price request, where the engine's own tick timing starts) is the tick's start
   * for `rxtrade_tick_duration_seconds`, in one tick of `TICK_SAMPLE`; and a call of the
   * exchange's (over all its pairs) that answers with a Promise is timed into
   * `rxtrade_exchange_call_seconds{exchange}` when `EXCHANGE_SAMPLE_MS` have passed since the
   * last timed one (every call of a quiet exchange, a bounded sample of a busy one). Samples,
   * because reading the clock twice per tick (about 0.3 µs each) and a Promise reaction per call
   * (several µs) would cost as much as a tenth of an idle tick; a sample gives the same
   * distribution and average.
   */
  watchExchange(exchange: ExchangeSchema, pair: PairMetrics): ExchangeSchema {
    // One getCandles per exchange, reading its pair from `this`: the engine's call site sees one
    // function however many pairs there are.
    let shared = this.watchedExchanges.get(exchange);
    if (shared === undefined) {
      const name = exchange.exchangeName;
      let calls = this.exchangeCalls.get(name);
      if (calls === undefined) {
        calls = new HistogramSeries("rxtrade_exchange_call_seconds", `exchange="${escapeLabel(name)}"`, EXCHANGE_BUCKETS);
        this.exchangeCalls.set(name, calls);
      }
      const series = calls;
      shared = Object.create(exchange, {
        getCandles: {
          value(this: { pair: PairMetrics }, symbol: string, interval: Parameters<ExchangeSchema["getCandles"]>[1], since: Date, limit: number) {
            const pair = this.pair;
            let started = -1;
            if (!pair.inTick) {
              pair.inTick = true;
              if (pair.ticksBegun++ % TICK_SAMPLE === 0) started = pair.tickStartedAt = performance.now();
            }
            let sampled = false;
            if (++series.calls % EXCHANGE_CHECK === 1) {
              const now = started < 0 ? performance.now() : started;
              if (now - series.lastTimedAt >= EXCHANGE_SAMPLE_MS) {
                sampled = true;
                series.lastTimedAt = started = now;
              }
            }
            const answer = exchange.getCandles(symbol, interval, since, limit);
            return sampled ? timed(answer, started, series) : answer;
          },
        },
      }) as ExchangeSchema;
      this.watchedExchanges.set(exchange, shared);
    }
    return Object.create(shared, { pair: { value: pair } }) as ExchangeSchema;
  }
}


/** One pair's series: plain counts, and each series' name with its labels, escaped once. */
export class PairMetrics {
  ticks = 0;
  /** A tick is under way: its price was asked for. */
  inTick = false;
  /** Ticks that asked for their price, for sampling. */
  ticksBegun = 0;
  /** When the tick under way asked for its price (performance.now()), if it is timed; else -1. */
  tickStartedAt = -1;
  positionState: number = POSITION_STATE.none;
  pnlTotal = 0;
  isStalled = false;
  readonly durations: HistogramSeries;
  readonly closedByReason = CLOSE_REASONS.map(() => 0);
  readonly cancelledByReason = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly names: { ticks: string; position: string; pnl: string; stalled: string; age: string };
  private readonly labels: string;
  private readonly extra = new Map<string, string>();

  constructor(
    readonly symbol: string,
    readonly strategy: string,
    readonly ageSeconds: () => number,
  ) {
    this.labels = `symbol="${escapeLabel(symbol)}",strategy="${escapeLabel(strategy)}"`;
    const series = (name: string) => `${name}{${this.labels}}`;
    this.durations = new HistogramSeries("rxtrade_tick_duration_seconds", this.labels, TICK_BUCKETS);
    this.names = {
      ticks: series("rxtrade_ticks_total"),
      position: series("rxtrade_position_state"),
      pnl: series("rxtrade_pnl_percent_total"),
      stalled: series("rxtrade_stalled"),
      age: series("rxtrade_last_tick_age_seconds"),
    };
  }

  /** `name{symbol=…,strategy=…,label="value"}`, escaped once per value. */
  labelled(name: string, label: string, value: string): string {
    const key = `${name}\u0000${value}`;
    let series = this.extra.get(key);
    if (series === undefined) {
      series = `${name}{${this.labels},${label}="${escapeLabel(value)}"}`;
      this.extra.set(key, series);
    }
    return series;
  }

  /** A tick completed: counted, and timed from its price request to now (if it is a sampled one). */
  tick(): void {
    this.ticks++;
    this.inTick = false;
    const started = this.tickStartedAt;
    if (started < 0) return;
    this.tickStartedAt = -1;
    this.durations.observe((performance.now() - started) / 1000);
  }

  /** A tick failed (an error of the pair): the next price request starts the next one. */
  attemptFailed(): void {
    this.inTick = false;
    this.tickStartedAt = -1;
  }

  position(state: number): void {
    this.positionState = state;
  }

  closed(reason: CloseReason, pnlPercent: number): void {
    const i = CLOSE_REASONS.indexOf(reason);
    if (i >= 0) this.closedByReason[i] = (this.closedByReason[i] as number) + 1;
    this.pnlTotal += pnlPercent;
  }

  cancelled(reason: CancelReason): void {
    this.cancelledByReason.set(reason, (this.cancelledByReason.get(reason) ?? 0) + 1);
  }

  error(kind: string): void {
    this.errors.set(kind, (this.errors.get(kind) ?? 0) + 1);
  }

  stalled(stalled: boolean): void {
    this.isStalled = stalled;
  }
}

/** One histogram series: counts per bucket (not cumulative until written), sum, and its lines' names. */
class HistogramSeries {
  /** Calls seen, and when the last sampled one started (performance.now()), for sampling (`watchExchange`). */
  calls = 0;
  lastTimedAt = Number.NEGATIVE_INFINITY;
  private readonly counts: number[];
  private sum = 0;
  private readonly names: { buckets: string[]; sum: string; count: string };

  constructor(
    name: string,
    labels: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
    const rest = labels === "" ? "" : `,${labels}`;
    this.names = {
      buckets: [...bounds.map(String), "+Inf"].map((le) => `${name}_bucket{le="${le}"${rest}}`),
      sum: labels === "" ? `${name}_sum` : `${name}_sum{${labels}}`,
      count: labels === "" ? `${name}_count` : `${name}_count{${labels}}`,
    };
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
  }

  write(out: (series: string, value: number) => void): void {
    let cumulative = 0;
    for (let i = 0; i < this.counts.length; i++) {
      cumulative += this.counts[i] as number;
      out(this.names.buckets[i] as string, cumulative);
    }
    out(this.names.sum, this.sum);
    out(this.names.count, cumulative);
  }
}

/** Writes a family: its HELP and TYPE, then its lines. */
type Family = (chunks: string[]) => void;

function family(name: string, type: "counter" | "gauge" | "histogram", help: string, lines: (out: (series: string, value: number) => void) => void): Family {
  const head = `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
  return (chunks) => {
    chunks.push(chunks.length === 0 ? head : `\n${head}`);
    lines((series, value) => chunks.push(`${series} ${valueText(value)}\n`));
  };
}

/** A family written only while `present()` says so. */
function optional(present: () => boolean, ...args: Parameters<typeof family>): Family {
  const write = family(...args);
  return (chunks) => {
    if (present()) write(chunks);
  };
}

function perPair(
  name: string,
  type: "counter" | "gauge" | "histogram",
  help: string,
  pairs: readonly PairMetrics[] | (() => readonly PairMetrics[]),
  lines: (pair: PairMetrics, out: (series: string, value: number) => void) => void,
): Family {
  return family(name, type, help, (out) => {
    for (const pair of typeof pairs === "function" ? pairs() : pairs) lines(pair, out);
  });
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return String(value);
}

// Prometheus label values: backslash, double quote and line feed escaped.
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

// A call's time to settle, for an answer that came as a Promise; a plain answer, an Observable or
// another thenable is passed on untimed (the engine's CallWatcher, too, reports Promise-likes
// only). The Promise itself is passed on: the engine's own reaction is not put behind this one.
function timed<T>(value: T, started: number, series: HistogramSeries): T {
  if (value instanceof Promise) {
    const done = () => series.observe((performance.now() - started) / 1000);
    value.then(done, done);
  }
  return value;
}
