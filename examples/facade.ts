// The seed-compatible facade: named exchange and strategy, Live.background, events and the
// Markdown report — three virtual days of bundled BTCUSDT minutes, replayed in about a second.
//
//   npx tsx examples/facade.ts
import { pathToFileURL } from "node:url";
import { addExchange, addStrategy, Live, listenDoneLive, listenSignalLive, replayExchange, type DoneEvent } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles } from "rxtrade/node";
import { VirtualClock } from "rxtrade/testing";
import { momentumStrategy } from "./strategies/momentum";

const DAY = 24 * 60 * 60_000;

export interface FacadeRun {
  /** The Markdown report of the run. */
  report: string;
  /** The doneLive$ events of the run (one: the graceful stop). */
  done: DoneEvent[];
  /** Opened and closed signals seen on signalLive$. */
  trades: number;
}

/**
 * Registers a replay exchange and the momentum strategy, runs them with `Live.background` for
 * `days` virtual days, stops gracefully and returns the report. Call it once per process: the
 * names it registers cannot be registered twice.
 */
export async function main({ days = 3, log = console.log }: { days?: number; log?: (line: string) => void } = {}): Promise<FacadeRun> {
  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  // Virtual time: the loop runs on this clock (LiveContext.scheduler), the exchange serves the
  // candles that have closed by clock.now().
  const clock = new VirtualClock(candles[0]!.timestamp + 5 * 60_000);

  addExchange(replayExchange(candles, clock, { exchangeName: "binance-replay" }));
  addStrategy(momentumStrategy({ thresholdPercent: 0.4 })); // strategyName "momentum"

  let trades = 0;
  const stopListening = listenSignalLive((result) => {
    if (result.action !== "opened" && result.action !== "closed") return;
    trades++;
    const when = new Date(result.timestamp).toISOString();
    const detail = result.action === "closed" ? `${result.closeReason} ${result.pnl.pnlPercentage.toFixed(2)} %` : result.signal.position;
    log(`${when} ${result.action} ${result.signal.id.slice(0, 8)} @ ${result.currentPrice.toFixed(2)} ${detail}`);
  });
  const done: DoneEvent[] = [];
  const stopListeningDone = listenDoneLive((event) => {
    done.push(event);
    log(`done: ${event.symbol} ${event.strategyName} on ${event.exchangeName}`);
  });

  const stop = Live.background("BTCUSDT", { strategyName: "momentum", exchangeName: "binance-replay", scheduler: clock });
  clock.schedule(stop, days * DAY); // a graceful stop: an open position runs to its close first
  clock.flush(); // synchronous strategy, exchange and store: runs until the loop has ended

  stopListening();
  stopListeningDone();
  const report = await Live.getReport("BTCUSDT", "momentum");
  log(report);
  return { report, done, trades };
}

// Run when executed directly (not when imported by the test).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
