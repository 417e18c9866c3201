import { UsageError } from "./usage";

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/**
 * A time flag of `command` (`--from`, `--to`): ISO 8601 (`2023-03-08T12:00Z`, `2023-03-08 12:00`,
 * `2023-03-08`; UTC unless an offset is given) or epoch ms — a calendar date that exists (not
 * 2023-02-30, which Date.parse would take as March 2) at a time of day that exists (not 24:00).
 * Anything else is a `UsageError` with the value, what is wrong and the format.
 */
export function parseTimeFlag(command: string, flag: string, text: string): number {
  const trimmed = text.trim();
  const example = `--${flag} ${flag === "to" ? "2023-03-11T12:00Z" : "2023-03-08T12:00Z"}`;
  if (/^\d{12,}$/.test(trimmed)) return Number(trimmed);
  const parts = ISO_TIME.exec(trimmed);
  if (parts === null) throw new UsageError(command, `--${flag} ${JSON.stringify(text)} is not a time; give ISO 8601 in UTC, e.g. ${example}`);
  const [, year, month, day, hour = "00", minute = "00", second = "00", offset] = parts as unknown as string[];
  const problem = calendarProblem(+year!, +month!, +day!, +hour, +minute, +second);
  if (problem !== undefined) {
    throw new UsageError(command, `--${flag} ${JSON.stringify(text)} is not a time: ${problem}; give ISO 8601 in UTC (YYYY-MM-DDTHH:MMZ), e.g. ${example}`);
  }
  const iso = trimmed.replace(" ", "T");
  // No offset: UTC (Date.parse would take a date-time without one for local time).
  const ms = Date.parse(offset === undefined && parts[4] !== undefined ? `${iso}Z` : iso);
  if (!Number.isFinite(ms)) throw new UsageError(command, `--${flag} ${JSON.stringify(text)} is not a time; give ISO 8601 in UTC, e.g. ${example}`);
  return ms;
}

function calendarProblem(year: number, month: number, day: number, hour: number, minute: number, second: number): string | undefined {
  if (month < 1 || month > 12) return `there is no month ${month}`;
  const days = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (day < 1 || day > days) return `${MONTHS[month - 1]} ${year} has ${days} days, not ${day}`;
  if (hour > 23) return `there is no hour ${hour} (00 to 23)`;
  if (minute > 59) return `there is no minute ${minute} (00 to 59)`;
  if (second > 59) return `there is no second ${second} (00 to 59)`;
  return undefined;
}
