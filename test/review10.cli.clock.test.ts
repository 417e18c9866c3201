// Review of issue 10, item 1, in this process: where a demo run that goes on after the last one
// starts (`restartPoint`, a pure function of the saved clock, the store and the journal), what
// `DemoClockFile` saves when, and that the demo's store wrapper saves the clock before the write
// it is given can land.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeState, type SignalRow, type SignalState } from "rxtrade";
import { DemoClockFile, restartPoint, type SavedClock, trackedServices, writeTick } from "../src/cli/demoClock";
import { pacedScheduler } from "../src/schedulers/pacedScheduler";

const TICK = 60_001;
const MIN = 60_000;
const T0 = Date.parse("2023-03-01T02:00Z");
/** The n-th tick of a run started at 02:00. */
const tick = (n: number) => T0 + n * TICK;

function signal(id: string, at: number, fields: Partial<SignalRow> = {}): SignalRow {
  return {
    id,
    position: "long",
    priceOpen: 23_400,
    priceTakeProfit: 23_600,
    priceStopLoss: 23_200,
    minuteEstimatedTime: 60,
    note: "",
    symbol: "BTCUSDT",
    strategyName: "momentum",
    exchangeName: "replay",
    scheduledAt: at,
    pendingAt: at,
    ...fields,
  };
}
const opened = (id: string, at: number): SignalState => ({ status: "opened", signal: signal(id, at) });

function point(saved: SavedClock | undefined, stored: SignalState | null, options: { journal?: number; interval?: number } = {}) {
  return restartPoint({ saved, stored, lastJournaled: options.journal, tickMs: TICK, signalIntervalMs: options.interval ?? MIN });
}

describe("restartPoint", () => {
  it("a first run: nothing saved, stored or journaled says nothing", () => {
    expect(point(undefined, null)).toBeUndefined();
  });

  it("after a stop: the tick after the last; with a 5m strategy asked at that tick's minute 0, its next ask", () => {
    expect(point({ run: "stopped", next: tick(10), askedAt: tick(9) }, null)).toEqual({ at: tick(10), why: "stopped" });
    // Asked at tick 8 (02:08:00.008), due again from 02:13:00.008: tick 13 (02:13:00.013).
    expect(point({ run: "stopped", next: tick(10), askedAt: tick(8) }, null, { interval: 5 * MIN })).toEqual({ at: tick(13), why: "stopped", askedAt: tick(8) });
  });

  it("killed after a close's write landed (the store holds nothing): the tick after the close, never the close's tick again", () => {
    const saved: SavedClock = { run: "writing", from: tick(1), fromAskedAt: tick(0), write: { at: tick(3), holds: null, askedAt: tick(0) } };
    expect(point(saved, null)).toEqual({ at: tick(4), why: "written" });
    // A 5m strategy last asked at 02:00 (the ask that opened the signal) asks next at 02:05:00.005.
    expect(point(saved, null, { interval: 5 * MIN })).toEqual({ at: tick(5), why: "written", askedAt: tick(0) });
  });

  it("killed before a close's write landed (the signal is still stored): from the tick after the open, so the close's tick runs again", () => {
    const saved: SavedClock = { run: "writing", from: tick(1), fromAskedAt: tick(0), write: { at: tick(3), holds: null, askedAt: tick(0) } };
    expect(point(saved, opened("a", tick(0)))).toEqual({ at: tick(1), why: "unlanded", write: tick(3) });
  });

  it("an open: landed (the store holds that signal) -> the tick after it; not landed -> from the write before it, with that write's ask", () => {
    const saved: SavedClock = { run: "writing", from: tick(4), fromAskedAt: tick(0), write: { at: tick(10), holds: { status: "opened", id: "b" }, askedAt: tick(10) } };
    expect(point(saved, opened("b", tick(10)), { interval: 5 * MIN })).toEqual({ at: tick(11), why: "written" });
    expect(point(saved, null, { interval: 5 * MIN })).toEqual({ at: tick(5), why: "unlanded", write: tick(10), askedAt: tick(0) });
    // A limit entry that was to open: the store still holds it scheduled, so the write did not land.
    const activation: SavedClock = { run: "writing", from: tick(4), write: { at: tick(10), holds: { status: "opened", id: "c" } } };
    expect(point(activation, { status: "scheduled", signal: signal("c", tick(3)) })).toEqual({ at: tick(4), why: "unlanded", write: tick(10) });
  });

  it("killed before it wrote anything: its own start again", () => {
    expect(point({ run: "started", from: tick(7) }, null, { interval: 5 * MIN })).toEqual({ at: tick(7), why: "started" });
  });

  it("never before the store's last write: the journal's last trade and the stored signal are floors when the clock lags (rxtrade 0.1's file, a lost save)", () => {
    // rxtrade 0.1 saved 02:00 (the open it had reported), then the close at 02:03 was stored and journaled.
    expect(point({ run: "legacy", next: tick(0) }, null, { journal: tick(3) })).toEqual({ at: tick(4), why: "journal" });
    expect(point({ run: "legacy", next: tick(0) }, opened("d", tick(0)))).toEqual({ at: tick(1), why: "signal" });
    expect(point(undefined, null, { journal: tick(3) })).toEqual({ at: tick(4), why: "journal" });
    // A floor drops the saved ask (it belongs to an older point): the fresh loop asks at once.
    expect(point({ run: "stopped", next: tick(2), askedAt: tick(1) }, null, { journal: tick(3), interval: 5 * MIN })).toEqual({ at: tick(4), why: "journal" });
    // A clock ahead of the floors stays.
    expect(point({ run: "stopped", next: tick(9) }, opened("d", tick(0)), { journal: tick(0) })).toEqual({ at: tick(9), why: "stopped" });
  });
});

