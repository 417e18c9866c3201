import { describe, expect, it } from "vitest";
import { getDefaultConfig, pnl, type Position } from "rxtrade";

// Defaults: slippage s = 0.1 % = 0.001 per side, fee f = 0.1 % per side (2f = 0.2).
const config = getDefaultConfig();

describe("pnl with the default config (s = 0.1 %, f = 0.1 %)", () => {
  it.each<[string, Position, number, number, string]>([
    // Given in API.md.
    ["long 100 -> 101", "long", 100, 101, "0.598202"],
    ["long 42000 -> 43000", "long", 42000, 43000, "1.976395"],
    // short 101 -> 100: open' = 101 x 0.999 = 100.899, close' = 100 x 1.001 = 100.1
    //   (100.899 - 100.1) / 100.899 x 100 = 0.799 / 100.899 x 100 = 0.791881...; - 0.2 = 0.591881
    ["short 101 -> 100", "short", 101, 100, "0.591881"],
    // short 43000 -> 42000: open' = 43000 x 0.999 = 42957, close' = 42000 x 1.001 = 42042
    //   (42957 - 42042) / 42957 x 100 = 915 / 42957 x 100 = 2.130037...; - 0.2 = 1.930037
    ["short 43000 -> 42000", "short", 43000, 42000, "1.930037"],
    // losing long 100 -> 99: open' = 100.1, close' = 99 x 0.999 = 98.901
    //   (98.901 - 100.1) / 100.1 x 100 = -1.199 / 100.1 x 100 = -1.197802...; - 0.2 = -1.397802
    ["losing long 100 -> 99", "long", 100, 99, "-1.397802"],
    // losing short 100 -> 101: open' = 99.9, close' = 101 x 1.001 = 101.101
    //   (99.9 - 101.101) / 99.9 x 100 = -1.201 / 99.9 x 100 = -1.202202...; - 0.2 = -1.402202
    ["losing short 100 -> 101", "short", 100, 101, "-1.402202"],
    // flat round trip: costs only. long 100 -> 100: (99.9 - 100.1) / 100.1 x 100 = -0.199800...; - 0.2 = -0.399800
    ["flat long 100 -> 100", "long", 100, 100, "-0.399800"],
    // flat short 100 -> 100: (99.9 - 100.1) / 99.9 x 100 = -0.200200...; - 0.2 = -0.400200
    ["flat short 100 -> 100", "short", 100, 100, "-0.400200"],
  ])("%s = %s", (_name, position, open, close, expected) => {
    const result = pnl(position, open, close, config);
    expect(result.pnlPercentage.toFixed(6)).toBe(expected);
    expect(result.priceOpen).toBe(open);
    expect(result.priceClose).toBe(close);
  });

  it("a short and a long over the same move are not exact mirrors (slippage applies to different legs)", () => {
    expect(pnl("short", 101, 100, config).pnlPercentage).not.toBeCloseTo(pnl("long", 100, 101, config).pnlPercentage, 6);
  });
});

describe("pnl without costs is the raw percentage move", () => {
  const free = { CC_PERCENT_SLIPPAGE: 0, CC_PERCENT_FEE: 0 };

  it.each<[Position, number, number, number]>([
    ["long", 100, 101, 1],
    ["long", 42000, 43000, (1000 / 42000) * 100], // 2.380952...
    ["long", 100, 95, -5],
    ["short", 101, 100, (1 / 101) * 100], // 0.990099...
    ["short", 100, 90, 10],
    ["short", 100, 105, -5],
  ])("%s %s -> %s", (position, open, close, expected) => {
    expect(pnl(position, open, close, free).pnlPercentage).toBeCloseTo(expected, 10);
  });

  it("fee only: long 100 -> 101 with f = 0.1, s = 0 is 1 - 0.2 = 0.8", () => {
    expect(pnl("long", 100, 101, { CC_PERCENT_SLIPPAGE: 0, CC_PERCENT_FEE: 0.1 }).pnlPercentage).toBeCloseTo(0.8, 10);
  });

  it("slippage only: long 100 -> 101 with s = 0.1 %, f = 0 is (100.899 - 100.1) / 100.1 x 100 = 0.798202", () => {
    expect(pnl("long", 100, 101, { CC_PERCENT_SLIPPAGE: 0.1, CC_PERCENT_FEE: 0 }).pnlPercentage.toFixed(6)).toBe("0.798202");
  });
});
