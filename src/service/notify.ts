import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { asyncScheduler, type Observable, type SchedulerLike, type Subscription } from "rxjs";
import { ArgumentError, ArgumentRangeError } from "../errors";
import { showValue } from "../showValue";
import { type ChannelConfig, type ChannelContext, WebhookChannel, type WebhookStats } from "./notifyChannel";
import { webhookSeries } from "./notifyMetrics";
import { NOTICE_RANK, type Notice } from "./notifyQueue";
import { parseWebhookUrl, redactUrl } from "./notifyUrl";
import { eventJson, type ServiceEventJson } from "./serviceEventJson";
import { serviceLogger } from "./serviceLogger";
import type { ServiceEvent } from "./serviceTypes";

export type { WebhookStats } from "./notifyChannel";

/** The kinds a webhook gets unless told otherwise (`done`: the pair drained). */
export const NOTICE_KINDS: readonly ServiceEvent["kind"][] = ["opened", "closed", "error", "failed", "stalled", "recovered", "done"];

const DEFAULTS = { timeoutMs: 5_000, perMinute: 20, maxQueue: 100, retryBaseMs: 1_000, retryMaxMs: 60_000, flushMs: 3_000 };

/**
 * What a webhook is posted: `eventJson(event)` (`kind`, `pair`, `symbol`, `strategy`, `at` on
 * the pair's clock, and the kind's fields: see `ServiceEventJson`), plus:
 * - `repeated`, `lastAt`: events folded into this one while it waited — more errors of the
 *   same pair and class, or (on `stalled`) more stalls of the pair, each after a recovery;
 * - `dropped`: notices this webhook lost since its last delivered one (shed from its full
 *   queue).
 */
export interface WebhookNotice extends ServiceEventJson {
  repeated?: number;
  lastAt?: string;
  dropped?: number;
}

/** One webhook of `webhookNotifier` (a string is `{ url }`). The notifier's options are the defaults of the others. */
export interface WebhookOptions {
  /** `http://` or `https://`; its credentials and query are redacted in logs and metrics. */
  url: string;
  /** Shown in logs and as the metrics' `url` label instead of the URL: for URLs with a secret in their path (Slack's, Discord's). */
  name?: string;
  /** Sent with every POST, e.g. `{ authorization: "Bearer …" }` (never logged). */
  headers?: Record<string, string>;
  /** The event kinds posted; default `NOTICE_KINDS`. */
  kinds?: readonly ServiceEvent["kind"][];
  /** Each POST's time limit (real time); default 5 000 ms. */
  timeoutMs?: number;
  /**
   * POSTs (retries included) a minute on average, a token bucket: a burst of a quarter of it
   * (5 of 20), then one every 60 / perMinute s; default 20. `stalled` and `recovered` notices
   * never wait for it (the tokens they take are owed by the next notices, one burst at most).
   */
  perMinute?: number;
  /** Notices that may wait (stall notices come on top: they are never shed); default 100. */
  maxQueue?: number;
  /** The JSON body from a notice, e.g. `(n) => ({ text: `${n.pair} ${n.kind}` })` for a chat webhook; default the notice. */
  body?: (notice: WebhookNotice) => unknown;
}

/** Options of `webhookNotifier`. */
export interface WebhookNotifierOptions extends Omit<WebhookOptions, "url" | "name" | "headers" | "body"> {
  webhooks: ReadonlyArray<string | WebhookOptions>;
  /** Backoff of the retries: `baseMs` x 2^(attempt - 1), at most `maxMs`, with jitter (half to all of it); default 1 000 and 60 000. */
  retry?: { baseMs?: number; maxMs?: number };
  /** How long `close()` (and the end of the events) gives the notices still waiting; default 3 000 ms. */
  flushMs?: number;
  /** Where the failure lines go; default the service's logger once attached to a service, else `serviceLogger()`; `false`: none. */
  logger?: Logger | false;
  /** Where `rxtrade_notify_*` go; default the service's metrics registry once attached to a service (none without metrics). */
  registry?: Registry;
  /** The clock of the backoff, Retry-After, the rate cap and the flush; default real time. Tests pass a `VirtualClock`. */
  scheduler?: SchedulerLike;
  /** Default the global `fetch`. */
  fetch?: typeof globalThis.fetch;
  /** The jitter's source, 0 to 1; default `Math.random`. */
  random?: () => number;
}

