// The demo's clock (src/schedulers/pacedScheduler.ts): virtual time that moves in steps from
// one scheduled action to the next, paced by the wall clock, and held while a tracked call is
// in flight — so a replay's results do not depend on how fast the machine answers. Real
// timers, kept short: each test takes well under half a second.
import { take, timer } from "rxjs";
import { afterEach, describe, expect, it } from "vitest";
import { type PacedScheduler, pacedScheduler } from "../src/schedulers/pacedScheduler";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`not within ${timeoutMs} ms`);
    await sleep(5);
  }
}
let clock: PacedScheduler | undefined;
afterEach(() => clock?.stop());

describe("pacedScheduler", () => {
  it("now() is the due time of the action being run, and stays there between steps", async () => {
    clock = pacedScheduler({ origin: 1_000, speed: 1_000_000 });
    const seen: number[] = [];
    const done = new Promise<void>((resolve) => {
      timer(0, 60_001, clock)
        .pipe(take(4))
        .subscribe({ next: () => seen.push(clock!.now()), complete: resolve });
    });
    expect(clock.now()).toBe(1_000); // nothing has run: the clock has not moved
    await done;
    expect(seen).toEqual([1_000, 61_001, 121_002, 181_003]);
    await sleep(20);
    expect(clock.now()).toBe(181_003); // no action left: time does not run on by itself
  });

  it("takes no step while a call is in flight, however long it takes on the wall clock", async () => {
    clock = pacedScheduler({ origin: 0, speed: 1_000_000 }); // 60 s of virtual time per 0.06 ms
    const ran: number[] = [];
    const end = clock.callStarted("write(BTCUSDT:momentum)", 10_000 * 1_000_000); // limit: 10 s of wall time
    clock.schedule(() => ran.push(clock!.now()), 60_000);
    await sleep(150); // 150 ms of wall time: 41 virtual hours on wall time sped up
    expect(ran).toEqual([]);
    expect(clock.callsInFlight).toEqual(["write(BTCUSDT:momentum)"]);
    expect(clock.now()).toBe(0);
    end();
    await sleep(20);
    expect(ran).toEqual([60_000]);
    expect(clock.callsInFlight).toEqual([]);
  });

  it("runs at most `speed` times real time: 600 virtual ms at speed 3 take 200 ms", async () => {
    clock = pacedScheduler({ origin: 0, speed: 3 });
    const start = performance.now();
    const ranAt: number[] = [];
    await new Promise<void>((resolve) => {
      timer(0, 100, clock)
        .pipe(take(7))
        .subscribe({ next: () => ranAt.push(performance.now() - start), complete: resolve });
    });
    expect(clock.now()).toBe(600);
    expect(ranAt[6]).toBeGreaterThanOrEqual(195);
    expect(ranAt[6]).toBeLessThan(1_000);
    expect(ranAt[3]).toBeGreaterThanOrEqual(95); // 300 virtual ms in: 100 ms, not all at once at the end
  });

  it("a call that never settles holds the clock for its limit's wall length, then the clock catches up to the limit unpaced", async () => {
    // speed 10: a 3,000 ms limit (the engine's, in clock ms) is 300 ms of wall time.
    clock = pacedScheduler({ origin: 0, speed: 10 });
    const start = performance.now();
    const ranAt: Array<[number, number]> = [];
    clock.callStarted("read(BTCUSDT:hung)", 3_000); // never ends
    // The engine's time limit of the call, then an action that is paced again after it.
    clock.schedule(() => ranAt.push([clock!.now(), performance.now() - start]), 3_000);
    clock.schedule(() => ranAt.push([clock!.now(), performance.now() - start]), 5_500);
    await sleep(100);
    expect(ranAt).toEqual([]); // held
    await until(() => ranAt.length === 2);
    expect(ranAt.map(([time]) => time)).toEqual([3_000, 5_500]);
    // At the limit's wall length (300 ms), not 300 ms + another 3,000 / 10 ms at the pace.
    expect(ranAt[0]![1]).toBeGreaterThanOrEqual(295);
    expect(ranAt[0]![1]).toBeLessThan(550);
    // Then the pace again: 2,500 clock ms after the limit, 250 ms of wall time.
    expect(ranAt[1]![1] - ranAt[0]![1]).toBeGreaterThanOrEqual(245);
    expect(clock.callsInFlight).toEqual([]);
  });

  it("actions due at the same time run in the order they were scheduled; an unsubscribed one never runs", async () => {
    clock = pacedScheduler({ origin: 0, speed: 1_000_000 });
    const order: string[] = [];
    clock.schedule(() => order.push("b"), 10);
    clock.schedule(() => order.push("a"), 5);
    const cancelled = clock.schedule(() => order.push("x"), 10);
    clock.schedule(() => order.push("c"), 10);
    cancelled.unsubscribe();
    await sleep(30);
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("stop(): nothing scheduled runs any more", async () => {
    clock = pacedScheduler({ origin: 0, speed: 1_000 });
    let ran = 0;
    clock.schedule(() => ran++, 50_000); // 50 ms of wall time
    clock.stop();
    await sleep(100);
    expect(ran).toBe(0);
    clock.schedule(() => ran++, 0);
    await sleep(20);
    expect(ran).toBe(0);
  });

  it("rejects a speed or origin that is not finite, saying what to give", () => {
    expect(() => pacedScheduler({ origin: 0, speed: 0 })).toThrow("rxtrade: speed (0) must be a finite number > 0, e.g. 600");
    expect(() => pacedScheduler({ origin: Number.NaN, speed: 1 })).toThrow("rxtrade: origin (NaN) must be a finite time in ms");
  });
});
