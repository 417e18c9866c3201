// Acceptance 3: csvCandles reads .csv and .csv.gz, with ms or ISO 8601 times under `timestamp`
// or `open_time`, and names the file and line of a bad row; plus the bundled data set itself.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CandleDataError } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, parseCandlesCsv } from "rxtrade/node";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-csv-test-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const file = async (name: string, content: string | Buffer) => {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
};

const T0 = Date.parse("2023-03-01T00:00:00Z");
const expected = [
  { timestamp: T0, open: 23141.57, high: 23159.98, low: 23131.69, close: 23150.01, volume: 118.3 },
  { timestamp: T0 + 60_000, open: 23150.01, high: 23155.2, low: 23140, close: 23142.5, volume: 96.05 },
];

/** A thrown CandleDataError, for asserting its fields. */
async function failure(promise: Promise<unknown>): Promise<CandleDataError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CandleDataError);
  return error as CandleDataError;
}

describe("csvCandles", () => {
  it("reads ms timestamps", async () => {
    const path = await file(
      "ms.csv",
      "timestamp,open,high,low,close,volume\n" +
        `${T0},23141.57,23159.98,23131.69,23150.01,118.3\n` +
        `${T0 + 60_000},23150.01,23155.2,23140,23142.5,96.05\n`,
    );
    expect(await csvCandles(path)).toEqual(expected);
  });

  it("reads ISO 8601 times under open_time, with a space or a T, columns in any order, CRLF line ends", async () => {
    const path = await file(
      "iso.csv",
      "open_time,volume,open,high,low,close\r\n" +
        "2023-03-01 00:00:00+00:00,118.3,23141.57,23159.98,23131.69,23150.01\r\n" +
        "2023-03-01T00:01:00Z,96.05,23150.01,23155.2,23140,23142.5\r\n",
    );
    expect(await csvCandles(path)).toEqual(expected);
  });

  it("reads a gzipped file (.csv.gz)", async () => {
    const csv = "timestamp,open,high,low,close,volume\n" + `${T0},23141.57,23159.98,23131.69,23150.01,118.3\n` + `${T0 + 60_000},23150.01,23155.2,23140,23142.5,96.05\n`;
    const path = await file("candles.csv.gz", gzipSync(csv));
    expect(await csvCandles(path)).toEqual(expected);
  });

  it("names the file and the line of a malformed row", async () => {
    const path = await file(
      "bad-row.csv",
      "timestamp,open,high,low,close,volume\n" + `${T0},23141.57,23159.98,23131.69,23150.01,118.3\n` + `${T0 + 60_000},23150.01,abc,23140,23142.5,96.05\n`,
    );
    const error = await failure(csvCandles(path));
    expect(error.line).toBe(3);
    expect(error.path).toBe(path);
    expect(error.message).toBe(`rxtrade: ${path}:3: high "abc" is not a finite number in "${T0 + 60_000},23150.01,abc,23140,23142.5,96.05"`);
  });

  it("refuses a row with a missing field, a price <= 0, a time that does not increase, an unreadable time", async () => {
    const header = "timestamp,open,high,low,close,volume\n";
    const first = `${T0},1,1,1,1,1\n`;
    expect(() => parseCandlesCsv(header + first + `${T0 + 60_000},1,1,1,1\n`, "x.csv")).toThrow("rxtrade: x.csv:3: expected 6 fields, got 5");
    expect(() => parseCandlesCsv(header + first + `${T0 + 60_000},1,1,0,1,1\n`, "x.csv")).toThrow("rxtrade: x.csv:3: prices must be > 0");
    expect(() => parseCandlesCsv(header + first + `${T0},1,1,1,1,1\n`, "x.csv")).toThrow("rxtrade: x.csv:3: the time 2023-03-01T00:00:00.000Z repeats line 2's: one row per candle; remove the repeated rows");
    expect(() => parseCandlesCsv(header + `yesterday,1,1,1,1,1\n`, "x.csv")).toThrow('rxtrade: x.csv:2: the time "yesterday" is neither ms nor ISO 8601');
  });

  it("names what the header lacks", async () => {
    const path = await file("no-volume.csv", "timestamp,open,high,low,close\n" + `${T0},1,1,1,1\n`);
    const error = await failure(csvCandles(path));
    expect(error.line).toBe(1);
    expect(error.message).toBe(`rxtrade: ${path}:1: the header "timestamp,open,high,low,close" lacks volume; expected timestamp,open,high,low,close,volume`);
    expect(() => parseCandlesCsv("time,open,high,low,close,volume\n", "y.csv")).toThrow("lacks timestamp (or open_time)");
  });

  it("reports a file that cannot be read, or a .gz that is not gzip", async () => {
    expect((await failure(csvCandles(join(dir, "missing.csv")))).message).toMatch(/missing\.csv: cannot read the file: ENOENT/);
    const fake = await file("fake.csv.gz", "timestamp,open,high,low,close,volume\n");
    expect((await failure(csvCandles(fake))).message).toContain("fake.csv.gz: not a valid gzip file");
  });

  it("loads the bundled BTCUSDT minutes: 30,240 candles, one a minute, March 1 to 21, 2023", async () => {
    const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
    expect(candles).toHaveLength(30_240);
    expect(candles[0]?.timestamp).toBe(T0);
    expect(candles.at(-1)?.timestamp).toBe(Date.parse("2023-03-21T23:59:00Z"));
    expect(candles.every((c, i) => i === 0 || c.timestamp - (candles[i - 1] as { timestamp: number }).timestamp === 60_000)).toBe(true);
  });
});