/** What a service gives a notifier it attaches (see `ServiceOptions.notify`). */
export interface NotifierContext {
  /** The service's logger (`false`: it logs nothing). */
  logger?: Logger | false;
  /** The service's metrics registry. */
  registry?: Registry;
}

/**
 * Posts a service's notable events — opened, closed, error, failed, stalled, recovered, done
 * (drained) — to webhooks as JSON (see `webhookNotifier`).
 */
export class WebhookNotifier {
  private readonly channels: WebhookChannel[];
  private logger: Logger | false | undefined;
  private registry: Registry | undefined;
  private subscription: Subscription | undefined;
  private closing: Promise<WebhookStats[]> | undefined;
  private readonly flushMs: number;
  private readonly scheduler: SchedulerLike;

  /** @internal use `webhookNotifier` */
  constructor(configs: ChannelConfig[], options: WebhookNotifierOptions) {
    this.logger = options.logger;
    this.flushMs = options.flushMs ?? DEFAULTS.flushMs;
    this.scheduler = options.scheduler ?? asyncScheduler;
    const context: ChannelContext = {
      scheduler: this.scheduler,
      fetch: options.fetch ?? ((input, init) => globalThis.fetch(input, init)),
      random: options.random ?? Math.random,
      log: () => {
        // Decided at the first line: a service attached by then has given its own.
        this.logger ??= serviceLogger();
        return this.logger === false ? undefined : this.logger;
      },
    };
    this.channels = configs.map((config) => new WebhookChannel(config, context));
    if (options.registry !== undefined) this.watch(options.registry);
  }

  /**
   * Posts every event of `events$` from now on (what `startService` does with its `notify`
   * option, before any pair starts); the end of `events$` is `close()`. The subscriber only
   * queues (O(1)): no POST is made, awaited or retried on the stream's turn.
   *
   * @param events$ e.g. `service.events$`
   * @param context the service's logger and metrics registry, used unless the options gave others
   */
  attach(events$: Observable<ServiceEvent>, context: NotifierContext = {}): this {
    if (this.subscription !== undefined || this.closing !== undefined) {
      throw new ArgumentError("this webhook notifier is attached already (or closed): make one per service", { argument: "events$", value: events$ });
    }
    if (this.logger === undefined && context.logger !== undefined) this.logger = context.logger;
    if (this.registry === undefined && context.registry !== undefined) this.watch(context.registry);
    this.subscription = events$.subscribe({ next: (event) => this.notify(event), complete: () => void this.close() });
    return this;
  }

  /** Queues one event for every webhook that takes its kind (what `attach` does with each). */
  notify(event: ServiceEvent): void {
    for (const channel of this.channels) channel.enqueue(event);
  }

  /** Each webhook's counts and queue, in the order given. */
  stats(): WebhookStats[] {
    return this.channels.map((channel) => channel.stats());
  }

  /**
   * Stops taking events and gives what waits `flushMs` (default 3 s) to go out, every webhook
   * at once (stall notices first, past the cap; the others within it; a notice whose retry or
   * cap wait would end after the flush is given up); resolves with the final counts (what could not go is in `dropped`, and said in
   * one log line per webhook). Called again, the same Promise.
   */
  close(): Promise<WebhookStats[]> {
    this.closing ??= (async () => {
      this.subscription?.unsubscribe();
      await Promise.all(this.channels.map((channel) => channel.close(this.flushMs)));
      return this.stats();
    })();
    return this.closing;
  }

  private watch(registry: Registry): void {
    this.registry = registry;
    for (const channel of this.channels) channel.series = webhookSeries(registry, channel.config.label, () => channel.queued);
  }
}

