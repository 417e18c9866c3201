import type { Service } from "./serviceTypes";

/** Options of `drainOnSignals`. */
export interface DrainOnSignalsOptions {
  /** Called on the second signal instead of exiting at once with 130 (a last log line, then exit). */
  onForcedExit?: (signal: NodeJS.Signals) => void;
}

/**
 * The `rxtrade live` way to stop, for a service: the first SIGINT or SIGTERM drains every pair
 * (`drainAll`: no new signal; what is open runs to its close, then `done`); a second one exits
 * the process at once with 130 — what is open stays in the store and resumes at the next start.
 * Give it the service's promise to listen from before the service has started: a signal that
 * comes while it starts drains it as soon as it has. Returns a function that stops listening
 * (it stops by itself once the service is done, or has failed to start).
 *
 * ```
 * signals:   ----T---------T-->
 * service:   ----drainAll--exit(130)
 * ```
 *
 * @example
 * const service = startService({ pairs, store });
 * drainOnSignals(service);
 * process.exit((await (await service).done).code);
 *
 * @param service the service, or the promise `startService` returned
 * @param options what the second signal does instead of `process.exit(130)`
 */
export function drainOnSignals(service: Service | PromiseLike<Service>, options: DrainOnSignalsOptions = {}): () => void {
  let started: Service | undefined;
  let requested: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (requested === undefined) {
      requested = signal;
      started?.drainAll(signal);
      return;
    }
    if (options.onForcedExit !== undefined) options.onForcedExit(signal);
    else process.exit(130);
  };
  const stop = () => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  Promise.resolve(service).then(
    (running) => {
      started = running;
      if (requested !== undefined) running.drainAll(requested);
      void running.done.then(stop, stop);
    },
    stop,
  );
  return stop;
}
