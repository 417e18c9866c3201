import { SessionFailure } from "./session";
import type { Terminal } from "./terminal";
import { EXIT } from "./usage";

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
    terminal.warn(`Another rxtrade process runs this symbol and strategy on the store ${storeDir}. Stop it first, or use another --store.`);
  }
  return EXIT.failed;
}
