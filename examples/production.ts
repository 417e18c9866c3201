// The deployment pattern: one process runs several symbol/strategy pairs in the background,
// logs every trade and error as a JSON line, answers GET (and HEAD) /health, and on SIGTERM (or
// Ctrl-C) stops every pair gracefully — no new signals, open ones run to their close — and exits
// 0 once all have ended. Open signals live in a file store, so a restart resumes them.
//
//   npx tsx examples/production.ts                              # binance, real time (ccxt, network)
//   RXTRADE_EXCHANGE=replay npx tsx examples/production.ts      # offline: bundled candles, fast clock
//   curl -s localhost:8080/health
//
// Environment: PORT (8080; 0 picks a free port), HOST (127.0.0.1; 0.0.0.0 in a container),
// RXTRADE_EXCHANGE (a ccxt id, default binance; "replay" for the bundled BTCUSDT minutes),
// RXTRADE_SPEED (replay only: simulated minutes per second, default 60), RXTRADE_STORE (the
// store's directory; default ./.rxtrade, ./.rxtrade-replay for the replay), RXTRADE_REPORTS
// (where the Markdown reports go on exit, default ./dump/live).
//
// Give the process a stop grace period longer than your longest signal lifetime (Kubernetes:
// terminationGracePeriodSeconds), or accept that a kill leaves positions in the store: they
// resume on the next start.
import { realpathSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import { pathToFileURL } from "node:url";
import type { SchedulerLike } from "rxjs";
import {
  acceleratedScheduler,
  addExchange,
  addStrategy,
  type ExchangeSchema,
  Live,
  listenDoneLive,
  listenError,
  listenExit,
  listenSignalLive,
  replayExchange,
  type SignalStore,
  type StrategySchema,
} from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileStore } from "rxtrade/node";
import { breakoutStrategy } from "./strategies/breakout";
import { maCrossStrategy } from "./strategies/maCross";

export interface ProductionOptions {
  /** The exchange every pair trades on (one store per exchange). */
  exchange: ExchangeSchema;
  /** The pairs: one loop per symbol and strategy name. */
  pairs: ReadonlyArray<{ symbol: string; strategy: StrategySchema }>;
  store: SignalStore;
  /** The loops' clock; default real time. A replay passes its accelerated scheduler. */
  scheduler?: SchedulerLike;
  /** Default 8080; 0 picks a free port (see `Production.port`). */
  port?: number;
  host?: string;
  /** Where each pair's Markdown report is written once it has stopped. Default ./dump/live. */
  reportDir?: string;
  /** One JSON object per event. Default: a line on stdout. */
  log?: (entry: Record<string, unknown>) => void;
}

export interface Production {
  /** The port /health listens on. */
  port: number;
  /** Requests the graceful stop of every pair (what SIGTERM does). */
  stop(reason: string): void;
  /** Resolves with the exit code once every pair has ended: 0 when all stopped gracefully, 1 when one failed. */
  done: Promise<number>;
}

const logLine = (entry: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);

/**
 * Starts every pair in the background and the health endpoint. Call it once per process: the
 * exchange and strategy names it registers cannot be registered twice.
 */
