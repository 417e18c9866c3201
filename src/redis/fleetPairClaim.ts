// Claiming a pair of the fleet: its lease taken, its spec resolved, what Redis holds for it
// resumed (and what a dead holder left unsaid announced), and its live loop started on its own
// clock, every result noted as an event.
import type { SchedulerLike } from "rxjs";
import { StoreLockedError } from "../errors";
import { tradeLoop$ } from "../liveTrade";
import type { SignalStore } from "../model";
import { pacedScheduler, type PacedScheduler } from "../schedulers/pacedScheduler";
import { PairRuntime, record } from "../service/pairRuntime";
import type { ServiceEvent } from "../service/serviceTypes";
import { decodeState } from "../stateCodec";
import { tradeContext } from "../tradeContext";
import { FleetError } from "./fleetErrors";
import { EVENTS_MAXLEN, PAIR_FAILED } from "./fleetKeys";
import { note, signalIdOf } from "./fleetPairNotes";
import { drain, drainAtDataEnd, end, settleHandOver } from "./fleetPairStop";
import type { FleetPairSpec, SnapshotPair } from "./fleetTypes";
import type { FleetPairResolved } from "./fleetWorkerOptions";
import type { FleetWorkerState, HeldPair } from "./fleetWorkerState";
import type { RedisRelease } from "./redisLease";
import { runScript } from "./redisScripts";

const MINUTE_MS = 60_000;

