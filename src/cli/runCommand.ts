// `rxtrade run <config.json>`: the pairs of a config file as one service — the checks in one
// pass, then the store, the clocks, the service and its end.
import { rm } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { SchedulerLike } from "rxjs";
import { type Candle, type SignalState, setLogger } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore } from "rxtrade/node";
import type { Service, ServicePair } from "rxtrade/service";
import { pacedScheduler, type PacedScheduler } from "../schedulers/pacedScheduler";
import { displayPath } from "./format";
import { configError, duplicateKeyProblems, readConfig } from "./runConfigFile";
import { drainToken, FLAGS, logLevel, notifyUrls, parseHttp, parseTime, RUN_HELP, type RunFlags } from "./runFlags";
import { checkSymbol, resolvePairs } from "./runPairs";
import { type EarlySignals, earlySignals, stoppedBeforeStart } from "./runSignals";
import { checkStoreFolder, storedState } from "./runStore";
import type { Terminal } from "./terminal";
import { EXIT, numberFlag, parseCommandLine, UsageError } from "./usage";
import { describeThrown, moduleTimeoutMs } from "./userModule";

// What main.ts (RUN_HELP) and the tests (duplicateKeys) import from here.
export { RUN_HELP };
export { type DuplicateKey, duplicateKeys } from "./runConfigFile";

const MINUTE = 60_000;

/** `rxtrade run <config.json>`: the pairs of a config file as one service, until it is drained. */
export async function runCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("run", args, FLAGS, {
    http: "127.0.0.1:9464",
    speed: "600",
    from: "2023-03-08T12:00Z",
    "log-level": "info",
    "module-timeout": "30",
    token: "$(openssl rand -hex 24)",
    notify: "https://hooks.example.com/rxtrade",
    "allow-host": "rxtrade.example.com",
  });
  if (flags.help) {
    terminal.line(RUN_HELP);
    return EXIT.ok;
  }
  // SIGTERM or Ctrl-C while the modules load and the files are checked (seconds, a module's up to
  // --module-timeout): nothing has started, so the run stops at the next step, exit 0; a second
  // signal exits at once (130). Without these the default action killed the process silently (143).
  const early = earlySignals(terminal);
  try {
    return await runService(flags, positionals, terminal, early);
  } finally {
    early.stop();
  }
}

