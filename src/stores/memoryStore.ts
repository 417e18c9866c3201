import { keyLocks } from "./keyed";
import type { SignalStore } from "../model";

/**
 * A synchronous in-memory `SignalStore`: values are kept as JSON text, so a read returns a
 * JSON round trip of what was written, never the caller's object. Locks are per instance.
 *
 * @example
 * const store = memoryStore();
 * liveTrade$("BTCUSDT", strategy, { exchange, store }).subscribe();
 */
export function memoryStore(): SignalStore & { keys(): string[] } {
  const values = new Map<string, string>();
  const lock = keyLocks();
  return {
    read(key) {
      const text = values.get(key);
      return text === undefined ? null : (JSON.parse(text) as unknown);
    },
    write(key, value) {
      if (value === null) values.delete(key);
      else values.set(key, JSON.stringify(value));
    },
    lock,
    keys() {
      return [...values.keys()];
    },
  };
}
