// The deployment pattern, with rxtrade/service: several symbol/strategy pairs in one process,
// open signals in a file store (a restart resumes them) and trades in its journal, JSON-line
// logs on stdout, GET /metrics (Prometheus), GET /health (503 naming a stalled or failed pair)
// and GET /api/pairs, and on SIGTERM (or Ctrl-C) a drain: no new signals, open ones run to
// their close, exit 0 once all have ended (a second signal exits at once with 130).
// `rxtrade run rxtrade.json --http 127.0.0.1:8080` does the same from a config file.
//
//   npx tsx examples/production.ts                                  # binance, real time (ccxt, network)
//   RXTRADE_EXCHANGE=bundled npx tsx examples/production.ts         # offline: bundled candles, fast clocks
//   curl -s 127.0.0.1:8080/health; curl -s 127.0.0.1:8080/metrics
//
// Environment: PORT (8080; 0 picks a free port, see the "listening" line), HOST (127.0.0.1;
// 0.0.0.0 in a container), RXTRADE_EXCHANGE (a ccxt id, default binance; "bundled" — or
// "replay" — for the bundled BTC/USDT minutes), RXTRADE_SPEED (offline: simulated minutes per
// second, default 60), RXTRADE_STORE (default ./.rxtrade, ./.rxtrade-replay offline), LOG_LEVEL.
//
// Give the process a stop grace period longer than your longest signal lifetime (Kubernetes:
// terminationGracePeriodSeconds), or accept that a kill leaves positions in the store.
import { realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";
import type { Journal, SignalStore } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore } from "rxtrade/node";
import { bundledExchange, drainOnSignals, type LogLevel, pacedScheduler, type Service, type ServicePair, serviceLogger, startService } from "rxtrade/service";
import { breakoutStrategy } from "./strategies/breakout";
import { maCrossStrategy } from "./strategies/maCross";

export interface ProductionOptions {
  pairs: readonly ServicePair[];
  store: SignalStore;
  journal?: Journal;
  /** Default 8080; 0 picks a free port (see `Service.url`). */
  port?: number;
  host?: string;
  /** Default: JSON lines on stdout at LOG_LEVEL (else info). */
  logger?: ReturnType<typeof serviceLogger>;
}

/** Starts the pairs and the HTTP endpoints; resolves once they are up (its `done`: once all have ended). */
export function main(options: ProductionOptions): Promise<Service> {
  return startService({
    pairs: options.pairs,
    store: options.store,
    ...(options.journal === undefined ? {} : { journal: options.journal }),
    http: { host: options.host ?? "127.0.0.1", port: options.port ?? 8080 },
    // An unknown LOG_LEVEL throws, naming the levels.
    logger: options.logger ?? serviceLogger({ level: (process.env.LOG_LEVEL ?? "info") as LogLevel }),
  });
}

/** The pairs: one strategy on two symbols (it keeps no per-symbol state), two strategies on one symbol. */
async function pairsFrom(env: NodeJS.ProcessEnv): Promise<ServicePair[]> {
  const maCross = maCrossStrategy();
  const pairs = [
    { symbol: "BTCUSDT", strategy: maCross },
    { symbol: "ETHUSDT", strategy: maCross },
    { symbol: "BTCUSDT", strategy: breakoutStrategy() },
  ];
  const id = env.RXTRADE_EXCHANGE ?? "binance";
  if (id === "bundled" || id === "replay") {
    // Offline: each pair on its own paced clock (simulated minutes per second, deterministic),
    // served the bundled minutes (each symbol shifted by a hash of its name).
    const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    const speed = Number(env.RXTRADE_SPEED ?? 60);
    return pairs.map((pair) => {
      const clock = pacedScheduler({ origin: Date.parse("2023-03-08T12:00Z"), speed: speed * 60 });
      return { ...pair, exchange: bundledExchange(candles, clock), scheduler: clock };
    });
  }
  const { ccxtExchange } = await import("rxtrade/ccxt");
  const exchange = ccxtExchange(id);
  return pairs.map((pair) => ({ ...pair, exchange }));
}

/** Whether this file is the process's entry, also when started through a symlink (`current -> releases/42`). */
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
  const offline = process.env.RXTRADE_EXCHANGE === "bundled" || process.env.RXTRADE_EXCHANGE === "replay";
  const store = fileStore(process.env.RXTRADE_STORE ?? (offline ? "./.rxtrade-replay" : "./.rxtrade"));
  const service = main({
    pairs: await pairsFrom(process.env),
    store,
    journal: fileJournal(store),
    port: Number(process.env.PORT ?? 8080),
    host: process.env.HOST ?? "127.0.0.1",
  });
  drainOnSignals(service); // SIGTERM/SIGINT: drain; a second one: exit 130
  process.exit((await (await service).done).code);
}
