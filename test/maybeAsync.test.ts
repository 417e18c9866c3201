// settle adopts thenables as Promises/A+ (2.3.3) says: `then` read once, once-only
// resolve/reject, a throwing `then` is the failure, a synchronous settlement is delivered
// synchronously with no handle, thenables resolved with thenables are adopted in turn.
import { of, Subject, type Observable } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { attempt, isDeferred, settle } from "../src/maybeAsync";

type Outcome = ["next", unknown] | ["error", unknown];

/** settle(value) with recording callbacks; returns the outcomes and the handle. */
function run(value: unknown) {
  const seen: Outcome[] = [];
  const handle = settle(
    value,
    (v) => seen.push(["next", v]),
    (e) => seen.push(["error", e]),
  );
  return { seen, handle };
}

/** A macrotask: every pending Promise reaction (and unhandled-rejection check) has run. */
const macrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

// No test may leave an unhandled rejection or an uncaught exception behind.
const stray: unknown[] = [];
const onRejection = (reason: unknown) => stray.push(["unhandledRejection", reason]);
const onException = (error: unknown) => stray.push(["uncaughtException", error]);
beforeEach(() => {
  stray.length = 0;
  process.on("unhandledRejection", onRejection);
  process.on("uncaughtException", onException);
});
afterEach(async () => {
  await macrotask();
  await macrotask();
  process.off("unhandledRejection", onRejection);
  process.off("uncaughtException", onException);
  expect(stray).toEqual([]);
});

describe("settle: plain values, native Promises, Observables", () => {
  it("a plain value is delivered at once, with no handle", () => {
    expect(run(42)).toEqual({ seen: [["next", 42]], handle: undefined });
    expect(run(null)).toEqual({ seen: [["next", null]], handle: undefined });
    const candles = [{ timestamp: 0 }];
    expect(run(candles).seen[0]?.[1]).toBe(candles);
    expect(run({ price: 1 })).toEqual({ seen: [["next", { price: 1 }]], handle: undefined });
  });

  it("a native Promise is delivered on settlement and gives a handle that cancels it", async () => {
    const resolved = run(Promise.resolve(7));
    const rejected = run(Promise.reject(new Error("nope")));
    const cancelled = run(Promise.resolve(8));
    expect(resolved.seen).toEqual([]);
    expect(resolved.handle).toBeDefined();
    cancelled.handle?.unsubscribe();
    await macrotask();
    expect(resolved.seen).toEqual([["next", 7]]);
    expect(rejected.seen).toEqual([["error", new Error("nope")]]);
    expect(cancelled.seen).toEqual([]);
  });

  it("an Observable: its first value; a synchronous one with no handle", () => {
    expect(run(of(1, 2, 3))).toEqual({ seen: [["next", 1]], handle: undefined });
    const subject = new Subject<number>();
    const later = run(subject);
    expect(later.handle).toBeDefined();
    subject.next(5);
    subject.next(6);
    expect(later.seen).toEqual([["next", 5]]);
    expect(subject.observed).toBe(false);
  });

  it("an Observable-like whose subscribe throws is that call's failure", () => {
    const boom = new Error("subscribe boom");
    const foreign = {
      lift: () => foreign,
      subscribe: () => {
        throw boom;
      },
    } as unknown as Observable<number>;
    expect(run(foreign)).toEqual({ seen: [["error", boom]], handle: undefined });
  });

  it("a throw from next is the caller's, not mistaken for the source's failure", () => {
    const boom = new Error("engine bug");
    const errors: unknown[] = [];
    const sync = { then: (resolve: (v: number) => void) => resolve(1) } as unknown as PromiseLike<number>;
    expect(() => settle(sync, () => { throw boom; }, (e) => errors.push(e))).toThrow(boom);
    expect(() => settle(of(1), () => { throw boom; }, (e) => errors.push(e))).toThrow(boom);
    expect(errors).toEqual([]);
  });
});

