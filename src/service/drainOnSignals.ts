import type { Service } from "./service";

/** Options of `drainOnSignals`. */
export interface DrainOnSignalsOptions {
  /** Called on the second signal instead of exiting at once with 130 (tests; a last log line). */
  onForcedExit?: (signal: NodeJS.Signals) => void;
}

/**
 * The `rxtrade live` way to stop, for a service: the first SIGINT or SIGTERM drains every pair
 * (`drainAll`: no new signal; what is open runs to its close, then `done`); a second one exits
 * the process at once with 130 — what is open stays in the store and resumes at the next start.
 * Returns a function that stops listening (it stops by itself once the service is done).
 *
 * ```
 * signals:   ----T---------T-->
 * service:   ----drainAll--exit(130)
 * ```
 *
 * @example
 * const service = await startService({ pairs, store });
 * drainOnSignals(service);
 * process.exit((await service.done).code);
 *
 * @param service the running service
 * @param options what the second signal does instead of `process.exit(130)`
 */
export function drainOnSignals(service: Service, options: DrainOnSignalsOptions = {}): () => void {
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      service.drainAll(signal);
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
  void service.done.then(stop, stop);
  return stop;
}
