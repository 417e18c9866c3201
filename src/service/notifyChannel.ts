// A webhook's channel: its queue, the rate cap (a token bucket), the retries with backoff, the
// log lines of a failure streak or a full queue, and the flush at shutdown.
import type { Logger } from "pino";
import type { Subscription } from "rxjs";
import type { ChannelConfig, ChannelContext, WebhookStats } from "./notifyChannelTypes";
import type { WebhookSeries } from "./notifyMetrics";
import { type Outcome, postNotice } from "./notifyPost";
import { NOTICE_RANK, type Notice, NoticeQueue } from "./notifyQueue";
import type { ServiceEvent } from "./serviceTypes";

export type { ChannelConfig, ChannelContext, WebhookStats } from "./notifyChannelTypes";

const MINUTE = 60_000;
/** The rank of the notices that go first and never wait for the rate cap (`stalled`, `recovered`). */
const URGENT = 3;

/** The rate cap's burst: a quarter of a minute's POSTs (5 of 20), at least 1. */
export function burstOf(perMinute: number): number {
  return Math.max(1, Math.ceil(perMinute / 4));
}

/**
 * One webhook: its queue, and a pump that sends one notice at a time — at most `perMinute`
 * POSTs a minute on average (a token bucket: a burst of `burstOf(perMinute)`, then one every
 * 60 / perMinute s), each within `timeoutMs`, retried with exponential backoff and jitter
 * (or the webhook's Retry-After) on network errors, time-outs, 5xx and 429, given up on other
 * answers. `stalled` and `recovered` notices go first and never wait for the cap (they take a
 * token when there is one, else they run the bucket into debt, at most one burst deep, which
 * the next ordinary notices wait out). `enqueue` is all the events$ subscriber does: O(1), no
 * I/O, the POST starts in a microtask.
 */
export class WebhookChannel {
  private readonly queue: NoticeQueue;
  private current: Notice | undefined;
  private inFlight: AbortController | undefined;
  private timer: Subscription | undefined;
  private nextAttemptAt: number | undefined;
  /** What the timer waits for: the rate cap (a stall notice arriving cuts it short) or a retry's backoff. */
  private waitingFor: "rate" | "retry" | undefined;
  private kicked = false;
  /** The token bucket of the rate cap: tokens now (below 0 after stall notices went past the cap), at `tokensAt`. */
  private tokens: number;
  private tokensAt: number;
  private readonly burst: number;
  /** Retryable failures in a row, and when the streak began. */
  private failures = 0;
  private streakStartedAt = 0;
  /** The refusal status logged last (one line until the webhook answers otherwise). */
  private refusedStatus: number | undefined;
  /** The queue's shedding has been logged since the last delivery. */
  private sheddingLogged = false;
  /** Shed since the last delivered notice: told in the next one's `dropped`. */
  private droppedUntold = 0;
  private counts = { sent: 0, failed: 0, refused: 0, dropped: 0 };
  private closing: { deadline: number; timer: Subscription; done: () => void } | undefined;
  private closed: Promise<void> | undefined;
  private stopped = false;
  series: WebhookSeries | undefined;

  constructor(
    readonly config: ChannelConfig,
    private readonly context: ChannelContext,
  ) {
    this.queue = new NoticeQueue(config.maxQueue);
    this.burst = burstOf(config.perMinute);
    this.tokens = this.burst;
    this.tokensAt = context.scheduler.now();
  }

  get queued(): number {
    return this.queue.size + (this.current === undefined ? 0 : 1);
  }

  /** Queues an event for this webhook (when it takes that kind). */
  enqueue(event: ServiceEvent): void {
    if (this.stopped || !this.config.kinds.has(event.kind)) return;
    const shed = this.queue.push(event);
    if (shed > 0) this.shed(shed);
    // A stall notice does not wait for the rate cap: a wait for it (of an ordinary notice) ends now.
    if (NOTICE_RANK[event.kind] === URGENT && this.waitingFor === "rate") this.cancelWait();
    this.kick();
  }

