import type { ServiceEvent } from "./serviceTypes";

/**
 * How much a notice matters when a webhook's queue is full: the lowest rank is shed first.
 * Rank 3 (`stalled`, `recovered`) is never shed.
 */
export const NOTICE_RANK: Readonly<Record<ServiceEvent["kind"], 0 | 1 | 2 | 3>> = {
  scheduled: 0,
  opened: 0,
  cancelled: 0,
  closed: 1,
  draining: 1,
  done: 1,
  stopping: 1,
  error: 2,
  failed: 2,
  stalled: 3,
  recovered: 3,
};

/** An event waiting for one webhook, and what was folded into it while it waited. */
export interface Notice {
  readonly seq: number;
  readonly event: ServiceEvent;
  readonly rank: 0 | 1 | 2 | 3;
  /** Events of the same kind folded into this one while it waited (an error of the same pair and class; a pair's stall after it recovered). */
  repeated: number;
  /** The `at` of the last event folded in. */
  lastAt: number | undefined;
  state: "waiting" | "taken" | "removed";
}

/** A FIFO of notices; removed ones stay as tombstones until they reach the head. */
class Lane {
  private items: Array<Notice | undefined> = [];
  private head = 0;

  push(notice: Notice): void {
    this.items.push(notice);
  }

  /** The oldest waiting notice, tombstones before it dropped. */
  peek(): Notice | undefined {
    const items = this.items;
    while (this.head < items.length && (items[this.head] as Notice).state !== "waiting") items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > items.length) {
      this.items = items.slice(this.head);
      this.head = 0;
    }
    return this.items[this.head];
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * One webhook's waiting notices: at most `maxQueue` that may be shed, plus the stall notices,
 * which never are. Every operation is O(1) (amortised): the events$ subscriber only calls `push`.
 *
 * - A full queue sheds the oldest notice of the lowest rank below or at the incoming one's
 *   (opened first, then closed, then errors), or the incoming one when everything waiting
 *   matters more.
 * - An `error` of a pair and class already waiting is folded into the waiting one (`repeated`).
 * - A pair's `stalled` while its earlier `stalled` still waits folds that stall and the
 *   `recovered` between them into the waiting one (`repeated`): a pair never has more than
 *   three stall notices waiting (recovered, stalled, recovered), so the stall lane is bounded by
 *   the pairs, without shedding any.
 */
export class NoticeQueue {
  private readonly lanes = [new Lane(), new Lane(), new Lane()];
  private readonly stallLane = new Lane();
  private sheddable = 0;
  private stalls = 0;
  private seq = 0;
  private readonly errors = new Map<string, Notice>();
  private readonly pairStalls = new Map<string, { stalled: Notice; recovered: Notice | undefined }>();

  constructor(private readonly maxQueue: number) {}

  /** Notices waiting. */
  get size(): number {
    return this.sheddable + this.stalls;
  }

  /** Queues `event`; returns how many notices were shed to keep the bound (0 or 1; the event itself may be the one). */
  push(event: ServiceEvent): number {
    const rank = NOTICE_RANK[event.kind];
    const at = "at" in event ? event.at : undefined;
    if (event.kind === "error") {
      const key = `${event.pair ?? ""}\u0000${event.error.name}`;
      const waiting = this.errors.get(key);
      if (waiting?.state === "waiting") {
        waiting.repeated++;
        waiting.lastAt = at;
        return 0;
      }
      const notice = this.make(event, rank);
      this.errors.set(key, notice);
      return this.pushSheddable(notice);
    }
    if (rank === 3) return this.pushStall(event as Extract<ServiceEvent, { kind: "stalled" | "recovered" }>);
    return this.pushSheddable(this.make(event, rank));
  }

  /** The notice `shift` would take, left in the queue. */
  peek(): Notice | undefined {
    let next = this.stallLane.peek();
    if (next !== undefined) return next;
    for (const lane of this.lanes) {
      const head = lane.peek();
      if (head !== undefined && (next === undefined || head.seq < next.seq)) next = head;
    }
    return next;
  }

  /** The next notice to send, taken out: stall notices first, then the others oldest first. */
  shift(): Notice | undefined {
    let next = this.stallLane.peek();
    if (next !== undefined) this.stalls--;
    else {
      for (const lane of this.lanes) {
        const head = lane.peek();
        if (head !== undefined && (next === undefined || head.seq < next.seq)) next = head;
      }
      if (next === undefined) return undefined;
      this.sheddable--;
    }
    next.state = "taken";
    return next;
  }

  /** Takes out everything waiting; returns how many notices that was. */
  clear(): number {
    const count = this.size;
    for (const lane of [...this.lanes, this.stallLane]) lane.clear();
    this.sheddable = 0;
    this.stalls = 0;
    this.errors.clear();
    this.pairStalls.clear();
    return count;
  }

  private make(event: ServiceEvent, rank: Notice["rank"]): Notice {
    return { seq: this.seq++, event, rank, repeated: 0, lastAt: undefined, state: "waiting" };
  }

  private pushSheddable(notice: Notice): number {
    let shed = 0;
    if (this.sheddable >= this.maxQueue) {
      const lane = this.lanes.findIndex((candidate) => candidate.peek() !== undefined);
      if (lane === -1 || lane > notice.rank) {
        notice.state = "removed";
        return 1;
      }
      (this.lanes[lane]?.peek() as Notice).state = "removed";
      this.sheddable--;
      shed = 1;
    }
    this.lanes[notice.rank]?.push(notice);
    this.sheddable++;
    return shed;
  }

  private pushStall(event: Extract<ServiceEvent, { kind: "stalled" | "recovered" }>): number {
    const waiting = this.pairStalls.get(event.pair);
    if (event.kind === "stalled") {
      if (waiting?.stalled.state === "waiting") {
        // Stalled again before its earlier stall went out: one notice tells both (and the recovery between).
        waiting.stalled.repeated++;
        waiting.stalled.lastAt = event.at;
        if (waiting.recovered?.state === "waiting") {
          waiting.recovered.state = "removed";
          this.stalls--;
        }
        waiting.recovered = undefined;
        return 0;
      }
      const notice = this.make(event, 3);
      this.pairStalls.set(event.pair, { stalled: notice, recovered: undefined });
      this.stallLane.push(notice);
      this.stalls++;
      return 0;
    }
    const notice = this.make(event, 3);
    if (waiting?.stalled.state === "waiting") waiting.recovered = notice;
    this.stallLane.push(notice);
    this.stalls++;
    return 0;
  }
}