export async function main(options: ProductionOptions): Promise<Production> {
  const { exchange, pairs, store, log = logLine } = options;
  addExchange(exchange);
  // Registered once per name: the facade runs a pair by its strategy's name.
  for (const strategy of new Map(pairs.map((pair) => [pair.strategy.strategyName, pair.strategy])).values()) addStrategy(strategy);

  let failed = 0;
  let stopping = false;
  let allEnded!: () => void;
  const ended = new Promise<void>((resolve) => (allEnded = resolve));
  // A pair is marked ended before doneLive$/exit$ announce it, so the list is up to date here.
  // Ended is "done" (or never started): a "stalled" pair still runs — it may hold a position
  // that its graceful stop will close once the exchange answers again.
  const checkEnded = async () => {
    if ((await Live.list()).every((pair) => pair.status === "done" || pair.status === "idle")) allEnded();
  };

  // Logging: every change of position, every error the engine survived, every end of a loop.
  listenSignalLive((result) => {
    if (result.action === "idle" || result.action === "active") return;
    if (result.action === "scheduled" && result.timestamp !== result.signal.scheduledAt) return;
    log({
      level: "info",
      msg: result.action,
      symbol: result.symbol,
      strategy: result.strategyName,
      signal: result.signal.id,
      position: result.signal.position,
      price: result.currentPrice,
      at: new Date(result.timestamp).toISOString(),
      ...(result.action === "closed" ? { reason: result.closeReason, pnl: Number(result.pnl.pnlPercentage.toFixed(4)) } : {}),
      ...(result.action === "cancelled" ? { reason: result.cancelReason } : {}),
    });
  });
  listenError((error) => log({ level: "warn", msg: "error", name: error.name, error: error.message }));
  listenExit((error) => {
    // A loop that ended with an error (a locked or conflicting store): its pair is down.
    failed++;
    log({ level: "error", msg: "pair failed", name: error.name, error: error.message });
    void checkEnded();
  });
  listenDoneLive((event) => {
    log({ level: "info", msg: "done", symbol: event.symbol, strategy: event.strategyName });
    void checkEnded();
  });

  const stops = pairs.map(({ symbol, strategy }) =>
    Live.background(symbol, {
      strategyName: strategy.strategyName,
      exchangeName: exchange.exchangeName,
      store,
      ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }),
    }),
  );

  // GET /health: Live.list() as JSON; 200 while every pair runs, 503 otherwise (stopping, or a
  // pair is down). HEAD /health answers the same status and headers without the body (probes and
  // load balancers often send HEAD). A query string is ignored.
  const server: Server = createServer((request, response) => {
    if ((request.url ?? "").split("?")[0] !== "/health") {
      response.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found; try GET /health"}');
      return;
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { "content-type": "application/json", allow: "GET, HEAD" }).end('{"error":"method not allowed; try GET /health"}');
      return;
    }
    Live.list().then(
      (list) => {
        // Healthy only when every pair's status is exactly "running": "done", "idle", "stalled" (no
        // completed tick for CC_STALL_TICKS tick periods) and any status added later are 503.
        const healthy = !stopping && list.every((pair) => pair.status === "running");
        send(response, healthy ? 200 : 503, JSON.stringify(list));
      },
      (error: unknown) => send(response, 500, JSON.stringify({ error: String(error) })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8080, options.host ?? "127.0.0.1", resolve);
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  log({ level: "info", msg: "listening", url: `http://${options.host ?? "127.0.0.1"}:${port}/health`, port, pairs: pairs.length });

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    log({ level: "info", msg: "stopping", reason });
    for (const stopPair of stops) stopPair(); // graceful: no new signals, open ones run to their close
  };

  const done = (async () => {
    await ended;
    for (const { symbol, strategy } of pairs) {
      await Live.dump(symbol, strategy.strategyName, options.reportDir ?? "./dump/live").catch((error: unknown) =>
        log({ level: "warn", msg: "report not written", symbol, strategy: strategy.strategyName, error: String(error) }),
      );
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    log({ level: "info", msg: "stopped", failed });
    return failed > 0 ? 1 : 0;
  })();

  return { port, stop, done };
}

/**
 * A JSON response with its length, so that HEAD (whose body Node leaves out) gets the same
 * headers as GET.
 */
function send(response: ServerResponse, status: number, body: string): void {
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) }).end(body);
}

/** The exchange, clock and store from the environment: a ccxt exchange in real time, or the bundled replay. */
async function fromEnvironment(env: NodeJS.ProcessEnv): Promise<Pick<ProductionOptions, "exchange" | "scheduler" | "store">> {
  const id = env.RXTRADE_EXCHANGE ?? "binance";
  if (id === "replay") {
    const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    const speed = Number(env.RXTRADE_SPEED ?? 60); // simulated minutes per second
    const scheduler = acceleratedScheduler({ origin: candles[0]!.timestamp + 120 * 60_000, speed: speed * 60 });
    // Every symbol is served the same BTCUSDT series: enough to exercise the pattern offline.
    return { exchange: replayExchange(candles, scheduler), scheduler, store: fileStore(env.RXTRADE_STORE ?? "./.rxtrade-replay") };
  }
  const { ccxtExchange } = await import("rxtrade/ccxt");
  return { exchange: ccxtExchange(id), store: fileStore(env.RXTRADE_STORE ?? "./.rxtrade") };
}

/**
 * Whether this file is the process's entry (a test may import `main` instead). Node gives the
 * entry's real path in `import.meta.url` but `argv[1]` as typed: started through a symlink (a
 * `current -> releases/42` deployment) they differ, and a plain comparison would exit 0 silently.
 */
function startedDirectly(): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false; // argv[1] is no file (node -e, a REPL)
  }
}

if (startedDirectly()) {
  const maCross = maCrossStrategy();
  const production = await main({
    ...(await fromEnvironment(process.env)),
    pairs: [
      // One strategy on several symbols (it keeps no per-symbol state), several strategies on one symbol.
      { symbol: "BTCUSDT", strategy: maCross },
      { symbol: "ETHUSDT", strategy: maCross },
      { symbol: "BTCUSDT", strategy: breakoutStrategy() },
    ],
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? "127.0.0.1",
    ...(process.env.RXTRADE_REPORTS === undefined ? {} : { reportDir: process.env.RXTRADE_REPORTS }),
  });
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) process.exit(130); // a second signal: at once; open signals stay in the store
    production.stop(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  process.exit(await production.done);
}