  stats(): WebhookStats {
    return {
      webhook: this.config.label,
      queued: this.queued,
      ...this.counts,
      failing: this.failures > 0,
      ...(this.timer === undefined || this.nextAttemptAt === undefined ? {} : { nextAttemptAt: this.nextAttemptAt }),
    };
  }

  /**
   * Sends what waits within `flushMs` on the notifier's clock, then stops: stall notices first
   * (past the rate cap, as always), then the others within the cap; a notice whose retry or
   * cap wait would end after the flush is given up for the next one. What is left at the end
   * is counted as dropped and said in one log line.
   */
  close(flushMs: number): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      const { scheduler } = this.context;
      const deadline = scheduler.now() + flushMs;
      const timer = scheduler.schedule(() => this.finish(), flushMs);
      this.closing = { deadline, timer, done: resolve };
      // A wait that began before the shutdown (a backoff, the cap) is looked at again now: its
      // notice is tried at once if it is due within the flush, else the next one is.
      if (this.timer !== undefined) this.cancelWait();
      if (this.inFlight === undefined) this.pump();
    });
    return this.closed;
  }

  private cancelWait(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.nextAttemptAt = undefined;
    this.waitingFor = undefined;
  }

  private kick(): void {
    if (this.kicked || this.inFlight !== undefined || this.timer !== undefined) return;
    this.kicked = true;
    queueMicrotask(() => {
      this.kicked = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.stopped || this.inFlight !== undefined || this.timer !== undefined) return;
    // A notice being retried goes on; otherwise the queue's next (stall notices first) is
    // looked at, and taken out only once it goes: one arriving meanwhile may pass it.
    const retrying = this.current;
    const notice = retrying ?? this.queue.peek();
    if (notice === undefined) {
      if (this.closing !== undefined) this.finish();
      return;
    }
    const now = this.context.scheduler.now();
    const { perMinute } = this.config;
    const rate = perMinute / MINUTE;
    this.tokens = Math.min(this.burst, this.tokens + (now - this.tokensAt) * rate);
    this.tokensAt = now;
    const urgent = notice.rank === URGENT;
    if (!urgent && this.tokens < 1) {
      const wait = Math.ceil((1 - this.tokens) / rate);
      if (this.closing !== undefined && now + wait > this.closing.deadline) {
        this.finish();
        return;
      }
      this.wait(wait, "rate");
      return;
    }
    this.tokens = Math.max(-this.burst, this.tokens - 1);
    if (retrying === undefined) this.queue.shift();
    this.current = notice;
    void this.post(notice);
  }

  private wait(ms: number, why: "rate" | "retry"): void {
    const now = this.context.scheduler.now();
    this.nextAttemptAt = now + ms;
    this.waitingFor = why;
    this.timer = this.context.scheduler.schedule(() => {
      this.timer = undefined;
      this.nextAttemptAt = undefined;
      this.waitingFor = undefined;
      this.pump();
    }, ms);
  }

  private async post(notice: Notice): Promise<void> {
    const told = this.droppedUntold;
    const outcome = await this.attempt(notice, told);
    if (this.stopped || outcome.type === "aborted") return;
    const log = this.context.log();
    const { label } = this.config;
    switch (outcome.type) {
      case "sent": {
        this.counts.sent++;
        this.series?.sent();
        this.droppedUntold -= told;
        this.sheddingLogged = false;
        this.answered(log);
        this.current = undefined;
        break;
      }
      case "refused": {
        this.counts.failed++;
        this.counts.refused++;
        this.series?.failed();
        this.answered(log);
        if (this.refusedStatus !== outcome.status) {
          this.refusedStatus = outcome.status;
          const why = outcome.status === 0 ? outcome.answer : `webhook refused a notice with HTTP ${outcome.status}`;
          log?.warn(
            { webhook: label, ...(outcome.status === 0 ? {} : { status: outcome.status, answer: outcome.answer }), kind: notice.event.kind },
            `${why}: not retried (only network errors, time-outs, 5xx and 429 are); check the webhook's URL and what it accepts (one line until it answers otherwise)`,
          );
        }
        this.current = undefined;
        break;
      }
      case "retry": {
        this.counts.failed++;
        this.series?.failed();
        this.failures++;
        const now = this.context.scheduler.now();
        const delay = outcome.retryAfterMs ?? this.backoff();
        if (this.failures === 1) {
          this.streakStartedAt = now;
          log?.warn(
            {
              webhook: label,
              ...(outcome.status === undefined ? {} : { status: outcome.status }),
              error: outcome.reason,
              retryInSeconds: delay / 1000,
              ...(outcome.retryAfterMs === undefined ? {} : { retryAfter: true }),
            },
            `webhook failing: ${outcome.reason}; retrying with backoff (one line per failure streak; another when it answers again)`,
          );
        }
        if (this.closing !== undefined && this.context.scheduler.now() + delay > this.closing.deadline) {
          // Shutting down: its retry would come after the flush; the next notices are tried instead.
          this.counts.dropped++;
          this.series?.dropped(1);
          this.current = undefined;
          break;
        }
        this.wait(delay, "retry");
        return;
      }
    }
    this.pump();
  }

  /** One POST of `notice`, within the time limit; what came of it. */
  private async attempt(notice: Notice, dropped: number): Promise<Outcome> {
    let body: string;
    try {
      body = JSON.stringify(this.config.body(notice, dropped));
    } catch (error) {
      return { type: "refused", status: 0, answer: `the webhook's body option threw (${error instanceof Error ? error.message : String(error)})` };
    }
    const controller = new AbortController();
    this.inFlight = controller;
    try {
      return await postNotice(this.context.fetch, this.config, body, controller.signal);
    } finally {
      if (this.inFlight === controller) this.inFlight = undefined;
    }
  }

  /** The webhook answered (2xx, or a refusal): a failure streak ends with one line. */
  private answered(log: Logger | undefined): void {
    if (this.failures > 0) {
      const downSeconds = (this.context.scheduler.now() - this.streakStartedAt) / 1000;
      log?.info({ webhook: this.config.label, failedAttempts: this.failures, downSeconds, dropped: this.droppedUntold }, "webhook answering again");
    }
    this.failures = 0;
  }

  // Exponential, with "equal jitter": at least half the step, so that it still backs off.
  private backoff(): number {
    const { retryBaseMs, retryMaxMs } = this.config;
    const step = Math.min(retryMaxMs, retryBaseMs * 2 ** Math.min(this.failures - 1, 30));
    return Math.round(step / 2 + this.context.random() * (step / 2));
  }

  private shed(count: number): void {
    this.droppedUntold += count;
    this.counts.dropped += count;
    this.series?.dropped(count);
    if (!this.sheddingLogged) {
      this.sheddingLogged = true;
      this.context.log()?.warn(
        { webhook: this.config.label, maxQueue: this.config.maxQueue, failing: this.failures > 0 },
        "webhook queue full: shedding the least important notices (opened, then closed, then errors; never stalled or recovered), counted in the next notice's dropped (one line until one is delivered)",
      );
    }
  }

  private finish(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelWait();
    this.inFlight?.abort();
    const unsent = this.queue.clear() + (this.current === undefined ? 0 : 1);
    this.current = undefined;
    if (unsent > 0) {
      this.counts.dropped += unsent;
      this.series?.dropped(unsent);
      this.context.log()?.warn({ webhook: this.config.label, unsent }, `webhook: ${unsent === 1 ? "1 notice" : `${unsent} notices`} not sent before the shutdown's flush ended`);
    }
    this.closing?.timer.unsubscribe();
    this.closing?.done();
  }
}
