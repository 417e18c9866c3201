import { describe, expect, it } from "vitest";
import {
  evaluate,
  getDefaultConfig,
  pnl,
  type Position,
  type SignalRow,
  type SignalState,
  type StreamIdentity,
  type TickResult,
} from "rxtrade";

const M = 60_000;
const T0 = 1_700_000_000_000;
const config = getDefaultConfig(); // CC_SCHEDULE_AWAIT_MINUTES 120, s = f = 0.1 %
const identity: StreamIdentity = { symbol: "ETHUSDT", strategyName: "strat", exchangeName: "exch" };
const base = { symbol: "ETHUSDT", strategyName: "strat", exchangeName: "exch", backtest: false } as const;

function row(position: Position, priceOpen: number, priceTakeProfit: number, priceStopLoss: number, extra: Partial<SignalRow> = {}): SignalRow {
  return {
    id: "sig-1",
    position,
    priceOpen,
    priceTakeProfit,
    priceStopLoss,
    minuteEstimatedTime: 60,
    note: "",
    symbol: "ETHUSDT",
    strategyName: "strat",
    exchangeName: "exch",
    scheduledAt: T0,
    pendingAt: T0,
    ...extra,
  };
}
const opened = (signal: SignalRow): SignalState => ({ status: "opened", signal });
const scheduled = (signal: SignalRow): SignalState => ({ status: "scheduled", signal });

// long: open 100, TP 110, SL 95; short: open 100, TP 90, SL 105; 60-minute lifetime from T0.
const longOpen = opened(row("long", 100, 110, 95));
const shortOpen = opened(row("short", 100, 90, 105));
// limit entries created at T0: long waits for <= 99 (SL 95), short for >= 101 (SL 105)
const longLimit = scheduled(row("long", 99, 110, 95));
const shortLimit = scheduled(row("short", 101, 90, 105));

describe("evaluate: nothing held", () => {
  it("without a proposal is idle and keeps no state", () => {
    expect(evaluate(null, 100, T0, config, identity)).toStrictEqual({
      state: null,
      result: { action: "idle", signal: null, currentPrice: 100, timestamp: T0, ...base },
    });
    expect(evaluate(null, 100, T0, config, identity, null).result.action).toBe("idle");
  });

  it("an immediate proposal becomes the state and reports opened", () => {
    const proposal = opened(row("long", 100, 110, 95));
    const { state, result } = evaluate(null, 100, T0, config, identity, proposal);
    expect(state).toBe(proposal);
    expect(result).toStrictEqual({ action: "opened", signal: proposal.signal, currentPrice: 100, timestamp: T0, ...base });
  });

  it("a limit proposal becomes the state and reports scheduled, even when the price already reached priceOpen", () => {
    const proposal = scheduled(row("long", 99, 110, 95));
    const { state, result } = evaluate(null, 98, T0, config, identity, proposal);
    expect(state).toBe(proposal);
    expect(result).toStrictEqual({ action: "scheduled", signal: proposal.signal, currentPrice: 98, timestamp: T0, ...base });
  });
});

