// A pair's equity curve in rxtrade/service (/api/pairs' `equity`, the dashboard's chart): the
// last EQUITY_POINTS closes, each with the sum of the closed PnL up to it since the start —
// the points dropped from the ring still counted in the sums.
import { expect, it } from "vitest";
import { EQUITY_POINTS } from "rxtrade/service";
import { EquitySeries } from "../src/service/equitySeries";

it("keeps the last closes, oldest first, each with the running sum of PnL since the start", () => {
  const series = new EquitySeries(3);
  expect(series.points()).toEqual([]);
  series.add(1000, 1.5);
  series.add(2000, -0.5);
  expect(series.points()).toEqual([
    [1000, 1.5],
    [2000, 1],
  ]);
  series.add(3000, 2);
  series.add(4000, -1);
  series.add(5000, 0.25);
  // 1000 and 2000 dropped; the sums still start from the first close.
  expect(series.points()).toEqual([
    [3000, 3],
    [4000, 2],
    [5000, 2.25],
  ]);
  expect(series.totalPercent).toBe(2.25);
  expect(series.length).toBe(3);
});

it("holds 1,000 closes by default: the 1,001st pushes out the first", () => {
  expect(EQUITY_POINTS).toBe(1000);
  const series = new EquitySeries();
  for (let i = 1; i <= 1001; i++) series.add(i * 60_000, 1);
  const points = series.points();
  expect(points.length).toBe(1000);
  expect(points[0]).toEqual([2 * 60_000, 2]);
  expect(points.at(-1)).toEqual([1001 * 60_000, 1001]);
});
