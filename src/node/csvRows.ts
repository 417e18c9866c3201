import { CandleDataError } from "../errors";
import type { Candle } from "../model";

const REQUIRED = ["open", "high", "low", "close", "volume"] as const;
/** Times below this many ms (1973-03-03) are taken for seconds; from this many on (year 5138), for microseconds. */
const SECONDS_BELOW = 1e11;
const MICROSECONDS_FROM = 1e14;

/** Where each column of a candle CSV is, from its header. */
export interface CsvColumns {
  readonly count: number;
  readonly time: number;
  readonly open: number;
  readonly high: number;
  readonly low: number;
  readonly close: number;
  readonly volume: number;
}

/** The columns named by a header line; a `CandleDataError` (line 1) naming what it lacks. */
export function csvColumns(headerLine: string, source: string): CsvColumns {
  const header = headerLine.split(",").map((name) => name.trim().toLowerCase());
  const time = header.findIndex((name) => name === "timestamp" || name === "open_time");
  const missing = [time < 0 ? "timestamp (or open_time)" : undefined, ...REQUIRED.filter((name) => !header.includes(name))].filter((name) => name !== undefined);
  if (missing.length > 0) {
    throw new CandleDataError({
      path: source,
      line: 1,
      message: `the header ${JSON.stringify(headerLine)} lacks ${missing.join(", ")}; expected timestamp,open,high,low,close,volume`,
    });
  }
  const [open, high, low, close, volume] = REQUIRED.map((name) => header.indexOf(name)) as [number, number, number, number, number];
  return { count: header.length, time, open, high, low, close, volume };
}

/** The row before the one being read: its time and line, to check that times increase. */
export interface PreviousRow {
  time: number;
  line: number;
}

/**
 * One data line as a candle, checked: every field a finite number (the time in ms or ISO 8601),
 * prices > 0, volume >= 0, high >= low with open and close within them, a time in ms (not
 * seconds nor microseconds) after the previous row's, and sums and products pricing computes
 * (open+high+low+close, typical price x volume) finite. Anything else is a `CandleDataError`
 * naming the file, the line, the value and the fix. Updates `previous`.
 */
export function parseCandleRow(text: string, line: number, columns: CsvColumns, source: string, previous: PreviousRow): Candle {
  // No closures here: this runs once per row of files of millions of rows.
  const fast = plainRow(text, columns, previous);
  if (fast !== undefined) {
    previous.time = fast.timestamp;
    previous.line = line;
    return fast;
  }
  // Anything plainRow does not take (spaces, signs, exponents, long numbers, any problem) is
  // read here, which names the problem.
  const fields = text.split(",");
  if (fields.length !== columns.count) throw rowError(source, line, text, `expected ${columns.count} fields, got ${fields.length}`);
  const timeText = (fields[columns.time] as string).trim();
  const numeric = /^\d+$/.test(timeText);
  const timestamp = numeric ? Number(timeText) : parseIso(timeText);
  if (timestamp === undefined) throw rowError(source, line, text, `the time ${JSON.stringify(fields[columns.time])} is neither ms nor ISO 8601`);
  if (numeric && timestamp < SECONDS_BELOW) {
    throw rowError(source, line, text, `the time ${timeText} reads as ${iso(timestamp)} in ms: it looks like seconds since the epoch; give ms (${timeText}000) or ISO 8601 — multiply the column by 1000`);
  }
  if (numeric && timestamp >= MICROSECONDS_FROM) {
    throw rowError(source, line, text, `the time ${timeText} lies past the year 5000 in ms: it looks like microseconds since the epoch; give ms (${timeText.slice(0, -3)}) or ISO 8601 — divide the column by 1000`);
  }
  if (timestamp === previous.time) throw rowError(source, line, text, `the time ${iso(timestamp)} repeats line ${previous.line}'s: one row per candle; remove the repeated rows`);
  if (timestamp < previous.time) {
    throw rowError(source, line, text, `the time ${iso(timestamp)} is before line ${previous.line}'s (${iso(previous.time)}): rows must be oldest first; sort the file by its time column`);
  }
  const open = field(fields, columns.open, "open", source, line, text);
  const high = field(fields, columns.high, "high", source, line, text);
  const low = field(fields, columns.low, "low", source, line, text);
  const close = field(fields, columns.close, "close", source, line, text);
  const volume = field(fields, columns.volume, "volume", source, line, text);
  if (!(open > 0 && high > 0 && low > 0 && close > 0)) throw rowError(source, line, text, "prices must be > 0");
  if (volume < 0) throw rowError(source, line, text, "volume must be >= 0");
  if (high < low) throw rowError(source, line, text, `high ${high} is below low ${low}: the row is not a candle (are the high and low columns swapped?); fix or remove it`);
  if (open < low || open > high) throw rowError(source, line, text, `open ${open} is outside [low ${low}, high ${high}]: the row is not a candle; fix or remove it`);
  if (close < low || close > high) throw rowError(source, line, text, `close ${close} is outside [low ${low}, high ${high}]: the row is not a candle; fix or remove it`);
  // Pricing sums the prices and weighs the typical price by the volume: a row whose sum or
  // product overflows (1e308) would pass here and then fail every tick of the run.
  if (!Number.isFinite(open + high + low + close)) {
    throw rowError(source, line, text, `open + high + low + close (${open} + ${high} + ${low} + ${close}) is not a finite number: the prices are too large to price with; fix or remove the row`);
  }
  if (!Number.isFinite(((high + low + close) / 3) * volume)) {
    throw rowError(source, line, text, `the typical price (high + low + close) / 3 times volume ${volume} is not a finite number: the values are too large to price with; fix or remove the row`);
  }
  previous.time = timestamp;
  previous.line = line;
  return { timestamp, open, high, low, close, volume };
}