describe("ISO 8601 times in a CSV", () => {
  // The times of a day are read digit by digit once the day is known (csvRows.ts); every shape
  // reads as Date.parse reads it (with the space taken for a "T"), and what it refuses is refused.
  const shapes = [
    "2023-03-01 00:00:00+00:00",
    "2023-03-01T00:00Z",
    "2023-03-01T23:59:59Z",
    "2023-03-01T00:00:00.500Z",
    "2023-03-01 10:00+0000",
    "2023-03-01 10:00-00:00",
    "2023-03-01 10:00+01:00",
    "2024-02-29T12:34:56Z",
    "2023-02-30T00:00Z",
    "2023-03-01T24:00Z",
    "2023-03-01T10:60Z",
    "2023-03-01T1a:00Z",
    "2023-03-01T10:00:5Z",
    "2023-13-01T00:00Z",
    "2023-00-10T10:00Z",
    "2023-03-00T10:00Z",
  ];
  it.each(shapes)("%s reads as Date.parse reads it", (time) => {
    const parsed = Date.parse(time.replace(" ", "T"));
    const read = () => parseCandlesCsv(`open_time,open,high,low,close,volume\n${time},1,1,1,1,1\n`, "t.csv")[0]?.timestamp;
    if (Number.isFinite(parsed)) expect(read()).toBe(parsed);
    else expect(read).toThrow(CandleDataError);
  });

  it("a day read before does not stand for another day's rows", () => {
    const csv = "open_time,open,high,low,close,volume\n2023-03-01T23:59Z,1,1,1,1,1\n2023-03-02T00:00Z,1,1,1,1,1\n2023-03-02T00:01Z,1,1,1,1,1\n";
    expect(parseCandlesCsv(csv, "t.csv").map((c) => c.timestamp)).toEqual([Date.parse("2023-03-01T23:59Z"), Date.parse("2023-03-02T00:00Z"), Date.parse("2023-03-02T00:01Z")]);
  });
});

describe("numbers in a CSV", () => {
  // Plain decimals are read digit by digit (csvRows.ts plainRow); every value must be the double
  // Number() gives for the same text, bit for bit, and whatever is not plain still reads as before.
  const HEADER = "timestamp,open,high,low,close,volume\n";
  const row = (price: string, volume = "1") => `${HEADER}${T0},${price},${price},${price},${price},${volume}\n`;
  const read = (text: string) => parseCandlesCsv(text, "n.csv")[0]?.open;

  it("a plain decimal of up to 15 digits, up to 22 after the point, is Number()'s double (300,000 seeded random texts)", () => {
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
    const wrong: string[] = [];
    for (let n = 0; n < 300_000 && wrong.length < 5; n++) {
      const digits = 1 + Math.floor(random() * 15);
      let text = "";
      for (let i = 0; i < digits; i++) text += String(Math.floor(random() * 10));
      const point = Math.floor(random() * (digits + 2)) - 1; // -1: no point; digits: a trailing point
      if (point >= 0) text = `${text.slice(0, point)}.${text.slice(point)}`;
      if (!(Number(text) > 0)) continue;
      const got = read(row(text));
      if (!Object.is(got, Number(text))) wrong.push(`${text}: ${got} !== ${Number(text)}`);
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    ["16 digits", "1234567890.123456"],
    ["23 decimals", "0.00000000000000000000001"],
    ["an exponent", "2.5e3"],
    ["a sign", "+23140.48"],
    ["spaces", " 23140.48 "],
    ["a leading point", ".5"],
    ["a trailing point", "5."],
    ["hexadecimal", "0x10"],
  ])("%s (%s) reads as Number() reads it", (_what, text) => {
    expect(read(row(text))).toBe(Number(text.trim()));
  });

  it("what is refused is refused with the same message, plain or not", () => {
    for (const [price, volume, message] of [
      ["0", "1", "prices must be > 0"],
      ["1", "-0.5", "volume must be >= 0"],
      ["1..2", "1", 'open "1..2" is not a finite number'],
      ["", "1", 'open "" is not a finite number'],
    ] as const) {
      expect(() => read(row(price, volume))).toThrow(message);
    }
    expect(() => read(`${HEADER}${T0},2,1.5,1,1.5,1\n`)).toThrow("open 2 is outside [low 1, high 1.5]");
    expect(() => read(`${HEADER}${T0},2,1,1,1\n`)).toThrow("expected 6 fields, got 5");
    expect(() => read(`${HEADER}${T0},2,1,1,1,1,7\n`)).toThrow("expected 6 fields, got 7");
    expect(() => parseCandlesCsv(`${HEADER}${T0},1,1,1,1,1\n${T0},1,1,1,1,1\n`, "n.csv")).toThrow("repeats line 2's");
  });

  it("columns rxtrade does not read are not looked at; the columns may come in any order", () => {
    const csv = `symbol,volume,close,low,high,open,timestamp\nBTC/USDT,2.5,10.25,10,11,10.5,${T0}\n`;
    expect(parseCandlesCsv(csv, "n.csv")).toEqual([{ timestamp: T0, open: 10.5, high: 11, low: 10, close: 10.25, volume: 2.5 }]);
  });
});
