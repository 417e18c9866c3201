// Runs examples/facade.ts in CI: three virtual days through the facade, in virtual time.
import { expect, it } from "vitest";
import { Live } from "rxtrade";
import { main } from "./facade";

it("examples/facade.ts runs to a graceful stop and prints a non-empty report", async () => {
  const lines: string[] = [];
  const started = performance.now();
  const { report, done, trades } = await main({ log: (line) => lines.push(line) });
  expect(performance.now() - started).toBeLessThan(5_000);

  expect(done).toEqual([{ symbol: "BTCUSDT", strategyName: "momentum", exchangeName: "binance-replay", backtest: false }]);
  expect(trades).toBeGreaterThan(0);
  expect(report.startsWith("# Live Trading Report: momentum\n\n| Timestamp | Action |")).toBe(true);
  expect(report).not.toContain("No events recorded yet.");
  expect(report).toMatch(/\| CLOSED \| BTCUSDT \|/);
  expect(lines.at(-1)).toBe(report);
  expect(lines).toContain("done: BTCUSDT momentum on binance-replay");

  const stats = await Live.getData("BTCUSDT", "momentum");
  expect(stats.totalClosed).toBeGreaterThan(0);
  expect(await Live.list()).toEqual([{ id: "BTCUSDT:momentum", symbol: "BTCUSDT", strategyName: "momentum", status: "done" }]);
});
