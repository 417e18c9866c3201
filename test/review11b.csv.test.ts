// Review 11b #11: a CSV value of 1e308 passed the backtest's pre-check but failed every tick
// (pricing sums open+high+low+close and weighs (high+low+close)/3 by the volume, both overflow to
// Infinity). The pre-check now refuses such a row at its line, with the values (exit 2).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CandleDataError } from "rxtrade";
import { csvCandleFile } from "rxtrade/node";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const HEADER = "timestamp,open,high,low,close,volume\n";
const T0 = Date.parse("2023-03-01T00:00:00Z");
const rows = (...lines: string[]) => HEADER + lines.map((line, i) => `${T0 + i * 60_000},${line}\n`).join("");
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-review11b-csv-"));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function refusal(name: string, text: string): Promise<{ path: string; error: unknown }> {
  const path = join(work, name);
  await writeFile(path, text);
  const error = await csvCandleFile(path).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { path, error };
}

describe("review 11b #11: rows pricing cannot add up are refused at their line", () => {
  it("1e308 prices: open + high + low + close overflows, refused at line 3 with the values", async () => {
    const { path, error } = await refusal("huge.csv", rows("100,101,99,100,1", "1e308,1e308,1e308,1e308,1", "100,101,99,100,1"));
    expect(error).toBeInstanceOf(CandleDataError);
    expect(error).toMatchObject({ path, line: 3 });
    expect((error as Error).message).toBe(
      `rxtrade: ${path}:3: open + high + low + close (1e+308 + 1e+308 + 1e+308 + 1e+308) is not a finite number: the prices are too large to price with; fix or remove the row in "${T0 + 60_000},1e308,1e308,1e308,1e308,1"`,
    );
  });

  it("1e200 prices with a volume of 1e200: the typical price x volume overflows, refused at line 2", async () => {
    const { path, error } = await refusal("volume.csv", rows("1e200,1e200,1e200,1e200,1e200", "100,101,99,100,1"));
    expect(error).toBeInstanceOf(CandleDataError);
    expect(error).toMatchObject({ path, line: 2 });
    expect((error as Error).message).toContain("the typical price (high + low + close) / 3 times volume 1e+200 is not a finite number");
  });

  it("large values that add up are kept (1e300 prices, volume 1)", async () => {
    const path = join(work, "large.csv");
    await writeFile(path, rows("1e300,1e300,1e300,1e300,1", "1e300,1e300,1e300,1e300,1"));
    const file = await csvCandleFile(path);
    const candles = [];
    for await (const candle of file) candles.push(candle);
    expect(candles.map((candle) => candle.close)).toEqual([1e300, 1e300]);
  });

  it("rxtrade backtest --data with such a row exits 2 before anything runs, naming the file and line", async () => {
    const path = join(work, "BTCUSDT.csv");
    await writeFile(path, rows("100,101,99,100,1", "100,101,99,100,1", "1e308,1e308,1e308,1e308,1"));
    let out = "";
    let err = "";
    const code = await main(["backtest", "--strategy", "momentum", "--data", path], new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toContain(`rxtrade backtest: --data ${path}:4: open + high + low + close (1e+308 + 1e+308 + 1e+308 + 1e+308) is not a finite number`);
  });
});
