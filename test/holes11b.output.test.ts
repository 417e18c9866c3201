// Issue 11, re-review 11c: a backtest stopped because its strategy hung ended with
// "Done: … (interrupted: partial)", as if Ctrl-C had stopped it. Failed on db28dfb.
import { describe, expect, it } from "vitest";
import { doneLine } from "../src/cli/backtestOutput";
import type { RunResult } from "../src/cli/backtestRun";

const result = (extra: Partial<RunResult>): RunResult =>
  ({ ticks: 4, candles: 5, elapsedMs: 2_000, errorCount: 0, end: "interrupted", ...extra }) as RunResult;

describe("doneLine", () => {
  it("says a run stopped because the strategy hung, not that it was interrupted", () => {
    expect(doneLine(result({ stoppedBy: "hung" }))).toBe("Done: 4 ticks over 5 one-minute candles in 2.00 s (3 candles/s) (stopped: the strategy hung; partial)");
    expect(doneLine(result({}))).toBe("Done: 4 ticks over 5 one-minute candles in 2.00 s (3 candles/s) (interrupted: partial)");
  });
});
