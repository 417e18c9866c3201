import type { JournalEntry, JournalTick, JournalTrade } from "./journal";
import type { SignalDto, SignalRow } from "./model";
import type { DecidedTick, ReplayDecision, ReplaySignal } from "./replayDiff";

// What a journal's ticks decided: each tick entry with the trade entry of its time and signal.
// Pure: no time, no I/O. Exported through replayDiff.ts.

/**
 * Turns a journal's entries, in order, into decided ticks, a batch at a time. A tick's `trade`
 * entry comes after its `tick` entry — the tick is journaled as it decides, the trade after the
 * store write, which later ticks need not wait for (a file store's fsync) — so the ticks pushed
 * are decided at `flush`, each with the trade entry of its time and signal if one came by then.
 * A signal's details come from its tick's trade entry, else from any trade entry of that signal
 * seen so far, else from the strategy's answer on the tick.
 */
export class TickDecisions {
  private readonly rows = new Map<string, SignalRow>();
  private pending: Array<{ entry: JournalTick; trade: JournalTrade | undefined }> = [];

  constructor(private readonly decided: (tick: DecidedTick) => void) {}

  /** A signal known before the entries (the one a run resumed). */
  know(signal: SignalRow): void {
    this.rows.set(signal.id, signal);
  }

  push(entry: JournalEntry): void {
    if (entry.kind === "tick") {
      this.pending.push({ entry, trade: undefined });
      return;
    }
    if (entry.kind !== "trade") return;
    this.rows.set(entry.result.signal.id, entry.result.signal);
    if (entry.recovered === true) return;
    const id = entry.result.signal.id;
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const pending = this.pending[i] as { entry: JournalTick; trade: JournalTrade | undefined };
      if (pending.entry.at === entry.at && pending.entry.signalId === id) {
        pending.trade = entry;
        return;
      }
    }
  }

  /** Decides the ticks pushed since the last flush, in order. */
  flush(): void {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    for (const { entry, trade } of pending) this.decided({ entry, decision: decide(entry, trade, this.rows) });
  }
}

function decide(entry: JournalTick, trade: JournalTrade | undefined, rows: ReadonlyMap<string, SignalRow>): ReplayDecision {
  const action = entry.action;
  if (action === "idle" || action === "error") return { action, trade: false };
  const id = entry.signalId;
  const answered = entry.answer !== undefined && "signal" in entry.answer && entry.answer.signal !== null && entry.answer.signal.id === id ? entry.answer.signal : undefined;
  const row = trade?.result.signal ?? (id === undefined ? undefined : rows.get(id));
  const signal = row !== undefined ? essentials(row) : answered !== undefined && entry.price !== null ? fromAnswer(answered, entry.price) : undefined;
  const decision: ReplayDecision = {
    action,
    // A scheduled signal was placed on the tick the strategy gave it.
    trade: action !== "active" && (action !== "scheduled" || answered !== undefined),
    ...(signal === undefined ? {} : { signal }),
  };
  const result = trade?.result;
  if (result?.action === "closed") {
    decision.closeReason = result.closeReason;
    decision.closePrice = result.currentPrice;
  } else if (result?.action === "cancelled") {
    decision.cancelReason = result.cancelReason;
  }
  return decision;
}

function essentials(row: SignalRow): ReplaySignal {
  return {
    position: row.position,
    priceOpen: row.priceOpen,
    priceTakeProfit: row.priceTakeProfit,
    priceStopLoss: row.priceStopLoss,
    minuteEstimatedTime: row.minuteEstimatedTime,
  };
}

// A signal whose trade entry was lost (a kill between the tick's entry and its trade's): as the
// engine took it from the strategy, opened at the tick's price unless it named a limit price.
function fromAnswer(dto: SignalDto, price: number): ReplaySignal {
  return {
    position: dto.position,
    priceOpen: dto.priceOpen ?? price,
    priceTakeProfit: dto.priceTakeProfit,
    priceStopLoss: dto.priceStopLoss,
    minuteEstimatedTime: dto.minuteEstimatedTime,
  };
}

/** All the decided ticks of `entries` (a whole run, oldest first), given the signal it resumed. */
export function decideTicks(entries: Iterable<JournalEntry>, resumed?: SignalRow): DecidedTick[] {
  const ticks: DecidedTick[] = [];
  const decisions = new TickDecisions((tick) => ticks.push(tick));
  if (resumed !== undefined) decisions.know(resumed);
  for (const entry of entries) decisions.push(entry);
  decisions.flush();
  return ticks;
}
