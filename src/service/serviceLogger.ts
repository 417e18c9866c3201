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
  return pino(
    {
      level,
      // pino's isoTime, formatted faster (one line per trade of every pair).
      timestamp: () => `,"time":"${wallClock(Date.now())}"`,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
