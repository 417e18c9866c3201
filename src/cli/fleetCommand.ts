import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { Candle, ExchangeSchema, StrategySchema } from "rxtrade";
import type { FleetPairSpec, FleetPairView } from "rxtrade/redis";
import { cell, terminalSafe } from "./format";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { EXIT, numberFlag, parseCommandLine, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath, MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";

const SUBCOMMANDS = ["worker", "add", "remove", "drain", "list", "tail"];
const MINUTE_MS = 60_000;

export const FLEET_HELP = `rxtrade fleet — a fleet of workers on Redis: each pair live in exactly one worker, taken over on a crash

The desired pairs live in Redis (<prefix>pairs); workers claim them by lease (a fencing token
each), take about their share (ceil(pairs / live workers)), resume open positions from Redis,
and hand their pairs over when stopped. Every trade and error of every worker goes to the
capped stream <prefix>events.

Usage
  rxtrade fleet worker [--name W] [--capacity N] [--lease-ms N] [--speed N [--from ISO]] [--log-level L]
  rxtrade fleet add --symbol S --strategy name|path --exchange ccxt-id|path|bundled [--tick-ms N]
  rxtrade fleet remove <pair>
  rxtrade fleet drain <pair>... | --all
  rxtrade fleet list [--json]
  rxtrade fleet tail [--json] [--from-start]
  Every subcommand takes --redis URL (default: RXTRADE_REDIS) and --prefix P (default rxtrade:).
  A pair's id is <symbol>:<strategy name>, as its store key.

worker
  --name W           unique in the fleet (default <host>:<pid>)
  --capacity N       at most N pairs (default: no limit beyond its share)
  --lease-ms N       a pair's lease and the worker's heartbeat, 50 to 600000 ms (default 15000): a
                     killed worker's pairs are taken over within it (plus a tick)
  --speed N          every pair's clock runs N simulated minutes per second, 1 to 100000, from an
                     origin the first worker stores in Redis (<prefix>clock), so a pair taken
                     over continues at the same simulated time; every worker of the fleet must
                     give the same N (bundled or exchange modules; not ccxt). A pair on bundled
                     has the bundled data's length, 30,240 simulated minutes (21 days), from that
                     origin: it takes no new signal in the last 26 hours of it (its last one still
                     closes within the data), then it is drained for good
  --from ISO         with --speed, for the first worker: where the clock starts (default: the current minute)
  --log-level L      JSON-line logs on stdout: fatal, error, warn, info, debug, trace, silent (default info)
${MODULE_TIMEOUT_HELP}
  RXTRADE_FLEET_TIMINGS=<file>  times every store write (from the call to Redis's answer) into a
                     histogram written to <file> as JSON every second and at the stop (the bench's
                     store write p50/p99; diff two reads for a window)
  SIGTERM or Ctrl-C  hand the pairs over (leases released at once; open positions go on under
                     another worker), exit 0; a second one exits at once (130). Stopping pairs
                     is fleet drain's job.

add, remove, drain
  add                adds (or replaces) a pair; a drained pair added again runs again. --strategy: an
                     example (${Object.keys(EXAMPLE_STRATEGIES).join(", ")}) or a module's path (stored absolute:
                     every worker must see the same file); --exchange: a ccxt id, a module's path,
                     or bundled (the bundled BTC/USDT minutes for any symbol, offline)
  remove <pair>      no worker trades it any more (what the store holds for it stays)
  drain <pair>|--all no new signals, close what is open, then stop for good; the intent is kept
                     in Redis across restarts (--all: the pairs present now)

list, tail
  list               per pair: owner, status (unowned, running, draining, drained), signal, last
                     tick (the pair's clock), token; --json: one JSON array
  tail               follows the events (action, pair, worker, token, signalId, at); --json: one
                     JSON object a line; --from-start: the whole stream first

Example
  export RXTRADE_REDIS=redis://127.0.0.1:6379
  rxtrade fleet add --symbol BTCUSDT --strategy momentum --exchange bundled
  rxtrade fleet worker --name w1 --speed 10 &
  rxtrade fleet list
`;

const COMMON = {
  redis: { type: "string" },
  prefix: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;
const EXAMPLES = { redis: "redis://127.0.0.1:6379", prefix: "rxtrade:", name: "w1", capacity: "100", "lease-ms": "15000", speed: "10", from: "2023-03-08T12:00Z" };

/** `rxtrade fleet <subcommand>`. */
export async function fleetCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    if (sub === undefined) throw new UsageError("fleet", `a subcommand is required: ${SUBCOMMANDS.join(", ")}`);
    terminal.line(FLEET_HELP);
    return EXIT.ok;
  }
  switch (sub) {
    case "worker":
      return workerCommand(rest, terminal);
    case "add":
      return addCommand(rest, terminal);
    case "remove":
      return removeCommand(rest, terminal);
    case "drain":
      return drainCommand(rest, terminal);
    case "list":
      return listCommand(rest, terminal);
    case "tail":
      return tailCommand(rest, terminal);
    default:
      throw new UsageError("fleet", `unknown subcommand ${JSON.stringify(sub)} (subcommands: ${SUBCOMMANDS.join(", ")})`);
  }
}

