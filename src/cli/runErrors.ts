import { SessionFailure } from "./session";
import type { Terminal } from "./terminal";
import { EXIT } from "./usage";
import { describeThrown } from "./userModule";

/**
 * Prints why a run could not start or ended with an error, with what to do about it, and
 * returns the exit code (1). Errors the loop already reported on `error$` are not repeated.
 */
export function explainRunError(command: string, failure: unknown, terminal: Terminal, storeDir: string): number {
  const error = failure instanceof SessionFailure ? failure.error : failure;
  const { name, message } = (error ?? {}) as { name?: string; message?: string };
  if (!(failure instanceof SessionFailure && failure.printed)) terminal.warn(`rxtrade ${command}: ${(message ?? String(error)).replace(/^rxtrade: /, "")}`);
  if (name === "StoreConflictError") {
    terminal.warn(`The store ${storeDir} holds a signal that is not this stream's. Use another store (--store <dir>) or settle that signal first.`);
  } else if (name === "StoreLockedError") {
    terminal.warn(
      failure instanceof SessionFailure
        ? // During the run: the lock was lost (its file deleted or replaced), or taken between the check and the start.
          `This run lost the key or could not take it on the store ${storeDir}. Make sure one rxtrade process alone runs this symbol and strategy on it, then start again.`
        : `Another rxtrade process runs this symbol and strategy on the store ${storeDir}. Stop it first, or use another --store.`,
    );
  }
  return EXIT.failed;
}

/**
 * Prints why the report of a run that ended gracefully could not be written (the folder was
 * removed or replaced during the run, a full disk) and returns the exit code (1): the run
 * itself is over, and what is open stays in the store.
 */
export function explainReportError(command: string, error: unknown, terminal: Terminal, reportDir: string): number {
  terminal.warn(`rxtrade ${command}: stopped gracefully, but the report could not be written to ${reportDir}: ${describeThrown(error).replace(/^rxtrade: /, "")}`);
  return EXIT.failed;
}
