import type { JournalIntent, JournalRecovery, JournalTail, JournalTrade, JournalTradeResult } from "./journal";
import type { SignalState, StreamIdentity } from "./signal";

/**
 * The entries that reconcile the journal's last state of a key with the store's (see
 * `JournalRecovery`): the `trade` entries to append before the `start` entry, and the start's
 * `recovery`, when there is anything to say.
 *
 * 1. The previous run's pending intent (`tail.pendingIntent`) is decided by the store: when it
 *    holds the change, the intent's result is journaled as a `trade` (`fromIntent`); when it
 *    still holds what came before, the change never happened.
 * 2. The journal's last trade (the one just confirmed, if any) is compared with the stored
 *    signal: a stored state the journal does not show is journaled from the store
 *    (`recovered`); a signal the journal left held that the store no longer holds ended
 *    unrecorded (`endedSignal`).
 */
export function reconcile(
  tail: JournalTail,
  restored: SignalState | null,
  context: { readonly key: string; readonly identity: StreamIdentity },
): { recovered: JournalTrade[]; recovery: JournalRecovery | undefined } {
  const { lastRun, pendingIntent } = tail;
  let lastTrade = tail.lastTrade;
  const unfinishedRun = lastRun?.event === "start";
  const recovery: JournalRecovery = { unfinishedRun };
  const recovered: JournalTrade[] = [];
  if (pendingIntent !== undefined) {
    const { result, at } = pendingIntent;
    const landed = intentLanded(pendingIntent, restored);
    recovery.intent = { signalId: result.signal.id, action: result.action, at, outcome: landed ? "confirmed" : "voided" };
    if (landed) {
      lastTrade = { kind: "trade", key: context.key, at, result, fromIntent: true };
      recovered.push(lastTrade);
    }
  }
  const action = lastTrade?.result.action;
  const held = lastTrade !== undefined && (action === "scheduled" || action === "opened") ? { id: lastTrade.result.signal.id, status: action, since: lastTrade.at } : undefined;
  if (held !== undefined && (restored === null || restored.signal.id !== held.id)) {
    recovery.endedSignal = { signalId: held.id, status: held.status, since: held.since };
  }
  if (restored !== null && !(held !== undefined && held.id === restored.signal.id && held.status === restored.status)) {
    recovered.push(recoveredTrade(restored, context.key));
    recovery.recoveredSignalId = restored.signal.id;
  }
  const anything = unfinishedRun || recovery.intent !== undefined || recovery.endedSignal !== undefined || recovery.recoveredSignalId !== undefined;
  return { recovered, recovery: anything ? recovery : undefined };
}

/**
 * Whether the store write an intent announced landed, judged by what the store holds now. The
 * key has one writer, and the intent was its last word: the store holds either the state
 * before the change or the change itself.
 */
export function intentLanded(intent: JournalIntent, restored: SignalState | null): boolean {
  const { action, signal } = intent.result;
  const holds = restored !== null && restored.signal.id === signal.id;
  switch (action) {
    case "scheduled":
      return holds; // scheduled, or opened since (the open is journaled from the store)
    case "opened":
      return holds && restored.status === "opened";
    default:
      return !holds; // closed or cancelled: the store no longer holds the signal
  }
}

function recoveredTrade(state: SignalState, key: string): JournalTrade {
  const { signal } = state;
  const at = state.status === "opened" ? signal.pendingAt : signal.scheduledAt;
  const result = {
    action: state.status,
    symbol: signal.symbol,
    strategyName: signal.strategyName,
    exchangeName: signal.exchangeName,
    currentPrice: signal.priceOpen,
    timestamp: at,
    backtest: false,
    signal: { ...signal },
  } as JournalTradeResult;
  return { kind: "trade", key, at, result, recovered: true };
}
