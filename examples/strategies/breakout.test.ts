// The breakout's limit entry on a VirtualClock: a scheduled signal that is entered, one that
// times out, and one whose stop loss is crossed before the entry. The strategy is async (it
// awaits ctx.getCandles), so time advances with flushAsync.
import { Subject } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTicks$, replayExchange } from "rxtrade";
import { candlesFromPrices, VirtualClock } from "rxtrade/testing";
import { breakoutStrategy } from "./breakout";

const TICK = 60_001;
// The tick at k x 60001 ms sees the price of minute k (candles start a minute early).
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

/** Every tick that changes something (a new limit entry, an entry, a close, a cancel), by tick. */
async function events(prices: number[], stopTick: number): Promise<string[]> {
  const clock = new VirtualClock(0);
  const stop$ = new Subject<void>();
  const exchange = replayExchange(candlesFromPrices(prices, { start: -60_000 }), clock);
  const out: string[] = [];
  liveTicks$("BTCUSDT", breakoutStrategy({ lookback: 5 }), { exchange, scheduler: clock, stop$, config }).subscribe((r) => {
    if (r.action === "idle" || r.action === "active" || (r.action === "scheduled" && r.timestamp !== r.signal.scheduledAt)) return;
    const s = r.signal;
    const detail =
      r.action === "scheduled"
        ? `${s.position} limit ${s.priceOpen} TP ${s.priceTakeProfit.toFixed(2)} SL ${s.priceStopLoss.toFixed(2)}`
        : r.action === "closed"
          ? `${r.closeReason} @${r.currentPrice}`
          : r.action === "cancelled"
            ? r.cancelReason
            : `${s.position} @${s.priceOpen}`;
    out.push(`tick ${r.timestamp / TICK}: ${r.action} ${detail}`);
  });
  clock.schedule(() => stop$.next(), stopTick * TICK);
  await clock.flushAsync();
  return out;
}

const flat = (minutes: number, price = 100) => Array<number>(minutes).fill(price);

describe("breakout strategy", () => {
  it("places a long limit at the broken high, is entered on the retest and takes profit", async () => {
    // Tick 6 sees 101 above the high (100) of minutes 2–5: a long limit at 100, TP 101, SL 99.4.
    // Tick 7 sees 100.5: still waiting. Tick 8 sees 100: entered. Tick 9 sees 101: take profit.
    expect(await events([...flat(6), 101, 100.5, 100, 101], 10)).toEqual([
      "tick 6: scheduled long limit 100 TP 101.00 SL 99.40",
      "tick 8: opened long @100",
      "tick 9: closed take_profit @101",
    ]);
  });

  it("places a short limit at the broken low and takes profit", async () => {
    expect(await events([...flat(6), 99, 100, 98.9], 9)).toEqual([
      "tick 6: scheduled short limit 100 TP 99.00 SL 100.60",
      "tick 7: opened short @100",
      "tick 8: closed take_profit @99",
    ]);
  });

  it("cancels the entry when the retest does not come within CC_SCHEDULE_AWAIT_MINUTES (120)", async () => {
    // The graceful stop at tick 10 waits for the scheduled entry: it ends by the timeout.
    expect(await events([...flat(6), ...flat(130, 101.5)], 10)).toEqual([
      "tick 6: scheduled long limit 100 TP 101.00 SL 99.40",
      "tick 126: cancelled timeout",
    ]);
  });

  it("cancels the entry when the price gaps through the stop loss first", async () => {
    expect(await events([...flat(6), 101, 99, 99], 8)).toEqual(["tick 6: scheduled long limit 100 TP 101.00 SL 99.40", "tick 7: cancelled stop_loss"]);
  });
});
