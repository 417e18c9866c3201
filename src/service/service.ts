import type { Logger } from "pino";
import { type Observable, type SchedulerLike, Subject, type Subscription } from "rxjs";
import type { Config } from "../config";
import { error$ } from "../events";
import type { Journal, JournalLevel } from "../journal";
import { type LiveStatistics, LiveStatisticsCollector } from "../live/liveStatistics";
import { tradeLoop$ } from "../liveTrade";
import type { ExchangeSchema, SignalRow, SignalStore, StrategySchema, TickResult } from "../model";
import { batchedScheduler } from "../schedulers/batchedScheduler";
import { tradeContext } from "../tradeContext";
import { duplicatePairProblems, ServiceConfigError, type ServiceFileProblem } from "./serviceFile";
import { listen, type ServiceRouter, type ServiceServer } from "./serviceHttp";
import { serviceLogger } from "./serviceLogger";
import { type PairMetrics, POSITION_STATE, ServiceMetrics } from "./serviceMetrics";
import { serviceRouter } from "./serviceRoutes";

/** One pair of a service: a strategy on a symbol, on an exchange. */
export interface ServicePair {
  symbol: string;
  strategy: StrategySchema;
  exchange: ExchangeSchema;
  /** ms between ticks; default 60 001. */
  tickMs?: number;
  /** Config overrides for this pair, e.g. `{ CC_STALL_TICKS: 3 }`. */
  config?: Partial<Config>;
  /** The pair's clock; default the service's `scheduler`. */
  scheduler?: SchedulerLike;
}

/** Options of `startService`. */
export interface ServiceOptions {
  pairs: readonly ServicePair[];
  /** Where open signals are kept, e.g. `fileStore("./.rxtrade")`. */
  store: SignalStore;
  /** Where the pairs journal their trades, e.g. `fileJournal(store)`; default none. */
  journal?: Journal;
  /** Default `trades` with a journal. */
  journalLevel?: JournalLevel;
  /** Every pair's clock unless a pair has its own; default one `batchedScheduler()` (real time) for all. */
  scheduler?: SchedulerLike;
  /** Serve `/metrics`, `/health` and `/api/pairs` there; default no HTTP. Port 0: a free port (see `Service.url`). */
  http?: { host: string; port: number };
  /** JSON lines; default `serviceLogger()` (stdout, level info); `false`: no logs. */
  logger?: Logger | false;
  /** The Prometheus metrics; default on. */
  metrics?: boolean;
  /** prom-client's default process metrics beside rxtrade's; default on. */
  defaultMetrics?: boolean;
}

/** `running`; `stalled`: running, but no completed tick for CC_STALL_TICKS tick periods on its clock; `done`: drained; `failed`: its loop ended with an error. */
export type PairStatus = "running" | "stalled" | "done" | "failed";

/** The signal a pair holds, as `/api/pairs` shows it. */
export interface HeldSignal {
  id: string;
  status: "scheduled" | "opened";
  position: SignalRow["position"];
  priceOpen: number;
  priceTakeProfit: number;
  priceStopLoss: number;
  minuteEstimatedTime: number;
  note: string;
  scheduledAt: string;
  pendingAt: string;
  /** Progress from the entry towards take profit and stop loss, percent (0 at entry, 100 there); an opened signal's, after its first active tick. */
  percentTp?: number;
  percentSl?: number;
}

/** A pair as `Service.list()` and `/api/pairs` show it; times are the pair's clock's, ISO 8601. */
export interface PairSnapshot {
  id: string;
  symbol: string;
  strategy: string;
  exchange: string;
  tickMs: number;
  status: PairStatus;
  /** A drain was requested: no new signal; what is held runs to its close. */
  draining: boolean;
  lastTickAt: string | null;
  lastTickAgeSeconds: number;
  stallLimitSeconds: number;
  /** The last tick's price. */
  price: number | null;
  position: keyof typeof POSITION_STATE;
  signal: HeldSignal | null;
  /** Of the signals this process closed (a journal holds every run's: `rxtrade report`). */
  statistics: Omit<LiveStatistics, "eventList" | "totalEvents">;
  /** Why a failed pair ended. */
  error?: { kind: string; message: string };
}

