import { collectDefaultMetrics, Registry } from "prom-client";
import type { ExchangeSchema, SignalStore } from "../model";
import { escapeLabel, type Family, family, HistogramSeries, optional, perPair, timed } from "./metricsText";
import { CLOSE_REASONS, PairMetrics } from "./pairMetrics";

export { PairMetrics, POSITION_STATE } from "./pairMetrics";

const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
const EXCHANGE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** A call of an exchange is timed when this many ms of wall-clock time have passed since its last timed one (see `watchExchange`). */
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
      perPair(
        "rxtrade_last_tick_age_seconds",
        "gauge",
        "Time since the pair's last completed tick (since its start before the first), on the pair's own clock; absent once the pair has ended (drained or failed).",
        pairs,
        (pair, out) => {
          const age = pair.ageSeconds();
          if (age !== undefined) out(pair.names.age, age);
        },
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
  pair(symbol: string, strategy: string, ageSeconds: () => number | undefined): PairMetrics {
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
