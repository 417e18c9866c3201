import { ArgumentError } from "./errors";
import type { JournalAnswer, JournalCandles, JournalEntry, JournalRun, JournalTick, JournalTrade } from "./journal";
import type { CancelReason, CandleInterval, CloseReason, Position, SignalDto, SignalRow, TickAction } from "./model";

// The pure half of `replayJournal$`: what a journal's ticks decided, and how a recorded tick
// and its replay compare. No time, no I/O: the replay itself is in replay.ts.

/** The essentials of the signal a decision is about: what the strategy and the rules decided, without its (random) id or its times. */
export interface ReplaySignal {
  position: Position;
  /** The entry: the limit price of a scheduled entry, the price it opened at otherwise. */
  priceOpen: number;
  priceTakeProfit: number;
  priceStopLoss: number;
  /** Lifetime, minutes. */
  minuteEstimatedTime: number;
}

/** What one tick decided: its action and the signal it is about. */
export interface ReplayDecision {
  /** The tick's action; `error` for a tick whose pricing failed. */
  action: TickAction | "error";
  /**
   * A change of position, the kind a `trade` entry records: `opened`, `closed`, `cancelled`, and a
   * `scheduled` that placed its entry on this tick (not one still waiting).
   */
  trade: boolean;
  /** The signal (absent for `idle` and `error`, and when the journal has lost it). */
  signal?: ReplaySignal;
  /** `closed`: why, and at what price. */
  closeReason?: CloseReason;
  closePrice?: number;
  /** `cancelled`: why. */
  cancelReason?: CancelReason;
}

/** A candle request, as a replay asked for it. */
export interface ReplayRequest {
  interval: CandleInterval;
  /** The open time of the first candle asked for (ms). */
  since: number;
  limit: number;
  /** The tick's first request of one-minute candles: the engine's pricing request, not the strategy's. */
  pricing: boolean;
}

/** What a tick decided from: its price, candles and the strategy's answer, on both sides. */
export interface ReplayInputs {
  /** The price each side priced with; `null` when its pricing failed, or it had no tick then. */
  price: { recorded: number | null; replayed: number | null };
  /** The tick's recorded candle requests (the pricing one first): what the replay was served. */
  candles: readonly JournalCandles[];
  /** Requests the replay made at this tick that the recording does not have (each failed, as an exchange error). */
  unrecorded: readonly ReplayRequest[];
  /** The strategy's answer on each side; absent when it was not asked. A signal's `id` is random: it is not compared. */
  answer: { recorded?: JournalAnswer; replayed?: JournalAnswer };
}

/** One tick of a replay: the recorded decision next to the replayed one. */
export interface ReplayTick {
  /** The tick's time (ms). */
  at: number;
  /** The run of the journal it belongs to, from 1 (each start of the stream is a run). */
  run: number;
  /** `null`: the recording has no tick at this time. */
  recorded: ReplayDecision | null;
  /** `null`: the replay made no tick at this time (it was still busy with an earlier one, or had ended). */
  replayed: ReplayDecision | null;
  /** Both sides decided the same, and the replay asked only for candles the recording has. */
  same: boolean;
  /** What differs, one line each (empty when `same`). */
  differences: string[];
  inputs: ReplayInputs;
}

/** A tick of a journal with what it decided. */
export interface DecidedTick {
  entry: JournalTick;
  decision: ReplayDecision;
}

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

const SIGNAL_FIELDS: ReadonlyArray<[keyof ReplaySignal, string]> = [
  ["position", "position"],
  ["priceOpen", "entry price"],
  ["priceTakeProfit", "take profit"],
  ["priceStopLoss", "stop loss"],
  ["minuteEstimatedTime", "lifetime (min)"],
];