/**
 * Webhooks for a service's events: each notable event (`NOTICE_KINDS` by default) is posted to
 * every webhook as JSON (`WebhookNotice`), e.g.
 * `{ "kind": "closed", "pair": "BTCUSDT:momentum", "symbol": "BTCUSDT", "strategy": "momentum", "at": "…", "reason": "take_profit", "pnlPercent": 1.2, … }`.
 *
 * Each webhook has its own queue and pace, so a slow or dead one delays no other, nor the
 * loop: the events$ subscriber only queues. One notice at a time per webhook, each POST within
 * `timeoutMs`; network errors, time-outs, 5xx and 429 are retried with exponential backoff and
 * jitter (a `Retry-After` is honoured, up to 10 minutes); other answers are not retried. At
 * most `perMinute` POSTs a minute on average (a burst of a quarter of it, then one every
 * 60 / perMinute s): past it notices wait, and a queue that fills
 * (`maxQueue`) sheds the least important first — opened (and scheduled, cancelled), then
 * closed and done, then errors — and folds repeated errors of a pair into one (`repeated`);
 * `stalled` and `recovered` notices are never shed, go first and never wait for the cap. What is shed is counted in
 * the next delivered notice (`dropped`) and in `rxtrade_notify_dropped_total{url}`. A webhook
 * that is down costs one log line when it starts failing and one when it answers again.
 *
 * URLs are checked at once (http or https; an `ArgumentRangeError` otherwise).
 *
 * ```
 * events$:   o--c--e--e--s------r--|
 * > webhookNotifier(…).attach(events$)
 * POSTs:     o--c--e--------s---r--|   (the second e folded into the first: repeated 1)
 * ```
 *
 * @example
 * import { startService, webhookNotifier } from "rxtrade/service";
 * const notify = webhookNotifier({ webhooks: ["https://hooks.example.com/rxtrade"], perMinute: 30 });
 * const service = await startService({ pairs, store, notify });
 * const end = await service.done;
 * await notify.close(); // the last notices, within flushMs
 *
 * @param options the webhooks, and the defaults of their options
 */
export function webhookNotifier(options: WebhookNotifierOptions): WebhookNotifier {
  if (options === null || typeof options !== "object" || !Array.isArray(options.webhooks) || options.webhooks.length === 0) {
    throw new ArgumentError("webhookNotifier needs { webhooks: [url, …] }: at least one http:// or https:// URL, e.g. { webhooks: [\"https://hooks.example.com/rxtrade\"] }", {
      argument: "options.webhooks",
      value: (options as { webhooks?: unknown } | null)?.webhooks,
    });
  }
  const defaults = {
    timeoutMs: whole(options.timeoutMs, "options.timeoutMs", 1, 600_000, DEFAULTS.timeoutMs),
    perMinute: whole(options.perMinute, "options.perMinute", 1, 100_000, DEFAULTS.perMinute),
    maxQueue: whole(options.maxQueue, "options.maxQueue", 1, 1_000_000, DEFAULTS.maxQueue),
    kinds: kindsOf(options.kinds, "options.kinds") ?? new Set(NOTICE_KINDS),
  };
  const retryBaseMs = whole(options.retry?.baseMs, "options.retry.baseMs", 1, 3_600_000, DEFAULTS.retryBaseMs);
  const retryMaxMs = whole(options.retry?.maxMs, "options.retry.maxMs", retryBaseMs, 3_600_000, Math.max(retryBaseMs, DEFAULTS.retryMaxMs));
  whole(options.flushMs, "options.flushMs", 0, 600_000, DEFAULTS.flushMs);
  const labels = new Set<string>();
  // Each webhook once: by its name, else by its real URL (two URLs that differ only in their
  // query or credentials are two webhooks; their redacted labels get a #2, #3…).
  const keys = new Map<string, number>();
  const configs = options.webhooks.map((entry, index): ChannelConfig => {
    const at = `options.webhooks[${index}]`;
    const spec: WebhookOptions = typeof entry === "string" ? { url: entry } : entry;
    if (spec === null || typeof spec !== "object") {
      throw new ArgumentError(`${at} must be a URL or { url, name?, headers?, … }, got ${showValue(spec)}`, { argument: at, value: spec });
    }
    const url = parseWebhookUrl(spec.url, typeof entry === "string" ? at : `${at}.url`);
    if (spec.name !== undefined && (typeof spec.name !== "string" || spec.name.trim() === "")) {
      throw new ArgumentError(`${at}.name must be a non-empty string, got ${showValue(spec.name)}`, { argument: `${at}.name`, value: spec.name });
    }
    const key = spec.name === undefined ? `url ${url.href}` : `name ${spec.name}`;
    const first = keys.get(key);
    if (first !== undefined) {
      const shown = spec.name ?? redactUrl(url);
      throw new ArgumentRangeError(`${at} is ${JSON.stringify(shown)} again (as options.webhooks[${first}]): each webhook once (give two posts to one URL distinct names)`, { argument: at, value: shown });
    }
    keys.set(key, index);
    let label = spec.name ?? redactUrl(url);
    for (let n = 2; labels.has(label); n++) label = `${spec.name ?? redactUrl(url)} #${n}`;
    labels.add(label);
    const given = spec.headers ?? {};
    if (given === null || typeof given !== "object" || Object.values(given).some((value) => typeof value !== "string")) {
      throw new ArgumentError(`${at}.headers must be an object of strings, e.g. { authorization: "Bearer …" }`, { argument: `${at}.headers`, value: "(hidden)" });
    }
    const headers = withCredentials(url, given);
    const shape = spec.body;
    if (shape !== undefined && typeof shape !== "function") {
      throw new ArgumentError(`${at}.body must be a function of the notice, got ${showValue(shape)}`, { argument: `${at}.body`, value: shape });
    }
    return {
      url,
      label,
      headers,
      kinds: kindsOf(spec.kinds, `${at}.kinds`) ?? defaults.kinds,
      timeoutMs: whole(spec.timeoutMs, `${at}.timeoutMs`, 1, 600_000, defaults.timeoutMs),
      perMinute: whole(spec.perMinute, `${at}.perMinute`, 1, 100_000, defaults.perMinute),
      maxQueue: whole(spec.maxQueue, `${at}.maxQueue`, 1, 1_000_000, defaults.maxQueue),
      retryBaseMs,
      retryMaxMs,
      body: (notice, dropped) => {
        const json = noticeJson(notice, dropped);
        return shape === undefined ? json : shape(json);
      },
    };
  });
  return new WebhookNotifier(configs, options);
}

