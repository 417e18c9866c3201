// CompactSubscriber, the base of the engine's subscribers, keeps its first finalizer in a field
// instead of rxjs's finalizer list (an array of 17 slots at its first entry; see
// test/streamFootprint.test.ts), and StopRequest keeps one listener without an array. The lists
// are counted by watching `Subscription.prototype.add` (rxjs 7 makes `_finalizers` at the first add).
import { Subject, Subscription } from "rxjs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CompactSubscriber } from "../operators/chainSubscriber";
import { StopRequest } from "../operators/stopRequest";

// What rxjs keeps privately: `_finalizers`, null until the first add.
type Finalized = { readonly closed: boolean; _finalizers: unknown[] | null };
const proto = Subscription.prototype as unknown as { add(this: Finalized, teardown: unknown): void };
const rxjsAdd = proto.add;
let withList: Set<Finalized>;

beforeEach(() => {
  withList = new Set();
  proto.add = function (this: Finalized, teardown: unknown) {
    const had = this._finalizers !== null && this._finalizers !== undefined;
    rxjsAdd.call(this, teardown);
    if (!had && Array.isArray(this._finalizers)) withList.add(this);
  };
});
afterEach(() => {
  proto.add = rxjsAdd;
});

/** The rxjs finalizer lists alive now. */
function liveLists(): number {
  return [...withList].filter((s) => !s.closed && Array.isArray(s._finalizers)).length;
}

describe("CompactSubscriber", () => {
  class Probe extends CompactSubscriber<number> {}
  const noted = (seen: string[], name: string) => new Subscription(() => seen.push(name));

  it("keeps its first finalizer in a field (no rxjs list) and runs it when it unsubscribes, after any later ones", () => {
    const seen: string[] = [];
    const probe = new Probe();
    probe.add(noted(seen, "first"));
    expect(liveLists()).toBe(0);
    probe.add(() => seen.push("second"));
    expect(liveLists()).toBe(1); // a second open finalizer goes to rxjs's list
    probe.unsubscribe();
    expect(seen).toEqual(["second", "first"]);
    probe.unsubscribe();
    expect(seen).toEqual(["second", "first"]);
  });

  it("replaces a closed Subscription in its field, ignores a closed one added, and runs a finalizer added after it closed at once", () => {
    const seen: string[] = [];
    const probe = new Probe();
    const first = noted(seen, "first");
    probe.add(first);
    first.unsubscribe(); // e.g. an inner subscription of retry that failed
    probe.add(noted(seen, "next"));
    const closed = noted(seen, "closed");
    closed.unsubscribe();
    probe.add(closed);
    expect(liveLists()).toBe(0);
    probe.unsubscribe();
    expect(seen).toEqual(["first", "closed", "next"]);
    probe.add(() => seen.push("late"));
    expect(seen).toEqual(["first", "closed", "next", "late"]);
  });

  it("remove takes a finalizer out of its field or of rxjs's list", () => {
    const seen: string[] = [];
    const probe = new Probe();
    const first = () => seen.push("first");
    const second = () => seen.push("second");
    probe.add(first);
    probe.add(second);
    probe.remove(first);
    probe.remove(second);
    probe.unsubscribe();
    expect(seen).toEqual([]);
  });
});

describe("StopRequest", () => {
  it("keeps one listener without an array, tells each listener once, and forgets one that left", () => {
    const stop$ = new Subject<void>();
    const request = new StopRequest(stop$);
    const told: string[] = [];
    const a = { onStop: () => told.push("a") };
    const b = { onStop: () => told.push("b") };
    const c = { onStop: () => told.push("c") };
    request.join(a);
    const leaveB = request.listen(b);
    request.join(c);
    request.leave(a);
    leaveB();
    stop$.next();
    stop$.next();
    expect(told).toEqual(["c"]);
    expect(stop$.observed).toBe(false);
    request.join(a); // after the request: told at once
    expect(told).toEqual(["c", "a"]);
  });
});
