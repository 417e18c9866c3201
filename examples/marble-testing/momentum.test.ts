// A strategy and its marble test: the price path is a marble (one character per minute), the
// expected trades are a marble of TestScheduler frames (one tick every 60001 ms).
import { map } from "rxjs";
import { describe, expect, it } from "vitest";
import { liveTrade$ } from "rxtrade";
import { createTestScheduler, marbleExchange } from "rxtrade/testing";
import { momentumStrategy } from "../strategies/momentum";

const TICK = 60_001;
// The tick at k x 60001 ms sees the price of minute k (the last one closed by then).
const config = { CC_AVG_PRICE_CANDLES_COUNT: 1 };

describe("momentum strategy", () => {
  it("goes long on a 1 % rise and takes profit at +1 %", () => {
    const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      //                               minute: 0123456789
      const exchange = marbleExchange("aaaab--c--", { a: 100, b: 101, c: 102.5 }, scheduler, { start: -60_000 });
      const stop$ = hot(`${9 * TICK}ms s`);
      const trades$ = liveTrade$("BTCUSDT", momentumStrategy(), { exchange, scheduler, stop$, config }).pipe(
        map((r) => `${r.action} ${r.signal.position} @${r.currentPrice}`),
      );
      // Minute 4: 101 is +1 % over minute 1 -> long at 101, TP 102.01, SL 99.99.
      // Minute 7: 102.5 >= TP -> closed at exactly 102.01. The stop at tick 9 finds nothing open.
      expectObservable(trades$).toBe(`${4 * TICK}ms o ${3 * TICK - 1}ms c ${2 * TICK - 1}ms |`, {
        o: "opened long @101",
        c: "closed long @102.01",
      });
    });
  });

  it("goes short on a 1 % fall and is stopped out", () => {
    const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
    scheduler.run(({ hot, expectObservable }) => {
      //                               minute: 012345678
      const exchange = marbleExchange("aaaab-c--", { a: 100, b: 99, c: 100.5 }, scheduler, { start: -60_000 });
      const stop$ = hot(`${5 * TICK}ms s`);
      const trades$ = liveTrade$("BTCUSDT", momentumStrategy(), { exchange, scheduler, stop$, config }).pipe(
        map((r) => (r.action === "closed" ? `${r.closeReason} ${r.pnl.pnlPercentage.toFixed(4)}` : `${r.action} ${r.signal.position}`)),
      );
      // Minute 4: short at 99 (TP 98.01, SL 99.99). A stop arrives at tick 5 while it is open: the
      // stream waits. Minute 6: 100.5 >= SL -> closed at exactly 99.99: with 0.1 % slippage
      // and 0.1 % fee a side, (99 x 0.999 - 99.99 x 1.001) / (99 x 0.999) x 100 - 0.2 = -1.4022 %.
      expectObservable(trades$).toBe(`${4 * TICK}ms o ${2 * TICK - 1}ms (c|)`, {
        o: "opened short",
        c: "stop_loss -1.4022",
      });
    });
  });
});
