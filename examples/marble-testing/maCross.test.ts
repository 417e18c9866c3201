// A strategy that reads candles, marble-tested: maCross asks for its 5-minute candles with
// `ctx.candles$`, which answers synchronously on a marbleExchange, so the whole stream runs inside
// TestScheduler.run. The price path is a marble of one-minute candles, the expected trades a
// marble of TestScheduler frames (one tick every 60001 ms).
//
// How the frames relate to the candles (candles start a minute early, `start: -60_000`):
// - character i of the price marble is "minute i": the one-minute candle that closes at i min;
//   with CC_AVG_PRICE_CANDLES_COUNT 1 the tick at frame k × 60001 ms is priced at minute k;
// - 5-minute candles open at multiples of 5 min, so after the lone first character (minute 0)
//   each group of five characters is one 5-minute candle: minutes 1–5, 6–10, … The group that
//   ends with minute 5j has closed by the tick at frame 5j × 60001, and its close is minute 5j's
//   price (the spaces in the marble mark the groups; they are not minutes);
// - the strategy's interval is "5m": it is asked at ticks 0, 5, 10, … (each 300005 ms after the
//   last call), i.e. exactly when a new 5-minute candle has closed.
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTrade$, type StrategySchema } from "rxtrade";
import { createTestScheduler, marbleExchange } from "rxtrade/testing";
import { maCrossStrategy } from "../strategies/maCross";

const TICK = 60_001;
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };
/** A price to 6 decimals: the stop loss 100 × 1.007 is 100.69999999999999 in floating point. */
const price = (value: number) => Number(value.toFixed(6));

/** maCross on 5-minute candles with SMA2 / SMA4, recording the tick of each getSignal call. */
function maCross(): StrategySchema & { asked: number[] } {
  const inner = maCrossStrategy({ candles: "5m", fast: 2, slow: 4 });
  const asked: number[] = [];
  return {
    ...inner,
    asked,
    getSignal: (symbol, when, ctx) => {
      asked.push(when.getTime() / TICK);
      return inner.getSignal(symbol, when, ctx);
    },
  };
}

describe("ma-cross strategy, marble-tested", () => {
  it("goes long when SMA2 crosses above SMA4 on 5m candles and takes profit at +1 %", () => {
    const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    const strategy = maCross();
    scheduler.run(({ hot, expectObservable }) => {
      //                   minute: 0 1-5   6-10  11-15 16-20 21-25 26-30
      const exchange = marbleExchange("a aaaaa aaaaa aaaaa bbbbb ccccc --d--", { a: 100, b: 99, c: 102, d: 103.5 }, scheduler, { start: -60_000 });
      const stop$ = hot(`${30 * TICK}ms s`);
      const trades$ = liveTrade$("BTCUSDT", strategy, { exchange, scheduler, stop$, config }).pipe(
        map((r) => `${r.action} ${r.signal.position} @${r.currentPrice}`),
      );
      // Ticks 0–15: fewer than the 5 closed 5m candles SMA4 needs now and one candle ago -> no signal.
      // Tick 20: closes 100 100 100 100 | 99: SMA2 falls from 100 (= SMA4, not above) to 99.5
      //   (below SMA4 99.75): from "not above" to "not above" is no cross.
      // Tick 25 (frame 25 × 60001): the candle of minutes 21–25 closed at 102: SMA2 went from 99.5
      //   (below SMA4 99.75) to 100.5 (above SMA4 100.25): a cross above -> long at minute 25's
      //   102, TP 103.02, SL 101.286.
      // Tick 28: minute 28 is 103.5 >= TP -> closed at exactly 103.02 (3 ticks after the open).
      // Tick 30: the stop finds nothing open: the stream completes in that frame.
      expectObservable(trades$).toBe(`${25 * TICK}ms o ${3 * TICK - 1}ms c ${2 * TICK - 1}ms |`, {
        o: "opened long @102",
        c: "closed long @103.02",
      });
    });
    // Asked once per 5m candle while nothing was open, never while the position was (ticks
    // 26–28); the stop at frame 30 × 60001 ends the stream before that frame's tick asks.
    expect(strategy.asked).toEqual([0, 5, 10, 15, 20, 25]);
  });

  it("goes short when SMA2 crosses below SMA4 and is stopped out", () => {
    const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      //                   minute: 0 1-5   6-10  11-15 16-20 21-25 26-30
      const exchange = marbleExchange(
        "a aaaaa bbbbb ccccc ddddd aaaaa -e---",
        { a: 100, b: 101, c: 102, d: 103, e: 101 },
        scheduler,
        { start: -60_000 },
      );
      const stop$ = hot(`${30 * TICK}ms s`);
      const trades$ = liveTrade$("BTCUSDT", maCross(), { exchange, scheduler, stop$, config }).pipe(
        map((r) => (r.action === "closed" ? `${r.closeReason} @${price(r.currentPrice)}` : `${r.action} ${r.signal.position} @${price(r.currentPrice)}`)),
      );
      // Tick 20: closes 100 100 101 102 | 103: SMA2 stays above SMA4 (101.5 > 100.75, then
      //   102.5 > 101.5): rising, no cross.
      // Tick 25: the candle of minutes 21–25 closed at 100: SMA2 101.5 is no longer above SMA4
      //   101.5 -> a cross below -> short at minute 25's 100, TP 99, SL 100.7.
      // Tick 27: minute 27 is 101 >= SL -> closed at exactly 100.7 (2 ticks after the open).
      expectObservable(trades$).toBe(`${25 * TICK}ms o ${2 * TICK - 1}ms c ${3 * TICK - 1}ms |`, {
        o: "opened short @100",
        c: "stop_loss @100.7",
      });
    });
  });
});