/** Claims a free pair and runs it here; gives it up (lease released) when it cannot start or the worker stops. */
export async function claim(worker: FleetWorkerState, candidate: SnapshotPair): Promise<void> {
  const { store, link, keys, logger, name, held, simulatedNow, fleetClock, realClock, speed, timings } = worker;
  const spec = candidate.spec as FleetPairSpec;
  let scheduler: SchedulerLike | undefined;
  const clockView = { now: () => (scheduler ?? realClock ?? { now: Date.now }).now() };
  let runtime: PairRuntime;
  let clock: PacedScheduler | undefined;
  let resumed: { id: string; status: "scheduled" | "opened" } | undefined;
  let named = "";
  let resolved: FleetPairResolved;
  let context: ReturnType<typeof tradeContext>;
  // Resolved before the lease is taken: a pair that cannot load burns no fencing token.
  try {
    resolved = await worker.options.resolve(spec, clockView, fleetClock);
    context = tradeContext(spec.symbol, resolved.strategy, { exchange: resolved.exchange, ...(spec.tickMs === undefined ? {} : { tickMs: spec.tickMs }) });
    const expected = `${spec.symbol}:${context.identity.strategyName}`;
    if (expected !== candidate.id) throw new FleetError(`pair ${candidate.id}'s strategy ${spec.strategy} is named ${context.identity.strategyName}: its id would be ${expected}; add it again (fleet add) so that its id names its strategy`, candidate.id);
  } catch (error) {
    await cannotStart(worker, candidate, error);
    return;
  }
  if (worker.stopping) return;
  let release: RedisRelease;
  try {
    release = await store.lock(candidate.id);
  } catch (error) {
    if (!(error instanceof StoreLockedError)) logger?.warn({ pair: candidate.id, error: (error as Error).message }, "cannot claim");
    return;
  }
  if (worker.stopping) {
    release();
    return;
  }
  try {
    // The signal the pair's events last announced, read under the lease: the snapshot may
    // predate the last note of a holder whose lease had expired (notes are fenced by token).
    named = (await link.call(`status(${candidate.id})`, (client) => client.hget(keys.status(candidate.id), "signalId"))) ?? "";
    const state = decodeState(await store.read(candidate.id), candidate.id, context.identity);
    if (state !== null) resumed = { id: state.signal.id, status: state.status };
    if (simulatedNow !== undefined) {
      const since = state === null ? 0 : state.status === "opened" ? state.signal.pendingAt : state.signal.scheduledAt;
      const lastTick = candidate.lastTickAt === "" ? 0 : Date.parse(candidate.lastTickAt);
      clock = pacedScheduler({ origin: Math.max(simulatedNow(), since, Number.isFinite(lastTick) ? lastTick : 0), speed: (speed as number) * (MINUTE_MS / 1000) });
      scheduler = clock;
    } else scheduler = realClock as SchedulerLike;
    runtime = new PairRuntime(spec.symbol, context.identity.strategyName, context.identity.exchangeName, context.tickMs, scheduler, context.limits.stallMs);
  } catch (error) {
    release();
    clock?.stop();
    await cannotStart(worker, candidate, error);
    return;
  }
  if (worker.stopping) {
    release();
    clock?.stop();
    return;
  }
  const pair: HeldPair = { id: candidate.id, spec, release, runtime, clock, subscription: undefined, drainAt: undefined, dataEnds: undefined, drainWhy: undefined, chain: Promise.resolve(), flushedTickAt: null, ended: false, writing: undefined, handing: undefined };
  held.set(pair.id, pair);
  worker.failures.delete(pair.id);
  runtime.log = logger?.child({ pair: pair.id, token: release.token });
  runtime.log?.info({ resumed: resumed?.id ?? null }, "claimed");
  void note(worker, pair, { status: "running", owner: name, token: release.token, lastTickAt: "", error: "" }, { action: "claimed", signalId: resumed?.id ?? "" });
  // The status's signal is written only with the event that announces it (a holder may die
  // between two notes). A signal it names that the store no longer holds was ended (closed or
  // cancelled) by a holder that died, or lost its lease, between the store write and the
  // event: its end is announced now, once, as `ended`. A stored signal it does not name was
  // opened by such a holder: announced now, once, as opened (or scheduled).
  if (named !== "" && named !== resumed?.id) void note(worker, pair, { signalId: "" }, { action: "ended", signalId: named, late: 1 });
  if (resumed !== undefined) void note(worker, pair, { signalId: resumed.id }, { action: named === resumed.id ? "resumed" : resumed.status, signalId: resumed.id, ...(named === resumed.id ? {} : { late: 1 }) });

  // The lease this worker took is the one the loop locks with: the engine's lock of this key gets it.
  let handed = false;
  const leased: SignalStore & { lockScope: string } = {
    read: (key) => store.read(key),
    write: (key, value) => {
      const written = timings === undefined ? store.write(key, value) : timings.time(() => store.write(key, value));
      if (key !== pair.id) return written;
      // In flight until it settles (this handler runs before the loop's): a hand-over waits for it.
      pair.writing = written;
      const settled = () => {
        if (pair.writing === written) pair.writing = undefined;
      };
      written.then(settled, settled);
      return written;
    },
    lock: (key) => {
      if (key === pair.id && !handed) {
        handed = true;
        // Released by the engine once the loop ends or is unsubscribed — after the pair's notes
        // so far (a `closed` whose write landed, `released`): a newer holder, fenced by a
        // higher token, would have them refused.
        const afterNotes = Object.assign(
          () => {
            const free = () => release();
            void pair.chain.then(free, free);
          },
          { onLost: (listener: (error: Error) => void) => release.onLost(listener) },
        );
        return Promise.resolve(afterNotes);
      }
      return store.lock(key);
    },
    lockScope: store.lockScope,
  };
  const announce = (event: ServiceEvent) => {
    if (!("result" in event)) return;
    const result = event.result;
    runtime.log?.info({ action: event.kind, signalId: result.signal?.id }, event.kind);
    const closedOrCancelled = event.kind === "closed" || event.kind === "cancelled";
    void note(
      worker,
      pair,
      { signalId: closedOrCancelled ? "" : (result.signal?.id ?? ""), lastTickAt: new Date(event.at).toISOString() },
      { action: event.kind, signalId: result.signal?.id ?? "", at: event.at, ...(result.action === "closed" ? { pnl: result.pnl.pnlPercentage } : {}) },
    );
  };
  pair.subscription = tradeLoop$(spec.symbol, resolved.strategy, { exchange: resolved.exchange, store: leased, scheduler, tickMs: runtime.tickMs, stop$: runtime.stop$ }).subscribe({
    next: (result) => {
      record(runtime, result, announce);
      settleHandOver(pair); // a hand-over waiting for this result's write ends now, its note queued
    },
    complete: () => {
      const wasDraining = runtime.draining;
      end(worker, pair);
      if (wasDraining) {
        runtime.log?.info({ ...(pair.drainWhy === undefined ? {} : { why: pair.drainWhy }) }, "drained");
        void note(worker, pair, { status: "drained", signalId: "" }, { action: "drained", ...(pair.drainWhy === undefined ? {} : { why: pair.drainWhy }) });
      }
    },
    error: (error: unknown) => {
      end(worker, pair);
      const lost = error instanceof StoreLockedError;
      runtime.log?.warn({ kind: (error as Error)?.name, error: (error as Error)?.message }, lost ? "lost" : "failed");
      void note(worker, pair, {}, { action: lost ? "lost" : "error", signalId: signalIdOf(pair), message: String((error as Error)?.message ?? error).slice(0, 500) });
    },
  });
  if (spec.drain) drain(worker, pair);
  else if (resolved.dataEnd !== undefined) drainAtDataEnd(worker, pair, resolved.dataEnd, scheduler, pair.subscription);
}

