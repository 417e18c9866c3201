import { TestScheduler } from "rxjs/testing";

/**
 * A `TestScheduler` wired to your test runner's deep equality, e.g. vitest's or jest's
 * `expect(actual).toEqual(expected)`; rxtrade/testing imports no test runner itself.
 *
 * @example
 * import { expect } from "vitest";
 * const scheduler = createTestScheduler((actual, expected) => expect(actual).toEqual(expected));
 * scheduler.run(({ expectObservable }) => { … });
 */
export function createTestScheduler(assertDeepEqual: (actual: unknown, expected: unknown) => void): TestScheduler {
  return new TestScheduler((actual, expected) => assertDeepEqual(actual, expected));
}
