import { Subject } from "rxjs";
import { liveTrade$, replayExchange, type StrategySchema } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { VirtualClock } from "rxtrade/testing";

// A strategy: go long when nothing is open, 1 % take profit, 1 % stop loss, 2 hours at most.
const strategy: StrategySchema = {
  strategyName: "always-long",
  interval: "15m", // ask for a new signal at most every 15 minutes
  getSignal: (_symbol, _when, { currentPrice }) => ({
    position: "long",
    priceTakeProfit: currentPrice * 1.01,
    priceStopLoss: currentPrice * 0.99,
    minuteEstimatedTime: 120,
  }),
};

// Real Binance.US BTC/USDT minutes (prices in USDT) shipped with rxtrade, replayed in virtual time: a day runs in milliseconds.
const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
const clock = new VirtualClock(candles[0]!.timestamp + 5 * 60_000);
const stop$ = new Subject<void>();

liveTrade$("BTCUSDT", strategy, { exchange: replayExchange(candles, clock), scheduler: clock, stop$ }).subscribe({
  next: (r) => console.log(r.action, r.signal.id.slice(0, 8), r.currentPrice.toFixed(2), r.action === "closed" ? r.closeReason : ""),
  complete: () => console.log("stopped gracefully"),
});

clock.schedule(() => stop$.next(), 24 * 60 * 60_000); // a graceful stop after one virtual day
clock.flush();
