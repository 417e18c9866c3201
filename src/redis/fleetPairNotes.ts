// A held pair's notes to Redis — its status fields and its events on `<prefix>events` — written
// in order, each fenced by the pair's token; and the engine's errors routed to the pairs' notes.
import type { Subscription } from "rxjs";
import { error$ } from "../events";
import { EVENTS_MAXLEN, NOTE } from "./fleetKeys";
import type { FleetWorkerState, HeldPair } from "./fleetWorkerState";
import { runScript } from "./redisScripts";

/** An event of a pair on `<prefix>events`: its action, its signal, its time (the pair's clock) and what else it says. */
export type PairEvent = { action: string; signalId?: string; at?: number; [field: string]: unknown };

/** Writes status fields and (optionally) an event of a pair, fenced by its token, after its earlier notes. */
export function note(worker: FleetWorkerState, pair: HeldPair, status: Record<string, string | number>, event?: PairEvent): Promise<void> {
  const { link, store, keys, name, logger } = worker;
  const statusArgs = Object.entries(status).flatMap(([field, value]) => [field, String(value)]);
  const eventArgs =
    event === undefined
      ? []
      : Object.entries({ ...event, pair: pair.id, worker: name, token: pair.release.token, signalId: event.signalId ?? "", at: new Date(event.at ?? pair.runtime.scheduler.now()).toISOString() }).flatMap(
          ([field, value]) => [field, String(value)],
        );
  pair.chain = pair.chain.then(() =>
    link
      .call(`note(${pair.id})`, (client) => runScript(client, NOTE, [store.keysOf(pair.id).fence, keys.status(pair.id), keys.events, store.keysOf(pair.id).lease], [pair.release.token, EVENTS_MAXLEN, statusArgs.length, ...statusArgs, ...eventArgs]))
      .then(
        (applied) => {
          if (applied !== 1 && event !== undefined) logger?.info({ pair: pair.id, token: pair.release.token, action: event.action }, "note refused: a newer holder took the pair");
        },
        (error: unknown) => logger?.warn({ pair: pair.id, error: error instanceof Error ? error.message : String(error) }, "cannot write the pair's status to Redis"),
      ),
  );
  return pair.chain;
}

/** The signal the pair holds now (scheduled or open), or "". */
export function signalIdOf(pair: HeldPair): string {
  const last = pair.runtime.last;
  return last === undefined || last.signal === null || last.action === "closed" || last.action === "cancelled" ? "" : last.signal.id;
}

/** The engine's errors, routed to the pairs by key (as the service does), each noted as an `error` event. */
export function routeEngineErrors(worker: FleetWorkerState): Subscription {
  const { held, logger } = worker;
  return error$.subscribe((error) => {
    const { symbol, strategyName, key } = error as { symbol?: string; strategyName?: string; key?: unknown };
    const id = symbol !== undefined && strategyName !== undefined ? `${symbol}:${strategyName}` : typeof key === "string" ? key : undefined;
    const pair = id === undefined ? undefined : held.get(id);
    if (pair === undefined || pair.ended) return;
    logger?.warn({ pair: pair.id, kind: error.name, error: error.message }, "error");
    void note(worker, pair, {}, { action: "error", signalId: signalIdOf(pair), kind: error.name || "Error", message: error.message.slice(0, 500) });
  });
}
