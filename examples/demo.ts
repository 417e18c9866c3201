// The demo: three weeks of real BTCUSDT minutes (bundled) replayed through the live engine in
// virtual time — the same liveTrade$ pipeline a live run uses, with its clock driven by a
// VirtualClock instead of the wall clock. Run: npm run demo
import { Subject } from "rxjs";
import { error$, liveTrade$, memoryStore, replayExchange } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { VirtualClock } from "rxtrade/testing";
import { momentumStrategy } from "./strategies/momentum";

const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
const first = candles[0]!.timestamp;
const last = candles.at(-1)!.timestamp;
const clock = new VirtualClock(first + 10 * 60_000);
const stop$ = new Subject<void>();
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace("T", " ");

let closed = 0;
let wins = 0;
let total = 0;
error$.subscribe((error) => console.error(`error$ ${error.name}: ${error.message}`));
console.log(`Replaying ${candles.length} BTCUSDT minutes, ${iso(first)} to ${iso(last)}, one tick every 60001 ms of virtual time.\n`);

liveTrade$("BTCUSDT", momentumStrategy({ thresholdPercent: 0.5, exitPercent: 1.5, minutes: 240 }), {
  exchange: replayExchange(candles, clock),
  scheduler: clock,
  store: memoryStore(),
  stop$,
}).subscribe({
  next(result) {
    const { signal } = result;
    if (result.action === "opened") {
      console.log(`${iso(result.timestamp)}  opened  ${signal.position.padEnd(5)} @ ${result.currentPrice.toFixed(2)}  TP ${signal.priceTakeProfit.toFixed(2)}  SL ${signal.priceStopLoss.toFixed(2)}`);
      return;
    }
    closed++;
    total += result.pnl.pnlPercentage;
    if (result.pnl.pnlPercentage > 0) wins++;
    const pnl = result.pnl.pnlPercentage;
    console.log(`${iso(result.timestamp)}  closed  ${signal.position.padEnd(5)} @ ${result.currentPrice.toFixed(2)}  ${result.closeReason.padEnd(12)} ${pnl >= 0 ? "+" : ""}${pnl.toFixed(2)} %`);
  },
  complete() {
    console.log(`\nStopped gracefully at ${iso(clock.now())}.`);
    console.log(`${closed} closed signals, ${wins} won (${((wins / Math.max(1, closed)) * 100).toFixed(1)} %), total PnL ${total >= 0 ? "+" : ""}${total.toFixed(2)} % after fees and slippage.`);
  },
});

// Request the graceful stop at the end of the data: an open position still runs to its close.
clock.schedule(() => stop$.next(), last + 60_000 - clock.now());
const started = performance.now();
const ticks = clock.flush();
console.log(`(${ticks} ticks in ${(performance.now() - started).toFixed(0)} ms of wall time)`);
