import type { PerformanceEvent } from "../events";

/** Tick latency of one symbol and strategy. Durations and waits in ms; `null` without data. */
export interface PerformanceStatistics {
  metricType: "live_tick";
  /** Ticks measured by the current loop. */
  count: number;
  totalDuration: number;
  avgDuration: number | null;
  minDuration: number | null;
  maxDuration: number | null;
  stdDev: number | null;
  /** Percentiles over the last `window` ticks. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Time between consecutive ticks (by the stream's clock). */
  avgWait: number | null;
  minWait: number | null;
  maxWait: number | null;
}

export const DEFAULT_PERFORMANCE_WINDOW = 10_000;

/** Aggregates `live_tick` events: running sums for everything, a ring of the last `window` durations for percentiles. */
export class PerformanceCollector {
  private readonly ring: Float64Array;
  private count = 0;
  private total = 0;
  private mean = 0;
  private m2 = 0;
  private min = Number.POSITIVE_INFINITY;
  private max = Number.NEGATIVE_INFINITY;
  private waits = 0;
  private waitTotal = 0;
  private waitMin = Number.POSITIVE_INFINITY;
  private waitMax = Number.NEGATIVE_INFINITY;

  constructor(readonly window = DEFAULT_PERFORMANCE_WINDOW) {
    this.ring = new Float64Array(window);
  }

  record(event: PerformanceEvent): void {
    const d = event.duration;
    this.ring[this.count % this.window] = d;
    this.count++;
    this.total += d;
    const delta = d - this.mean;
    this.mean += delta / this.count;
    this.m2 += delta * (d - this.mean);
    if (d < this.min) this.min = d;
    if (d > this.max) this.max = d;
    if (event.previousTimestamp !== null) {
      const wait = event.timestamp - event.previousTimestamp;
      this.waits++;
      this.waitTotal += wait;
      if (wait < this.waitMin) this.waitMin = wait;
      if (wait > this.waitMax) this.waitMax = wait;
    }
  }

  snapshot(): PerformanceStatistics {
    const n = this.count;
    const sorted = this.ring.slice(0, Math.min(n, this.window)).sort();
    const pick = (p: number) => (sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number));
    return {
      metricType: "live_tick",
      count: n,
      totalDuration: this.total,
      avgDuration: n > 0 ? this.total / n : null,
      minDuration: n > 0 ? this.min : null,
      maxDuration: n > 0 ? this.max : null,
      stdDev: n > 0 ? Math.sqrt(Math.max(0, this.m2 / n)) : null,
      p50: pick(50),
      p95: pick(95),
      p99: pick(99),
      avgWait: this.waits > 0 ? this.waitTotal / this.waits : null,
      minWait: this.waits > 0 ? this.waitMin : null,
      maxWait: this.waits > 0 ? this.waitMax : null,
    };
  }
}

/** The Markdown report of a pair's tick latency. */
export function performanceReport(symbol: string, strategyName: string, stats: PerformanceStatistics): string {
  const title = `# Performance Report: ${strategyName} on ${symbol}\n\n`;
  if (stats.count === 0) return `${title}No ticks measured yet.\n`;
  const ms = (value: number | null) => (value === null ? "N/A" : `${value.toFixed(3)} ms`);
  const rows: Array<[string, string]> = [
    ["Ticks", String(stats.count)],
    ["Total duration", ms(stats.totalDuration)],
    ["Average duration", ms(stats.avgDuration)],
    ["Min duration", ms(stats.minDuration)],
    ["Max duration", ms(stats.maxDuration)],
    ["Standard deviation", ms(stats.stdDev)],
    ["p50", ms(stats.p50)],
    ["p95", ms(stats.p95)],
    ["p99", ms(stats.p99)],
    ["Average wait between ticks", ms(stats.avgWait)],
    ["Min wait between ticks", ms(stats.minWait)],
    ["Max wait between ticks", ms(stats.maxWait)],
  ];
  return `${title}| Metric | Value |\n| --- | --- |\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join("\n")}\n`;
}
