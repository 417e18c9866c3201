// `rxtrade run`'s command line: its flags, its help, and the check of each flag's value
// (--log-level, --token, --notify, --http, --from).
import type { LogLevel } from "rxtrade/service";
import { RUN_STORE } from "./runStore";
import { EXAMPLE_STRATEGIES } from "./strategies";
import { parseTimeFlag } from "./timeFlag";
import { type parseCommandLine, UsageError } from "./usage";
import { describeThrown, MODULE_TIMEOUT_HELP } from "./userModule";

/** The drain token's least length: it guards a route that stops trading. */
export const TOKEN_MIN_LENGTH = 16;
/** `LOG_LEVELS` of rxtrade/service, which this module loads only when a service starts (pino and prom-client take a moment). */
const LEVELS = "fatal, error, warn, info, debug, trace, silent";

export const FLAGS = {
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

export type RunFlags = ReturnType<typeof parseCommandLine<typeof FLAGS>>["flags"];

export function logLevel(flag: string | undefined, isLogLevel: (value: unknown) => value is LogLevel): LogLevel {
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
export function drainToken(flag: string | undefined, withHttp: boolean): string | undefined {
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
export function notifyUrls(values: readonly string[], parse: (text: unknown, argument: string) => URL, redact: (url: URL) => string): string[] {
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
export function parseHttp(text: string): { host: string; port: number } {
  const match = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]\s]+):(\d+)$/.exec(text) ?? (/^\d+$/.test(text) ? [text, "127.0.0.1", text] : null);
  const port = match === null ? Number.NaN : Number(match[2]);
  if (match === null || !(Number.isInteger(port) && port >= 0 && port <= 65_535)) {
    throw new UsageError("run", `--http must be host:port (port 0 to 65535; 0 picks a free one), got ${JSON.stringify(text)}; e.g. --http 127.0.0.1:9464, --http [::1]:9464, --http 0.0.0.0:9464 in a container`);
  }
  return { host: match[1] as string, port };
}

/** `--from`: ISO 8601 (UTC unless an offset is given) or epoch ms; not 2023-02-30. */
export function parseTime(text: string): number {
  return parseTimeFlag("run", "from", text);
}
