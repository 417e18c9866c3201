const DAY_MS = 86_400_000;

/**
 * A formatter of epoch ms as ISO 8601 UTC, as `new Date(ms).toISOString()` writes them (a
 * non-finite time as its text). Every log line and event carries one, and `toISOString` costs a
 * few µs: a time in the same day as the formatter's last one reuses that day's date and only
 * formats the clock. One formatter per kind of time (a pair's clock, the wall clock), so that
 * they do not evict each other's day.
 */
export function isoFormatter(): (ms: number) => string {
  // The day of the last time formatted: its start (epoch ms) and its "YYYY-MM-DDT".
  let dayStart = Number.NaN;
  let dayPrefix = "";
  return (ms) => {
    if (!Number.isFinite(ms)) return String(ms);
    // As Date does: the time value truncated to whole ms.
    const time = Math.trunc(ms);
    const inDay = time - dayStart;
    if (!(inDay >= 0 && inDay < DAY_MS)) {
      const text = new Date(time).toISOString();
      dayStart = Math.floor(time / DAY_MS) * DAY_MS;
      dayPrefix = text.slice(0, text.indexOf("T") + 1);
      return text;
    }
    const hours = Math.floor(inDay / 3_600_000);
    const minutes = Math.floor(inDay / 60_000) % 60;
    const seconds = Math.floor(inDay / 1000) % 60;
    const milliseconds = inDay % 1000;
    return `${dayPrefix}${hours < 10 ? "0" : ""}${hours}:${minutes < 10 ? "0" : ""}${minutes}:${seconds < 10 ? "0" : ""}${seconds}.${milliseconds < 10 ? "00" : milliseconds < 100 ? "0" : ""}${milliseconds}Z`;
  };
}

/** Formats the times of the pairs' clocks (events, log fields, views): see `isoFormatter`. */
export const iso: (ms: number) => string = isoFormatter();