describe("settle: thenables that settle inside then", () => {
  it("resolving synchronously delivers before settle returns, and returns no handle", () => {
    const thenable = { then: (resolve: (v: string) => void) => resolve("now") };
    // 0.1.0 returned a handle here: the engine then scheduled a stray getSignal timeout.
    expect(run(thenable)).toEqual({ seen: [["next", "now"]], handle: undefined });
  });

  it("rejecting synchronously delivers the reason before settle returns, with no handle", () => {
    const nope = new Error("nope");
    const thenable = { then: (_: unknown, reject: (e: unknown) => void) => reject(nope) };
    expect(run(thenable)).toEqual({ seen: [["error", nope]], handle: undefined });
  });

  it("only the first call of resolve/reject counts", () => {
    const twice = { then: (resolve: (v: number) => void) => (resolve(1), resolve(2)) };
    const thenReject = { then: (resolve: (v: number) => void, reject: (e: unknown) => void) => (resolve(1), reject(new Error("late"))) };
    const rejectThen = { then: (resolve: (v: number) => void, reject: (e: unknown) => void) => (reject("first"), resolve(2)) };
    expect(run(twice).seen).toEqual([["next", 1]]);
    expect(run(thenReject).seen).toEqual([["next", 1]]);
    expect(run(rejectThen).seen).toEqual([["error", "first"]]);
  });

  it("a then that throws after resolving is ignored (Promises/A+ 2.3.3.3.4.1)", () => {
    const thenable = {
      then(resolve: (v: number) => void) {
        resolve(3);
        throw new Error("ignored");
      },
    };
    expect(run(thenable)).toEqual({ seen: [["next", 3]], handle: undefined });
  });
});

describe("settle: a then that throws, or cannot be read", () => {
  it("a then that throws synchronously is that call's failure, not a throw out of settle", () => {
    const boom = new Error("then boom");
    const thenable = {
      then() {
        throw boom;
      },
    };
    expect(run(thenable)).toEqual({ seen: [["error", boom]], handle: undefined });
  });

  it("a then getter that throws is that call's failure", () => {
    const boom = new Error("getter boom");
    const thenable = {
      get then(): never {
        throw boom;
      },
    };
    expect(run(thenable)).toEqual({ seen: [["error", boom]], handle: undefined });
  });

  it("then is read exactly once", () => {
    let reads = 0;
    const thenable = {
      get then() {
        reads++;
        return (resolve: (v: string) => void) => resolve("once");
      },
    };
    expect(run(thenable).seen).toEqual([["next", "once"]]);
    expect(reads).toBe(1);
  });

  it("isDeferred then settle (as the engine calls them) read then once between them", () => {
    let reads = 0;
    const thenable = {
      get then() {
        reads++;
        // A getter that answers differently each time: only the first answer may be used.
        return reads === 1 ? (resolve: (v: string) => void) => resolve("first") : () => {};
      },
    };
    expect(isDeferred(thenable)).toBe(true);
    expect(run(thenable).seen).toEqual([["next", "first"]]);
    expect(reads).toBe(1);
  });

  it("isDeferred does not throw for a then getter that throws; settle reports it", () => {
    const boom = new Error("getter boom");
    let reads = 0;
    const thenable = {
      get then(): never {
        reads++;
        throw boom;
      },
    };
    expect(isDeferred(thenable)).toBe(true);
    expect(run(thenable).seen).toEqual([["error", boom]]);
    expect(reads).toBe(1);
  });

  it("isDeferred: plain values and arrays are not deferred; Promises, thenables and Observables are", () => {
    expect([null, 1, "x", [1], { then: 1 }, { a: 1 }].map(isDeferred)).toEqual([false, false, false, false, false, false]);
    expect([Promise.resolve(1), { then() {} }, of(1)].map(isDeferred)).toEqual([true, true, true]);
  });
});