/** What `/health` answers: healthy while no pair is stalled or failed (a drain is healthy). */
export interface ServiceHealth {
  status: "ok" | "unhealthy";
  draining: boolean;
  pairs: number;
  stalled: Array<{ id: string; lastTickAt: string | null; lastTickAgeSeconds: number; stallLimitSeconds: number }>;
  failed: Array<{ id: string; kind: string; message: string }>;
}

interface PairFields {
  /** `<symbol>:<strategyName>` */
  pair: string;
  symbol: string;
  strategy: string;
}

/**
 * What happens in a service, once each (never per tick): trades, errors, stalls and
 * recoveries, drains and ends. The logs are written from these; more listeners (a live page,
 * webhooks) subscribe to `Service.events$`.
 */
export type ServiceEvent =
  | (PairFields & { kind: "scheduled" | "opened" | "closed" | "cancelled"; at: number; result: TickResult })
  | (PairFields & { kind: "stalled"; at: number; lastTickAt: number | null; stallLimitMs: number; message: string })
  | (PairFields & { kind: "recovered"; at: number })
  | (PairFields & { kind: "draining"; at: number })
  | (PairFields & { kind: "done"; at: number })
  | (PairFields & { kind: "failed"; at: number; error: Error })
  | (Partial<PairFields> & { kind: "error"; at: number; error: Error })
  | { kind: "stopping"; reason: string };

/** How a service ended: 0 when every pair drained gracefully, 1 when one failed. */
export interface ServiceEnd {
  code: 0 | 1;
  /** The ids of the pairs that failed. */
  failed: string[];
}

/** A running service (see `startService`). */
export interface Service {
  /** Where its HTTP server listens, e.g. `http://127.0.0.1:9464`; `undefined` without `http`. */
  readonly url: string | undefined;
  readonly events$: Observable<ServiceEvent>;
  /** Every pair, in the order given. */
  list(): PairSnapshot[];
  health(): ServiceHealth;
  /** The Prometheus text of `/metrics` (rejects when the service runs without metrics). */
  metrics(): Promise<string>;
  /** Requests one pair's graceful stop; `false` for an unknown id or a pair that has ended. */
  drain(id: string): boolean;
  /** Requests every pair's graceful stop (what SIGTERM does); `reason` goes to the log. */
  drainAll(reason: string): void;
  readonly draining: boolean;
  /** The routes of its HTTP server (more can be added). */
  readonly router: ServiceRouter;
  /** Resolves once every pair has ended and the HTTP server is closed. */
  readonly done: Promise<ServiceEnd>;
}

/** Errors after which the tick still delivers its result (the strategy's are an idle tick). */
const TICK_GOES_ON = new Set(["StrategyError", "InvalidSignalError", "StreamStalledError", "JournalError"]);

// The statistics keep running sums; their event list is not served (1 row, the least it takes).
const STATISTICS_EVENTS = 1;

/** One pair's loop and what the service knows of it. */
class PairRuntime implements PairFields {
  readonly pair: string;
  readonly strategy: string;
  readonly exchange: string;
  status: PairStatus = "running";
  draining = false;
  /** The stall watch said so (`LoopHooks.onHealth`). */
  hookStalled = false;
  lastTickAt: number | null = null;
  last: TickResult | undefined;
  error: Error | undefined;
  readonly startedAt: number;
  readonly stats = new LiveStatisticsCollector(STATISTICS_EVENTS);
  readonly stop$ = new Subject<void>();
  subscription: Subscription | undefined;
  metrics: PairMetrics | undefined;
  log: Logger | undefined;