/** What differs between two decisions, one line each; empty when they are the same. */
export function decisionDifferences(recorded: ReplayDecision, replayed: ReplayDecision): string[] {
  if (recorded.action !== replayed.action) return [`action: recorded ${recorded.action}, replayed ${replayed.action}`];
  const differences: string[] = [];
  if (recorded.trade !== replayed.trade) {
    differences.push(`${recorded.trade ? "recorded placed the entry on this tick, the replay earlier" : "the replay placed the entry on this tick, the recording earlier"}`);
  }
  const a = recorded.signal;
  const b = replayed.signal;
  if ((a === undefined) !== (b === undefined)) {
    differences.push(`signal: recorded ${a === undefined ? "unknown (not in the journal)" : "known"}, replayed ${b === undefined ? "unknown" : "known"}`);
  } else if (a !== undefined && b !== undefined) {
    for (const [field, label] of SIGNAL_FIELDS) {
      if (!Object.is(a[field], b[field])) differences.push(`${label}: recorded ${String(a[field])}, replayed ${String(b[field])}`);
    }
  }
  if (recorded.closeReason !== replayed.closeReason) differences.push(`close reason: recorded ${recorded.closeReason ?? "unknown"}, replayed ${replayed.closeReason ?? "unknown"}`);
  if (!Object.is(recorded.closePrice, replayed.closePrice)) differences.push(`close price: recorded ${recorded.closePrice ?? "unknown"}, replayed ${replayed.closePrice ?? "unknown"}`);
  if (recorded.cancelReason !== replayed.cancelReason) differences.push(`cancel reason: recorded ${recorded.cancelReason ?? "unknown"}, replayed ${replayed.cancelReason ?? "unknown"}`);
  return differences;
}

/**
 * Compares a recorded tick with the replay's tick at the same time (either may be missing).
 *
 * @param run the run's number, from 1
 * @param recorded the recording's tick at this time, or `null`
 * @param replayed the replay's tick at this time, or `null`
 * @param unrecorded the requests the replay made at this tick that the recording does not have
 */
export function compareTick(run: number, recorded: DecidedTick | null, replayed: DecidedTick | null, unrecorded: readonly ReplayRequest[] = []): ReplayTick {
  const at = (recorded ?? replayed)?.entry.at;
  if (at === undefined) {
    throw new ArgumentError("compareTick needs a recorded or a replayed tick (a DecidedTick of decideTicks); both were null", { argument: "recorded", value: recorded });
  }
  const differences: string[] = [];
  if (recorded === null) differences.push("the recording has no tick at this time; the replay ticked");
  else if (replayed === null) differences.push("the replay made no tick at this time (still busy with an earlier tick, or ended)");
  else differences.push(...decisionDifferences(recorded.decision, replayed.decision));
  for (const request of unrecorded) {
    differences.push(
      request.pricing
        ? `the replay priced with candles the recording never saw (${describeRequest(request)}): is CC_AVG_PRICE_CANDLES_COUNT the recording's?`
        : `the replayed strategy asked for candles the recording never saw (${describeRequest(request)})`,
    );
  }
  const answer: ReplayInputs["answer"] = {};
  if (recorded?.entry.answer !== undefined) answer.recorded = recorded.entry.answer;
  if (replayed?.entry.answer !== undefined) answer.replayed = replayed.entry.answer;
  return {
    at,
    run,
    recorded: recorded?.decision ?? null,
    replayed: replayed?.decision ?? null,
    same: differences.length === 0,
    differences,
    inputs: {
      price: { recorded: recorded?.entry.price ?? null, replayed: replayed?.entry.price ?? null },
      candles: recorded?.entry.candles ?? [],
      unrecorded,
      answer,
    },
  };
}

/** `1m ×5 since 2023-03-01T02:35:00.000Z` */
export function describeRequest(request: Pick<ReplayRequest, "interval" | "since" | "limit">): string {
  return `${request.interval} ×${request.limit} since ${new Date(request.since).toISOString()}`;
}

/** Whether two answers of the strategy are the same, the signals' random ids aside. */
export function sameAnswer(a: JournalAnswer | undefined, b: JournalAnswer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ("error" in a || "error" in b) return "error" in a && "error" in b && a.error.name === b.error.name && a.error.message === b.error.message;
  if (a.signal === null || b.signal === null) return a.signal === b.signal;
  const { id: _a, ...left } = a.signal;
  const { id: _b, ...right } = b.signal;
  return JSON.stringify(left) === JSON.stringify(right);
}

/**
 * Pairs a run's recorded ticks with its replayed ones by time, as the replayed ones come (in
 * time order): a recorded tick the replay passed without ticking is compared with nothing, and
 * so is a replayed tick at a time the recording has none.
 */
export class RunComparison {
  private next = 0;

  constructor(
    private readonly run: number,
    private readonly recorded: readonly DecidedTick[],
    private readonly unrecorded: (at: number) => readonly ReplayRequest[],
    private readonly emit: (tick: ReplayTick) => void,
  ) {}

  replayed(tick: DecidedTick): void {
    const at = tick.entry.at;
    for (let head = this.recorded[this.next]; head !== undefined && head.entry.at < at; head = this.recorded[this.next]) {
      this.next++;
      this.emit(compareTick(this.run, head, null, this.unrecorded(head.entry.at)));
    }
    const head = this.recorded[this.next];
    if (head !== undefined && head.entry.at === at) {
      this.next++;
      this.emit(compareTick(this.run, head, tick, this.unrecorded(at)));
    } else {
      this.emit(compareTick(this.run, null, tick, this.unrecorded(at)));
    }
  }

