// `rxtrade fleet worker`: a fleet worker in this process, its pairs resolved to strategies and
// exchanges (bundled, modules, ccxt), handing them over on SIGTERM or Ctrl-C.
import { realpathSync, statSync } from "node:fs";
import { resolve, sep } from "node:path";
import type { Candle, ExchangeSchema, StrategySchema } from "rxtrade";
import type { FleetPairSpec } from "rxtrade/redis";
import { COMMON, connection, EXAMPLES, help, loadRedis } from "./fleetUsage";
import { resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { EXIT, numberFlag, parseCommandLine, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath, moduleTimeoutMs } from "./userModule";

const MINUTE_MS = 60_000;

/** `rxtrade fleet worker`: runs until its pairs are handed over (exit 0), or a second signal (130). */
export async function fleetWorkerCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine(
    "fleet",
    args,
    {
      ...COMMON,
      name: { type: "string" },
      capacity: { type: "string" },
      "lease-ms": { type: "string" },
      speed: { type: "string" },
      from: { type: "string" },
      "log-level": { type: "string" },
      "module-timeout": { type: "string" },
      "modules-dir": { type: "string" },
    },
    EXAMPLES,
    false,
  );
  void positionals;
  if (flags.help) return help(terminal);
  const { url, prefix } = connection(flags);
  const capacity = flags.capacity === undefined ? undefined : numberFlag("fleet", "capacity", flags.capacity, { min: 1, max: 1_000_000, integer: true, what: "pairs at most", example: "100" });
  const leaseMs = flags["lease-ms"] === undefined ? 15_000 : numberFlag("fleet", "lease-ms", flags["lease-ms"], { min: 50, max: 600_000, integer: true, what: "ms a lease lives unrenewed", example: "15000" });
  const speed = flags.speed === undefined ? undefined : numberFlag("fleet", "speed", flags.speed, { min: 1, max: 100_000, what: "simulated minutes per second", example: "10" });
  if (flags.from !== undefined && speed === undefined) throw new UsageError("fleet", "--from sets where the simulated clock starts: it needs --speed, e.g. --speed 10 --from 2023-03-08T12:00Z");
  const from = flags.from === undefined ? undefined : Date.parse(/T\d{2}:\d{2}$/.test(flags.from) ? `${flags.from}Z` : flags.from);
  if (from !== undefined && !Number.isFinite(from)) throw new UsageError("fleet", `--from ${JSON.stringify(flags.from)} is not a time; give ISO 8601 in UTC, e.g. --from 2023-03-08T12:00Z`);
  const timeoutMs = moduleTimeoutMs("fleet", flags["module-timeout"]);
  const modulesDir = flags["modules-dir"] === undefined ? undefined : modulesFolder(flags["modules-dir"]);
  const { fleetWorker } = await loadRedis();
  const { bundledExchange, isLogLevel, serviceLogger } = await import("rxtrade/service");
  const level = flags["log-level"] ?? process.env.LOG_LEVEL ?? "info";
  if (!isLogLevel(level)) throw new UsageError("fleet", `--log-level must be one of fatal, error, warn, info, debug, trace, silent, got ${JSON.stringify(level)}`);
  const logger = serviceLogger({ level });

  let bundled: Promise<Candle[]> | undefined;
  const modules = new Map<string, Promise<ExchangeSchema>>();
  const ccxt = new Map<string, ExchangeSchema>();
  const resolvePair = async (spec: FleetPairSpec, clock: { now(): number }, fleetClock: { origin: number } | undefined) => {
    if (modulesDir !== undefined) for (const value of [spec.strategy, spec.exchange]) if (looksLikePath(value)) checkModulePath(value, modulesDir);
    // Each pair its own strategy object (an example's factory, a module's export or factory).
    const strategy: StrategySchema = await resolveStrategy("fleet", spec.strategy, timeoutMs);
    const exchange = await pairExchange(spec.exchange, clock);
    // At --speed, bundled is a recording of a fixed length played from the fleet's origin: the
    // pair's data runs out that long after it, and the pair drains (fleetWorker's dataEnd).
    if (spec.exchange !== "bundled" || fleetClock === undefined) return { strategy, exchange };
    return { strategy, exchange, dataEnd: fleetClock.origin + ((await bundled) as Candle[]).length * MINUTE_MS };
  };
  const pairExchange = async (value: string, clock: { now(): number }): Promise<ExchangeSchema> => {
    if (value === "bundled") {
      bundled ??= import("rxtrade/node").then(({ BUNDLED_BTCUSDT_1M, csvCandles }) => csvCandles(BUNDLED_BTCUSDT_1M));
      return bundledExchange(await bundled, clock);
    }
    if (looksLikePath(value)) {
      let loading = modules.get(value);
      if (loading === undefined) {
        loading = loadUserExport({ command: "fleet", flag: "exchange", path: value, timeoutMs }, "exchange") as Promise<ExchangeSchema>;
        modules.set(value, loading);
      }
      return loading;
    }
    if (speed !== undefined) throw new Error(`${value} is a real exchange, trading in real time: --speed runs simulated clocks, for bundled or an exchange module`);
    let exchange = ccxt.get(value);
    if (exchange === undefined) {
      const { ccxtExchange } = await import("rxtrade/ccxt");
      exchange = ccxtExchange(value);
      ccxt.set(value, exchange);
    }
    return exchange;
  };

  let worker: Awaited<ReturnType<typeof fleetWorker>>;
  try {
    worker = await fleetWorker({
      redis: { url },
      prefix,
      leaseMs,
      resolve: resolvePair,
      logger,
      ...(flags.name === undefined ? {} : { name: flags.name }),
      ...(capacity === undefined ? {} : { capacity }),
      ...(speed === undefined ? {} : { speed }),
      ...(from === undefined ? {} : { from }),
    });
  } catch (error) {
    terminal.warn(`rxtrade fleet worker: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (++signals > 1) {
      logger.warn({ signal }, `${signal} while handing over: exiting at once (130); the leases not released expire within --lease-ms (${leaseMs} ms)`);
      process.exit(EXIT.interrupted);
    }
    logger.info({ signal, pairs: worker.pairs() }, "handing the pairs over");
    void worker.stop();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  await worker.done;
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  if (worker.error !== undefined) {
    terminal.warn(`rxtrade fleet worker: ${describeThrown(worker.error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  return EXIT.ok;
}

/** `--modules-dir`: an existing folder, as its real path. */
export function modulesFolder(value: string): string {
  let dir: string;
  try {
    dir = realpathSync(resolve(value));
  } catch {
    throw new UsageError("fleet", `--modules-dir ${value}: no such folder (${resolve(value)}); give the folder the pairs' strategy and exchange modules must be in`);
  }
  if (!statSync(dir).isDirectory()) throw new UsageError("fleet", `--modules-dir ${value} is not a folder (${dir})`);
  return dir;
}

/**
 * With `--modules-dir`: a pair's module (its path comes from Redis, so whoever can write there
 * chooses the code a worker runs) is loaded only from within that folder, links resolved.
 */
export function checkModulePath(path: string, dir: string): void {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    real = resolve(path);
  }
  if (real !== dir && !real.startsWith(dir.endsWith(sep) ? dir : `${dir}${sep}`)) {
    throw new Error(`the module ${path} is outside --modules-dir ${dir}: this worker loads the pairs' modules only from there (a pair's paths come from Redis); put it there, or fleet add the pair with a module that is`);
  }
}
