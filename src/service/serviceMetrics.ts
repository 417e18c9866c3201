import { collectDefaultMetrics, Counter, Gauge, Histogram, type Metric, Registry } from "prom-client";
import type { CloseReason, CancelReason, ExchangeSchema, SignalStore } from "../model";

/** `rxtrade_position_state`: what a pair holds. */
export const POSITION_STATE = { none: 0, scheduled: 1, opened: 2 } as const;

const TICK_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30];
const STORE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30];
const EXCHANGE_BUCKETS = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const CLOSE_REASONS: readonly CloseReason[] = ["take_profit", "stop_loss", "time_expired"];

type PairLabels = "symbol" | "strategy";

/**
 * The service's Prometheus metrics, in a registry of their own (not prom-client's global one,
 * so two services in one process do not collide), with prom-client's default process metrics.
 * Per pair (labels `symbol`, `strategy`): `rxtrade_ticks_total`,
 * `rxtrade_tick_duration_seconds`, `rxtrade_errors_total` (+ `kind`), `rxtrade_position_state`,
 * `rxtrade_closed_total` (+ `reason`), `rxtrade_cancelled_total` (+ `reason`),
 * `rxtrade_pnl_percent_total`, `rxtrade_stalled`, `rxtrade_last_tick_age_seconds`; for the process:
 * `rxtrade_store_write_seconds`, `rxtrade_exchange_call_seconds` (+ `exchange`).
 *
 * A pair's series are bound once (`pair`), so a tick costs a counter increment and a histogram
 * observation; the ages are read only when scraped.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly ticks = new Counter<PairLabels>({ name: "rxtrade_ticks_total", help: "Ticks the pair completed.", labelNames: ["symbol", "strategy"], registers: [] });
  private readonly tickSeconds = new Histogram<PairLabels>({
    name: "rxtrade_tick_duration_seconds",
    help: "Wall-clock time of a tick, from its start to its result (performance$).",
    labelNames: ["symbol", "strategy"],
    buckets: TICK_BUCKETS,
    registers: [],
  });
  private readonly errors = new Counter<PairLabels | "kind">({
    name: "rxtrade_errors_total",
    help: "Errors reported on error$ (the loop survived them, or ended on one), by error class name.",
    labelNames: ["symbol", "strategy", "kind"],
    registers: [],
  });
  private readonly position = new Gauge<PairLabels>({
    name: "rxtrade_position_state",
    help: "What the pair holds: 0 nothing, 1 a scheduled limit entry, 2 an open position.",
    labelNames: ["symbol", "strategy"],
    registers: [],
  });
  private readonly closed = new Counter<PairLabels | "reason">({
    name: "rxtrade_closed_total",
    help: "Signals closed, by reason (take_profit, stop_loss, time_expired).",
    labelNames: ["symbol", "strategy", "reason"],
    registers: [],
  });
  private readonly cancelled = new Counter<PairLabels | "reason">({
    name: "rxtrade_cancelled_total",
    help: "Scheduled entries cancelled before they opened, by reason (timeout, stop_loss).",
    labelNames: ["symbol", "strategy", "reason"],
    registers: [],
  });
  private readonly pnl = new Gauge<PairLabels>({
    name: "rxtrade_pnl_percent_total",
    help: "Sum of the closed signals' PnL in percent (after fees and slippage) since the service started; a gauge: losses lower it.",
    labelNames: ["symbol", "strategy"],
    registers: [],
  });
  private readonly stalled = new Gauge<PairLabels>({
    name: "rxtrade_stalled",
    help: "1 while the pair is stalled (no completed tick for CC_STALL_TICKS tick periods on its clock), else 0.",
    labelNames: ["symbol", "strategy"],
    registers: [],
  });
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
  private readonly watchedExchanges = new WeakMap<ExchangeSchema, ExchangeSchema>();
  private readonly watchedStores = new WeakMap<SignalStore, SignalStore>();

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const pairs = this.pairs;
    const age = new Gauge<PairLabels>({
      name: "rxtrade_last_tick_age_seconds",
      help: "Time since the pair's last completed tick (since its start before the first), on the pair's own clock.",
      labelNames: ["symbol", "strategy"],
      registers: [],
      collect() {
        for (const pair of pairs) this.set(pair.labels, pair.ageSeconds());
      },
    });
    const all: Array<Metric<string>> = [this.ticks, this.tickSeconds, this.errors, this.position, this.closed, this.cancelled, this.pnl, this.stalled, age, this.storeSeconds, this.exchangeSeconds];
    for (const metric of all) this.registry.registerMetric(metric);
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** The Content-Type of `text()`: Prometheus text format 0.0.4. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  /**
   * A pair's series, created at zero (so they are scraped before the first event).
   *
   * @param ageSeconds reads the pair's last-tick age on its own clock, when scraped
   */
  pair(symbol: string, strategy: string, ageSeconds: () => number): PairMetrics {
    const labels = { symbol, strategy };
    const pair = new PairMetrics(
      labels,
      ageSeconds,
      this.ticks.labels(labels),
      this.tickSeconds.labels(labels),
      this.position.labels(labels),
      this.pnl.labels(labels),
      this.stalled.labels(labels),
      this.errors,
      this.closed,
      this.cancelled,
    );
    pair.start();
    this.tickSeconds.zero(labels);
    this.pairs.push(pair);
    return pair;
  }

  /** Counts an error that names no pair of the service (`symbol` and `strategy` empty). */
  unattributedError(kind: string): void {
    this.errors.inc({ symbol: "", strategy: "", kind });
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

/** One pair's bound series. */
export class PairMetrics {
  private readonly errorKinds = new Map<string, { inc(): void }>();
  private positionState = -1;
  private isStalled = false;

  constructor(
    readonly labels: { symbol: string; strategy: string },
    readonly ageSeconds: () => number,
    private readonly ticks: { inc(value?: number): void },
    private readonly tickSeconds: { observe(value: number): void },
    private readonly positionGauge: { set(value: number): void },
    private readonly pnlGauge: { inc(value?: number): void },
    private readonly stalledGauge: { set(value: number): void },
    private readonly errors: Counter<PairLabels | "kind">,
    private readonly closedCounter: Counter<PairLabels | "reason">,
    private readonly cancelledCounter: Counter<PairLabels | "reason">,
  ) {}

  /** @internal the series at zero */
  start(): void {
    this.ticks.inc(0);
    this.pnlGauge.inc(0);
    this.stalledGauge.set(0);
    this.position(POSITION_STATE.none);
    for (const reason of CLOSE_REASONS) this.closedCounter.inc({ ...this.labels, reason }, 0);
  }

  tick(): void {
    this.ticks.inc();
  }

  duration(ms: number): void {
    this.tickSeconds.observe(ms / 1000);
  }

  position(state: number): void {
    if (state === this.positionState) return;
    this.positionState = state;
    this.positionGauge.set(state);
  }

  closed(reason: CloseReason, pnlPercent: number): void {
    this.closedCounter.inc({ ...this.labels, reason });
    this.pnlGauge.inc(pnlPercent);
  }

  cancelled(reason: CancelReason): void {
    this.cancelledCounter.inc({ ...this.labels, reason });
  }

  error(kind: string): void {
    let child = this.errorKinds.get(kind);
    if (child === undefined) {
      child = this.errors.labels({ ...this.labels, kind });
      this.errorKinds.set(kind, child);
    }
    child.inc();
  }

  stalled(stalled: boolean): void {
    if (stalled === this.isStalled) return;
    this.isStalled = stalled;
    this.stalledGauge.set(stalled ? 1 : 0);
  }
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
