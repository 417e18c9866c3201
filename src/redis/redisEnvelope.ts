/** The format version of a stored value. */
export const FORMAT = 1;

/** What a data key holds: the value, the exact store key, and the fencing token it was written under. */
export interface Envelope {
  rxtrade: typeof FORMAT;
  key: string;
  /** The lease's token when written under a lease. */
  token?: number;
  value: unknown;
}

/** The parsed envelope of `key`, or why `text` is not one. */
export function envelopeProblem(text: string, key: string): { value: Envelope; why?: undefined } | { value?: undefined; why: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { why: `it does not parse as JSON (${error instanceof Error ? error.message : String(error)})` };
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return { why: `expected an object, found ${preview(text)}` };
  const envelope = parsed as Partial<Envelope>;
  if (envelope.rxtrade !== FORMAT || !("value" in envelope)) return { why: `expected { rxtrade: ${FORMAT}, key, value }, found ${preview(text)}` };
  if (envelope.key !== key) return { why: `it belongs to key ${JSON.stringify(envelope.key)}` };
  return { value: envelope as Envelope };
}

function preview(text: string): string {
  return text.length > 120 ? `${text.slice(0, 120)}…` : text;
}

