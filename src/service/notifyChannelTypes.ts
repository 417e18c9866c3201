// A webhook's channel as its notifier sees it: the options it was resolved to, what it shares
// with the notifier (clock, fetch, logger), and the counts it reports.
import type { Logger } from "pino";
import type { SchedulerLike } from "rxjs";
import type { Notice } from "./notifyQueue";
import type { ServiceEvent } from "./serviceTypes";

/** One webhook, its options resolved (see `WebhookOptions`). */
export interface ChannelConfig {
  url: URL;
  /** Its name in logs and metrics: `name`, or the URL with credentials and query redacted. */
  label: string;
  headers: Record<string, string>;
  kinds: ReadonlySet<ServiceEvent["kind"]>;
  timeoutMs: number;
  perMinute: number;
  maxQueue: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** The JSON body of a notice. */
  body: (notice: Notice, dropped: number) => unknown;
}

/** What a webhook's channel shares with its notifier. */
export interface ChannelContext {
  scheduler: SchedulerLike;
  fetch: typeof globalThis.fetch;
  random: () => number;
  log(): Logger | undefined;
}

/** A webhook's counts, as `WebhookNotifier.stats()` gives them. */
export interface WebhookStats {
  /** Its name, or its URL with credentials and query redacted (the metrics' `url` label). */
  webhook: string;
  /** Notices waiting, the one being sent or retried included. */
  queued: number;
  /** Notices it accepted (2xx). */
  sent: number;
  /** POSTs that failed (each attempt). */
  failed: number;
  /** Notices it refused (a 3xx or a 4xx other than 429): not retried. */
  refused: number;
  /** Notices it never got: shed from a full queue, or still waiting at shutdown. */
  dropped: number;
  /** In a failure streak: the last POST failed and is being retried. */
  failing: boolean;
  /** When the next attempt is due (the notifier's clock, ms), while one waits for its backoff, a Retry-After or the rate cap. */
  nextAttemptAt?: number;
}
