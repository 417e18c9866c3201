import { ArgumentError } from "./errors";
import type { JournalAnswer, JournalCandles, JournalTick } from "./journal";
import type { CancelReason, CandleInterval, CloseReason, Position, TickAction } from "./model";

// The pure half of `replayJournal$`: what a journal's ticks decided (replayDecisions.ts), a
// journal's runs (replayPlan.ts), and how a recorded tick and its replay compare (here). No
// time, no I/O: the replay itself is in replay.ts and replayRun.ts.

export { TickDecisions, decideTicks } from "./replayDecisions";
export { planReplay, type ReplayRunPlan, type ReplayPlanProblem } from "./replayPlan";

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
 * @param names the recorded and the replayed strategy's names: an error message that differs only by them is the same answer
 */
export function compareTick(
  run: number,
  recorded: DecidedTick | null,
  replayed: DecidedTick | null,
  unrecorded: readonly ReplayRequest[] = [],
  names?: StrategyNames,
): ReplayTick {
  const at = (recorded ?? replayed)?.entry.at;
  if (at === undefined) {
    throw new ArgumentError("compareTick needs a recorded or a replayed tick (a DecidedTick of decideTicks); both were null", { argument: "recorded", value: recorded });
  }
  const differences: string[] = [];
  if (recorded === null) differences.push("the recording has no tick at this time; the replay ticked");
  else if (replayed === null) differences.push("the replay made no tick at this time (still busy with an earlier tick, or ended)");
  else differences.push(...decisionDifferences(recorded.decision, replayed.decision));
  // The same decision from another answer (a throw where the recording had no signal, another
  // error, another note) is a divergence of its own: the strategy did not behave as recorded.
  const answerDiffers = recorded !== null && replayed !== null && differences.length === 0 && !sameAnswer(recorded.entry.answer, replayed.entry.answer, names);
  for (const request of unrecorded) {
    differences.push(
      request.pricing
        ? `the replay priced with candles the recording never saw (${describeRequest(request)}): is CC_AVG_PRICE_CANDLES_COUNT the recording's?`
        : `the replayed strategy asked for candles the recording never saw (${describeRequest(request)})`,
    );
  }
  if (answerDiffers) differences.push(`answer: recorded ${describeAnswer(recorded.entry.answer)}; replayed ${describeAnswer(replayed.entry.answer)}`);
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

/** The recorded and the replayed strategy's names, which the engine's error messages name. */
export interface StrategyNames {
  recorded: string;
  replayed: string;
}

/**
 * Whether two answers of the strategy are the same: both not asked, both no signal, the same
 * signal (its random id aside), or the same error — its name and message, the strategy's name
 * in it aside (`getSignal of momentum failed …` and `getSignal of momentum-tp06 failed …`).
 */
export function sameAnswer(a: JournalAnswer | undefined, b: JournalAnswer | undefined, names?: StrategyNames): boolean {
  if (a === undefined || b === undefined) return a === b;
  if ("error" in a || "error" in b) {
    if (!("error" in a && "error" in b) || a.error.name !== b.error.name) return false;
    return names === undefined ? a.error.message === b.error.message : unnamed(a.error.message, names.recorded) === unnamed(b.error.message, names.replayed);
  }
  if (a.signal === null || b.signal === null) return a.signal === b.signal;
  const { id: _a, ...left } = a.signal;
  const { id: _b, ...right } = b.signal;
  return canonical(left) === canonical(right);
}

// The strategy's name where it stands as a name (not inside a word), taken out.
function unnamed(message: string, name: string): string {
  if (name === "") return message;
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return message.replace(new RegExp(`(?<![\\w-])${escaped}(?![\\w-])`, "g"), "\u0000");
}

// Field order aside: a recorded answer went through JSON, the replayed one did not.
function canonical(value: object): string {
  return JSON.stringify(Object.entries(value).filter(([, field]) => field !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
}

/** An answer in a difference line: `not asked`, `no signal`, `StrategyError: …`, `long TP 102 SL 98 60 min`. */
export function describeAnswer(answer: JournalAnswer | undefined): string {
  if (answer === undefined) return "not asked";
  if ("error" in answer) return `${answer.error.name}: ${answer.error.message.replace(/^rxtrade: /, "")}`;
  const signal = answer.signal;
  if (signal === null) return "no signal";
  const entry = signal.priceOpen === undefined ? "" : ` limit @ ${signal.priceOpen}`;
  const note = signal.note === undefined || signal.note === "" ? "" : ` (${JSON.stringify(signal.note)})`;
  return `${signal.position}${entry} TP ${signal.priceTakeProfit} SL ${signal.priceStopLoss} ${signal.minuteEstimatedTime} min${note}`;
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
    private readonly names?: StrategyNames,
  ) {}

  replayed(tick: DecidedTick): void {
    const at = tick.entry.at;
    for (let head = this.recorded[this.next]; head !== undefined && head.entry.at < at; head = this.recorded[this.next]) {
      this.next++;
      this.emit(compareTick(this.run, head, null, this.unrecorded(head.entry.at), this.names));
    }
    const head = this.recorded[this.next];
    if (head !== undefined && head.entry.at === at) {
      this.next++;
      this.emit(compareTick(this.run, head, tick, this.unrecorded(at), this.names));
    } else {
      this.emit(compareTick(this.run, null, tick, this.unrecorded(at), this.names));
    }
  }

  /** The replay of the run is over: the recorded ticks it did not reach are compared with nothing. */
  end(): void {
    for (let head = this.recorded[this.next]; head !== undefined; head = this.recorded[this.next]) {
      this.next++;
      this.emit(compareTick(this.run, head, null, this.unrecorded(head.entry.at), this.names));
    }
  }
}