describe("evaluate: a scheduled signal", () => {
  it.each([
    ["long, price above priceOpen", longLimit, 100],
    ["long, price just above priceOpen", longLimit, 99.01],
    ["short, price below priceOpen", shortLimit, 100],
    ["short, price just below priceOpen", shortLimit, 100.99],
  ])("waits (%s): same state object, scheduled result", (_name, state, price) => {
    const now = T0 + 5 * M;
    const t = evaluate(state, price, now, config, identity);
    expect(t.state).toBe(state);
    expect(t.result).toStrictEqual({ action: "scheduled", signal: state.signal, currentPrice: price, timestamp: now, ...base });
  });

  it.each([
    ["long at priceOpen", longLimit, 99],
    ["long below priceOpen", longLimit, 97],
    ["short at priceOpen", shortLimit, 101],
    ["short above priceOpen", shortLimit, 103],
  ])("activates (%s) with pendingAt = now", (_name, state, price) => {
    const now = T0 + 7 * M;
    const t = evaluate(state, price, now, config, identity);
    const signal = { ...state.signal, pendingAt: now };
    expect(t.state).toStrictEqual({ status: "opened", signal });
    expect(t.result).toStrictEqual({ action: "opened", signal, currentPrice: price, timestamp: now, ...base });
    expect(t.state?.signal.scheduledAt).toBe(T0);
    expect(state.signal.pendingAt).toBe(T0); // the input is not mutated
  });

  it("is cancelled by timeout exactly CC_SCHEDULE_AWAIT_MINUTES (120) after scheduledAt", () => {
    const now = T0 + 120 * M;
    const t = evaluate(longLimit, 100, now, config, identity);
    expect(t.state).toBeNull();
    expect(t.result).toStrictEqual({
      action: "cancelled",
      signal: longLimit.signal,
      cancelReason: "timeout",
      closeTimestamp: now,
      currentPrice: 100,
      timestamp: now,
      ...base,
    });
  });

  it("still waits at 119.99 minutes", () => {
    const t = evaluate(longLimit, 100, T0 + 119.99 * M, config, identity);
    expect(t.state).toBe(longLimit);
    expect(t.result.action).toBe("scheduled");
  });

  it("honours a custom CC_SCHEDULE_AWAIT_MINUTES", () => {
    const short = { ...config, CC_SCHEDULE_AWAIT_MINUTES: 10 };
    expect(evaluate(longLimit, 100, T0 + 10 * M - 1, short, identity).result.action).toBe("scheduled");
    expect(evaluate(longLimit, 100, T0 + 10 * M, short, identity).result).toMatchObject({ action: "cancelled", cancelReason: "timeout" });
  });

  it.each([
    ["long, price at SL", longLimit, 95],
    ["long, price below SL (also below priceOpen)", longLimit, 90],
    ["short, price at SL", shortLimit, 105],
    ["short, price above SL", shortLimit, 110],
  ])("is cancelled by stop_loss when the price crosses SL before the entry (%s)", (_name, state, price) => {
    const now = T0 + 30 * M;
    const t = evaluate(state, price, now, config, identity);
    expect(t.state).toBeNull();
    expect(t.result).toStrictEqual({
      action: "cancelled",
      signal: state.signal,
      cancelReason: "stop_loss",
      closeTimestamp: now,
      currentPrice: price,
      timestamp: now,
      ...base,
    });
  });

  it("timeout has priority over stop loss and over activation on the same tick", () => {
    const now = T0 + 120 * M;
    expect(evaluate(longLimit, 90, now, config, identity).result).toMatchObject({ action: "cancelled", cancelReason: "timeout" });
    expect(evaluate(shortLimit, 110, now, config, identity).result).toMatchObject({ action: "cancelled", cancelReason: "timeout" });
    expect(evaluate(longLimit, 98, now, config, identity).result).toMatchObject({ action: "cancelled", cancelReason: "timeout" });
  });
});

describe("evaluate: an opened signal that stays open", () => {
  it.each([
    // long open 100, TP 110 (10 away), SL 95 (5 away)
    ["long at entry", longOpen, 100, 0, 0],
    ["long halfway to TP", longOpen, 105, 50, 0],
    ["long 60 % to SL", longOpen, 97, 0, 60],
    ["long just below TP", longOpen, 109, 90, 0],
    // short open 100, TP 90 (10 away), SL 105 (5 away)
    ["short halfway to TP", shortOpen, 95, 50, 0],
    ["short 60 % to SL", shortOpen, 103, 0, 60],
  ])("%s: active with percentTp %s / percentSl %s", (_name, state, price, percentTp, percentSl) => {
    const now = T0 + 10 * M;
    const t = evaluate(state, price, now, config, identity);
    expect(t.state).toBe(state);
    expect(t.result.action).toBe("active");
    const result = t.result as Extract<TickResult, { action: "active" }>;
    expect(result.percentTp).toBeCloseTo(percentTp, 10);
    expect(result.percentSl).toBeCloseTo(percentSl, 10);
    expect(result).toMatchObject({ signal: state.signal, currentPrice: price, timestamp: now, ...base });
  });

  it("is still active 1 ms before minuteEstimatedTime runs out", () => {
    expect(evaluate(longOpen, 103, T0 + 60 * M - 1, config, identity).result.action).toBe("active");
  });

  it("counts the lifetime from pendingAt, not scheduledAt", () => {
    const activatedLate = opened(row("long", 100, 110, 95, { scheduledAt: T0 - 100 * M, pendingAt: T0 }));
    expect(evaluate(activatedLate, 103, T0 + 59 * M, config, identity).result.action).toBe("active");
    expect(evaluate(activatedLate, 103, T0 + 60 * M, config, identity).result).toMatchObject({ closeReason: "time_expired" });
  });
});

