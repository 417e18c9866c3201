// The Prometheus text format for rxtrade's own series: histograms as plain bucket counts, each
// series' name with its labels escaped once, families written straight into the scrape's text.

/** One histogram series: counts per bucket (not cumulative until written), sum, and its lines' names. */
export class HistogramSeries {
  /** Calls seen, and when the last sampled one started (performance.now()), for sampling (`watchExchange`). */
  calls = 0;
  lastTimedAt = Number.NEGATIVE_INFINITY;
  private readonly counts: number[];
  private sum = 0;
  private readonly names: { buckets: string[]; sum: string; count: string };

  constructor(
    name: string,
    labels: string,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
    const rest = labels === "" ? "" : `,${labels}`;
    this.names = {
      buckets: [...bounds.map(String), "+Inf"].map((le) => `${name}_bucket{le="${le}"${rest}}`),
      sum: labels === "" ? `${name}_sum` : `${name}_sum{${labels}}`,
      count: labels === "" ? `${name}_count` : `${name}_count{${labels}}`,
    };
  }

  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += seconds;
  }

  write(out: (series: string, value: number) => void): void {
    let cumulative = 0;
    for (let i = 0; i < this.counts.length; i++) {
      cumulative += this.counts[i] as number;
      out(this.names.buckets[i] as string, cumulative);
    }
    out(this.names.sum, this.sum);
    out(this.names.count, cumulative);
  }
}

/** Writes a family: its HELP and TYPE, then its lines. */
export type Family = (chunks: string[]) => void;

export function family(name: string, type: "counter" | "gauge" | "histogram", help: string, lines: (out: (series: string, value: number) => void) => void): Family {
  const head = `# HELP ${name} ${help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${type}\n`;
  return (chunks) => {
    chunks.push(chunks.length === 0 ? head : `\n${head}`);
    lines((series, value) => chunks.push(`${series} ${valueText(value)}\n`));
  };
}

/** A family written only while `present()` says so. */
export function optional(present: () => boolean, ...args: Parameters<typeof family>): Family {
  const write = family(...args);
  return (chunks) => {
    if (present()) write(chunks);
  };
}

/** A family with lines for each of `pairs` (a list, or read when written). */
export function perPair<T>(
  name: string,
  type: "counter" | "gauge" | "histogram",
  help: string,
  pairs: readonly T[] | (() => readonly T[]),
  lines: (pair: T, out: (series: string, value: number) => void) => void,
): Family {
  return family(name, type, help, (out) => {
    for (const pair of typeof pairs === "function" ? pairs() : pairs) lines(pair, out);
  });
}

function valueText(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value < 0 ? "-Inf" : "+Inf";
  return String(value);
}

/** A Prometheus label value: backslash, double quote and line feed escaped. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

// A call's time to settle, for an answer that came as a Promise; a plain answer, an Observable or
// another thenable is passed on untimed (the engine's CallWatcher, too, reports Promise-likes
// only). The Promise itself is passed on: the engine's own reaction is not put behind this one.
export function timed<T>(value: T, started: number, series: HistogramSeries): T {
  if (value instanceof Promise) {
    const done = () => series.observe((performance.now() - started) / 1000);
    value.then(done, done);
  }
  return value;
}