  constructor(
    readonly symbol: string,
    strategyName: string,
    exchangeName: string,
    readonly tickMs: number,
    readonly scheduler: SchedulerLike,
    readonly stallMs: number,
  ) {
    this.pair = `${symbol}:${strategyName}`;
    this.strategy = strategyName;
    this.exchange = exchangeName;
    this.startedAt = scheduler.now();
  }

  get ended(): boolean {
    return this.status === "done" || this.status === "failed";
  }

  ageMs(): number {
    return Math.max(0, this.scheduler.now() - (this.lastTickAt ?? this.startedAt));
  }

  /** Stalled by the stall watch, or by the age of its last tick on its own clock (whichever says so first). */
  isStalled(): boolean {
    return !this.ended && (this.hookStalled || this.ageMs() >= this.stallMs);
  }

  currentStatus(): PairStatus {
    return this.isStalled() ? "stalled" : this.status;
  }

  fields(): PairFields {
    return { pair: this.pair, symbol: this.symbol, strategy: this.strategy };
  }
}

/**
 * Runs many pairs in one process as a service: each pair's live loop (the engine's, with its
 * stall watch) on its own clock, Prometheus metrics, JSON-line logs of every state change and
 * error, and an optional HTTP server with `GET /metrics`, `GET /health` (200 while no pair is
 * stalled or failed, else 503 naming them) and `GET /api/pairs`. `drainAll` (SIGTERM, through
 * `drainOnSignals`) stops every pair gracefully; `done` resolves once all have ended.
 *
 * The pairs are checked first — each problem named with its pair (a duplicate id
 * `<symbol>:<strategyName>`, a bad `tickMs` or config): a `ServiceConfigError`. The HTTP
 * server is bound next (an address in use rejects) and the pairs start after it.
 *
 * @example
 * import { fileJournal, fileStore } from "rxtrade/node";
 * import { drainOnSignals, startService } from "rxtrade/service";
 * const store = fileStore("./.rxtrade");
 * const service = await startService({
 *   pairs: [{ symbol: "BTCUSDT", strategy, exchange }],
 *   store,
 *   journal: fileJournal(store),
 *   http: { host: "127.0.0.1", port: 9464 },
 * });
 * drainOnSignals(service);
 * process.exitCode = (await service.done).code;
 *
 * @param options the pairs, their store and journal, the clock, HTTP, logger and metrics
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { pairs: specs } = options;
  if (!Array.isArray(specs) || specs.length === 0) {
    throw new ServiceConfigError([{ field: "pairs", message: "must be a non-empty list of { symbol, strategy, exchange, tickMs?, config? }" }]);
  }
  const defaultScheduler = options.scheduler ?? batchedScheduler();
  const metrics = options.metrics === false ? undefined : new ServiceMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const logger = options.logger === false ? undefined : (options.logger ?? serviceLogger());
  const store = metrics?.watchStore(options.store) ?? options.store;

  // Every pair checked before anything starts: its context is what its loop will be built with.
  const problems: ServiceFileProblem[] = [];
  const pairs: PairRuntime[] = [];
  const ids: Array<{ index: number; symbol: string; strategyName: string }> = [];
  specs.forEach((spec, index) => {
    const scheduler = spec.scheduler ?? defaultScheduler;
    try {
      const context = tradeContext(spec.symbol, spec.strategy, {
        exchange: spec.exchange,
        scheduler,
        ...(spec.tickMs === undefined ? {} : { tickMs: spec.tickMs }),
        ...(spec.config === undefined ? {} : { config: spec.config }),
      });
      pairs.push(new PairRuntime(spec.symbol, context.identity.strategyName, context.identity.exchangeName, context.tickMs, scheduler, context.limits.stallMs));
      ids.push({ index, symbol: spec.symbol, strategyName: context.identity.strategyName });
    } catch (error) {
      problems.push({ index, ...(typeof spec?.symbol === "string" ? { symbol: spec.symbol } : {}), field: "(pair)", message: String((error as Error)?.message ?? error).replace(/^rxtrade: /, "") });
    }
  });
  problems.push(...duplicatePairProblems(ids));
  if (problems.length > 0) throw new ServiceConfigError(problems);
  const byId = new Map(pairs.map((pair) => [pair.pair, pair]));
  for (const pair of pairs) {
    pair.log = logger?.child(pair.fields());
    pair.metrics = metrics?.pair(pair.symbol, pair.strategy, () => pair.ageMs() / 1000);
  }

  const events = new Subject<ServiceEvent>();
  let draining = false;
  let server: ServiceServer | undefined;

  const announce = (event: ServiceEvent, pair?: PairRuntime) => {
    if (logger !== undefined) logEvent(pair?.log ?? logger, event);
    if (events.observed) events.next(event);
  };

  const service: Service = {
    get url() {
      return server?.url;
    },
    events$: events.asObservable(),
    list: () => pairs.map(snapshot),
    health: () => health(pairs, draining),
    metrics: () => (metrics === undefined ? Promise.reject(new Error("rxtrade: this service runs without metrics (metrics: false)")) : metrics.text()),
    drain(id) {
      const pair = byId.get(id);
      if (pair === undefined || pair.ended) return false;
      if (!pair.draining) {
        pair.draining = true;
        announce({ kind: "draining", at: pair.scheduler.now(), ...pair.fields() }, pair);
        pair.stop$.next();
      }
      return true;
    },
    drainAll(reason) {
      if (!draining) {
        draining = true;
        announce({ kind: "stopping", reason });
      }
      for (const pair of pairs) service.drain(pair.pair);
    },
    get draining() {
      return draining;
    },
    router: serviceRouter(() => service, metrics),
    done: undefined as unknown as Promise<ServiceEnd>,
  };

  if (options.http !== undefined) {
    server = await listen(service.router, options.http.host, options.http.port);
    logger?.info({ url: server.url, host: server.host, port: server.port, routes: ["/metrics", "/health", "/api/pairs"] }, "listening");
  }

  // The engine's events, routed to the pairs by key: one subscription each for the whole service.
  const listeners: Subscription[] = [];
  listeners.push(
    error$.subscribe((error) => {
      // Errors name their stream by symbol and strategy, the store's and the journal's by key.
      const { symbol, strategyName, key } = error as { symbol?: string; strategyName?: string; key?: unknown };
      const id = symbol !== undefined && strategyName !== undefined ? `${symbol}:${strategyName}` : typeof key === "string" ? key : undefined;
      const pair = id === undefined ? undefined : byId.get(id);
      if (pair === undefined && id !== undefined) return; // another stream of this process
      const kind = error.name || "Error";
      if (pair === undefined) metrics?.unattributedError(kind);
      else {
        pair.metrics?.error(kind);
        // A tick with these errors still ends in a result (an idle one); the others end the
        // attempt, and the next price request starts the next tick.
        if (!TICK_GOES_ON.has(kind)) pair.metrics?.attemptFailed();
      }
      // A stall is announced by its own event (the stall watch's hook, right after this).
      if (kind === "StreamStalledError") return;
      announce({ kind: "error", at: pair?.scheduler.now() ?? Date.now(), ...(pair === undefined ? {} : pair.fields()), error }, pair);
    }),
  );
  let ended!: () => void;
  const allEnded = new Promise<void>((resolve) => (ended = resolve));
  let running = pairs.length;
  const end = (pair: PairRuntime, status: "done" | "failed", error?: Error) => {
    if (pair.ended) return;
    pair.status = status;
    pair.hookStalled = false;
    pair.metrics?.stalled(false);
    if (status === "failed") {
      pair.error = error;
      announce({ kind: "failed", at: pair.scheduler.now(), ...pair.fields(), error: error as Error }, pair);
    } else announce({ kind: "done", at: pair.scheduler.now(), ...pair.fields() }, pair);
    if (--running === 0) ended();
  };

  logger?.info({ pairs: pairs.length, ids: pairs.length <= 20 ? pairs.map((pair) => pair.pair) : undefined }, "started");
  for (const [index, pair] of pairs.entries()) {
    const spec = specs[index] as ServicePair;
    const exchange = pair.metrics === undefined ? spec.exchange : (metrics as ServiceMetrics).watchExchange(spec.exchange, pair.metrics);
    const loop$ = tradeLoop$(
      pair.symbol,
      spec.strategy,
      {
        exchange,
        store,
        scheduler: pair.scheduler,
        tickMs: pair.tickMs,
        stop$: pair.stop$,
        ...(spec.config === undefined ? {} : { config: spec.config }),
        ...(options.journal === undefined ? {} : { journal: options.journal }),
        ...(options.journalLevel === undefined ? {} : { journalLevel: options.journalLevel }),
      },
      {
        onHealth: (stalled) => {
          if (pair.ended || pair.hookStalled === stalled) return;
          pair.hookStalled = stalled;
          pair.metrics?.stalled(stalled);
          const at = pair.scheduler.now();
          if (stalled) {
            const message = `no completed tick for ${seconds(pair.ageMs())} s on its clock (the limit: CC_STALL_TICKS x tickMs = ${seconds(pair.stallMs)} s)`;
            announce({ kind: "stalled", at, ...pair.fields(), lastTickAt: pair.lastTickAt, stallLimitMs: pair.stallMs, message }, pair);
          } else announce({ kind: "recovered", at, ...pair.fields() }, pair);
        },
      },
    );
    pair.subscription = loop$.subscribe({
      next: (result) => record(pair, result, announce),
      complete: () => end(pair, "done"),
      error: (error: unknown) => end(pair, "failed", error instanceof Error ? error : new Error(String(error))),
    });
  }

  (service as { done: Promise<ServiceEnd> }).done = (async () => {
    await allEnded;
    for (const listener of listeners) listener.unsubscribe();
    await server?.close();
    const failed = pairs.filter((pair) => pair.status === "failed").map((pair) => pair.pair);
    const code = failed.length > 0 ? 1 : 0;
    logger?.info({ code, failed }, "stopped");
    events.complete();
    return { code, failed };
  })();
  return service;
}

// The tick path: one call per completed tick of every pair.
function record(pair: PairRuntime, result: TickResult, announce: (event: ServiceEvent, pair: PairRuntime) => void): void {
  pair.lastTickAt = pair.scheduler.now();
  pair.last = result;
  pair.stats.record(result);
  const metrics = pair.metrics;
  metrics?.tick();
  switch (result.action) {
    case "idle":
      metrics?.position(POSITION_STATE.none);
      return;
    case "active":
      metrics?.position(POSITION_STATE.opened);
      return;
    case "scheduled":
      metrics?.position(POSITION_STATE.scheduled);
      // Every tick of a waiting limit entry is `scheduled`: the first one is the change.
      if (result.timestamp !== result.signal.scheduledAt) return;
      break;
    case "opened":
      metrics?.position(POSITION_STATE.opened);
      break;
    case "closed":
      metrics?.position(POSITION_STATE.none);
      metrics?.closed(result.closeReason, result.pnl.pnlPercentage);
      break;
    case "cancelled":
      metrics?.position(POSITION_STATE.none);
      metrics?.cancelled(result.cancelReason);
      break;
  }
  announce({ kind: result.action, at: result.timestamp, ...pair.fields(), result }, pair);
}

function logEvent(log: Logger, event: ServiceEvent): void {
  switch (event.kind) {
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled": {
      const { result } = event;
      const signal = result.signal as SignalRow;
      log.info(
        {
          action: event.kind,
          at: iso(event.at),
          signalId: signal.id,
          position: signal.position,
          price: result.currentPrice,
          priceOpen: signal.priceOpen,
          priceTakeProfit: signal.priceTakeProfit,
          priceStopLoss: signal.priceStopLoss,
          ...(result.action === "closed" ? { reason: result.closeReason, pnlPercent: round(result.pnl.pnlPercentage), priceClose: result.pnl.priceClose } : {}),
          ...(result.action === "cancelled" ? { reason: result.cancelReason } : {}),
          ...(result.action === "opened" || result.action === "scheduled" ? { minuteEstimatedTime: signal.minuteEstimatedTime } : {}),
        },
        event.kind,
      );
      return;
    }
    case "error":
      log.warn({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "error");
      return;
    case "stalled":
      log.warn({ at: iso(event.at), kind: "StreamStalledError", lastTickAt: event.lastTickAt === null ? null : iso(event.lastTickAt), stallLimitSeconds: event.stallLimitMs / 1000, error: event.message }, "stalled");
      return;
    case "recovered":
      log.info({ at: iso(event.at) }, "recovered");
      return;
    case "draining":
      log.info({ at: iso(event.at) }, "draining");
      return;
    case "done":
      log.info({ at: iso(event.at) }, "done");
      return;
    case "failed":
      log.error({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "failed");
      return;
    case "stopping":
      log.info({ reason: event.reason }, "stopping");
      return;
  }
}

function snapshot(pair: PairRuntime): PairSnapshot {
  const { eventList: _events, totalEvents: _count, ...statistics } = pair.stats.snapshot();
  const last = pair.last;
  const held = last !== undefined && (last.action === "scheduled" || last.action === "opened" || last.action === "active") ? last : undefined;
  return {
    id: pair.pair,
    symbol: pair.symbol,
    strategy: pair.strategy,
    exchange: pair.exchange,
    tickMs: pair.tickMs,
    status: pair.currentStatus(),
    draining: pair.draining,
    lastTickAt: pair.lastTickAt === null ? null : iso(pair.lastTickAt),
    lastTickAgeSeconds: pair.ageMs() / 1000,
    stallLimitSeconds: pair.stallMs / 1000,
    price: last?.currentPrice ?? null,
    position: held === undefined ? "none" : held.action === "scheduled" ? "scheduled" : "opened",
    signal: held === undefined ? null : heldSignal(held),
    statistics,
    ...(pair.error === undefined ? {} : { error: { kind: pair.error.name, message: pair.error.message } }),
  };
}

function heldSignal(result: Extract<TickResult, { action: "scheduled" | "opened" | "active" }>): HeldSignal {
  const { signal } = result;
  return {
    id: signal.id,
    status: result.action === "scheduled" ? "scheduled" : "opened",
    position: signal.position,
    priceOpen: signal.priceOpen,
    priceTakeProfit: signal.priceTakeProfit,
    priceStopLoss: signal.priceStopLoss,
    minuteEstimatedTime: signal.minuteEstimatedTime,
    note: signal.note,
    scheduledAt: iso(signal.scheduledAt),
    pendingAt: iso(signal.pendingAt),
    ...(result.action === "active" ? { percentTp: result.percentTp, percentSl: result.percentSl } : {}),
  };
}

function health(pairs: readonly PairRuntime[], draining: boolean): ServiceHealth {
  const stalled: ServiceHealth["stalled"] = [];
  const failed: ServiceHealth["failed"] = [];
  for (const pair of pairs) {
    if (pair.status === "failed") failed.push({ id: pair.pair, kind: pair.error?.name ?? "Error", message: pair.error?.message ?? "" });
    else if (pair.isStalled()) {
      stalled.push({ id: pair.pair, lastTickAt: pair.lastTickAt === null ? null : iso(pair.lastTickAt), lastTickAgeSeconds: pair.ageMs() / 1000, stallLimitSeconds: pair.stallMs / 1000 });
    }
  }
  return { status: stalled.length === 0 && failed.length === 0 ? "ok" : "unhealthy", draining, pairs: pairs.length, stalled, failed };
}

function iso(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms);
}

function seconds(ms: number): string {
  return String(Math.round(ms / 100) / 10);
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