describe("evaluate: an opened signal that closes", () => {
  it.each([
    // [name, state, price, now offset (min), reason, close price, pnl toFixed(6)]
    // long 100 -> 110: (109.89 - 100.1) / 100.1 x 100 - 0.2 = 9.580220
    ["long TP exactly", longOpen, 110, 10, "take_profit", 110, "9.580220"],
    ["long TP overshoot closes at TP", longOpen, 115, 10, "take_profit", 110, "9.580220"],
    // long 100 -> 95: (94.905 - 100.1) / 100.1 x 100 - 0.2 = -5.389810
    ["long SL exactly", longOpen, 95, 10, "stop_loss", 95, "-5.389810"],
    ["long SL overshoot closes at SL", longOpen, 90, 10, "stop_loss", 95, "-5.389810"],
    // short 100 -> 90: (99.9 - 90.09) / 99.9 x 100 - 0.2 = 9.619820
    ["short TP exactly", shortOpen, 90, 10, "take_profit", 90, "9.619820"],
    ["short TP overshoot closes at TP", shortOpen, 85, 10, "take_profit", 90, "9.619820"],
    // short 100 -> 105: (99.9 - 105.105) / 99.9 x 100 - 0.2 = -5.410210
    ["short SL exactly", shortOpen, 105, 10, "stop_loss", 105, "-5.410210"],
    ["short SL overshoot closes at SL", shortOpen, 112, 10, "stop_loss", 105, "-5.410210"],
    // time expired at the current price: long 100 -> 103: (102.897 - 100.1) / 100.1 x 100 - 0.2 = 2.594206
    ["long time_expired", longOpen, 103, 60, "time_expired", 103, "2.594206"],
    // time expiry has priority over TP (long 100 -> 120: (119.88 - 100.1) / 100.1 x 100 - 0.2 = 19.560240)
    ["long time_expired beats TP", longOpen, 120, 60, "time_expired", 120, "19.560240"],
    ["long time_expired beats SL", longOpen, 95, 61, "time_expired", 95, "-5.389810"],
    // short 100 -> 98: (99.9 - 98.098) / 99.9 x 100 - 0.2 = 1.603804
    ["short time_expired", shortOpen, 98, 60, "time_expired", 98, "1.603804"],
    ["short time_expired beats TP", shortOpen, 90, 60, "time_expired", 90, "9.619820"],
    ["short time_expired beats SL", shortOpen, 105, 60, "time_expired", 105, "-5.410210"],
  ] as const)("%s", (_name, state, price, minutes, closeReason, priceClose, pnlText) => {
    const now = T0 + minutes * M;
    const t = evaluate(state, price, now, config, identity);
    expect(t.state).toBeNull();
    const expectedPnl = pnl(state.signal.position, 100, priceClose, config);
    expect(t.result).toStrictEqual({
      action: "closed",
      signal: state.signal,
      closeReason,
      closeTimestamp: now,
      pnl: expectedPnl,
      currentPrice: priceClose,
      timestamp: now,
      ...base,
    });
    const result = t.result as Extract<TickResult, { action: "closed" }>;
    expect(result.pnl.priceOpen).toBe(100);
    expect(result.pnl.priceClose).toBe(priceClose);
    expect(result.currentPrice).toBe(result.pnl.priceClose);
    expect(result.pnl.pnlPercentage.toFixed(6)).toBe(pnlText);
  });

  it("uses the config's slippage and fee for the pnl", () => {
    const free = { ...config, CC_PERCENT_SLIPPAGE: 0, CC_PERCENT_FEE: 0 };
    const result = evaluate(longOpen, 110, T0 + M, free, identity).result as Extract<TickResult, { action: "closed" }>;
    expect(result.pnl.pnlPercentage).toBeCloseTo(10, 10);
  });
});

describe("evaluate: every result carries the identity, the tick time and backtest: false", () => {
  const now = T0 + 3 * M;
  it.each<[string, SignalState | null, number, SignalState | null]>([
    ["idle", null, 100, null],
    ["opened (new)", null, 100, longOpen],
    ["scheduled (new)", null, 100, longLimit],
    ["scheduled (waiting)", longLimit, 100, null],
    ["opened (activated)", longLimit, 99, null],
    ["cancelled", longLimit, 95, null],
    ["active", longOpen, 101, null],
    ["closed", longOpen, 110, null],
  ])("%s", (name, state, price, proposal) => {
    const { result } = evaluate(state, price, now, config, identity, proposal);
    expect(result.action).toBe(name.split(" ")[0]);
    expect(result.symbol).toBe("ETHUSDT");
    expect(result.strategyName).toBe("strat");
    expect(result.exchangeName).toBe("exch");
    expect(result.timestamp).toBe(now);
    expect(result.backtest).toBe(false);
  });
});