function connection(flags: { redis?: string; prefix?: string }): { url: string; prefix: string } {
  const url = flags.redis ?? process.env.RXTRADE_REDIS;
  if (url === undefined || url === "") throw new UsageError("fleet", "Redis is required: --redis redis://127.0.0.1:6379, or set RXTRADE_REDIS");
  if (!/^rediss?:\/\//.test(url)) throw new UsageError("fleet", `--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(url.replace(/\/\/[^@/]*@/, "//***@"))}; e.g. --redis redis://127.0.0.1:6379`);
  const prefix = flags.prefix ?? "rxtrade:";
  if (prefix === "") throw new UsageError("fleet", '--prefix must not be empty; e.g. --prefix rxtrade:');
  return { url, prefix };
}

async function loadRedis() {
  try {
    return await import("rxtrade/redis");
  } catch (error) {
    throw new UsageError("fleet", `rxtrade/redis could not be loaded (it needs ioredis: npm install ioredis): ${describeThrown(error)}`);
  }
}

async function addCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine(
    "fleet",
    args,
    { ...COMMON, symbol: { type: "string" }, strategy: { type: "string" }, exchange: { type: "string" }, "tick-ms": { type: "string" }, "module-timeout": { type: "string" } },
    { ...EXAMPLES, symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled", "tick-ms": "60001" },
  );
  if (flags.help) return help(terminal);
  if (positionals.length > 0) throw new UsageError("fleet", `fleet add takes flags only, got ${positionals.map((arg) => JSON.stringify(arg)).join(" ")}`);
  const { url, prefix } = connection(flags);
  for (const flag of ["symbol", "strategy", "exchange"] as const) {
    if (flags[flag] === undefined || flags[flag] === "") throw new UsageError("fleet", `fleet add needs --${flag}, e.g. --${flag} ${{ symbol: "BTCUSDT", strategy: "momentum", exchange: "bundled" }[flag]}`);
  }
  const symbol = flags.symbol as string;
  if (symbol.includes(":")) throw new UsageError("fleet", `--symbol must not contain ":" (it separates a pair id's symbol and strategy), got ${JSON.stringify(symbol)}`);
  const tickMs = flags["tick-ms"] === undefined ? undefined : numberFlag("fleet", "tick-ms", flags["tick-ms"], { min: 100, max: 86_400_000, integer: true, what: "ms between ticks", example: "60001" });
  const timeoutMs = moduleTimeoutMs("fleet", flags["module-timeout"]);
  // The strategy is loaded here once: its name makes the pair's id, and a bad one is said now, not by every worker.
  const strategyValue = looksLikePath(flags.strategy as string) ? resolve(flags.strategy as string) : (flags.strategy as string);
  const strategy = await resolveStrategy("fleet", strategyValue, timeoutMs);
  const exchange = flags.exchange as string;
  const exchangeValue = looksLikePath(exchange) ? resolve(exchange) : exchange;
  if (looksLikePath(exchange) && !existsSync(exchangeValue)) throw new UsageError("fleet", `--exchange ${exchange}: no such file (${exchangeValue})`);
  if (!looksLikePath(exchange) && exchange !== "bundled" && !/^[a-z][a-z0-9_]*$/.test(exchange)) {
    throw new UsageError("fleet", `--exchange ${JSON.stringify(exchange)} is not a ccxt exchange id (lower case, e.g. binance), a file path nor bundled`);
  }
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix });
  try {
    const id = await admin.add({ symbol, strategy: strategyValue, exchange: exchangeValue, ...(tickMs === undefined ? {} : { tickMs }) }, strategy.strategyName);
    terminal.line(`added ${id}`);
    return EXIT.ok;
  } finally {
    await admin.close();
  }
}

async function removeCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, COMMON, EXAMPLES);
  if (flags.help) return help(terminal);
  if (positionals.length !== 1) throw new UsageError("fleet", `fleet remove takes one pair id, e.g. fleet remove BTCUSDT:momentum; got ${positionals.length}`);
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix });
  try {
    const id = positionals[0] as string;
    const before = (await admin.list()).pairs.find((pair) => pair.pair === id);
    if (!(await admin.remove(id))) {
      terminal.warn(`rxtrade fleet: no pair ${id} in ${prefix}pairs; see rxtrade fleet list`);
      return EXIT.failed;
    }
    terminal.line(`removed ${id}`);
    if (before?.signalId != null) terminal.warn(`rxtrade fleet: ${id} held signal ${before.signalId}: it stays in the store, untraded (fleet drain closes a pair's signal before it stops)`);
    return EXIT.ok;
  } finally {
    await admin.close();
  }
}