// The common row — plain decimals, a time in ms or a UTC time of the usual shape — read in
// place, digit by digit, without splitting it into strings: most of a file's read was the
// strings and their garbage. A decimal of at most 15 digits with at most 22 after the point is
// m / 10^k with m and 10^k exact doubles, so the one rounding of the division gives the double
// nearest the decimal, as Number() does: the same candle, bit for bit.
const POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => 10 ** k);
const COLUMN_TIME = 0;
const COLUMN_OPEN = 1;
const COLUMN_HIGH = 2;
const COLUMN_LOW = 3;
const COLUMN_CLOSE = 4;
const COLUMN_VOLUME = 5;

/** `text` as a candle when every field is plain and every check passes; else `undefined` (parseCandleRow's full read decides). */
function plainRow(text: string, columns: CsvColumns, previous: PreviousRow): Candle | undefined {
  let timestamp = Number.NaN;
  let open = Number.NaN;
  let high = Number.NaN;
  let low = Number.NaN;
  let close = Number.NaN;
  let volume = Number.NaN;
  let start = 0;
  for (let column = 0; column < columns.count; column++) {
    const comma = text.indexOf(",", start);
    const end = comma < 0 ? text.length : comma;
    if ((comma < 0) !== (column === columns.count - 1)) return undefined; // too few or too many fields
    const role = column === columns.time ? COLUMN_TIME : column === columns.open ? COLUMN_OPEN : column === columns.high ? COLUMN_HIGH : column === columns.low ? COLUMN_LOW : column === columns.close ? COLUMN_CLOSE : column === columns.volume ? COLUMN_VOLUME : -1;
    if (role === COLUMN_TIME) {
      timestamp = plainDecimal(text, start, end, true);
      if (Number.isNaN(timestamp)) timestamp = end - start >= 17 ? (clockOfKnownDay(text, start, end) ?? Number.NaN) : Number.NaN;
      else if (timestamp < SECONDS_BELOW || timestamp >= MICROSECONDS_FROM) return undefined;
      if (Number.isNaN(timestamp)) return undefined;
    } else if (role !== -1) {
      const value = plainDecimal(text, start, end, false);
      if (Number.isNaN(value)) return undefined;
      if (role === COLUMN_OPEN) open = value;
      else if (role === COLUMN_HIGH) high = value;
      else if (role === COLUMN_LOW) low = value;
      else if (role === COLUMN_CLOSE) close = value;
      else volume = value;
    }
    // A column rxtrade does not read is not looked at, as in the full read.
    start = end + 1;
  }
  // The checks of the full read; any failure is left to it, for its message.
  if (!(timestamp > previous.time && open > 0 && high > 0 && low > 0 && close > 0 && volume >= 0 && high >= low)) return undefined;
  if (open < low || open > high || close < low || close > high) return undefined;
  return { timestamp, open, high, low, close, volume };
}

/** The plain decimal in text[start, end) — digits with at most one point (none when `whole`), at most 15 digits, at most 22 after the point — or NaN. */
function plainDecimal(text: string, start: number, end: number, whole: boolean): number {
  let mantissa = 0;
  let digits = 0;
  let point = -1;
  for (let i = start; i < end; i++) {
    const code = text.charCodeAt(i);
    if (code >= 48 && code <= 57) {
      mantissa = mantissa * 10 + (code - 48);
      digits++;
    } else if (code === 46 && point < 0 && !whole) {
      point = i;
    } else {
      return Number.NaN;
    }
  }
  if (digits === 0 || digits > 15) return Number.NaN;
  const decimals = point < 0 ? 0 : end - point - 1;
  return decimals === 0 ? mantissa : decimals <= 22 ? mantissa / (POWERS_OF_TEN[decimals] as number) : Number.NaN;
}

