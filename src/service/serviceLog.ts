import type { Logger } from "pino";
import { tradeFields, tradeText } from "./serviceEventJson";
import type { ServiceEvent } from "./serviceTypes";
import { iso } from "./isoTime";
import { round } from "./serviceViews";

/**
 * Writes an event's log line: one per state change and per error, through the pair's child
 * logger (its fields); a trade's line through `direct` when there is one (`directInfoLines`).
 */
export function logEvent(log: Logger, event: ServiceEvent, direct?: (fields: string, msg: string) => void): void {
  switch (event.kind) {
    case "scheduled":
    case "opened":
    case "closed":
    case "cancelled": {
      if (direct !== undefined) direct(`,"action":"${event.kind}","at":"${iso(event.at)}"${tradeText(event.result, round)}`, event.kind);
      else log.info(tradeFields({ action: event.kind, at: iso(event.at) }, event.result, round), event.kind);
      return;
    }
    case "error":
      log.warn({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "error");
      return;
    case "stalled":
      log.warn({ at: iso(event.at), kind: "StreamStalledError", lastTickAt: event.lastTickAt === null ? null : iso(event.lastTickAt), stallLimitSeconds: event.stallLimitMs / 1000, error: event.message }, "stalled");
      return;
    case "recovered":
      log.info({ at: iso(event.at) }, "recovered");
      return;
    case "draining":
      log.info({ at: iso(event.at) }, "draining");
      return;
    case "done":
      log.info({ at: iso(event.at) }, "done");
      return;
    case "failed":
      log.error({ at: iso(event.at), kind: event.error.name, error: event.error.message }, "failed");
      return;
    case "stopping":
      log.info({ reason: event.reason }, "stopping");
      return;
  }
}