/** The first retry of a pair that cannot start, ms; each next one waits twice as long, up to `RETRY_MAX_MS`. */
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/** Whether this worker waits before trying `candidate` again (it could not start it lately, and its spec is the same). */
export function backingOff(worker: FleetWorkerState, candidate: SnapshotPair, now = Date.now()): boolean {
  const failure = worker.failures.get(candidate.id);
  return failure !== undefined && failure.spec === JSON.stringify(candidate.spec) && now < failure.nextAt;
}

/**
 * A pair this worker could not start (its spec does not resolve, its stored state does not fit):
 * tried again after a growing delay (1 s, doubling, up to a minute; at once when its spec
 * changes), logged once a streak; its status in Redis becomes `error` with the message (an
 * `error` event when that message is new) — or, asked to drain and holding no signal, `drained`.
 */
async function cannotStart(worker: FleetWorkerState, candidate: SnapshotPair, error: unknown): Promise<void> {
  const { logger, link, keys, store, name, failures } = worker;
  const spec = candidate.spec as FleetPairSpec;
  const message = (error instanceof Error ? error.message : String(error)).replace(/^rxtrade: /, "").slice(0, 500);
  const specText = JSON.stringify(spec);
  const before = failures.get(candidate.id);
  const count = before !== undefined && before.spec === specText ? before.count + 1 : 1;
  const retryMs = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (count - 1));
  failures.set(candidate.id, { count, nextAt: Date.now() + retryMs, spec: specText });
  if (count === 1) logger?.error({ pair: candidate.id, error: message }, "cannot start the pair; retrying with a growing delay, up to a minute");
  else logger?.debug({ pair: candidate.id, error: message, attempt: count, retryMs }, "cannot start the pair");
  try {
    // Asked to drain and nothing to close: drained for good.
    const drained = spec.drain === true && (await store.read(candidate.id)) === null;
    const at = new Date((worker.simulatedNow ?? Date.now)()).toISOString();
    await link.call(`failed(${candidate.id})`, (client) =>
      runScript(client, PAIR_FAILED, [keys.status(candidate.id), keys.events, store.keysOf(candidate.id).lease], [EVENTS_MAXLEN, drained ? "drained" : "error", message, name, at, candidate.signalId, candidate.id]),
    );
  } catch (noted) {
    logger?.warn({ pair: candidate.id, error: noted instanceof Error ? noted.message : String(noted) }, "cannot write the pair's status to Redis");
  }
}
