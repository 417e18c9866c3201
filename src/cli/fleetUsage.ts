// What every `rxtrade fleet` subcommand shares: the help, the common flags and their examples,
// the Redis connection from --redis/--prefix, and loading rxtrade/redis.
import { EXAMPLE_STRATEGIES } from "./strategies";
import type { Terminal } from "./terminal";
import { EXIT, UsageError } from "./usage";
import { describeThrown, MODULE_TIMEOUT_HELP } from "./userModule";

export const FLEET_HELP = `rxtrade fleet — a fleet of workers on Redis: each pair live in exactly one worker, taken over on a crash

The desired pairs live in Redis (<prefix>pairs); workers claim them by lease (a fencing token
each), take about their share (ceil(pairs / live workers)), resume open positions from Redis,
and hand their pairs over when stopped. Every trade and error of every worker goes to the
capped stream <prefix>events.

Usage
  rxtrade fleet worker [--name W] [--capacity N] [--lease-ms N] [--speed N [--from ISO]] [--modules-dir DIR] [--log-level L]
  rxtrade fleet add --symbol S --strategy name|path --exchange ccxt-id|path|bundled [--tick-ms N] [--replace]
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
  --modules-dir DIR  load the pairs' strategy and exchange modules only from within DIR (a pair's
                     paths come from Redis: whoever can write to it chooses the code workers run);
                     a pair whose module is elsewhere is not started (status error)
  --log-level L      JSON-line logs on stdout: fatal, error, warn, info, debug, trace, silent (default info)
${MODULE_TIMEOUT_HELP}
  RXTRADE_FLEET_TIMINGS=<file>  times every store write (from the call to Redis's answer) into a
                     histogram written to <file> as JSON every second and at the stop (the bench's
                     store write p50/p99; diff two reads for a window)
  SIGTERM or Ctrl-C  hand the pairs over (leases released at once; open positions go on under
                     another worker), exit 0; a second one exits at once (130). Stopping pairs
                     is fleet drain's job.

add, remove, drain
  add                adds a pair, or replaces its spec (it says added, replaced or unchanged); a
                     drained pair added again runs again. --strategy: an example
                     (${Object.keys(EXAMPLE_STRATEGIES).join(", ")}) or a module's path (stored absolute:
                     every worker must see the same file); --exchange: a ccxt id, a module's path,
                     or bundled (the bundled BTC/USDT minutes for any symbol, offline), checked here (a
                     ccxt id ccxt has, an existing file). A changed
                     spec applies at once: the pair's worker hands it over and it restarts with it.
  --replace          change the strategy or exchange of a pair that holds a signal (refused
                     without it: the signal would be resumed with them; or drain it first)
  remove <pair>      no worker trades it any more (what the store holds for it stays)
  drain <pair>|--all no new signals, close what is open, then stop for good; the intent is kept
                     in Redis across restarts (--all: the pairs present now)

list, tail
  list               per pair: owner, status (unowned, running, draining, drained, error), signal,
                     last tick (the pair's clock), token; a pair no worker could start (error) is
                     followed by why (workers retry it with a growing delay, up to a minute; fix
                     it with fleet add); --json: one JSON array (error: the message)
  tail               follows the events (action, pair, worker, token, signalId, at); --json: one
                     JSON object a line; --from-start: the whole stream first

Example
  export RXTRADE_REDIS=redis://127.0.0.1:6379
  rxtrade fleet add --symbol BTCUSDT --strategy momentum --exchange bundled
  rxtrade fleet worker --name w1 --speed 10 &
  rxtrade fleet list
`;

/** The flags every subcommand takes (each adds its own). */
export const COMMON = {
  redis: { type: "string" },
  prefix: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;
/** Each flag's example, for the usage errors. */
export const EXAMPLES = { redis: "redis://127.0.0.1:6379", prefix: "rxtrade:", name: "w1", capacity: "100", "lease-ms": "15000", speed: "10", from: "2023-03-08T12:00Z" };

/** Redis's URL (--redis, else RXTRADE_REDIS) and the fleet's prefix (--prefix), checked. */
export function connection(flags: { redis?: string; prefix?: string }): { url: string; prefix: string } {
  const url = flags.redis ?? process.env.RXTRADE_REDIS;
  if (url === undefined || url === "") throw new UsageError("fleet", "Redis is required: --redis redis://127.0.0.1:6379, or set RXTRADE_REDIS");
  const shown = JSON.stringify(maskUrl(url));
  const flag = flags.redis === undefined ? "RXTRADE_REDIS" : "--redis";
  if (!/^rediss?:\/\//.test(url)) throw new UsageError("fleet", `${flag} must be a redis:// or rediss:// URL, got ${shown}; e.g. --redis redis://127.0.0.1:6379`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError("fleet", `${flag} ${shown} is not a valid URL (redis://[user:password@]host[:port][/db]); e.g. --redis redis://127.0.0.1:6379`);
  }
  if (parsed.hostname === "") throw new UsageError("fleet", `${flag} ${shown} names no host; e.g. --redis redis://127.0.0.1:6379`);
  if (parsed.pathname !== "" && parsed.pathname !== "/" && !/^\/\d+$/.test(parsed.pathname)) throw new UsageError("fleet", `${flag} ${shown}: the path must be a database number (e.g. /0), got ${JSON.stringify(parsed.pathname)}`);
  const prefix = flags.prefix ?? "rxtrade:";
  if (prefix === "") throw new UsageError("fleet", '--prefix must not be empty; e.g. --prefix rxtrade:');
  return { url, prefix };
}

/** The URL with its password replaced by `***`. */
export function maskUrl(url: string): string {
  return url.replace(/^(\w+:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) => `${scheme}${auth.includes(":") ? `${auth.slice(0, auth.indexOf(":"))}:***` : "***"}@`);
}

/** How long an admin command waits for Redis (to connect, then each call), ms. */
export const CONNECT_TIMEOUT_MS = 5_000;

/**
 * An admin command's failure: Redis unreachable or refusing it (the connection refused, a
 * wrong or missing password, no answer within CONNECT_TIMEOUT_MS) is one line on stderr naming
 * the URL (password masked) and the cause, exit 1 — not a stack trace.
 */
export function redisFailed(command: string, url: string, terminal: Terminal, error: unknown): number {
  const cause = redisCause(error);
  if (cause === undefined) throw error;
  terminal.warn(`rxtrade fleet ${command}: cannot use Redis at ${maskUrl(url)}: ${cause}; check --redis (or RXTRADE_REDIS: host, port, password) and that Redis is running`);
  return EXIT.failed;
}

/** What went wrong talking to Redis, in a clause, or undefined when `error` is not that. */
export function redisCause(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const message = error.message.replace(/^rxtrade: /, "");
  if (error.name === "CallTimeoutError") {
    const down = /is not connected: (.*)\) did not settle/.exec(message);
    return down !== null ? (down[1] as string) : `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`;
  }
  if (error.name === "RedisConnectionError" || error.name === "ReplyError" || /WRONGPASS|NOAUTH|ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH/.test(message)) return message;
  return undefined;
}

/** rxtrade/redis, loaded when a subcommand needs it (it needs the optional peer ioredis). */
export async function loadRedis() {
  try {
    return await import("rxtrade/redis");
  } catch (error) {
    throw new UsageError("fleet", `rxtrade/redis could not be loaded (it needs ioredis: npm install ioredis): ${describeThrown(error)}`);
  }
}

/** A subcommand's --help: the whole fleet help. */
export function help(terminal: Terminal): number {
  terminal.line(FLEET_HELP);
  return EXIT.ok;
}
