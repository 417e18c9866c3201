// Review 11b #13 (cosmetics): rxtrade replay printed one stderr line per failing strategy call
// (5,722 near-identical StrategyError lines for a strategy that throws on every tick), where
// rxtrade backtest folds repeats ("N more like this"). Now replay folds them the same way.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, runBacktest } from "rxtrade/node";
import { momentumStrategy } from "../examples/strategies/momentum";
import { main } from "../src/cli/main";
import { Terminal } from "../src/cli/terminal";

const FROM = Date.parse("2023-03-08T12:00Z");
const HOUR = 3_600_000;
let work: string;
let segment: string;
let failing: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "rxtrade-review11b-replay-"));
  const journal = fileJournal(join(work, "store"));
  await runBacktest("BTCUSDT", momentumStrategy(), { candles: await csvCandles(BUNDLED_BTCUSDT_1M), from: FROM, to: FROM + 2 * HOUR, journal, journalLevel: "full", exchangeName: "binance" });
  await journal.close();
  [segment] = (await journal.segmentsOf("BTCUSDT:momentum")) as [string];
  failing = join(work, "failing.mjs");
  await writeFile(
    failing,
    `export default { strategyName: "momentum", interval: "1m", getSignal() { throw new Error("indicator not ready"); } };\n`,
  );
}, 30_000);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe("review 11b #13: rxtrade replay folds repeated error lines", () => {
  it("a strategy that throws on each of 120 ticks: one line in full, then one 'more like this' line", async () => {
    let out = "";
    let err = "";
    const code = await main(["replay", segment, "--strategy", failing], new Terminal({ write: (text: string) => (out += text) }, { write: (text: string) => (err += text) }));
    expect(code).toBe(1);
    const lines = err.trim().split("\n").filter((line) => line.includes("indicator not ready"));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe("error$ StrategyError: getSignal of momentum failed for BTCUSDT: indicator not ready");
    expect(lines[1]).toBe("119 more like this (120 in all): error$ StrategyError: getSignal of momentum failed for BTCUSDT: indicator not ready");
    expect(out).not.toBe("");
  });
});
