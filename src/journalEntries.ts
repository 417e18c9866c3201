// What every journal does with entries: copy them, check a parsed record, find a key's tail.
import type { JournalEntry, JournalErrorInfo, JournalIntent, JournalRun, JournalTail, JournalTrade } from "./journal";

/**
 * A deep copy of an entry as a JSON round trip would give it (properties set to `undefined`
 * left out), several times faster than `structuredClone` or `JSON.parse(JSON.stringify())`:
 * journals copy every entry they keep.
 */
export function copyEntry<T extends JournalEntry>(entry: T): T {
  return copyJson(entry) as T;
}

function copyJson(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = copyJson(value[i]);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  const keys = Object.keys(value);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const field = (value as Record<string, unknown>)[key];
    if (field !== undefined && typeof field !== "function") copy[key] = typeof field === "object" ? copyJson(field) : field;
  }
  return copy;
}

/** The last `trade` and `run` entries among `entries` (a whole key's, oldest first), and the pending intent. */
export async function journalTail(entries: AsyncIterable<JournalEntry>): Promise<JournalTail> {
  const tail = new TailScan();
  for await (const entry of entries) tail.add(entry);
  return tail.result();
}

/**
 * Builds a `JournalTail` from a key's entries, oldest first. An intent is pending until a
 * `trade` entry follows it (its run confirmed it) or a `start` entry does (that start decided
 * it, by the store); a `stop` entry does not settle it — a run unsubscribed while its store
 * write was in flight stops before it knows whether the write landed.
 */
export class TailScan {
  private lastTrade: JournalTrade | undefined;
  private lastRun: JournalRun | undefined;
  private intent: JournalIntent | undefined;
  private settling = false;

  add(entry: JournalEntry): void {
    if (entry.kind === "trade") {
      this.lastTrade = entry;
      this.intent = undefined;
      this.settling = true;
    } else if (entry.kind === "run") {
      this.lastRun = entry;
      if (entry.event === "start") {
        this.intent = undefined;
        this.settling = true;
      }
    } else if (entry.kind === "intent") {
      this.intent = entry;
      this.settling = true;
    }
  }

  /** Whether the entries seen decide the pending intent whatever came before them (a trade, a start or an intent among them). */
  get settles(): boolean {
    return this.settling;
  }

  result(): JournalTail {
    return {
      ...(this.lastTrade === undefined ? {} : { lastTrade: this.lastTrade }),
      ...(this.lastRun === undefined ? {} : { lastRun: this.lastRun }),
      ...(this.intent === undefined ? {} : { pendingIntent: this.intent }),
    };
  }
}

const ENTRY_KINDS: readonly JournalEntry["kind"][] = ["trade", "tick", "run", "intent", "gap"];
const KINDS_TEXT = "trade, tick, run, intent or gap";

/**
 * Why `value` (a parsed record) is not a journal entry of `key`, or `undefined` when it is.
 * Checks the discriminant and the fields every reader relies on, not every nested value.
 */
export function journalEntryProblem(value: unknown, key?: string): string | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return "not an object";
  const entry = value as Partial<Record<string, unknown>>;
  if (!ENTRY_KINDS.includes(entry.kind as JournalEntry["kind"])) return `kind ${JSON.stringify(entry.kind)} is not ${KINDS_TEXT}`;
  if (typeof entry.key !== "string") return "no key";
  if (key !== undefined && entry.key !== key) return `it belongs to key ${JSON.stringify(entry.key)}`;
  if (typeof entry.at !== "number" || !Number.isFinite(entry.at)) return `at (${String(entry.at)}) is not a time`;
  switch (entry.kind) {
    case "trade":
    case "intent": {
      const result = entry.result as { action?: unknown; signal?: unknown } | null | undefined;
      const actions = ["scheduled", "opened", "closed", "cancelled"];
      if (result === null || typeof result !== "object" || !actions.includes(result.action as string) || typeof result.signal !== "object" || result.signal === null) {
        return `${entry.kind === "trade" ? "a trade" : "an intent"} without a scheduled, opened, closed or cancelled result`;
      }
      return undefined;
    }
    case "gap":
      return [entry.from, entry.to, entry.ticks].every((n) => typeof n === "number" && Number.isFinite(n)) ? undefined : "a gap without from, to and ticks";
    case "tick":
      return Array.isArray(entry.candles) && typeof entry.action === "string" ? undefined : "a tick without candles or action";
    default:
      return entry.event === "start" || entry.event === "stop" ? undefined : `run event ${JSON.stringify(entry.event)} is not start or stop`;
  }
}

/** An error, as a journal keeps it. */
export function errorInfo(error: unknown): JournalErrorInfo {
  if (error instanceof Error) return { name: error.name, message: error.message };
  return { name: "Error", message: String(error) };
}
