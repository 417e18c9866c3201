import type { Logger } from "pino";
import { Subject, type Subscription } from "rxjs";
import { ArgumentRangeError } from "../errors";
import { error$ } from "../events";
import { tradeLoop$ } from "../liveTrade";
import { batchedScheduler } from "../schedulers/batchedScheduler";
import { tradeContext } from "../tradeContext";
import { PairRuntime, record, TICK_GOES_ON } from "./pairRuntime";
import { duplicatePairProblems, ServiceConfigError, type ServiceFileProblem } from "./serviceFile";
import { listen, type ServiceServer } from "./serviceHttp";
import { logEvent } from "./serviceLog";
import { ServiceEventStream } from "./serviceEventStream";
import { directInfoLines, serviceLogger } from "./serviceLogger";
import { ServiceMetrics } from "./serviceMetrics";
import { serviceRouter } from "./serviceRoutes";
import type { Service, ServiceEnd, ServiceEvent, ServiceHttpOptions, ServiceOptions, ServicePair } from "./serviceTypes";
import { health, snapshot, stallMessage } from "./serviceViews";

/** Pairs started per macrotask at the start (the HTTP server answers between batches). */
const START_BATCH = 10;

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
    pair.directLog = logger === undefined ? undefined : directInfoLines(logger, pair.log as Logger, { pair: pair.pair, symbol: pair.symbol, strategy: pair.strategy });
    pair.metrics = metrics?.pair(pair.symbol, pair.strategy, () => (pair.ended ? undefined : pair.ageMs() / 1000));
  }

  const events = new Subject<ServiceEvent>();
  let draining = false;
  let starting = true;
  let server: ServiceServer | undefined;
  const http = options.http === undefined ? undefined : checkHttp(options.http);
  // With HTTP, the live events for /api/events (and the dashboard): one subscriber to events$.
  const stream =
    http === undefined
      ? undefined
      : new ServiceEventStream(events, {
          ...(http.heartbeatMs === undefined ? {} : { heartbeatMs: http.heartbeatMs }),
          ...(http.eventBufferBytes === undefined ? {} : { bufferBytes: http.eventBufferBytes }),
          ...(http.maxEventClients === undefined ? {} : { maxClients: http.maxEventClients }),
          onDropped: ({ remote, bufferedBytes, limitBytes }) =>
            logger?.warn({ remote, bufferedBytes, limitBytes }, "events client dropped: it did not take its events (more than the buffer waiting); it may reconnect"),
        });
  if (stream !== undefined) metrics?.watchEventStream(stream);

  const announce = (event: ServiceEvent, pair?: PairRuntime) => {
    if (logger !== undefined) logEvent(pair?.log ?? logger, event, pair?.directLog);
    if (events.observed) events.next(event);
  };

  const service: Service = {
    get url() {
      return server?.url;
    },
    events$: events.asObservable(),
    list: (options) => pairs.map((pair) => snapshot(pair, options?.equity !== false)),
    health: () => health(pairs, draining, starting),
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
    router: serviceRouter(() => service, metrics, {
      ...(stream === undefined ? {} : { events: stream }),
      ...(http?.token === undefined ? {} : { token: http.token }),
    }),
    done: undefined as unknown as Promise<ServiceEnd>,
  };

  if (http !== undefined) {
    try {
      server = await listen(service.router, http.host, http.port, http.allowedHosts);
    } catch (error) {
      stream?.close();
      throw error;
    }
    const routes = [...(metrics === undefined ? [] : ["/metrics"]), "/health", "/api/pairs", "/", "/api/events", "POST /api/drain", "POST /api/pairs/<pair id>/drain"];
    logger?.info({ url: server.url, host: server.host, port: server.port, routes, drain: http.token === undefined ? "off (no token)" : "on (token)" }, "listening");
  }

  options.notify?.attach(events, { logger: logger ?? false, ...(metrics === undefined ? {} : { registry: metrics.registry }) });

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

  // Stalled when the engine's stall watch says so or, on a paced clock, the wall-time watch
  // below; announced once per change of the two together.
  const setHealth = (pair: PairRuntime, source: "engine" | "wall", stalled: boolean) => {
    if (pair.ended) return;
    if (source === "engine") pair.engineStalled = stalled;
    else pair.wallStalled = stalled;
    const now = pair.engineStalled || pair.wallStalled;
    if (pair.hookStalled === now) return;
    pair.hookStalled = now;
    pair.metrics?.stalled(now);
    const at = pair.scheduler.now();
    if (now) {
      const message = stallMessage(pair.ageMs(), pair.stallMs, pair.tickMs, pair.wallScale);
      announce({ kind: "stalled", at, ...pair.fields(), lastTickAt: pair.lastTickAt, stallLimitMs: pair.stallMs, message }, pair);
    } else {
      pair.recoveredAt = at;
      pair.recoveredAtWall = performance.now();
      announce({ kind: "recovered", at, ...pair.fields() }, pair);
    }
  };
  // A paced clock (--speed) does not move while a call of its pair is in flight, and the
  // engine's stall watch looks on the clock's ticks: a hung exchange would be seen only once
  // the call's own time limit gave up (30 s). The service looks at the wall time since each
  // paced pair's last completed tick (scaled), a few times per stall limit.
  const paced = pairs.filter((pair) => pair.wallScale !== undefined);
  const wallWatch =
    paced.length === 0
      ? undefined
      : setInterval(
          () => {
            for (const pair of paced) if (pair.started && !pair.ended) setHealth(pair, "wall", pair.ageMs() >= pair.stallMs);
          },
          Math.min(250, Math.max(20, Math.min(...paced.map((pair) => pair.stallMs / (pair.wallScale as number))) / 10)),
        );
  wallWatch?.unref();

  logger?.info({ pairs: pairs.length, ids: pairs.length <= 20 ? pairs.map((pair) => pair.pair) : undefined }, "started");
  // The pairs start in batches, a macrotask each: a thousand loops' first steps (store locks and
  // reads, contexts) took seconds in one go, and the HTTP server answered nothing meanwhile.
  // Until the last one has started, /health answers 503 "starting" at once.
  void (async () => {
    for (const [index, pair] of pairs.entries()) {
      if (index > 0 && index % START_BATCH === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      startPair(index, pair);
    }
    starting = false;
  })();
  function startPair(index: number, pair: PairRuntime): void {
    pair.started = true;
    pair.lastTickWall = performance.now();
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
        onHealth: (stalled) => setHealth(pair, "engine", stalled),
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
    if (wallWatch !== undefined) clearInterval(wallWatch);
    for (const listener of listeners) listener.unsubscribe();
    // The last events (each pair's done) go out before the streams end and the server closes.
    stream?.close();
    await server?.close();
    const failed = pairs.filter((pair) => pair.status === "failed").map((pair) => pair.pair);
    const code = failed.length > 0 ? 1 : 0;
    logger?.info({ code, failed }, "stopped");
    events.complete();
    return { code, failed };
  })();
  return service;
}

// The http option's token: it goes in an Authorization header, so visible characters only.
function checkHttp(http: ServiceHttpOptions): ServiceHttpOptions {
  const { token } = http;
  if (token !== undefined && !(typeof token === "string" && /^[\x21-\x7e]+$/.test(token))) {
    const shown = typeof token === "string" ? `${token.length} characters` : typeof token;
    throw new ArgumentRangeError(`http.token (${shown}) must be a non-empty string of visible ASCII characters, no spaces, e.g. from openssl rand -hex 24; leave it out to keep the drain routes off`, {
      argument: "options.http.token",
      value: "(hidden)",
    });
  }
  return http;
}
