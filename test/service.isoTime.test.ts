// The ISO 8601 times of rxtrade/service's log lines and events: formatted without Date's
// toISOString when the day is the last one's, and always the same text as toISOString.
import { expect, it } from "vitest";
import { iso, isoFormatter } from "../src/service/isoTime";

it("writes what toISOString writes, across days, ms fractions, years and negative times", () => {
  const day = 86_400_000;
  const times = [
    Date.parse("2023-03-08T14:25:00.145Z"),
    Date.parse("2023-03-08T23:59:59.999Z"),
    Date.parse("2023-03-09T00:00:00.000Z"),
    Date.parse("2023-03-08T00:00:00.001Z"),
    Date.parse("2024-02-29T12:00:00.050Z"),
    0,
    -1,
    -day - 0.5,
    1.9,
    Date.parse("2023-03-08T09:05:07.009Z") + 0.75,
    Date.parse("+010000-01-01T00:00:00.000Z"),
  ];
  // And a walk through two days in uneven steps, which mostly hits the cached day.
  for (let t = Date.parse("2023-03-08T22:00:00Z"); t < Date.parse("2023-03-10T02:00:00Z"); t += 60_001 * 7 + 13) times.push(t);
  for (const time of times) expect([time, iso(time)]).toEqual([time, new Date(time).toISOString()]);
  expect([iso(Number.NaN), iso(Number.POSITIVE_INFINITY)]).toEqual(["NaN", "Infinity"]);
});

it("two formatters used in turn (the wall clock, a pair's clock years apart) each write what toISOString writes", () => {
  const wall = isoFormatter();
  const pair = isoFormatter();
  const now = Date.parse("2026-12-02T11:00:00.000Z");
  const simulated = Date.parse("2023-03-08T12:00:00.000Z");
  for (let i = 0; i < 50; i++) {
    expect(wall(now + i * 1234)).toBe(new Date(now + i * 1234).toISOString());
    expect(pair(simulated + i * 60_001)).toBe(new Date(simulated + i * 60_001).toISOString());
  }
});
