import type { Logger } from "pino";
import type { Observable, SchedulerLike } from "rxjs";
import type { Config } from "../config";
import type { Journal, JournalLevel } from "../journal";
import type { LiveStatistics } from "../live/liveStatistics";
import type { ExchangeSchema, SignalRow, SignalStore, StrategySchema, TickResult } from "../model";
import type { ServiceRouter } from "./serviceHttp";
import type { POSITION_STATE } from "./serviceMetrics";
import type { WebhookNotifier } from "./notify";

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
  /**
   * Serve `/metrics`, `/health`, `/api/pairs`, the dashboard (`/`) and its events
   * (`/api/events`) there; default no HTTP. Port 0: a free port (see `Service.url`).
   */
  http?: ServiceHttpOptions;
  /** JSON lines; default `serviceLogger()` (stdout, level info); `false`: no logs. */
  logger?: Logger | false;
  /** The Prometheus metrics; default on. */
  metrics?: boolean;
  /** prom-client's default process metrics beside rxtrade's; default on. */
  defaultMetrics?: boolean;
  /**
   * Webhooks for the service's events (`webhookNotifier`), attached before any pair starts,
   * with the service's logger and metrics; `await notify.close()` after `done` for the last ones.
   */
  notify?: WebhookNotifier;
}

/** Where and how a service serves HTTP (`ServiceOptions.http`). */
export interface ServiceHttpOptions {
  host: string;
  port: number;
  /**
   * Enables `POST /api/drain` and `POST /api/pairs/<pair id>/drain` (and the dashboard's drain
   * buttons) for requests with `Authorization: Bearer <token>`; without it they answer 403.
   */
  token?: string;
  /** ms between the heartbeat comments of `/api/events`; default 15 000. */
  heartbeatMs?: number;
  /** Bytes an `/api/events` client may leave waiting before it is dropped; default 1 MiB. */
  eventBufferBytes?: number;
  /** `/api/events` clients at most at once; one more is answered 503; default 100. */
  maxEventClients?: number;
  /**
   * Host names (or addresses) requests may name in their `Host` header besides the bound
   * address and the loopback names (`localhost`, `127.0.0.1`, `[::1]`): e.g. the name a proxy
   * or a Kubernetes Service reaches it by. Another Host is answered 403 — a page of another
   * site that a DNS rebinding points at this server cannot read `/api/*`. A server bound to a
   * wildcard address (`0.0.0.0`, `::`) takes any Host unless this is given.
   */
  allowedHosts?: readonly string[];
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
  /** The price move from the last price to take profit, percent of the last price (+ up, - down): `(priceTakeProfit - price) / price x 100`. */
  toTakeProfitPercent: number;
  /** The same to stop loss: `(priceStopLoss - price) / price x 100` (negative for a long). */
  toStopLossPercent: number;
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
  /**
   * The equity curve of the last 1,000 closes (`EQUITY_POINTS`), oldest first: `[close time
   * (epoch ms), sum of the closed PnL % up to it since the service started]`. Left out by
   * `list({ equity: false })` and `/api/pairs?equity=false`.
   */
  equity?: Array<[number, number]>;
  /** Why a failed pair ended. */
  error?: { kind: string; message: string };
}

/** What `/health` answers: healthy while no pair is stalled or failed (a drain is healthy). */
export interface ServiceHealth {
  /** `starting` (503) until every pair's loop has started (they start in batches of 10, the server answering between them). */
  status: "ok" | "unhealthy" | "starting";
  /** While `starting`: the pairs started so far. */
  started?: number;
  draining: boolean;
  pairs: number;
  /** Stalled pairs, and those that recovered less than a tick period ago (with `recoveredAt`): a short stall is not missed by a probe. */
  stalled: Array<{ id: string; lastTickAt: string | null; lastTickAgeSeconds: number; stallLimitSeconds: number; recoveredAt?: string }>;
  failed: Array<{ id: string; kind: string; message: string }>;
}

/** The fields every event of a pair has (and each of its log lines). */
export interface PairFields {
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
  /** Every pair, in the order given; `equity: false` leaves out their equity curves. */
  list(options?: { equity?: boolean }): PairSnapshot[];
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
