import { existsSync } from "node:fs";
import { join } from "node:path";
import { type Candle, DEFAULT_TICK_MS, getConfig, type JournalTail, replayExchange, type SignalState, tradeContext } from "rxtrade";
import { BUNDLED_BTCUSDT_1M, csvCandles, fileJournal, fileStore, JOURNAL_DIR } from "rxtrade/node";
import { intervalMs } from "../model";
import { pacedScheduler } from "../schedulers/pacedScheduler";
import { DemoClockFile, type RestartPoint, restartPoint, trackedServices, writeTick } from "./demoClock";
import { rewindsJournal, rewoundJournal } from "./demoRewind";
import { displayPath, duration, minute, visible, wallPeriod } from "./format";
import { finish, resumedLine, runSession, storedState } from "./session";
import { EXAMPLE_STRATEGIES, resolveStrategy } from "./strategies";
import type { Terminal } from "./terminal";
import { explainReportError, explainRunError } from "./runErrors";
import { parseTimeFlag } from "./timeFlag";
import { EXIT, numberFlag, parseFlags, UsageError } from "./usage";
import { MODULE_TIMEOUT_HELP, moduleTimeoutMs } from "./userModule";
import { checkWritableFolder } from "./writableFolder";
import { closeJournal, JOURNAL_HELP, journalLevelFlag, storeJournal } from "./journalFlag";

const SYMBOL = "BTCUSDT";
const EXCHANGE_NAME = "replay";
const MINUTE = 60_000;
/** Simulated minutes per wall-clock second: a trade every few seconds with the example strategies. */
export const DEFAULT_SPEED = 240;
/** Three simulated days: about 18 s at the default speed. */
export const DEFAULT_MINUTES = 4320;
/**
 * The demo's own store folder, not `live`'s `./.rxtrade`: a demo signal left open by a kill
 * must not block `rxtrade live` on the same symbol and strategy.
 */
export const DEMO_STORE = "./.rxtrade-demo";
/**
 * The demo's own report folder, not `live`'s `./dump/live`: a live run on the same symbol and
 * strategy (`BTCUSDT_momentum.md`) must not overwrite the demo's report, nor the demo a live one.
 */
export const DEMO_REPORT_DIR = "./dump/demo";
/** The default start is this far into the data, so every example strategy has its history. */
const WARM_UP_MINUTES = 120;

