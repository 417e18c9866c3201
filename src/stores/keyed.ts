import { StoreLockedError } from "../errors";

/**
 * One promise chain per key: `serial(key, job)` runs `job` after every job queued before it for
 * that key, whether those succeeded or failed, so the reads and writes of one key apply in call
 * order. A chain is forgotten once it has drained.
 */
export function serialByKey(): <T>(key: string, job: () => Promise<T>) => Promise<T> {
  const chains = new Map<string, Promise<unknown>>();
  return <T>(key: string, job: () => Promise<T>): Promise<T> => {
    const next = (chains.get(key) ?? Promise.resolve()).then(job, job);
    const tail = next.catch(() => undefined);
    chains.set(key, tail);
    void tail.then(() => {
      if (chains.get(key) === tail) chains.delete(key);
    });
    return next;
  };
}

/**
 * Exclusive ownership of keys within one set: `lock(key)` throws `StoreLockedError` while the key
 * is held and returns its release (synchronous, idempotent, never throws).
 */
export function keyLocks(held: Set<string> = new Set()): (key: string) => () => void {
  return (key) => {
    if (held.has(key)) throw new StoreLockedError({ key });
    held.add(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      held.delete(key);
    };
  };
}
