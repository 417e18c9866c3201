import { hostname } from "node:os";
import pino, { type DestinationStream, type Logger } from "pino";
import { ArgumentRangeError } from "../errors";
import { isoFormatter } from "./isoTime";

/** The levels of `--log-level` / `LOG_LEVEL`, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** Options of `serviceLogger`. */
export interface ServiceLoggerOptions {
  /** Default `info`. */
  level?: LogLevel;
  /** Where the lines go; default stdout, written synchronously (no line is lost when the process exits). */
  destination?: DestinationStream;
}

/** Whether `value` is one of `LOG_LEVELS`. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === "string" && (LOG_LEVELS as readonly string[]).includes(value);
}

/**
 * The service's logger: pino, one JSON object per line, `level` as its name (`"info"`), `time`
 * in ISO 8601 UTC, with `pid` and `hostname`.
 *
 * @example
 * import { serviceLogger, startService } from "rxtrade/service";
 * await startService({ pairs, store, logger: serviceLogger({ level: "warn" }) });
 *
 * @param options the level (default `info`) and the destination (default stdout)
 */
export function serviceLogger(options: ServiceLoggerOptions = {}): Logger {
  const { level = "info" } = options;
  if (!isLogLevel(level)) {
    throw new ArgumentRangeError(`log level ${JSON.stringify(level)} is not one of ${LOG_LEVELS.join(", ")}`, { argument: "options.level", value: level });
  }
  const wallClock = isoFormatter();
  // pino's isoTime, formatted faster (one line per trade of every pair).
  const time = (): string => `,"time":"${wallClock(Date.now())}"`;
  const destination = options.destination ?? pino.destination({ dest: 1, sync: true });
  const logger = pino({ level, timestamp: time, formatters: { level: (label) => ({ level: label }) } }, destination);
  made.set(logger, { destination, time, base: `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}` });
  return logger;
}

/** What a line of a `serviceLogger` logger is made of, before its own fields. */
interface LineParts {
  destination: DestinationStream;
  time: () => string;
  /** pino's base fields, as it writes them: `,"pid":…,"hostname":…`. */
  base: string;
}

const made = new WeakMap<Logger, LineParts>();

/**
 * For a logger made by `serviceLogger` and its child `child` (made with `bindings`): a writer of
 * info lines whose fields come as JSON text (`,"key":value…`), each line the text pino writes
 * for them — pino's generic path costs some 10 µs a line, a trade's line of every pair. Nothing
 * is written while `child` has info off. `undefined` for another logger (it goes through pino).
 */
export function directInfoLines(logger: Logger, child: Logger, bindings: Record<string, string>): ((fields: string, msg: string) => void) | undefined {
  const parts = made.get(logger);
  if (parts === undefined) return undefined;
  const { destination, time } = parts;
  let middle = parts.base;
  for (const [key, value] of Object.entries(bindings)) middle += `,${JSON.stringify(key)}:${JSON.stringify(value)}`;
  return (fields, msg) => {
    if (child.isLevelEnabled("info")) destination.write(`{"level":"info"${time()}${middle}${fields},"msg":${JSON.stringify(msg)}}\n`);
  };
}
