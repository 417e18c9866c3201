import { Counter, Gauge, type Registry } from "prom-client";

/** One webhook's series (label `url`: its redacted URL, or its name). */
export interface WebhookSeries {
  sent(): void;
  failed(): void;
  dropped(count: number): void;
}

interface RegistryFamilies {
  sent: Counter<"url">;
  failed: Counter<"url">;
  dropped: Counter<"url">;
  /** What `rxtrade_notify_queued` reads when scraped, by label. */
  queued: Map<string, () => number>;
}

// One set of families per registry: a second notifier on the same registry adds its series to them.
const byRegistry = new WeakMap<Registry, RegistryFamilies>();

/**
 * The webhook metrics on `registry` (the service's, so `/metrics` shows them):
 * `rxtrade_notify_sent_total{url}`, `rxtrade_notify_failed_total{url}`,
 * `rxtrade_notify_dropped_total{url}` and `rxtrade_notify_queued{url}`. prom-client's own
 * counters suffice: they move once per POST, not per tick.
 *
 * @param queued reads the webhook's waiting notices when scraped
 */
export function webhookSeries(registry: Registry, label: string, queued: () => number): WebhookSeries {
  let families = byRegistry.get(registry);
  if (families === undefined) {
    const sources = new Map<string, () => number>();
    families = {
      sent: new Counter({ name: "rxtrade_notify_sent_total", help: "Notices a webhook accepted (a 2xx answer).", labelNames: ["url"], registers: [registry] }),
      failed: new Counter({
        name: "rxtrade_notify_failed_total",
        help: "POSTs to a webhook that failed: no answer within the time limit, a network error, or a status other than 2xx (each attempt).",
        labelNames: ["url"],
        registers: [registry],
      }),
      dropped: new Counter({
        name: "rxtrade_notify_dropped_total",
        help: "Notices a webhook never got: shed from its full queue (the least important first; never stalled or recovered), or still waiting at shutdown.",
        labelNames: ["url"],
        registers: [registry],
      }),
      queued: sources,
    };
    new Gauge({
      name: "rxtrade_notify_queued",
      help: "Notices waiting for a webhook (the one being sent or retried included).",
      labelNames: ["url"],
      registers: [registry],
      collect() {
        for (const [url, read] of sources) this.set({ url }, read());
      },
    });
    byRegistry.set(registry, families);
  }
  families.queued.set(label, queued);
  const { sent, failed, dropped } = families;
  const labels = { url: label };
  // At zero from the start, so that rate() sees the first increment.
  sent.inc(labels, 0);
  failed.inc(labels, 0);
  dropped.inc(labels, 0);
  return {
    sent: () => sent.inc(labels),
    failed: () => failed.inc(labels),
    dropped: (count) => dropped.inc(labels, count),
  };
}
