// Runs before every test file. Most files share their worker's process and module graph
// (vitest.config.ts, project "shared"), so each file starts from what a fresh process has:
// real timers, rxjs's and rxtrade's default configuration, no stubs left by the file before.
//
// A listener a file leaves on `process` (a CLI session's SIGINT handler, a service's exit hook)
// outlives the file and acts in the next one: a SIGINT there runs it, process.exit and all. So
// after each file the listeners of these events must be those it started with; if not, the file
// fails, naming the listeners it left (which are removed, so that the files after it start clean).
import { relative } from "node:path";
import { config as rxjsConfig } from "rxjs";
import { afterAll, beforeAll, expect, vi } from "vitest";
import { getDefaultConfig, setConfig } from "../../src/config";

const rxjsDefaults = { ...rxjsConfig };

const WATCHED = ["SIGINT", "SIGTERM", "SIGHUP", "uncaughtException", "unhandledRejection", "exit", "beforeExit"] as const;
type Watched = (typeof WATCHED)[number];
type Listener = (...args: unknown[]) => void;

let before: Map<Watched, Listener[]> | undefined;
const listenersNow = () => new Map(WATCHED.map((event) => [event, process.listeners(event as NodeJS.Signals) as Listener[]]));

beforeAll(() => {
  before = listenersNow();
});

/** The listeners added since `before` (removed from the process) and the count each event changed by. */
function leftBehind(): string[] {
  if (before === undefined) return [];
  const leaks: string[] = [];
  for (const [event, now] of listenersNow()) {
    const had = before.get(event) ?? [];
    if (now.length === had.length) continue;
    const added = now.filter((listener) => !had.includes(listener));
    for (const listener of added) process.off(event as NodeJS.Signals, listener);
    const names = added.map((listener) => listener.name || String(listener).slice(0, 80).replace(/\s+/g, " "));
    leaks.push(`${event}: ${had.length} listener(s) before the file, ${now.length} after${names.length > 0 ? ` (left: ${names.join("; ")})` : ""}`);
  }
  return leaks;
}

afterAll(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
  Object.assign(rxjsConfig, rxjsDefaults);
  setConfig(getDefaultConfig());
  const leaks = leftBehind();
  before = undefined;
  if (leaks.length > 0) {
    const file = relative(process.cwd(), expect.getState().testPath ?? "(unknown file)");
    throw new Error(
      `${file} left listeners on process (they would act in the files that share its process): ${leaks.join("; ")}. ` +
        "Remove them in the test (afterEach/onTestFinished) or fix the code that registers them.",
    );
  }
});