async function drainCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, { ...COMMON, all: { type: "boolean" } }, EXAMPLES);
  if (flags.help) return help(terminal);
  if (flags.all === true && positionals.length > 0) throw new UsageError("fleet", "fleet drain takes pair ids or --all, not both");
  if (flags.all !== true && positionals.length === 0) throw new UsageError("fleet", "fleet drain needs pair ids or --all, e.g. fleet drain BTCUSDT:momentum");
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix });
  try {
    const ids = await admin.drain(flags.all === true ? "all" : positionals);
    terminal.line(ids.length === 0 ? "nothing to drain" : `draining ${ids.join(", ")}`);
    return EXIT.ok;
  } catch (error) {
    terminal.warn(`rxtrade ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  } finally {
    await admin.close();
  }
}

async function listCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags, positionals } = parseCommandLine("fleet", args, { ...COMMON, json: { type: "boolean" } }, EXAMPLES, false);
  void positionals;
  if (flags.help) return help(terminal);
  const { url, prefix } = connection(flags);
  const { fleetAdmin } = await loadRedis();
  const admin = fleetAdmin({ url }, { prefix });
  try {
    const { pairs, workers } = await admin.list();
    if (flags.json === true) {
      terminal.line(JSON.stringify(pairs.map(({ pair, owner, status, signalId, lastTickAt, token }) => ({ pair, owner, status, signalId, lastTickAt, token }))));
      return EXIT.ok;
    }
    terminal.line(`${pairs.length} pair${pairs.length === 1 ? "" : "s"}, ${workers.length} live worker${workers.length === 1 ? "" : "s"}${workers.length === 0 ? "" : ` (${workers.join(", ")})`}`);
    if (pairs.length > 0) terminal.line(table(pairs));
    return EXIT.ok;
  } finally {
    await admin.close();
  }
}

function table(pairs: readonly FleetPairView[]): string {
  const rows = [["PAIR", "OWNER", "STATUS", "SIGNAL", "LAST TICK", "TOKEN"], ...pairs.map((p) => [p.pair, p.owner ?? "-", p.status, p.signalId ?? "-", p.lastTickAt ?? "-", p.token === null ? "-" : String(p.token)])];
  const widths = rows[0]?.map((_, column) => Math.min(40, Math.max(...rows.map((row) => (row[column] as string).length)))) ?? [];
  return rows.map((row) => row.map((text, column) => cell(terminalSafe(text), widths[column] as number).padEnd(widths[column] as number)).join("  ").trimEnd()).join("\n");
}

async function tailCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const { flags } = parseCommandLine("fleet", args, { ...COMMON, json: { type: "boolean" }, "from-start": { type: "boolean" } }, EXAMPLES, false);
  if (flags.help) return help(terminal);
  const { url, prefix } = connection(flags);
  const { fleetEvents$ } = await loadRedis();
  await new Promise<void>((done) => {
    const subscription = fleetEvents$({ url }, { prefix, ...(flags["from-start"] === true ? { from: "0" } : {}) }).subscribe((event) => {
      if (flags.json === true) terminal.line(JSON.stringify(event));
      else {
        const extra = Object.entries(event)
          .filter(([field]) => !["id", "action", "pair", "worker", "token", "signalId", "at"].includes(field))
          .map(([field, value]) => `${field}=${terminalSafe(String(value))}`);
        terminal.line([event.at, event.pair, event.action, `worker=${event.worker}`, `token=${event.token}`, ...(event.signalId === "" ? [] : [`signal=${event.signalId}`]), ...extra].join(" "));
      }
    });
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      subscription.unsubscribe();
      done();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  return EXIT.ok;
}

async function workerCommand(args: readonly string[], terminal: Terminal): Promise<number> {
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
  const { fleetWorker } = await loadRedis();
  const { bundledExchange, isLogLevel, serviceLogger } = await import("rxtrade/service");
  const level = flags["log-level"] ?? process.env.LOG_LEVEL ?? "info";
  if (!isLogLevel(level)) throw new UsageError("fleet", `--log-level must be one of fatal, error, warn, info, debug, trace, silent, got ${JSON.stringify(level)}`);
  const logger = serviceLogger({ level });

  let bundled: Promise<Candle[]> | undefined;
  const modules = new Map<string, Promise<ExchangeSchema>>();
  const ccxt = new Map<string, ExchangeSchema>();
  const resolvePair = async (spec: FleetPairSpec, clock: { now(): number }, fleetClock: { origin: number } | undefined) => {
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
  return EXIT.ok;
}

function help(terminal: Terminal): number {
  terminal.line(FLEET_HELP);
  return EXIT.ok;
}