const FLAGS = {
  speed: { type: "string" },
  strategy: { type: "string" },
  store: { type: "string" },
  journal: { type: "string" },
  from: { type: "string" },
  minutes: { type: "string" },
  "report-dir": { type: "string" },
  "module-timeout": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

export const DEMO_HELP = `rxtrade demo — the live loop on three weeks of real BTCUSDT minutes, offline

Replays the bundled one-minute candles of Binance.US BTC/USDT (2023-03-01 to 2023-03-21, prices
in USDT) through the real live loop — liveTrade$ with a file store — on a simulated clock paced
at N minutes per second: the same ticks, persistence, graceful stop and crash recovery as a
live run. The same flags give the same trades and statistics every run, however busy the
machine: the clock moves from one tick to the next only once the store and the strategy have
answered. Stop it with Ctrl-C, or kill -9 it, and run it again: it goes on after the store's
last write (resuming a signal left open), with the trades an uninterrupted run makes.

Usage
  rxtrade demo [--speed N] [--strategy name|path] [--store dir] [--from ISO] [--minutes N]
               [--journal off|trades|full]

Flags
  --speed N          simulated minutes per second of wall time, at most (a slow disk slows it),
                     1 to 100000 (default ${DEFAULT_SPEED}); it changes the pace, not the trades
  --strategy S       an example strategy: ${Object.keys(EXAMPLE_STRATEGIES).join(", ")} (default momentum);
                     or a path to a module exporting a StrategySchema as \`strategy\` or default
  --store DIR        where open signals are persisted (default ${DEMO_STORE}; live's is ./.rxtrade)
${JOURNAL_HELP}
  --from ISO         simulated start, e.g. 2023-03-08T12:00Z (default: where the last run of this
                     strategy stopped — killed, the tick after its last store write — else
                     2023-03-01 02:00 UTC)
  --minutes N        stop gracefully after N simulated minutes (default ${DEFAULT_MINUTES}, 3 days);
                     the replay also stops 26 h before the data ends, so the last signal can close
  --report-dir DIR   where the Markdown report is written (default ${DEMO_REPORT_DIR}; live's is
                     ./dump/live)
${MODULE_TIMEOUT_HELP}
  -h, --help         show this help

Stopping
  Ctrl-C (or SIGTERM)  graceful: no new signals; an open signal runs to its close in simulated time
  Ctrl-C twice         exit at once (code 130); the open signal stays in the store, the next run resumes it

Strategies
${Object.entries(EXAMPLE_STRATEGIES)
  .map(([name, { summary }]) => `  ${name.padEnd(10)} ${summary}`)
  .join("\n")}
`;

/** `rxtrade demo`: the real live loop on the bundled candles, on an accelerated clock. */
export async function demoCommand(args: readonly string[], terminal: Terminal): Promise<number> {
  const flags = parseFlags("demo", args, FLAGS, {
    speed: "240",
    strategy: "ma-cross",
    store: DEMO_STORE,
    journal: "full",
    from: "2023-03-08T12:00Z",
    minutes: "1440",
    "report-dir": DEMO_REPORT_DIR,
    "module-timeout": "30",
  });
  if (flags.help) {
    terminal.line(DEMO_HELP);
    return EXIT.ok;
  }
  const speed = flags.speed === undefined ? DEFAULT_SPEED : numberFlag("demo", "speed", flags.speed, { min: 1, max: 100_000, what: "simulated minutes per second", example: "240" });
  const minutes =
    flags.minutes === undefined
      ? DEFAULT_MINUTES
      : numberFlag("demo", "minutes", flags.minutes, { min: 1, max: 100_000, integer: true, what: "simulated minutes before the graceful stop", example: "1440" });
  const requestedFrom = flags.from === undefined ? undefined : parseTime(flags.from);
  const timeoutMs = moduleTimeoutMs("demo", flags["module-timeout"]);
  const journalLevel = journalLevelFlag("demo", flags.journal);
  const strategy = await resolveStrategy("demo", flags.strategy ?? "momentum", timeoutMs);
  const storeDir = flags.store ?? DEMO_STORE;
  const reportDir = flags["report-dir"] ?? DEMO_REPORT_DIR;
  // Before the start, not when the report is due after the run.
  await checkWritableFolder("demo", "store", storeDir, DEMO_STORE);
  await checkWritableFolder("demo", "report-dir", reportDir, DEMO_REPORT_DIR);

  const candles = await csvCandles(BUNDLED_BTCUSDT_1M);
  const first = (candles[0] as Candle).timestamp;
  const dataEnd = (candles.at(-1) as Candle).timestamp + MINUTE;
  // No new signal after this: the last one, scheduled and then open for as long as the config
  // allows, still finds candles to close on.
  const config = getConfig();
  const latestStart = dataEnd - (config.CC_SCHEDULE_AWAIT_MINUTES + config.CC_MAX_SIGNAL_LIFETIME_MINUTES) * MINUTE;
  const earliestStart = first + config.CC_AVG_PRICE_CANDLES_COUNT * MINUTE;
  if (requestedFrom !== undefined && (requestedFrom < earliestStart || requestedFrom > latestStart)) {
    throw new UsageError(
      "demo",
      `--from ${flags.from} is outside the bundled data; give a time from ${iso(earliestStart)} to ${iso(latestStart)}, e.g. --from 2023-03-08T12:00Z`,
    );
  }

  const store = fileStore(storeDir);
  const journal = storeJournal(store, journalLevel);
  const key = `${SYMBOL}:${strategy.strategyName}`;
  const clockFile = DemoClockFile.in(store.dir, key, DEFAULT_TICK_MS);
  const saved = clockFile.read();
  let resumed;
  try {
    resumed = await storedState(store, SYMBOL, strategy.strategyName, EXCHANGE_NAME, terminal);
  } catch (error) {
    return explainRunError("demo", error, terminal, storeDir);
  }
  // What earlier runs journaled: where this one may start (also at --journal off), and whether
  // it goes back over their ticks (see rewoundJournal).
  const journalDir = join(store.dir, JOURNAL_DIR);
  let earlier: JournalTail | "unread" | undefined;
  if ((requestedFrom === undefined || journal !== undefined) && existsSync(journalDir)) {
    try {
      earlier = await (journal ?? fileJournal(store)).tail(key);
    } catch (error) {
      earlier = "unread";
      const lead = requestedFrom === undefined ? "where this run starts is decided without it, and its" : "this run's";
      terminal.warn(
        `warning: the journal ${displayPath(journalDir)} could not be read (${(error as Error).message}); ${lead} start entry supersedes the journal's ticks from its start on`,
      );
    }
  }
  const lastJournaled = requestedFrom === undefined && earlier !== "unread" ? earlier?.lastTrade?.at : undefined;

  // Where the replay starts: --from, else where the last run would have gone on (see
  // restartPoint: never before the store's last write), else near the data's start; with a
  // resumed signal, never before the tick after its last change, so it is monitored with the
  // candles after it.
  let start = requestedFrom ?? first + WARM_UP_MINUTES * MINUTE;
  let startNote = "";
  const signalIntervalMs = intervalMs(strategy.interval) ?? MINUTE; // checked by resolveStrategy
  const point = requestedFrom === undefined ? restartPoint({ saved, stored: resumed, lastJournaled, tickMs: DEFAULT_TICK_MS, signalIntervalMs }) : undefined;
  if (point !== undefined) {
    if (point.at < latestStart || resumed !== null) {
      start = point.at;
      startNote = restartNote(point, resumed);
    } else startNote = " (the last run reached the end of the data: starting over)";
  } else if (resumed !== null) {
    const since = (resumed.status === "opened" ? resumed.signal.pendingAt : resumed.signal.scheduledAt) + DEFAULT_TICK_MS;
    if (start < since) {
      start = since;
      startNote = restartNote({ at: since, why: "signal" }, resumed);
    }
  }
  const stopAt = Math.max(start, Math.min(start + minutes * MINUTE, latestStart));
  // Gone back over ticks an earlier run journaled: its start entry supersedes them.
  const runJournal = journal !== undefined && rewindsJournal(earlier, start) ? rewoundJournal(journal, key, start) : journal;

  // A paced virtual clock: time moves from one scheduled action to the next, once the store, the
  // exchange and the strategy have answered; the wall clock only sets the pace. So the same
  // flags give the same trades whatever the machine's load (wall time sped up would not).
  const scheduler = pacedScheduler({ origin: start, speed: (speed * MINUTE) / 1000 });
  const replay = replayExchange(candles, scheduler, { exchangeName: EXCHANGE_NAME });
  const { limits } = tradeContext(SYMBOL, strategy, { exchange: replay, scheduler, tickMs: DEFAULT_TICK_MS });
  // The clock file hears of each store write before it can land, and of each ask of the strategy.
  const tracked = trackedServices(
    scheduler,
    limits,
    { store, exchange: replay, strategy },
    {
      writing: (now, writtenKey, value) => {
        if (writtenKey === key) clockFile.writing(writeTick(now, value, start, DEFAULT_TICK_MS), value);
      },
      asked: (at) => clockFile.asked(at),
    },
  );
  const tickEveryMs = (DEFAULT_TICK_MS * 1000) / (speed * MINUTE);

  terminal.line(`rxtrade demo · Binance.US BTC/USDT one-minute candles ${minute(first)} → ${minute(dataEnd - MINUTE)} UTC, prices in USDT, bundled (no network)`);
  terminal.line(
    `strategy ${visible(strategy.strategyName)} · store ${visible(displayPath(store.dir))} · ${speed} simulated min/s (a ${DEFAULT_TICK_MS} ms tick every ${wallPeriod(tickEveryMs)})`,
  );
  terminal.line(`replaying from ${minute(start)}${startNote}; graceful stop at ${minute(stopAt)} (${duration((stopAt - start) / MINUTE)}) · Ctrl-C: stop gracefully`);
  if (resumed !== null) terminal.line(resumedLine(resumed));
  terminal.line("");

  // The last tick reported: after a stop, the next run goes on from the tick after it.
  let lastTick: number | undefined;
  clockFile.started(start);
  let end;
  try {
    end = await runSession({
      symbol: SYMBOL,
      strategy: tracked.strategy,
      exchange: tracked.exchange,
      store: tracked.store,
      journal: runJournal,
      journalLevel,
      scheduler,
      tickMs: DEFAULT_TICK_MS,
      terminal,
      resumed,
      stopAt,
      stopAtReason: stopAt === latestStart ? "near the end of the data" : `${minutes} simulated minutes done`,
      timeNote: " in simulated time",
      plainStatusEveryMs: 6 * 60 * MINUTE,
      onTick: (result) => {
        lastTick = result.timestamp;
      },
      // A second Ctrl-C saves nothing: a store write may be in flight, and the clock file already
      // says which one (saved before it), so the next run goes on as after a kill.
    });
  } catch (error) {
    // Ended by an error: every write it started has settled, and each reported tick's landed.
    if (lastTick !== undefined) clockFile.stopped(lastTick);
    return explainRunError("demo", error, terminal, storeDir);
  } finally {
    scheduler.stop();
    await closeJournal(journal, terminal);
  }
  if (lastTick !== undefined) clockFile.stopped(lastTick);
  // Where the replay got to: its last tick (not the paced clock's time, which kept running while
  // the end waited for the journal to drain), and where the next run goes on.
  const stoppedAt = lastTick ?? start;
  const goesOnAt = lastTick === undefined ? start : lastTick + DEFAULT_TICK_MS;
  terminal.line("");
  terminal.line(`Stopped gracefully at ${minute(stoppedAt)} (simulated).`);
  let code: number = EXIT.ok;
  try {
    await finish(terminal, end, SYMBOL, strategy.strategyName, reportDir, store.dir);
  } catch (error) {
    code = explainReportError("demo", error, terminal, reportDir);
  }
  terminal.line(`Store: ${visible(displayPath(store.dir))} — run the demo again to continue from ${minute(goesOnAt)}.`);
  return code;
}

/** Why the replay starts where it does, after `replaying from <time>`. */
function restartNote(point: RestartPoint, resumed: SignalState | null): string {
  const why = ((): string => {
    switch (point.why) {
      case "stopped":
      case "legacy":
        return "where the last run stopped";
      case "written":
        return "the tick after the last store write of the last run, which was killed";
      case "unlanded":
        return `the last run was killed before its store write at ${minute(point.write as number)} landed: from its last point before that write`;
      case "started":
        return "where the last run started: it was killed before it wrote to the store";
      case "journal":
        return "the tick after the last trade in the store's journal";
      case "signal":
        return resumed?.status === "scheduled" ? "the tick after the resumed limit entry was placed" : "the tick after the resumed signal opened";
    }
  })();
  return ` (${why}${point.askedAt === undefined ? "" : `; at the strategy's next ask, its last was at ${minute(point.askedAt)}`})`;
}

/** `--from`: ISO 8601 (`2023-03-08T12:00Z`, `2023-03-08 12:00`, UTC unless an offset is given) or epoch ms; not 2023-02-30. */
function parseTime(text: string): number {
  return parseTimeFlag("demo", "from", text);
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(":00.000Z", "Z");
}
