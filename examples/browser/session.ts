import type { CloseReason, Position } from "rxtrade";

/**
 * What the page keeps besides the open signal (which `indexedDbStore` keeps): where the
 * simulated clock is, whether the run was going, and a log of opened and closed signals. In
 * localStorage: synchronous, so an entry written in a tick survives a reload right after it.
 */
const PREFIX = "rxtrade-example:";

export type Mode = "idle" | "running" | "stopping";

export interface LoggedEvent {
  type: "opened" | "closed";
  id: string;
  position: Position;
  /** Simulated time of the tick (ms). */
  at: number;
  /** Entry price for `opened`, exit price for `closed`. */
  price: number;
  priceOpen: number;
  reason?: CloseReason;
  pnlPercentage?: number;
}

const read = <T>(key: string, fallback: T): T => {
  const text = localStorage.getItem(PREFIX + key);
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};
const write = (key: string, value: unknown): void => localStorage.setItem(PREFIX + key, JSON.stringify(value));

export const session = {
  /** The simulated time the run reached, or undefined before the first run. */
  clock: (): number | undefined => read<number | undefined>("clock", undefined),
  saveClock: (ms: number): void => write("clock", Math.floor(ms)),
  mode: (): Mode => read<Mode>("mode", "idle"),
  setMode: (mode: Mode): void => write("mode", mode),
  events: (): LoggedEvent[] => read<LoggedEvent[]>("events", []),
  log(event: LoggedEvent): void {
    write("events", [...session.events(), event]);
  },
  clear(): void {
    for (const key of ["clock", "mode", "events"]) localStorage.removeItem(PREFIX + key);
  },
};
