/** How many closes a pair's equity curve keeps (`/api/pairs`' `equity`, the dashboard's chart). */
export const EQUITY_POINTS = 1000;

/**
 * A pair's equity curve: for each of its last `capacity` closes, when it closed and the sum of
 * the closed PnL (percent) up to it since the service started. A ring: the oldest point goes
 * when a new one comes, so memory stays bounded however long the service runs (two numbers a
 * point; nothing is allocated before the first close).
 */
export class EquitySeries {
  private readonly at: number[] = [];
  private readonly total: number[] = [];
  /** Where the oldest point is once the ring is full. */
  private oldest = 0;
  private sum = 0;

  constructor(readonly capacity = EQUITY_POINTS) {}

  /** The sum of every close's PnL so far, percent (the points dropped from the ring included). */
  get totalPercent(): number {
    return this.sum;
  }

  get length(): number {
    return this.at.length;
  }

  /** A close at `at` (epoch ms, the pair's clock) with its PnL in percent. */
  add(at: number, pnlPercent: number): void {
    this.sum += pnlPercent;
    if (this.at.length < this.capacity) {
      this.at.push(at);
      this.total.push(this.sum);
      return;
    }
    this.at[this.oldest] = at;
    this.total[this.oldest] = this.sum;
    this.oldest = (this.oldest + 1) % this.capacity;
  }

  /** The points, oldest first: `[close time (epoch ms), sum of the closed PnL % up to it]`. */
  points(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const n = this.at.length;
    for (let k = 0; k < n; k++) {
      const i = (this.oldest + k) % n;
      out.push([this.at[i] as number, this.total[i] as number]);
    }
    return out;
  }
}
