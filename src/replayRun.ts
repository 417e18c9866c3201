import { Observable, type SchedulerLike } from "rxjs";
import { getConfig, resolveConfig } from "./config";
import { CandleDataError, ExchangeError } from "./errors";
import type { Journal, JournalErrorInfo, JournalTick } from "./journal";
import { liveTicks$ } from "./liveTrade";
import type { Candle, CandleInterval, ExchangeSchema } from "./model";
import { windowStart } from "./pricing";
import type { ReplayOptions, ReplayStrategy } from "./replay";
import { lastAtOrBefore, ReplayClock } from "./replayClock";
import { decideTicks, describeRequest, type ReplayRequest, type ReplayRunPlan, type ReplayTick, RunComparison, TickDecisions } from "./replayDiff";
import { encodeState } from "./stateCodec";
import { memoryStore } from "./stores/memoryStore";
import { VirtualClock } from "./testing/virtualClock";

// One run of a journal replayed through the live loop: the recording's clock, exchange and
// store around \`liveTicks$\`, and the comparison of each tick as it comes.

/** Replays one run; emits its comparisons; resolves to the replayed strategy's name. */
export async function replayRun(
  run: ReplayRunPlan,
  strategy: ReplayStrategy,
  options: ReplayOptions,
  emit: (tick: ReplayTick) => void,
  stopped: () => boolean,
): Promise<string> {
  const { start } = run;
  const schema =
    typeof strategy === "function"
      ? strategy({ run: run.run, symbol: start.symbol, strategyName: start.strategyName, exchangeName: start.exchangeName, start: start.at, tickMs: start.tickMs })
      : strategy;
  const strategyName = typeof schema === "string" ? schema : schema.strategyName;
  const config = resolveConfig(getConfig(), options.config);
  const clock = new ReplayClock(new VirtualClock(start.at), {
    ticks: run.ticks.map((tick) => tick.at),
    tickMs: start.tickMs,
    retryDelayMs: config.CC_GET_CANDLES_RETRY_DELAY_MS,
    ...(options.callGraceMs === undefined ? {} : { graceMs: options.callGraceMs }),
  });
  const unrecorded = new Map<number, ReplayRequest[]>();
  const exchange = recordedExchange(run.ticks, clock, start.exchangeName, config.CC_AVG_PRICE_CANDLES_COUNT, (at, request) => {
    const list = unrecorded.get(at);
    const same = (r: ReplayRequest) => r.interval === request.interval && r.since === request.since && r.limit === request.limit;
    if (list === undefined) unrecorded.set(at, [request]);
    else if (!list.some(same)) list.push(request);
  });
  const key = `${start.symbol}:${strategyName}`;
  const store = memoryStore();
  if (run.resumed !== null) {
    // The stored signal is the replayed strategy's (a store refuses another stream's value).
    const signal = { ...run.resumed.signal, symbol: start.symbol, strategyName, exchangeName: start.exchangeName };
    store.write(key, encodeState({ status: run.resumed.status, signal }));
  }
  const names = { recorded: start.strategyName, replayed: strategyName };
  const comparison = new RunComparison(run.run, decideTicks(run.entries, run.resumed?.signal), (at) => unrecorded.get(at) ?? [], emit, names);
  const decisions = new TickDecisions((tick) => comparison.replayed(tick));
  // The replay's own journal at level full, kept only until its ticks are compared.
  const journal: Journal = {
    append: (entry) => decisions.push(structuredClone(entry)),
    read: async function* () {},
    keys: () => [key],
    tail: () => ({}),
  };
  // A step of the clock is over and nothing is in flight: its tick and trade entries are all in.
  const collect = () => decisions.flush();
  let failure: { error: unknown } | undefined;
  const subscription = liveTicks$(start.symbol, schema, {
    exchange,
    store,
    scheduler: clock,
    tickMs: start.tickMs,
    ...(options.config === undefined ? {} : { config: options.config }),
    journal,
    journalLevel: "full",
  }).subscribe({ error: (error: unknown) => (failure = { error }) });
  try {
    await clock.run(collect, () => failure !== undefined || stopped(), () => exchange.hanging > 0);
  } finally {
    subscription.unsubscribe();
  }
  if (failure !== undefined) throw failure.error;
  if (stopped()) return strategyName;
  collect();
  comparison.end();
  return strategyName;
}

const TIMED_OUT = /did not settle within CC_EXCHANGE_TIMEOUT_SECONDS/;

/**
 * The recording's exchange: each request is answered with what the recording got for the same
 * interval, since and limit at the tick in progress (the last recorded tick at or before the
 * clock), a recorded failure with that failure — a time-out or an unanswered request as a call
 * that never answers, so that its time limit passes in virtual time as it did live. A request
 * the recording does not have is told to `unrecorded` and fails.
 */
function recordedExchange(
  ticks: readonly JournalTick[],
  clock: Pick<SchedulerLike, "now">,
  exchangeName: string,
  priceCandles: number,
  unrecorded: (at: number, request: ReplayRequest) => void,
): ExchangeSchema & { readonly hanging: number } {
  const times = ticks.map((tick) => tick.at);
  const context = { exchangeName };
  let hanging = 0;
  // A call that never answers, counted while someone waits for it (until its time limit ends it).
  const unanswered = new Observable<Candle[]>(() => {
    hanging++;
    return () => {
      hanging--;
    };
  });
  return {
    exchangeName,
    get hanging() {
      return hanging;
    },
    getCandles(_symbol: string, interval: CandleInterval, since: Date, limit: number) {
      const tick = ticks[lastAtOrBefore(times, clock.now())];
      const from = since.getTime();
      const found = tick?.candles.find((request) => request.interval === interval && request.since === from && request.limit === limit);
      if (tick === undefined || found === undefined) {
        const at = tick?.at ?? clock.now();
        const request: ReplayRequest = { interval, since: from, limit, pricing: interval === "1m" && limit === priceCandles && from === windowStart(at, limit) };
        unrecorded(at, request);
        const had = tick === undefined ? "no tick yet" : tick.candles.map(describeRequest).join("; ") || "no candle request";
        throw new ExchangeError(`replay: the recording never saw getCandles ${describeRequest(request)} at ${new Date(at).toISOString()} (it has: ${had})`, context);
      }
      if (found.error !== undefined) {
        if (found.error.name === "Unanswered" || TIMED_OUT.test(found.error.message)) return unanswered;
        return recordedFailure(found.error, context);
      }
      return found.candles.map((c): Candle => ({ timestamp: c.timestamp, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume }));
    },
  };
}

function recordedFailure(error: JournalErrorInfo, context: { exchangeName: string }): never {
  const message = `the recording's answer: ${error.message.replace(/^rxtrade: /, "")}`;
  if (error.name === "CandleDataError") throw new CandleDataError({ message, context });
  throw new ExchangeError(message, context);
}