  /** The replay of the run is over: the recorded ticks it did not reach are compared with nothing. */
  end(): void {
    for (let head = this.recorded[this.next]; head !== undefined; head = this.recorded[this.next]) {
      this.next++;
      this.emit(compareTick(this.run, head, null, this.unrecorded(head.entry.at)));
    }
  }
}

/** One run of a journal (a start of the stream, to its stop or its kill), as a replay sees it. */
export interface ReplayRunPlan {
  /** From 1, in the journal's order. */
  run: number;
  start: JournalRun;
  /** The run's `stop` entry; `undefined` when it was killed or crashed. */
  stop: JournalRun | undefined;
  /** The entries after the start, up to the next run's start. */
  entries: readonly JournalEntry[];
  /** Its `tick` entries, oldest first. */
  ticks: readonly JournalTick[];
  /** The signal the run resumed, as the journal last showed it before the start; `null`: none. */
  resumed: { status: "scheduled" | "opened"; signal: SignalRow } | null;
  /** Why this run is not replayed (it was not recorded at level `full`, or its resumed signal is not in the journal). */
  skipped?: string;
}

/** Why `planReplay` cannot replay a journal. */
export type ReplayPlanProblem =
  | { reason: "empty"; message: string }
  | { reason: "keys"; message: string; keys: string[] }
  | { reason: "not-full"; message: string; key: string; levels: string[] };

/**
 * Splits a key's journal into its runs (at each `start` entry) and finds what each one resumed.
 * Returns the problem instead when there is nothing to replay: no entries, entries of several
 * keys, or no run recorded at level `full`.
 */
export function planReplay(entries: readonly JournalEntry[]): { key: string; runs: ReplayRunPlan[] } | ReplayPlanProblem {
  const first = entries[0];
  if (first === undefined) return { reason: "empty", message: "the journal has no entries" };
  const keys = [...new Set(entries.map((entry) => entry.key))];
  if (keys.length > 1) return { reason: "keys", keys, message: `the entries are of ${keys.length} keys (${keys.join(", ")}); replay one key at a time` };
  const key = first.key;
  const runs: ReplayRunPlan[] = [];
  // The last trade entry of each signal so far: what a start resumes.
  const lastTrade = new Map<string, JournalTrade>();
  let current: { start: JournalRun; stop: JournalRun | undefined; entries: JournalEntry[]; ticks: JournalTick[]; resumed: ReplayRunPlan["resumed"]; skipped?: string } | undefined;
  const close = () => {
    if (current !== undefined) runs.push({ run: runs.length + 1, ...current });
    current = undefined;
  };
  for (const entry of entries) {
    if (entry.kind === "run" && entry.event === "start") {
      close();
      let resumed: ReplayRunPlan["resumed"] = null;
      let skipped: string | undefined = entry.level === "full" ? undefined : `recorded at level ${entry.level}, not full`;
      const id = entry.resumedSignalId;
      if (id !== undefined) {
        const trade = lastTrade.get(id);
        const action = trade?.result.action;
        if (trade !== undefined && (action === "scheduled" || action === "opened")) resumed = { status: action, signal: trade.result.signal };
        else skipped ??= `it resumed signal ${id}, which the journal ${trade === undefined ? "does not have" : `last shows ${action}`}: its state at the start is unknown`;
      }
      current = { start: entry, stop: undefined, entries: [], ticks: [], resumed, ...(skipped === undefined ? {} : { skipped }) };
      continue;
    }
    if (entry.kind === "trade") lastTrade.set(entry.result.signal.id, entry);
    if (current === undefined) continue; // before the first start: only what a start resumes matters
    current.entries.push(entry);
    if (entry.kind === "tick") current.ticks.push(entry);
    else if (entry.kind === "run") current.stop ??= entry;
  }
  close();
  if (!runs.some((run) => run.start.level === "full")) {
    const levels = [...new Set(runs.map((run) => run.start.level))];
    return {
      reason: "not-full",
      key,
      levels,
      message:
        runs.length === 0
          ? `the journal of ${key} has no run start entry (${entries.length} entries), so no tick to replay`
          : `the journal of ${key} was recorded at level ${levels.join(" and ")} (${runs.length} run${runs.length === 1 ? "" : "s"}): it has the trades but not the ticks (candles, prices, the strategy's answers) a replay needs`,
    };
  }
  return { key, runs };
}