function field(fields: readonly string[], column: number, name: string, source: string, line: number, text: string): number {
  const value = (fields[column] as string).trim();
  const number = value === "" ? Number.NaN : Number(value);
  if (!Number.isFinite(number)) throw rowError(source, line, text, `${name} ${JSON.stringify(value)} is not a finite number`);
  return number;
}

function rowError(source: string, line: number, text: string, message: string): CandleDataError {
  return new CandleDataError({ path: source, line, message: `${message} in ${JSON.stringify(text)}` });
}

// "2023-03-01 00:00:00+00:00", "2023-03-01T00:00Z": UTC times of the usual shapes, without Date.parse (a third of a read).
const UTC_TIME = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,3}))?)?(?:Z|[+-]00:?00)$/;

function parseIso(text: string): number | undefined {
  const fast = clockOfKnownDay(text);
  if (fast !== undefined) return fast;
  const utc = UTC_TIME.exec(text);
  if (utc !== null) {
    const [, year, month, day, hour, minute, second = "0", fraction = "0"] = utc as unknown as string[];
    const ms = Date.UTC(+year!, +month! - 1, +day!, +hour!, +minute!, +second, +fraction.padEnd(3, "0"));
    // Out of range (2023-02-30, 25:00): as Date.parse takes it.
    if (+month! >= 1 && +month! <= 12 && new Date(ms).getUTCDate() === +day! && +hour! < 24 && +minute! < 60 && +second < 60) return ms;
  }
  // "2023-03-01 00:00:00+00:00" is ISO 8601 with a space; Date.parse wants the "T".
  const ms = Date.parse(text.includes("T") ? text : text.replace(" ", "T"));
  return Number.isFinite(ms) ? ms : undefined;
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

// A file's rows share their day: the day of the last time read and its midnight in ms, so that
// most times need only their clock read, digit by digit (half of the bundled data's read).
let knownDay = "";
let knownDayMs = 0;
const DAY = /^\d{4}-\d\d-\d\d$/;

/** `text`'s time in ms when it is "YYYY-MM-DD[T ]HH:MM[:SS](Z|+00:00|-00:00|+0000|-0000)" of a valid day; else `undefined` (the full parse decides). */
function clockOfKnownDay(text: string, start = 0, end = text.length): number | undefined {
  const separator = text.charCodeAt(start + 10);
  if (separator !== 84 /* T */ && separator !== 32 /* space */) return undefined;
  if (text.charCodeAt(start + 13) !== 58 /* : */) return undefined;
  const hour = twoDigits(text, start + 11);
  const minute = twoDigits(text, start + 14);
  let second = 0;
  let rest = start + 16;
  if (text.charCodeAt(start + 16) === 58) {
    second = twoDigits(text, start + 17);
    rest = start + 19;
  }
  if (!(hour < 24 && minute < 60 && second < 60)) return undefined;
  if (!isUtcZone(text, rest, end)) return undefined;
  if (knownDay === "" || !text.startsWith(knownDay, start)) {
    const day = text.slice(start, start + 10);
    if (!DAY.test(day)) return undefined;
    const [year, month, date] = day.split("-").map(Number) as [number, number, number];
    const ms = Date.UTC(year, month - 1, date);
    if (new Date(ms).getUTCDate() !== date || month < 1 || month > 12) return undefined;
    knownDay = day;
    knownDayMs = ms;
  }
  return knownDayMs + hour * 3_600_000 + minute * 60_000 + second * 1_000;
}

/** The number of the two digits at `at`, or NaN. */
function twoDigits(text: string, at: number): number {
  const tens = text.charCodeAt(at) - 48;
  const units = text.charCodeAt(at + 1) - 48;
  return tens >= 0 && tens <= 9 && units >= 0 && units <= 9 ? tens * 10 + units : Number.NaN;
}

/** Whether text[at, end) is "Z", "+00:00", "-00:00", "+0000" or "-0000". */
function isUtcZone(text: string, at: number, end: number): boolean {
  const length = end - at;
  if (length === 1) return text.charCodeAt(at) === 90; // Z
  const sign = text.charCodeAt(at);
  if (sign !== 43 && sign !== 45) return false; // + or -
  return (length === 6 && text.startsWith("00:00", at + 1)) || (length === 5 && text.startsWith("0000", at + 1));
}
