import { firstValueFrom, isObservable, type Observable } from "rxjs";
import { type Candle, type ExchangeSchema, getConfig } from "rxtrade";
import { isoMinute } from "./backtestData";
import { grouped, type Printer, type ProgressBar } from "./backtestProgress";
import { EXIT, UsageError } from "./usage";
import { describeThrown, loadUserExport, looksLikePath } from "./userModule";

const MINUTE = 60_000;
/** `--exchange`: candles fetched before `--from`, for a strategy that reads up to a day of history. */
const FETCH_HISTORY_MINUTES = 24 * 60;
/** `--exchange`: one request's worth of one-minute candles. */
const FETCH_PAGE = 1000;

/** `--exchange`: a ccxt id, or a module exporting an `ExchangeSchema` or a ccxt exchange instance. */
export async function resolveExchange(value: string, timeoutMs: number): Promise<ExchangeSchema & { resolveSymbol?: (symbol: string) => Promise<string> }> {
  if (looksLikePath(value)) {
    const exported = (await loadUserExport({ command: "backtest", flag: "exchange", path: value, timeoutMs }, "exchange")) as Record<string, unknown> | null;
    if (exported !== null && typeof exported === "object" && typeof exported.fetchOHLCV === "function") {
      const { ccxtExchange } = await import("rxtrade/ccxt");
      return ccxtExchange(exported as never);
    }
    if (exported !== null && typeof exported === "object" && typeof exported.getCandles === "function" && typeof exported.exchangeName === "string") {
      return exported as unknown as ExchangeSchema;
    }
    throw new UsageError("backtest", `--exchange ${value}: the module must export an ExchangeSchema ({ exchangeName, getCandles }) or a ccxt exchange instance as \`exchange\` or as its default export`);
  }
  if (!/^[a-z][a-z0-9_]*$/.test(value)) {
    throw new UsageError("backtest", `--exchange ${JSON.stringify(value)} is not a ccxt exchange id (lower case, e.g. binance, kraken, bybit) nor a file path`);
  }
  const { ccxtExchange } = await import("rxtrade/ccxt");
  return ccxtExchange(value);
}

/**
 * The one-minute candles of the window from the exchange, a page at a time with progress: from
 * a day before --from (the strategy's history) to the time an open signal needs after --to
 * (CC_SCHEDULE_AWAIT_MINUTES + CC_MAX_SIGNAL_LIFETIME_MINUTES), closed candles only. Returns
 * the exit code when the symbol is unknown (2, thrown) or the exchange fails (1).
 */
export async function fetchHistory(
  exchange: ExchangeSchema & { resolveSymbol?: (symbol: string) => Promise<string> },
  symbol: string,
  window: { from: number; to: number | undefined },
  out: Printer,
  bar: ProgressBar,
  signal?: AbortSignal,
): Promise<{ candles: Candle[]; market: string } | number> {
  const config = getConfig();
  const now = Math.floor(Date.now() / MINUTE) * MINUTE;
  if (window.from >= now) throw new UsageError("backtest", `--from ${isoMinute(window.from)} is not in the past; give a time before ${isoMinute(now)}`);
  const to = window.to ?? now;
  const start = window.from - FETCH_HISTORY_MINUTES * MINUTE;
  const end = Math.min(to + (config.CC_SCHEDULE_AWAIT_MINUTES + config.CC_MAX_SIGNAL_LIFETIME_MINUTES) * MINUTE, now);
  let market = symbol;
  try {
    if (typeof exchange.resolveSymbol === "function") market = await exchange.resolveSymbol(symbol);
  } catch (error) {
    const message = describeThrown(error).replace(/^rxtrade: /, "");
    // Without a cause the exchange answered and the name is wrong; with one, it could not be reached.
    if ((error as { cause?: unknown })?.cause === undefined) throw new UsageError("backtest", message);
    out.warn(`rxtrade backtest: cannot check ${symbol} on ${exchange.exchangeName}: ${message}`);
    return EXIT.failed;
  }
  const candles: Candle[] = [];
  const started = performance.now();
  let cursor = start;
  try {
    while (cursor < end) {
      if (signal?.aborted === true) break;
      const page = await answerOf(exchange.getCandles(symbol, "1m", new Date(cursor), Math.min(FETCH_PAGE, Math.ceil((end - cursor) / MINUTE))));
      const fresh = page.filter((candle) => candle.timestamp >= cursor && candle.timestamp < end);
      if (fresh.length === 0) break;
      candles.push(...fresh);
      cursor = (fresh.at(-1) as Candle).timestamp + MINUTE;
      bar.update((cursor - start) / (end - start), `fetching ${market} 1m candles from ${exchange.exchangeName}: ${grouped(candles.length)}`, started);
    }
  } catch (error) {
    bar.end();
    out.warn(`rxtrade backtest: fetching ${market} candles from ${exchange.exchangeName} failed after ${candles.length} candles: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
    return EXIT.failed;
  }
  bar.end();
  if (candles.length === 0) {
    throw new UsageError("backtest", `${exchange.exchangeName} has no one-minute candles of ${market} from ${isoMinute(start)} to ${isoMinute(end)}; give another window (--from, --to)`);
  }
  return { candles, market };
}

/** An exchange's answer, whichever form it takes (an array, a Promise, an Observable's first value). */
async function answerOf<T>(answer: T | PromiseLike<T> | Observable<T>): Promise<T> {
  return isObservable(answer) ? firstValueFrom(answer) : await answer;
}
