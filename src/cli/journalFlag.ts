import { JOURNAL_LEVELS, type JournalLevel } from "rxtrade";
import { type FileJournal, fileJournal, type FileStore } from "rxtrade/node";
import type { Terminal } from "./terminal";
import { UsageError } from "./usage";

/** The `--journal` lines of `live --help` and `demo --help`. */
export const JOURNAL_HELP = `  --journal LEVEL    what is journaled in the store's journal/ folder, kept across runs and
                     restarts: trades (default: each signal scheduled, opened, closed or
                     cancelled, and each run's start and stop), full (also every tick's candles,
                     price and the strategy's answer), or off`;

/** `--journal`: `trades` when absent. */
export function journalLevelFlag(command: string, value: string | undefined): JournalLevel {
  if (value === undefined) return "trades";
  const level = value.trim();
  if (!(JOURNAL_LEVELS as readonly string[]).includes(level)) {
    throw new UsageError(command, `--journal must be one of ${JOURNAL_LEVELS.join(", ")}, got ${JSON.stringify(value)}; e.g. --journal full`);
  }
  return level as JournalLevel;
}

/** The store's journal (`<store>/journal/`), or `undefined` at level `off`. */
export function storeJournal(store: FileStore, level: JournalLevel): FileJournal | undefined {
  return level === "off" ? undefined : fileJournal(store);
}

/**
 * Writes what the journal still buffers (tick entries) and closes its files; a failure is said,
 * not thrown (the run is over): how many tick entries were not written, and why (the
 * `JournalError` of `FileJournal.close`). Changes of position are not among them: the run's
 * stream ended only once they were appended, or reported them itself.
 */
export async function closeJournal(journal: FileJournal | undefined, terminal: Terminal): Promise<void> {
  try {
    await journal?.close();
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^rxtrade: /, "") : String(error);
    terminal.warn(`warning: the journal in ${journal?.dir} could not be written to the end: ${message}`);
  }
}