/** A notice as posted: the event's JSON, what was folded into it, and what was lost before it. */
export function noticeJson(notice: Notice, dropped: number): WebhookNotice {
  const json: WebhookNotice = eventJson(notice.event);
  if (notice.repeated > 0) {
    json.repeated = notice.repeated;
    if (notice.lastAt !== undefined && Number.isFinite(notice.lastAt)) json.lastAt = new Date(notice.lastAt).toISOString();
  }
  if (dropped > 0) json.dropped = dropped;
  return json;
}

// fetch refuses a URL with credentials (https://user:pass@host/…): they go as Basic
// authorization instead (unless an authorization header is given), and the URL without them.
function withCredentials(url: URL, headers: Record<string, string>): Record<string, string> {
  if (url.username === "" && url.password === "") return headers;
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  url.username = "";
  url.password = "";
  if (Object.keys(headers).some((name) => name.toLowerCase() === "authorization")) return headers;
  return { ...headers, authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` };
}

function whole(value: number | undefined, argument: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!(typeof value === "number" && Number.isInteger(value) && value >= min && value <= max)) {
    throw new ArgumentRangeError(`${argument} must be a whole number from ${min} to ${max}, got ${showValue(value)}; leave it out for ${fallback}`, { argument, value });
  }
  return value;
}

function kindsOf(kinds: readonly ServiceEvent["kind"][] | undefined, argument: string): ReadonlySet<ServiceEvent["kind"]> | undefined {
  if (kinds === undefined) return undefined;
  const known = Object.keys(NOTICE_RANK);
  if (!Array.isArray(kinds) || kinds.length === 0 || kinds.some((kind) => !known.includes(kind))) {
    throw new ArgumentRangeError(`${argument} must be a non-empty list of event kinds (${known.join(", ")}), got ${showValue(kinds)}`, { argument, value: kinds });
  }
  return new Set(kinds);
}
