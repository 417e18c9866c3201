import { Observable, Subject, Subscriber } from "rxjs";
import { describe, expect, it } from "vitest";
import { ChainSubscriber } from "../operators/chainSubscriber";

// The engine's operators extend rxjs's Subscriber without importing rxjs/internal. These tests
// pin the parts of its shape they rely on: if an rxjs upgrade changes them, this file fails.
describe("rxjs Subscriber, as ChainSubscriber relies on it", () => {
  it("keeps the destination in `destination`, and its default _error/_complete forward to it", () => {
    const seen: string[] = [];
    const destination = () => new Subscriber<number>({ next: () => undefined, error: () => seen.push("error"), complete: () => seen.push("complete") });
    class Probe extends Subscriber<number> {
      constructor() {
        super();
        this.destination = destination();
      }
    }
    expect("destination" in new Probe()).toBe(true);
    new Probe().complete();
    new Probe().error(new Error("x"));
    expect(seen).toEqual(["complete", "error"]);
  });

  it("calls _next from next unless stopped, and closes on unsubscribe", () => {
    const seen: number[] = [];
    class Probe extends Subscriber<number> {
      protected override _next(value: number): void {
        seen.push(value);
      }
    }
    const probe = new Probe();
    probe.next(1);
    probe.complete();
    probe.next(2);
    expect(seen).toEqual([1]);
    expect(probe.closed).toBe(true);
  });
});

class Doubler extends ChainSubscriber<number> {
  protected override _next(value: number): void {
    if (value < 0) throw new RangeError(`negative: ${value}`);
    this.out.next(value * 2);
  }
}

const doubled = (source: Observable<number>) => new Observable<number>((subscriber) => source.subscribe(new Doubler(subscriber)));

describe("ChainSubscriber", () => {
  it("passes values, errors and completion down, and unsubscribing downstream unsubscribes upstream", () => {
    const source = new Subject<number>();
    const seen: unknown[] = [];
    const subscription = doubled(source).subscribe({ next: (v) => seen.push(v), complete: () => seen.push("done") });
    source.next(2);
    expect(source.observed).toBe(true);
    subscription.unsubscribe();
    expect(source.observed).toBe(false);
    const again = new Subject<number>();
    doubled(doubled(again)).subscribe({ next: (v) => seen.push(v), complete: () => seen.push("done") });
    again.next(1);
    again.complete();
    expect(seen).toEqual([4, 4, "done"]);
  });

  it("turns a throw from _next into the stream's error, once, and leaves the source", () => {
    const source = new Subject<number>();
    const errors: unknown[] = [];
    const values: number[] = [];
    doubled(source).subscribe({ next: (v) => values.push(v), error: (e) => errors.push(e) });
    source.next(1);
    source.next(-1);
    source.next(3);
    expect(values).toEqual([2]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(RangeError);
    expect(source.observed).toBe(false);
  });
});
