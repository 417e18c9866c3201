import { collectDefaultMetrics, Histogram, type Metric, Registry } from "prom-client";
import type { CloseReason, CancelReason, ExchangeSchema, SignalStore } from "../model";

/** `rxtrade_position_state`: what a pair holds. */
export const POSITION_STATE = { none: 0, scheduled: 1, opened: 2 } as const;

const TICK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
const EXCHANGE_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CLOSE_REASONS: readonly CloseReason[] = ["take_profit", "stop_loss", "time_expired"];

/**
 * The service's Prometheus metrics. Per pair (labels `symbol`, `strategy`):
 * `rxtrade_ticks_total`, `rxtrade_tick_duration_seconds`, `rxtrade_errors_total` (+ `kind`),
 * `rxtrade_position_state`, `rxtrade_closed_total` (+ `reason`), `rxtrade_cancelled_total`
 * (+ `reason`), `rxtrade_pnl_percent_total`, `rxtrade_stalled`, `rxtrade_last_tick_age_seconds`;
 * for the process, in a prom-client registry of its own (not prom-client's global one, so two
 * services in one process do not collide): `rxtrade_store_write_seconds`,
 * `rxtrade_exchange_call_seconds` (+ `exchange`) and prom-client's default process metrics.
 *
 * Thousands of pairs tick every period and are scraped every few seconds, so the per-pair
 * families are kept lean: a pair's counts are plain numbers (a tick is an increment and a
 * bucket's), and each series' name with its labels is escaped once, when the pair is added; a
 * scrape writes them in the same text format after the registry's (for 1,000 pairs, some 20,000
 * lines: a few ms this way, tens of ms through a registry's per-line formatting).
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly storeSeconds = new Histogram({
    name: "rxtrade_store_write_seconds",
    help: "Time a store write took to settle (fsync included for fileStore).",
    buckets: STORE_BUCKETS,
    registers: [],
  });
  private readonly exchangeSeconds = new Histogram<"exchange">({
    name: "rxtrade_exchange_call_seconds",
    help: "Time an exchange's getCandles took to answer (a synchronous answer counts its own time).",
    labelNames: ["exchange"],
    buckets: EXCHANGE_BUCKETS,
    registers: [],
  });
  private readonly pairs: PairMetrics[] = [];
  /** Errors that name no pair of the service (`symbol` and `strategy` empty). */
  private unattributed: PairMetrics | undefined;
  private readonly watchedExchanges = new WeakMap<ExchangeSchema, ExchangeSchema>();
  private readonly watchedStores = new WeakMap<SignalStore, SignalStore>();

  private readonly families: PairFamily[];

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const pairs = this.pairs;
    const withUnattributed = () => (this.unattributed === undefined ? pairs : [...pairs, this.unattributed]);
    this.families = [
      family("rxtrade_ticks_total", "counter", "Ticks the pair completed.", pairs, (pair, out) => out(pair.names.ticks, pair.ticks)),
      family("rxtrade_tick_duration_seconds", "histogram", "Wall-clock time of a tick, from its start to its result (performance$).", pairs, (pair, out) => {
        let cumulative = 0;
        pair.durationBuckets.forEach((count, i) => {
          cumulative += count;
          out(pair.names.buckets[i] as string, cumulative);
        });
        out(pair.names.durationSum, pair.durationSum);
        out(pair.names.durationCount, cumulative);
      }),
      family("rxtrade_errors_total", "counter", "Errors reported on error$ (the loop survived them, or ended on one), by error class name.", withUnattributed, (pair, out) => {
        for (const [kind, count] of pair.errors) out(pair.labelled("rxtrade_errors_total", "kind", kind), count);
      }),
      family("rxtrade_position_state", "gauge", "What the pair holds: 0 nothing, 1 a scheduled limit entry, 2 an open position.", pairs, (pair, out) =>
        out(pair.names.position, pair.positionState),
      ),
      family("rxtrade_closed_total", "counter", "Signals closed, by reason (take_profit, stop_loss, time_expired).", pairs, (pair, out) =>
        CLOSE_REASONS.forEach((reason, i) => out(pair.labelled("rxtrade_closed_total", "reason", reason), pair.closedByReason[i] as number)),
      ),
      family("rxtrade_cancelled_total", "counter", "Scheduled entries cancelled before they opened, by reason (timeout, stop_loss).", pairs, (pair, out) => {
        for (const [reason, count] of pair.cancelledByReason) out(pair.labelled("rxtrade_cancelled_total", "reason", reason), count);
      }),
      family(
        "rxtrade_pnl_percent_total",
        "gauge",
        "Sum of the closed signals' PnL in percent (after fees and slippage) since the service started; a gauge: losses lower it.",
        pairs,
        (pair, out) => out(pair.names.pnl, pair.pnlTotal),
      ),
      family("rxtrade_stalled", "gauge", "1 while the pair is stalled (no completed tick for CC_STALL_TICKS tick periods on its clock), else 0.", pairs, (pair, out) =>
        out(pair.names.stalled, pair.isStalled ? 1 : 0),
      ),
      family("rxtrade_last_tick_age_seconds", "gauge", "Time since the pair's last completed tick (since its start before the first), on the pair's own clock.", pairs, (pair, out) =>
        out(pair.names.age, pair.ageSeconds()),
      ),
    ];
    for (const metric of [this.storeSeconds, this.exchangeSeconds]) this.registry.registerMetric(metric as Metric<string>);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `text()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format: the registry's, then the pairs'. */
  async text(): Promise<string> {
    const chunks = [await this.registry.metrics()];
    for (const family of this.families) family.write(chunks);
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

  /** Counts an error that names no pair of the service (`symbol` and `strategy` empty). */
  unattributedError(kind: string): void {
    this.unattributed ??= new PairMetrics("", "", () => 0);
    this.unattributed.error(kind);
  }

  /**
   * `store` with its `write` timed into `rxtrade_store_write_seconds` (every other property
   * reads through; one wrapper per store, so its pairs still share one lock queue).
   */
  watchStore(store: SignalStore): SignalStore {
    let watched = this.watchedStores.get(store);
    if (watched === undefined) {
      const observe = (seconds: number) => this.storeSeconds.observe(seconds);
      watched = Object.create(store, {
        write: { value: (key: string, value: unknown) => timed(() => store.write(key, value), observe) },
      }) as SignalStore;
      this.watchedStores.set(store, watched);
    }
    return watched;
  }

  /** `exchange` with its `getCandles` timed into `rxtrade_exchange_call_seconds{exchange}` (one wrapper per exchange). */
  watchExchange(exchange: ExchangeSchema): ExchangeSchema {
    let watched = this.watchedExchanges.get(exchange);
    if (watched === undefined) {
      const child = this.exchangeSeconds.labels({ exchange: exchange.exchangeName });
      const observe = (seconds: number) => child.observe(seconds);
      watched = Object.create(exchange, {
        getCandles: { value: (...args: Parameters<ExchangeSchema["getCandles"]>) => timed(() => exchange.getCandles(...args), observe) },
      }) as ExchangeSchema;
      this.watchedExchanges.set(exchange, watched);
    }
    return watched;
  }
}

/** One pair's series: plain counts, and each series' name with its labels, escaped once. */
export class PairMetrics {
  ticks = 0;
  /** Non-cumulative counts per bucket of `TICK_BUCKETS`, then +Inf. */
  readonly durationBuckets = new Array<number>(TICK_BUCKETS.length + 1).fill(0);
  durationSum = 0;
  positionState: number = POSITION_STATE.none;
  pnlTotal = 0;
  isStalled = false;
  readonly closedByReason = CLOSE_REASONS.map(() => 0);
  readonly cancelledByReason = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly names: {
    ticks: string;
    buckets: string[];
    durationSum: string;
    durationCount: string;
    position: string;
    pnl: string;
    stalled: string;
    age: string;
  };
  private readonly labels: string;
  private readonly extra = new Map<string, string>();

  constructor(
    readonly symbol: string,
    readonly strategy: string,
    readonly ageSeconds: () => number,
  ) {
    this.labels = `symbol="${escapeLabel(symbol)}",strategy="${escapeLabel(strategy)}"`;
    const series = (name: string) => `${name}{${this.labels}}`;
    this.names = {
      ticks: series("rxtrade_ticks_total"),
      buckets: [...TICK_BUCKETS.map(String), "+Inf"].map((le) => `rxtrade_tick_duration_seconds_bucket{le="${le}",${this.labels}}`),
      durationSum: series("rxtrade_tick_duration_seconds_sum"),
      durationCount: series("rxtrade_tick_duration_seconds_count"),
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

  tick(): void {
    this.ticks++;
  }

  duration(ms: number): void {
    const seconds = ms / 1000;
    let i = 0;
    while (i < TICK_BUCKETS.length && seconds > (TICK_BUCKETS[i] as number)) i++;
    this.durationBuckets[i] = (this.durationBuckets[i] as number) + 1;
    this.durationSum += seconds;
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

/** A per-pair family: its HELP and TYPE, then every pair's lines. */
interface PairFamily {
  write(chunks: string[]): void;
}

function family(
  name: string,
  type: "counter" | "gauge" | "histogram",
  help: string,
  pairs: readonly PairMetrics[] | (() => readonly PairMetrics[]),
  lines: (pair: PairMetrics, out: (series: string, value: number) => void) => void,
): PairFamily {
  const head = `\n# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
  return {
    write(chunks) {
      chunks.push(head);
      const out = (series: string, value: number) => chunks.push(`${series} ${valueText(value)}\n`);
      for (const pair of typeof pairs === "function" ? pairs() : pairs) lines(pair, out);
    },
  };
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

// A call's time to settle: a Promise's until it settles, a plain answer's own; an Observable or
// another thenable is passed on untimed (the engine adopts those itself).
function timed<T>(call: () => T, observe: (seconds: number) => void): T {
  const started = performance.now();
  const value = call();
  if (value instanceof Promise) {
    const done = () => observe((performance.now() - started) / 1000);
    return value.then(
      (settled: unknown) => {
        done();
        return settled;
      },
      (error: unknown) => {
        done();
        throw error;
      },
    ) as T;
  }
  if (value === null || typeof value !== "object" || !("then" in value || "subscribe" in value)) observe((performance.now() - started) / 1000);
  return value;
}