describe("writeTick", () => {
  it("an open or a limit entry: the signal's own time; a clear: the run's last tick at or before the clock", () => {
    const entry = signal("e", tick(2), { pendingAt: tick(5) });
    expect(writeTick(tick(5) + 7, encodeState({ status: "opened", signal: entry }), T0, TICK)).toBe(tick(5));
    expect(writeTick(tick(5) + 7, encodeState({ status: "scheduled", signal: entry }), T0, TICK)).toBe(tick(2));
    expect(writeTick(tick(5) + 7, null, T0, TICK)).toBe(tick(5));
    expect(writeTick(tick(5), null, T0, TICK)).toBe(tick(5));
  });
});

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "rxtrade-review10-clock-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("DemoClockFile", () => {
  it("saves the start, each write before it lands (with the write before it as the way back), and the stop", async () => {
    const folder = await mkdtemp(join(dir, "file-"));
    await writeFile(join(folder, "demo-clock.json"), JSON.stringify({ version: 1, clocks: { "ETHUSDT:other": 5 }, resume: { "ETHUSDT:other": { run: "started", from: 5 } } }));
    const clock = DemoClockFile.in(folder, "BTCUSDT:momentum", TICK);
    expect(clock.read()).toBeUndefined();

    clock.started(tick(0));
    expect(clock.read()).toEqual({ run: "started", from: tick(0) });
    clock.asked(tick(0));
    clock.asked(tick(1));
    clock.writing(tick(1), encodeState(opened("a", tick(1))));
    expect(clock.read()).toEqual({ run: "writing", from: tick(0), write: { at: tick(1), holds: { status: "opened", id: "a" }, askedAt: tick(1) } });
    // An ask of a later tick (computed while the close's write is under way) is not the close's.
    clock.asked(tick(5));
    clock.writing(tick(4), null);
    expect(clock.read()).toEqual({ run: "writing", from: tick(2), fromAskedAt: tick(1), write: { at: tick(4), holds: null, askedAt: tick(1) } });
    clock.stopped(tick(6));
    expect(clock.read()).toEqual({ run: "stopped", next: tick(7), askedAt: tick(5) });

    const file = JSON.parse(await readFile(join(folder, "demo-clock.json"), "utf8")) as { clocks: Record<string, number>; resume: Record<string, unknown> };
    // rxtrade 0.1 reads `clocks` as where to start; the other key is kept as it was.
    expect(file.clocks).toEqual({ "ETHUSDT:other": 5, "BTCUSDT:momentum": tick(7) });
    expect(file.resume["ETHUSDT:other"]).toEqual({ run: "started", from: 5 });
    expect((await stat(join(folder, "demo-clock.json"))).mode & 0o777).toBe(0o600);
  });

  it("reads rxtrade 0.1's file (a time only) as legacy; an unreadable file or entry as nothing", async () => {
    const folder = await mkdtemp(join(dir, "legacy-"));
    const path = join(folder, "demo-clock.json");
    await writeFile(path, JSON.stringify({ version: 1, clocks: { "BTCUSDT:momentum": tick(3) } }));
    expect(DemoClockFile.in(folder, "BTCUSDT:momentum", TICK).read()).toEqual({ run: "legacy", next: tick(3) });
    await writeFile(path, JSON.stringify({ version: 1, clocks: {}, resume: { "BTCUSDT:momentum": { run: "writing", from: "x", write: { at: 1, holds: null } } } }));
    expect(DemoClockFile.in(folder, "BTCUSDT:momentum", TICK).read()).toBeUndefined();
    await writeFile(path, "{");
    expect(DemoClockFile.in(folder, "BTCUSDT:momentum", TICK).read()).toBeUndefined();
  });
});

describe("trackedServices", () => {
  it("tells the clock file of a store write before the store gets it, and of each ask with the tick's time", async () => {
    const folder = await mkdtemp(join(dir, "order-"));
    const clock = pacedScheduler({ origin: tick(3), speed: 1000 });
    const clockFile = DemoClockFile.in(folder, "BTCUSDT:momentum", TICK);
    clockFile.started(tick(0));
    const seenByStore: unknown[] = [];
    const asked: number[] = [];
    const tracked = trackedServices(
      clock,
      { storeMs: 1000, exchangeMs: 1000, signalMs: 1000, stallMs: 1000 },
      {
        store: {
          read: () => null,
          write: () => {
            seenByStore.push(clockFile.read());
          },
          lock: () => () => undefined,
        },
        exchange: { exchangeName: "replay", getCandles: () => [] },
        strategy: { strategyName: "momentum", interval: "1m", getSignal: () => null },
      },
      {
        writing: (now, _key, value) => clockFile.writing(writeTick(now, value, tick(0), TICK), value),
        asked: (at) => asked.push(at),
      },
    );
    await tracked.store.write("BTCUSDT:momentum", null);
    expect(seenByStore).toEqual([{ run: "writing", from: tick(0), write: { at: tick(3), holds: null } }]);
    tracked.strategy.getSignal("BTCUSDT", new Date(tick(3)), {} as never);
    expect(asked).toEqual([tick(3)]);
    clock.stop();
  });
});
