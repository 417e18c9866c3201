import { StoreReadError, StoreWriteError } from "../errors";
import type { MaybeAsync, SignalStore } from "../model";
import { keyLocks, serialByKey } from "./keyed";

/** A store written for the seed library's persistence interface, keyed by symbol and strategy. */
export interface PersistBaseAdapter {
  /** Called once, before the first read or write. */
  waitForInit(initial: boolean): MaybeAsync<void>;
  hasValue(symbol: string, strategyName: string): MaybeAsync<boolean>;
  readValue(symbol: string, strategyName: string): MaybeAsync<unknown>;
  writeValue(symbol: string, strategyName: string, value: unknown): MaybeAsync<void>;
  /** Used to clear a key when present; otherwise `writeValue(symbol, strategyName, null)`. */
  removeValue?(symbol: string, strategyName: string): MaybeAsync<void>;
}

/**
 * Wraps a seed-style persistence adapter (`waitForInit`, `hasValue`, `readValue`,
 * `writeValue`) as a `SignalStore`, so existing adapters (Redis, a database, …) plug into
 * `liveTrade$`. The key `${symbol}:${strategyName}` is split at its last `:` (a symbol may
 * hold `:`, as in `BTC/USDT:USDT`); `waitForInit(true)` is called once, before the first
 * read or write. Reads return a JSON round trip of the adapter's value; writes to one key are
 * applied in call order; failures become `StoreReadError` / `StoreWriteError`. Locks are held
 * per wrapper (in this process).
 *
 * @example
 * import { fromPersistBase, liveTrade$ } from "rxtrade";
 * const store = fromPersistBase(new MyRedisPersist());
 * liveTrade$("BTCUSDT", strategy, { exchange, store }).subscribe();
 *
 * @param adapter the seed-style adapter
 */
export function fromPersistBase(adapter: PersistBaseAdapter): SignalStore & {
  read(key: string): Promise<unknown | null>;
  write(key: string, value: unknown | null): Promise<void>;
  lock(key: string): () => void;
} {
  let ready: Promise<void> | undefined;
  const init = (): Promise<void> => {
    ready ??= Promise.resolve()
      .then(() => adapter.waitForInit(true))
      .then(
        () => undefined,
        (error: unknown) => {
          ready = undefined; // a failed init is tried again by the next call
          throw error;
        },
      );
    return ready;
  };
  const serial = serialByKey();
  const lock = keyLocks();

  return {
    read(key) {
      return serial(key, async () => {
        const [symbol, strategyName] = splitKey(key);
        try {
          await init();
          if (!(await adapter.hasValue(symbol, strategyName))) return null;
          const value = await adapter.readValue(symbol, strategyName);
          return value === undefined || value === null ? null : (JSON.parse(JSON.stringify(value)) as unknown);
        } catch (cause) {
          throw new StoreReadError({ key, cause });
        }
      });
    },
    write(key, value) {
      return serial(key, async () => {
        const [symbol, strategyName] = splitKey(key);
        try {
          await init();
          if (value !== null) await adapter.writeValue(symbol, strategyName, JSON.parse(JSON.stringify(value)) as unknown);
          else if (typeof adapter.removeValue === "function") await adapter.removeValue(symbol, strategyName);
          else await adapter.writeValue(symbol, strategyName, null);
        } catch (cause) {
          throw new StoreWriteError({ key, cause });
        }
      });
    },
    lock,
  };
}

function splitKey(key: string): [symbol: string, strategyName: string] {
  const at = key.lastIndexOf(":");
  return at < 0 ? [key, ""] : [key.slice(0, at), key.slice(at + 1)];
}