async function runService(flags: RunFlags, positionals: readonly string[], terminal: Terminal, early: EarlySignals): Promise<number> {
  const { bundledExchange, checkServiceFile, describeProblem, drainOnSignals, duplicatePairProblems, isLogLevel, parseWebhookUrl, redactUrl, serviceLogger, startService, webhookNotifier } =
    await import("rxtrade/service");
  if (positionals.length === 0) throw new UsageError("run", "the config file is required, e.g. rxtrade run ./rxtrade.json");
  if (positionals.length > 1) throw new UsageError("run", `one config file, got ${positionals.length}: ${positionals.map((arg) => JSON.stringify(arg)).join(" ")}`);
  const level = logLevel(flags["log-level"], isLogLevel);
  const http = flags.http === undefined ? undefined : parseHttp(flags.http);
  const token = drainToken(flags.token, http !== undefined);
  const allowedHosts = flags["allow-host"] ?? [];
  if (allowedHosts.length > 0 && http === undefined) throw new UsageError("run", "--allow-host names a Host the HTTP server answers: give --http too, e.g. --http 127.0.0.1:9464");
  for (const name of allowedHosts) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)$/.test(name)) throw new UsageError("run", `--allow-host must be a host name or address without a port, got ${JSON.stringify(name)}; e.g. --allow-host rxtrade.example.com`);
  }
  const speed = flags.speed === undefined ? undefined : numberFlag("run", "speed", flags.speed, { min: 1, max: 100_000, what: "simulated minutes per second", example: "600" });
  if (flags.from !== undefined && speed === undefined) throw new UsageError("run", "--from sets where simulated clocks start: it needs --speed, e.g. --speed 600 --from 2023-03-08T12:00Z");
  const from = flags.from === undefined ? undefined : parseTime(flags.from);
  const timeoutMs = moduleTimeoutMs("run", flags["module-timeout"]);
  const webhooks = notifyUrls(flags.notify ?? [], parseWebhookUrl, redactUrl);

  if (early.requested !== undefined) return stoppedBeforeStart(terminal, early.requested);
  const path = positionals[0] as string;
  const { value: file, duplicates } = await readConfig(path);
  const base = dirname(resolve(path));
  // Every check in one pass, every problem listed at once: the file's shape, its duplicate
  // keys, the strategies and exchanges, the pair ids, the store, the ccxt symbols.
  const { file: config, problems } = checkServiceFile(file);
  problems.push(...duplicateKeyProblems(duplicates, file));
  const resolved = await resolvePairs(file, base, timeoutMs, speed !== undefined, problems);
  problems.push(...duplicatePairProblems(resolved.map(({ index, symbol, strategy }) => ({ index, symbol, strategyName: strategy.strategyName }))));

  const { storeDir, created } = await checkStoreFolder(file, base, problems);

  // ccxt pairs: the symbol looked up in the exchange's markets before anything starts (as live);
  // an id ccxt does not have is the exchange's problem.
  for (const pair of resolved) {
    if (problems.some((problem) => problem.index === pair.index)) continue;
    const outcome = await checkSymbol(pair);
    if (outcome === "unreachable") return EXIT.failed;
    if (outcome !== undefined) problems.push({ index: pair.index, symbol: pair.symbol, ...outcome });
  }
  if (config === undefined || problems.length > 0) {
    if (created !== undefined) await rm(created, { recursive: true, force: true }).catch(() => undefined);
    throw configError(path, problems, describeProblem);
  }
  if (early.requested !== undefined) return stoppedBeforeStart(terminal, early.requested);

  const logger = serviceLogger({ level });
  // The library's own warnings (a journal line skipped, an unreadable file) as log lines too.
  setLogger({ warn: (...parts: unknown[]) => logger.warn(parts.map(String).join(" ")), error: (...parts: unknown[]) => logger.error(parts.map(String).join(" ")) });

  // What each key holds, under its lock (released at once: the loop takes it again), so a key
  // another process runs is refused before anything starts.
  const store = fileStore(storeDir);
  const stored = new Map<number, SignalState | null>();
  const held: string[] = [];
  for (const pair of resolved) {
    try {
      stored.set(pair.index, await storedState(store, pair, (message) => logger.warn({ pair: pair.id }, message)));
    } catch (error) {
      held.push(`${pair.id}: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    }
  }
  if (held.length > 0) {
    terminal.warn(`rxtrade run: ${held.length === 1 ? "a pair" : `${held.length} pairs`} cannot start on the store ${displayPath(storeDir)}:`);
    for (const line of held) terminal.warn(`  ${line}`);
    terminal.warn("Stop the process that runs them (or settle what the store holds: rxtrade store list), then start again.");
    return EXIT.failed;
  }

  const bundled = resolved.some((pair) => pair.exchange === "bundled") ? await csvCandles(BUNDLED_BTCUSDT_1M) : [];
  if (early.requested !== undefined) return stoppedBeforeStart(terminal, early.requested);
  const clocks: PacedScheduler[] = [];
  const origin = from ?? Math.floor(Date.now() / MINUTE) * MINUTE;
  const pairs: ServicePair[] = resolved.map((pair) => {
    let scheduler: SchedulerLike | undefined;
    if (speed !== undefined) {
      const resumed = stored.get(pair.index) ?? null;
      const since = resumed === null ? origin : resumed.status === "opened" ? resumed.signal.pendingAt : resumed.signal.scheduledAt;
      const clock = pacedScheduler({ origin: Math.max(origin, since), speed: (speed * MINUTE) / 1000 });
      clocks.push(clock);
      scheduler = clock;
    }
    const exchange = pair.exchange === "bundled" ? bundledExchange(bundled as Candle[], scheduler) : pair.exchange;
    return {
      symbol: pair.symbol,
      strategy: pair.strategy,
      exchange,
      ...(pair.spec.tickMs === undefined ? {} : { tickMs: pair.spec.tickMs }),
      ...(pair.spec.config === undefined ? {} : { config: pair.spec.config }),
      ...(scheduler === undefined ? {} : { scheduler }),
    };
  });

  for (const pair of resolved) {
    const resumed = stored.get(pair.index);
    if (resumed !== null && resumed !== undefined) {
      const { signal } = resumed;
      logger.info({ pair: pair.id, symbol: pair.symbol, strategy: pair.strategy.strategyName, signalId: signal.id, status: resumed.status, position: signal.position, priceOpen: signal.priceOpen }, "resumed");
    }
  }
  logger.info(
    { config: resolve(path), store: store.dir, pairs: pairs.length, ...(speed === undefined ? {} : { speed, from: new Date(origin).toISOString() }) },
    "starting",
  );
  const journal = fileJournal(store);
  const notify = webhooks.length === 0 ? undefined : webhookNotifier({ webhooks });
  // Listening before it starts (startService runs on the next microtask): a signal while the
  // service starts drains it once it has. Without --http nobody could read the metrics: none are kept.
  const starting = Promise.resolve().then(() =>
    startService({
      pairs,
      store,
      journal,
      journalLevel: "trades",
      logger,
      ...(notify === undefined ? {} : { notify }),
      ...(http === undefined ? { metrics: false } : { http: { ...http, ...(token === undefined ? {} : { token }), ...(allowedHosts.length === 0 ? {} : { allowedHosts }) } }),
    }),
  );
  // From here the service's own handlers (drain; a second signal: 130) take the signals.
  early.stop();
  drainOnSignals(starting, {
    onForcedExit: (signal) => {
      const open = service?.list().filter((pair) => pair.signal !== null).map((pair) => pair.id);
      logger.warn({ signal, open }, `${signal} while draining: exiting at once (130); ${open?.length === 0 ? "nothing was open" : "the open signals stay in the store and resume at the next start"}`);
      process.exit(EXIT.interrupted);
    },
  });
  let service: Service | undefined;
  try {
    service = await starting;
  } catch (error) {
    for (const clock of clocks) clock.stop();
    const code = (error as NodeJS.ErrnoException).code;
    if (http !== undefined && typeof code === "string") {
      terminal.warn(
        `rxtrade run: cannot listen on ${flags.http}: ${code === "EADDRINUSE" ? "the address is in use" : code === "EADDRNOTAVAIL" ? "the address is not this machine's" : describeThrown(error)} (${code}); give another --http, e.g. --http 127.0.0.1:9465`,
      );
      return EXIT.failed;
    }
    throw error;
  }
  // The address, port 0's above all, is in the "listening" info line; a level that hides it gets it on stderr.
  if (service.url !== undefined && !logger.isLevelEnabled("info")) {
    terminal.warn(`rxtrade run: listening on ${service.url} (the log level ${level} hides the "listening" line)`);
  }
  const end = await service.done;
  for (const clock of clocks) clock.stop();
  // The last notices (each pair's done), within the notifier's flush (3 s), before the process exits.
  await notify?.close();
  await journal.close().catch((error: unknown) => logger.warn({ error: describeThrown(error) }, "the journal could not be closed"));
  return end.code === 0 ? EXIT.ok : EXIT.failed;
}
