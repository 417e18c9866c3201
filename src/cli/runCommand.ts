import { readFile, rm } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { SchedulerLike } from "rxjs";
import {
  type Candle,
  decodeState,
  type ExchangeSchema,
  getConfig,
  type SignalState,
  setLogger,
  type StrategySchema,
} from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, type FileStore, fileJournal, fileStore } from "rxtrade/node";
import type { LogLevel, Service, ServiceFilePair, ServiceFileProblem, ServicePair } from "rxtrade/service";
import { pacedScheduler, type PacedScheduler } from "../schedulers/pacedScheduler";
import { displayPath } from "./format";
import { isRxtradeError } from "./rxtradeErrors";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { parseTimeFlag } from "./timeFlag";
import { editDistance, EXIT, numberFlag, parseCommandLine, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath, MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";
import { checkWritableFolder } from "./writableFolder";

/** Where `rxtrade run` keeps its store when the file names none: `rxtrade live`'s folder. */
const RUN_STORE = "./.rxtrade";
const MINUTE = 60_000;
/** The drain token's least length: it guards a route that stops trading. */
const TOKEN_MIN_LENGTH = 16;
/** `LOG_LEVELS` of rxtrade/service, which this module loads only when a service starts (pino and prom-client take a moment). */
const LEVELS = "fatal, error, warn, info, debug, trace, silent";

const FLAGS = {
  http: { type: "string" },
  token: { type: "string" },
  speed: { type: "string" },
  from: { type: "string" },
  "log-level": { type: "string" },
  "module-timeout": { type: "string" },
  notify: { type: "string", multiple: true },
  "allow-host": { type: "string", multiple: true },
  help: { type: "boolean", short: "h" },
} as const;

export const RUN_HELP = `rxtrade run — many pairs in one process, as a service: metrics, health, dashboard, JSON logs

Runs every pair of a config file, each in its own live loop (persisted in one file store, trades
journaled), until SIGTERM or Ctrl-C drains them. Logs go to stdout as JSON lines (one per trade,
state change and error); only a wrong command line or config, or a start that fails, is printed
for people, on stderr. With --http it serves GET /metrics (Prometheus), GET /health (200, or
503 naming the stalled or failed pairs), GET /api/pairs, the dashboard at GET / and its live
events at GET /api/events (Server-Sent Events); with a token, POST /api/pairs/<pair id>/drain
and POST /api/drain (Authorization: Bearer <token>) drain one pair or all, as the dashboard's
buttons do.

Usage
  rxtrade run <config.json> [--http host:port [--token T]] [--speed N [--from ISO]] [--log-level L]
              [--notify URL]... [--allow-host NAME]...

Config file
  { "pairs": [ { "symbol": "BTCUSDT", "strategy": "momentum", "exchange": "bundled",
                 "tickMs": 60001, "config": { "CC_STALL_TICKS": 3 } } ],
    "store": "./.rxtrade" }
  symbol      as the exchange writes it (BTCUSDT, BTC/USDT, …)
  strategy    an example (${Object.keys(EXAMPLE_STRATEGIES).join(", ")}) or a path to a module exporting a StrategySchema
  exchange    a ccxt id (binance, kraken, …; needs npm install ccxt), a path to a module exporting
              an ExchangeSchema, or bundled: the bundled BTC/USDT minutes for any symbol, offline
              (each symbol shifted by a hash of its name, played forward and back without end)
  tickMs      ms between ticks, 100 to 86400000 (default 60001)
  config      config overrides for this pair, e.g. CC_STALL_TICKS (stalled after that many tick
              periods without a completed tick, default 5)
  store       the file store's folder (default ${RUN_STORE}); its journal is <store>/journal
  Paths in the file are relative to the file's folder. A pair's id is <symbol>:<strategy name>:
  one pair per id. Every problem is listed, with its pair and field, and nothing starts (exit 2).

Flags
  --http HOST:PORT   serve /metrics, /health, /api/pairs, the dashboard (/) and /api/events there,
                     e.g. 127.0.0.1:9464 (a port alone binds 127.0.0.1; port 0 picks a free one,
                     see the "listening" line, on stderr when the log level hides it)
  --allow-host NAME  with --http: a Host name requests may use besides the bound address and
                     localhost (repeatable), e.g. the name a proxy forwards; other Host headers
                     are answered 403 (DNS rebinding). A wildcard bind (0.0.0.0) takes any Host
                     unless this is given
  --token T          with --http: the drain routes' bearer token, ${TOKEN_MIN_LENGTH} characters or more, e.g.
                     $(openssl rand -hex 24) (default: RXTRADE_TOKEN; prefer it, a flag shows in
                     the process list). Without one the drain routes answer 403 and the dashboard
                     has no drain buttons
  --speed N          every pair's clock runs N simulated minutes per second, 1 to 100000, paced
                     and deterministic (bundled or exchange modules; not ccxt); time limits and
                     the stall limit keep their wall-clock length, as in the demo
  --from ISO         with --speed: where the clocks start, e.g. 2023-03-08T12:00Z (default: the
                     current minute; a pair never starts before the signal it resumes)
  --log-level L      ${LEVELS} (default: LOG_LEVEL, else info)
  --notify URL       POST opened, closed, error, failed, stalled, recovered and done (drained) as
                     JSON to this webhook (http or https; repeat for more): each POST within 5 s,
                     retried with backoff on network errors, time-outs, 5xx and 429; at most 20
                     a minute (a burst of 5, then one every 3 s), the rest wait, and a full queue
                     sheds the least important first; stalled and recovered go first, never wait
                     and are never shed. A webhook that is down costs log lines, no tick
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

Stopping
  SIGTERM or Ctrl-C  drain: no new signals; open ones run to their close; then exit 0 (1 if a pair failed)
  a second one       exit at once (code 130); open signals stay in the store, the next run resumes them

Example
  rxtrade run ./rxtrade.json --http 127.0.0.1:9464
`;

type RunFlags = ReturnType<typeof parseCommandLine<typeof FLAGS>>["flags"];

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

/** The signals that come before the service listens for its own: the first one asks to stop. */
interface EarlySignals {
  readonly requested: NodeJS.Signals | undefined;
  stop(): void;
}

function earlySignals(terminal: Terminal): EarlySignals {
  let requested: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested === undefined) {
      requested = signal;
      return;
    }
    terminal.warn(`rxtrade run: ${signal} again before the pairs started: exiting at once (130); nothing had started`);
    process.exit(EXIT.interrupted);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    get requested() {
      return requested;
    },
    stop() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

// The run stops before it starts: said on stderr, exit 0 (what a drain of nothing is).
function stoppedBeforeStart(terminal: Terminal, signal: NodeJS.Signals): number {
  terminal.warn(`rxtrade run: ${signal} before the pairs started: stopped before start, nothing ran`);
  return EXIT.ok;
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

  const storeValue = isRecord(file) ? (file as { store?: unknown }).store : undefined;
  const storeDir = typeof storeValue === "string" && storeValue.trim() !== "" ? resolve(base, storeValue) : RUN_STORE;
  // The check creates the folder: with problems elsewhere, what it created goes again (nothing started).
  let created: string | undefined;
  if (!existsSync(storeDir)) {
    created = storeDir;
    while (!existsSync(dirname(created)) && dirname(created) !== created) created = dirname(created);
  }
  if (!problems.some((problem) => problem.field === "store")) {
    try {
      await checkWritableFolder("run", "store", storeDir, RUN_STORE);
    } catch (error) {
      if (!(error instanceof UsageError)) throw error;
      // The folder is the file's "store" key: rxtrade run has no --store flag.
      const message = error.message
        .replace(/^rxtrade run: /, "")
        .replace(/^--store \S+ (\([^)]*\) )?/, `${displayPath(storeDir)} `)
        .replace(/give another, e\.g\. --store \S+$/, `give another in the config file, e.g. "store": "${RUN_STORE}"`);
      problems.push({ field: "store", message });
    }
  }

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

/** A pair of the file with its strategy and exchange resolved (`bundled` is made per pair, on its clock). */
interface ResolvedPair {
  index: number;
  symbol: string;
  id: string;
  spec: ServiceFilePair;
  strategy: StrategySchema;
  exchange: ExchangeSchema | "bundled";
}

// Every pair's strategy and exchange: example names, modules (each loaded once, by path), ccxt
// ids; each failure a problem of its pair. Pairs with problems in those fields are skipped.
async function resolvePairs(file: unknown, base: string, timeoutMs: number, simulated: boolean, problems: ServiceFileProblem[]): Promise<ResolvedPair[]> {
  // The file may have problems elsewhere: the fields that are fine are still resolved, so that
  // every problem is listed at once.
  const raw: unknown[] = isList(file) ? (file as { pairs: unknown[] }).pairs : [];
  const modules = new Map<string, Promise<unknown>>();
  const ccxt = new Map<string, ExchangeSchema>();
  const out: ResolvedPair[] = [];
  for (const [index, value] of raw.entries()) {
    if (value === null || typeof value !== "object") continue;
    const spec = value as ServiceFilePair;
    const fieldOk = (field: "strategy" | "exchange") =>
      typeof spec[field] === "string" && spec[field].trim() !== "" && !problems.some((p) => p.index === index && p.field === field);
    const symbol = typeof spec.symbol === "string" ? spec.symbol : undefined;
    const problem = (field: string, message: string) => problems.push({ index, ...(symbol === undefined || symbol === "" ? {} : { symbol }), field, message });
    let strategy: StrategySchema | undefined;
    let exchange: ExchangeSchema | "bundled" | undefined;
    if (fieldOk("strategy")) {
      try {
        strategy = await pairStrategy(spec.strategy, base, timeoutMs, modules);
      } catch (error) {
        problem("strategy", describeThrown(error));
      }
    }
    if (fieldOk("exchange")) {
      try {
        exchange = await pairExchange(spec.exchange, base, timeoutMs, simulated, modules, ccxt);
      } catch (error) {
        problem("exchange", describeThrown(error));
      }
    }
    if (strategy !== undefined && exchange !== undefined && symbol !== undefined && symbol !== "") {
      out.push({ index, symbol, id: `${symbol}:${strategy.strategyName}`, spec, strategy, exchange });
    }
  }
  return out;
}

async function pairStrategy(value: string, base: string, timeoutMs: number, modules: Map<string, Promise<unknown>>): Promise<StrategySchema> {
  if (!looksLikePath(value)) {
    const example = EXAMPLE_STRATEGIES[value];
    if (example !== undefined) return example.create();
    const names = Object.keys(EXAMPLE_STRATEGIES);
    const near = names.find((name) => editDistance(value, name) <= 2);
    throw new Error(
      `${JSON.stringify(value)} is neither an example strategy nor a file path${near === undefined ? "" : `; did you mean ${near}?`} (examples: ${names.join(", ")}; a module: "./my-strategy.js", relative to the config file)`,
    );
  }
  const file = resolve(base, value);
  if (!existsSync(file)) throw new Error(`${value}: no such file (${file})`);
  const loading = modules.get(`strategy ${file}`) ?? resolveStrategy("run", file, timeoutMs);
  modules.set(`strategy ${file}`, loading);
  try {
    return (await loading) as StrategySchema;
  } catch (error) {
    throw new Error(`${value}: ${withoutFlag(error, "strategy", file)}`);
  }
}

async function pairExchange(
  value: string,
  base: string,
  timeoutMs: number,
  simulated: boolean,
  modules: Map<string, Promise<unknown>>,
  ccxt: Map<string, ExchangeSchema>,
): Promise<ExchangeSchema | "bundled"> {
  if (value === "bundled") return "bundled";
  if (looksLikePath(value)) {
    const file = resolve(base, value);
    if (!existsSync(file)) throw new Error(`${value}: no such file (${file})`);
    const loading = modules.get(`exchange ${file}`) ?? loadUserExport({ command: "run", flag: "exchange", path: file, timeoutMs }, "exchange");
    modules.set(`exchange ${file}`, loading);
    let exchange: Partial<ExchangeSchema> | null;
    try {
      exchange = (await loading) as Partial<ExchangeSchema> | null;
    } catch (error) {
      throw new Error(`${value}: ${withoutFlag(error, "exchange", file)}`);
    }
    let valid: boolean;
    try {
      valid = exchange !== null && typeof exchange === "object" && typeof exchange.getCandles === "function" && typeof exchange.exchangeName === "string";
    } catch (error) {
      throw new Error(`${value}: reading the exported exchange threw: ${describeThrown(error)}`);
    }
    if (!valid) throw new Error(`${value}: the module must export an ExchangeSchema ({ exchangeName, getCandles }) as \`exchange\` or as its default export`);
    return exchange as ExchangeSchema;
  }
  if (!/^[a-z][a-z0-9_]*$/.test(value)) {
    throw new Error(`${JSON.stringify(value)} is not a ccxt exchange id (lower case, e.g. binance, kraken, bybit), a file path nor bundled`);
  }
  if (simulated) {
    throw new Error(`${value} is a real exchange, trading in real time: --speed runs simulated clocks, for bundled or an exchange module; leave --speed out, or use "exchange": "bundled"`);
  }
  let exchange = ccxt.get(value);
  if (exchange === undefined) {
    // Loaded only here: a service without ccxt pairs never imports it (a second of start-up).
    let ccxtExchange;
    try {
      ({ ccxtExchange } = await import("rxtrade/ccxt"));
    } catch (error) {
      throw new Error(`${value}: ccxt could not be loaded (npm install ccxt): ${describeThrown(error)}`);
    }
    exchange = ccxtExchange(value);
    ccxt.set(value, exchange);
  }
  return exchange;
}

// `--strategy /abs/x.js: the module failed …` -> `the module failed …` (the caller names the field and the path).
function withoutFlag(error: unknown, flag: string, file: string): string {
  return describeThrown(error).replace(`--${flag} ${file}: `, "").replace(`--${flag} ${file}`, "");
}

// A ccxt pair's symbol, looked up in its markets within CC_EXCHANGE_TIMEOUT_SECONDS: `undefined`
// when it is listed (or the exchange cannot look symbols up), the problem when it is not,
// "unreachable" (said on stderr) when the exchange could not be asked.
async function checkSymbol(pair: ResolvedPair): Promise<{ field: "symbol" | "exchange"; message: string } | undefined | "unreachable"> {
  if (pair.exchange === "bundled") return undefined;
  const lookUp = (pair.exchange as { resolveSymbol?: (symbol: string) => Promise<string> }).resolveSymbol;
  if (typeof lookUp !== "function") return undefined;
  const limitSeconds = getConfig().CC_EXCHANGE_TIMEOUT_SECONDS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      lookUp.call(pair.exchange, pair.symbol),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${limitSeconds} s (CC_EXCHANGE_TIMEOUT_SECONDS)`), { cause: "timeout" })), limitSeconds * 1000);
      }),
    ]);
    return undefined;
  } catch (error) {
    const message = describeThrown(error).replace(/^rxtrade: /, "");
    // ccxt has no exchange of that id: the exchange's problem, not the symbol's.
    if (/\bccxt has no exchange /.test(message)) return { field: "exchange", message };
    // Without a cause the exchange answered and the name is wrong; with one, it could not be reached.
    if ((error as { cause?: unknown })?.cause === undefined) return { field: "symbol", message };
    process.stderr.write(`rxtrade run: cannot check ${pair.symbol} on ${pair.exchange.exchangeName} (pairs[${pair.index}]): ${message}\n`);
    return "unreachable";
  } finally {
    clearTimeout(timer);
  }
}

/** What the store holds for a pair, read under its lock; a corrupt value is moved aside (said through `warn`) and the pair starts fresh. */
async function storedState(store: FileStore, pair: ResolvedPair, warn: (message: string) => void): Promise<SignalState | null> {
  const release = await store.lock(pair.id);
  let value: unknown;
  try {
    value = await store.read(pair.id);
  } catch (error) {
    if (isRxtradeError(error, "StoreReadError") && error.quarantinedTo !== undefined) {
      warn(error.message);
      return null;
    }
    throw error;
  } finally {
    release();
  }
  const exchangeName = pair.exchange === "bundled" ? "bundled" : pair.exchange.exchangeName;
  return decodeState(value, pair.id, { symbol: pair.symbol, strategyName: pair.strategy.strategyName, exchangeName });
}

/** The parsed config file (a UTF-8 byte order mark at its start is skipped), and the keys it gives twice in one object. */
async function readConfig(path: string): Promise<{ value: unknown; duplicates: DuplicateKey[] }> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a folder, not a file" : code === "EACCES" ? "permission denied" : describeThrown(error);
    throw new UsageError("run", `${path} (${resolve(path)}): ${why}; give the config file, e.g. rxtrade run ./rxtrade.json (see rxtrade run --help for its format)`);
  }
  // Editors on Windows may start a UTF-8 file with a byte order mark, which JSON.parse refuses.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  let value: unknown;
  try {
    value = JSON.parse(text) as unknown;
  } catch (error) {
    const message = describeThrown(error);
    const at = /position (\d+)/.exec(message);
    const where = at === null ? "" : ` (line ${text.slice(0, Number(at[1])).split("\n").length})`;
    throw new UsageError("run", `${path} is not JSON${where}: ${message}`);
  }
  return { value, duplicates: duplicateKeys(text) };
}

/** A key given twice in one object of a JSON text: where the object is (keys and indexes from the top) and the key. */
export interface DuplicateKey {
  path: Array<string | number>;
  key: string;
}

/**
 * The keys given more than once in an object of `text` (valid JSON: JSON.parse keeps the last
 * of them silently). A scan of the tokens: strings, brackets, colons and commas.
 */
export function duplicateKeys(text: string): DuplicateKey[] {
  const found: DuplicateKey[] = [];
  // Each open object or list: its keys so far (objects) or its next index (lists), and where it is.
  const stack: Array<{ keys: Set<string> | undefined; index: number; path: Array<string | number>; key: string | number | undefined }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const top = stack[stack.length - 1];
    const here = (): Array<string | number> => (top === undefined ? [] : top.key === undefined ? top.path : [...top.path, top.key]);
    if (c === "{" || c === "[") {
      stack.push({ keys: c === "{" ? new Set() : undefined, index: 0, path: here(), key: undefined });
      if (c === "[") (stack[stack.length - 1] as { key: number | string | undefined }).key = 0;
      expectKey = c === "{";
    } else if (c === "}" || c === "]") {
      stack.pop();
      expectKey = false;
    } else if (c === ",") {
      if (top?.keys === undefined && top !== undefined) top.key = ++top.index;
      expectKey = top?.keys !== undefined;
    } else if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === "\\" ? 2 : 1;
      if (expectKey && top?.keys !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.keys.has(key)) found.push({ path: top.path, key });
        top.keys.add(key);
        top.key = key;
        expectKey = false;
      }
      i = end;
    }
  }
  return found;
}

// A duplicate key of the file, of a pair or of a pair's config, as a problem of that pair and field.
function duplicateKeyProblems(duplicates: readonly DuplicateKey[], file: unknown): ServiceFileProblem[] {
  const pairs = isList(file) ? (file as { pairs: unknown[] }).pairs : [];
  return duplicates.map(({ path, key }): ServiceFileProblem => {
    if (path.length >= 2 && path[0] === "pairs" && typeof path[1] === "number") {
      const index = path[1];
      const pair = pairs[index] as { symbol?: unknown } | undefined;
      const symbol = typeof pair?.symbol === "string" && pair.symbol !== "" ? { symbol: pair.symbol } : {};
      const inner = path.slice(2);
      if (inner.length === 0) return { index, ...symbol, field: key, message: `is given twice in this pair (JSON keeps the last one silently): give it once` };
      return { index, ...symbol, field: String(inner[0]), message: `${[...inner.slice(1), key].join(".")} is given twice (JSON keeps the last one silently): give it once` };
    }
    const where = path.length === 0 ? "" : ` in ${path.join(".")}`;
    return { field: path.length === 0 ? key : String(path[0]), message: `${path.length === 0 ? "is" : `${key} is`} given twice${where} (JSON keeps the last one silently): give it once` };
  });
}

function isRecord(value: unknown): boolean {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function configError(path: string, problems: readonly ServiceFileProblem[], describeProblem: (problem: ServiceFileProblem) => string): UsageError {
  const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
  return new UsageError("run", `${path}: ${count}, nothing started:\n${problems.map((problem) => `  ${describeProblem(problem)}`).join("\n")}`);
}

function logLevel(flag: string | undefined, isLogLevel: (value: unknown) => value is LogLevel): LogLevel {
  const [source, value] = flag !== undefined ? ["--log-level", flag] : ["LOG_LEVEL", process.env.LOG_LEVEL];
  if (value === undefined || (source === "LOG_LEVEL" && value === "")) return "info";
  if (!isLogLevel(value)) {
    throw new UsageError("run", `${source} must be one of ${LEVELS}, got ${JSON.stringify(value)}; e.g. ${source === "LOG_LEVEL" ? "LOG_LEVEL=info" : "--log-level info"}`);
  }
  return value;
}

/**
 * The drain routes' token: `--token`, else `RXTRADE_TOKEN` (ignored without --http, where no
 * route could use it); never echoed back in a message.
 */
function drainToken(flag: string | undefined, withHttp: boolean): string | undefined {
  if (flag !== undefined && !withHttp) {
    throw new UsageError("run", "--token guards the drain routes of the HTTP server: give --http too, e.g. --http 127.0.0.1:9464 (or leave --token out)");
  }
  const [source, value] = flag !== undefined ? ["--token", flag] : ["RXTRADE_TOKEN", process.env.RXTRADE_TOKEN];
  if (!withHttp || value === undefined || (source === "RXTRADE_TOKEN" && value === "")) return undefined;
  if (!(value.length >= TOKEN_MIN_LENGTH && /^[\x21-\x7e]+$/.test(value))) {
    const what = /^[\x21-\x7e]*$/.test(value) ? `${value.length} characters` : "a space or a character outside visible ASCII";
    const example = source === "--token" ? "--token $(openssl rand -hex 24)" : "RXTRADE_TOKEN=$(openssl rand -hex 24)";
    throw new UsageError("run", `${source} must be ${TOKEN_MIN_LENGTH} or more visible ASCII characters, no spaces (it goes in an Authorization header), got ${what}; e.g. ${example}`);
  }
  return value;
}

/**
 * `--notify` URLs, each checked (http or https), once each: the same URL twice (as the URL
 * parser reads it: `HOOKS.example.com` is `hooks.example.com`) is a usage error; URLs that
 * differ only in their query or credentials are two webhooks.
 */
function notifyUrls(values: readonly string[], parse: (text: unknown, argument: string) => URL, redact: (url: URL) => string): string[] {
  const seen = new Set<string>();
  for (const value of values) {
    let url: URL;
    try {
      url = parse(value, "--notify");
    } catch (error) {
      throw new UsageError("run", describeThrown(error).replace(/^rxtrade: /, ""));
    }
    if (seen.has(url.href)) throw new UsageError("run", `--notify ${JSON.stringify(redact(url))} is given twice: give each webhook once`);
    seen.add(url.href);
  }
  return [...values];
}

/** `--http 127.0.0.1:9464`, `[::1]:9464`, or a port alone (127.0.0.1). */
function parseHttp(text: string): { host: string; port: number } {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, "127.0.0.1", text] : null);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new UsageError("run", `--http must be host:port (port 0 to 65535; 0 picks a free one), got ${JSON.stringify(text)}; e.g. --http 127.0.0.1:9464, --http [::1]:9464, --http 0.0.0.0:9464 in a container`);
  }
  return { host: match[1] as string, port };
}

/** `--from`: ISO 8601 (UTC unless an offset is given) or epoch ms; not 2023-02-30. */
function parseTime(text: string): number {
  return parseTimeFlag("run", "from", text);
}

function isList(file: unknown): boolean {
  return file !== null && typeof file === "object" && Array.isArray((file as { pairs?: unknown }).pairs);
}
