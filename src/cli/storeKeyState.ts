// What a key of a store folder holds and who holds its lock, as `rxtrade store` describes them:
// decoded as the engine decodes it, in words, and whether clear must refuse it.
import { decodeState, type SignalState } from "rxtrade";
import type { ListedKey } from "rxtrade/node";
import { minute, price, visible } from "./format";

/** Why a key cannot be cleared now (a running or unknown holder), or `undefined`. */
export function lockRefusal(rawKey: string, entry: ListedKey): string | undefined {
  const key = visible(rawKey);
  const { lock } = entry;
  if (lock === undefined) return undefined;
  if (!("owner" in lock)) return `rxtrade store: cannot clear ${key}: its lock file ${visible(lock.path)} cannot be read (${visible(lock.error)}); fix its permissions, then try again`;
  if (lock.stale) return undefined;
  const { owner, state } = lock;
  if (owner === undefined) {
    return `rxtrade store: cannot clear ${key}: its lock file ${visible(lock.path)} names no rxtrade holder (one being written right now, or not rxtrade's); if no rxtrade process uses this store, delete ${visible(lock.path)}, then try again`;
  }
  const who = `process ${owner.pid} on host ${visible(owner.hostname)}`;
  if (state?.kind === "alive") {
    return `rxtrade store: cannot clear ${key}: it is locked by ${who}, which is running — an rxtrade run trades this key now. Stop that run first (Ctrl-C in its terminal, or kill -TERM ${owner.pid}: a graceful stop lets an open signal run to its close), then clear the key if it still holds something.`;
  }
  const why = state?.kind === "unknown" ? state.why : "it cannot be proven gone";
  return `rxtrade store: cannot clear ${key}: it is locked by ${who}, which cannot be proven gone from here (${visible(why)}). If that process is gone, delete ${visible(lock.path)}, then try again.`;
}

/** A key's state for the listing: what its data file holds, decoded as the engine decodes it. */
export function stateOf(entry: ListedKey): { state: string; signal?: SignalState["signal"]; since?: number; reason?: string } {
  const { data } = entry;
  if (data.kind === "missing") return { state: "nothing" };
  if (data.kind !== "value") return { state: data.kind, reason: data.reason };
  if (data.value === null || data.value === undefined) return { state: "nothing" };
  const key = entry.key as string;
  const colon = key.lastIndexOf(":");
  const exchangeName = (data.value as { signal?: { exchangeName?: unknown } })?.signal?.exchangeName;
  try {
    const decoded = decodeState(data.value, key, {
      symbol: key.slice(0, Math.max(0, colon)),
      strategyName: key.slice(colon + 1),
      exchangeName: typeof exchangeName === "string" ? exchangeName : "",
    });
    if (decoded === null) return { state: "nothing" };
    const since = decoded.status === "opened" ? decoded.signal.pendingAt : decoded.signal.scheduledAt;
    return { state: decoded.status, signal: decoded.signal, since };
  } catch (error) {
    // StoreConflictError: "<key> holds <reason>; it is left untouched. …" — the reason is what the listing needs.
    const message = (error as Error).message;
    return { state: "unrecognised", reason: /holds (.*); it is left untouched/.exec(message)?.[1] ?? message };
  }
}

/** `opened signal <id> (long @ 23423.17 on replay, since 2023-03-01 03:23 UTC)`, `nothing`, `a corrupt file (…)`. */
export function holdsText(entry: ListedKey): string {
  const { state, signal, since, reason } = stateOf(entry);
  if (signal !== undefined && since !== undefined) {
    return `${state === "opened" ? "opened" : "scheduled (limit entry)"} signal ${visible(signal.id)} (${signal.position} @ ${price(signal.priceOpen)} on ${visible(signal.exchangeName)}, since ${minute(since)} UTC)`;
  }
  if (state === "nothing") return "nothing";
  const what = state === "unrecognised" ? "a value rxtrade does not recognise" : state === "corrupt" ? "a corrupt file" : "a file that cannot be read";
  return state === "unrecognised" ? what : `${what} (${visible(reason ?? "")})`;
}

/** A key's lock as `store list --json` gives it (holder running, gone or unknown), or `null` when unlocked. */
export function lockJson(lock: ListedKey["lock"]): Record<string, unknown> | null {
  if (lock === undefined) return null;
  if (!("owner" in lock)) return { file: lock.path, holder: "unknown", why: `the lock file cannot be read: ${lock.error}` };
  const { owner, state, stale } = lock;
  const holder = stale ? "gone" : state?.kind === "alive" ? "running" : "unknown";
  const why = owner === undefined ? "the lock file names no rxtrade holder" : state?.kind === "unknown" ? state.why : undefined;
  return { file: lock.path, pid: owner?.pid ?? null, hostname: owner?.hostname ?? null, since: owner?.since ?? null, holder, ...(why === undefined ? {} : { why }) };
}