describe("settle: asynchronous thenables", () => {
  /** A thenable that keeps its callbacks for the test to call later. */
  function manual() {
    const calls: Array<{ resolve: (v: unknown) => void; reject: (e: unknown) => void }> = [];
    const thenable = {
      then(resolve: (v: unknown) => void, reject: (e: unknown) => void) {
        calls.push({ resolve, reject });
      },
    };
    return { thenable, calls };
  }

  it("delivers on a later resolve, once; the handle cancels", () => {
    const a = manual();
    const { seen, handle } = run(a.thenable);
    expect(handle).toBeDefined();
    expect(seen).toEqual([]);
    a.calls[0]?.resolve("late");
    a.calls[0]?.resolve("later");
    a.calls[0]?.reject(new Error("after"));
    expect(seen).toEqual([["next", "late"]]);

    const b = manual();
    const cancelled = run(b.thenable);
    cancelled.handle?.unsubscribe();
    b.calls[0]?.resolve("ignored");
    expect(cancelled.seen).toEqual([]);
  });

  it("a thenable resolved with a thenable is adopted (synchronously when both are synchronous)", () => {
    const inner = { then: (resolve: (v: number) => void) => resolve(99) };
    const outer = { then: (resolve: (v: unknown) => void) => resolve(inner) };
    // 0.1.0 delivered the inner thenable itself as the value.
    expect(run(outer)).toEqual({ seen: [["next", 99]], handle: undefined });
  });

  it("a thenable resolved with a native Promise is adopted when the Promise settles", async () => {
    const outer = { then: (resolve: (v: unknown) => void) => resolve(Promise.resolve(12)) };
    const { seen, handle } = run(outer);
    expect(handle).toBeDefined();
    await macrotask();
    expect(seen).toEqual([["next", 12]]);
  });

  it("a later resolve with a thenable adopts it, and the first handle still cancels the inner wait", () => {
    const a = manual();
    const b = manual();
    const { seen, handle } = run(a.thenable);
    a.calls[0]?.resolve(b.thenable);
    expect(b.calls).toHaveLength(1);
    handle?.unsubscribe();
    b.calls[0]?.resolve("ignored");
    expect(seen).toEqual([]);

    const c = manual();
    const adopted = run(c.thenable);
    c.calls[0]?.resolve({ then: (resolve: (v: string) => void) => resolve("inner") });
    expect(adopted.seen).toEqual([["next", "inner"]]);
  });

  it("a rejection reason is never adopted", () => {
    const reason = { then: (resolve: (v: number) => void) => resolve(1) };
    const thenable = { then: (_: unknown, reject: (e: unknown) => void) => reject(reason) };
    expect(run(thenable).seen).toEqual([["error", reason]]);
  });

  it("a thenable resolved with itself, or a cycle, fails with a TypeError instead of hanging", () => {
    const self: { then(resolve: (v: unknown) => void): void } = { then: (resolve) => resolve(self) };
    const a: { then(resolve: (v: unknown) => void): void; other?: unknown } = { then: (resolve) => resolve(b) };
    const b = { then: (resolve: (v: unknown) => void) => resolve(a) };
    const [selfOutcome] = run(self).seen;
    const [cycleOutcome] = run(a).seen;
    expect(selfOutcome?.[0]).toBe("error");
    expect(selfOutcome?.[1]).toBeInstanceOf(TypeError);
    expect(String(selfOutcome?.[1])).toContain("resolved with itself");
    expect(cycleOutcome?.[0]).toBe("error");
    expect(cycleOutcome?.[1]).toBeInstanceOf(TypeError);
    expect(String(cycleOutcome?.[1])).toContain("1000 thenables");
  });
});

describe("attempt", () => {
  it("a synchronous throw of fn is the failure; otherwise fn's value is settled", () => {
    const boom = new Error("boom");
    const seen: Outcome[] = [];
    const record = [(v: unknown) => seen.push(["next", v]), (e: unknown) => seen.push(["error", e])] as const;
    expect(attempt(() => { throw boom; }, ...record)).toBeUndefined();
    const four = { then: (resolve: (v: number) => void) => resolve(4) } as unknown as PromiseLike<number>;
    expect(attempt(() => four, ...record)).toBeUndefined();
    expect(seen).toEqual([["error", boom], ["next", 4]]);
  });
});
