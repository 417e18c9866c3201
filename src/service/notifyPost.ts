// One POST of a webhook notice and what came of it (sent, to retry — with the webhook's
// Retry-After —, refused, aborted), the fetch's failures told by their system codes.
import type { ChannelConfig } from "./notifyChannelTypes";

const MINUTE = 60_000;
/** A Retry-After longer than this is cut to it: a webhook's answer cannot park its notices for hours. */
export const MAX_RETRY_AFTER_MS = 10 * MINUTE;

/** Characters of a refusing webhook's answer shown in its log line. */
const ANSWER_CHARS = 200;

/** What came of one POST. */
export type Outcome =
  | { type: "sent" }
  | { type: "retry"; reason: string; status?: number; retryAfterMs?: number }
  | { type: "refused"; status: number; answer: string }
  | { type: "aborted" };

/**
 * One POST of a notice's `body` to a webhook, within `timeoutMs`; what came of it. `abort` (the
 * channel's shutdown) ends it as `aborted`.
 */
export async function postNotice(
  fetch: typeof globalThis.fetch,
  { url, headers, timeoutMs }: Pick<ChannelConfig, "url" | "headers" | "timeoutMs">,
  body: string,
  abort: AbortSignal,
): Promise<Outcome> {
  const limit = AbortSignal.timeout(timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": "rxtrade", ...headers },
      body,
      signal: AbortSignal.any([abort, limit]),
      redirect: "manual",
    });
    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel().catch(() => {});
      return { type: "sent" };
    }
    const answer = (await response.text().catch(() => "")).slice(0, ANSWER_CHARS);
    if (status === 429 || status >= 500) {
      const retryAfterMs = retryAfter(response.headers.get("retry-after"));
      return { type: "retry", status, reason: `HTTP ${status}${answer === "" ? "" : ` ${JSON.stringify(answer)}`}`, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
    }
    const location = response.headers.get("location");
    return { type: "refused", status, answer: status >= 300 && status < 400 && location !== null ? `redirects to ${location}: give that URL` : answer };
  } catch (error) {
    if (abort.aborted) return { type: "aborted" };
    if (limit.aborted) return { type: "retry", reason: `no answer within ${timeoutMs} ms (timeoutMs)` };
    return { type: "retry", reason: networkReason(error) };
  }
}

/** `Retry-After` (seconds, or an HTTP date) in ms, at most `MAX_RETRY_AFTER_MS`; `undefined` when absent or unreadable. */
export function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const text = header.trim();
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : Date.parse(text) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

// fetch's TypeError says only "fetch failed"; its cause has the code (ECONNREFUSED, ENOTFOUND, …).
function networkReason(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  if (cause?.code !== undefined) return `${cause.code}${cause.message === undefined ? "" : ` (${cause.message})`}`;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
