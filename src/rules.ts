import type { Config } from "./config";
import { MINUTE_MS, type TickResult } from "./model";
import { pnl } from "./pnl";
import type { SignalState, StreamIdentity } from "./signal";

/** The state after a tick and what the tick reports. */
export interface Transition {
  /** `null`: nothing open or scheduled. The same object as before when nothing changed. */
  readonly state: SignalState | null;
  readonly result: TickResult;
}

type RuleConfig = Pick<Config, "CC_SCHEDULE_AWAIT_MINUTES" | "CC_PERCENT_SLIPPAGE" | "CC_PERCENT_FEE">;

/**
 * The trading rules: one tick of one stream, as a pure function of the state, the price, the
 * time and the config.
 *
 * - nothing held: `proposal` (a new signal from `createSignal`) starts as `opened` or
 *   `scheduled`; without one the tick is `idle`;
 * - scheduled: cancelled (`timeout`) once `now - scheduledAt` reaches CC_SCHEDULE_AWAIT_MINUTES;
 *   cancelled (`stop_loss`) when the price crosses the stop loss first; `opened` when the price
 *   reaches `priceOpen` (long: <=, short: >=), with `pendingAt = now`; else `scheduled`;
 * - opened, checked in this order: `time_expired` once `now - pendingAt` reaches
 *   `minuteEstimatedTime` (closes at the price); `take_profit` (closes at exactly
 *   priceTakeProfit); `stop_loss` (closes at exactly priceStopLoss); else `active`.
 *
 * A `closed` result's `currentPrice` is its close price.
 */
export function evaluate(
  state: SignalState | null,
  price: number,
  now: number,
  config: RuleConfig,
  identity: StreamIdentity,
  proposal: SignalState | null = null,
): Transition {
  const { symbol, strategyName, exchangeName } = identity;
  if (state === null) {
    if (proposal === null) {
      return {
        state,
        result: { action: "idle", signal: null, symbol, strategyName, exchangeName, currentPrice: price, timestamp: now, backtest: false },
      };
    }
    return {
      state: proposal,
      result: {
        action: proposal.status === "scheduled" ? "scheduled" : "opened",
        signal: proposal.signal,
        symbol,
        strategyName,
        exchangeName,
        currentPrice: price,
        timestamp: now,
        backtest: false,
      },
    };
  }

  const signal = state.signal;
  const long = signal.position === "long";

  if (state.status === "scheduled") {
    const expired = now - signal.scheduledAt >= config.CC_SCHEDULE_AWAIT_MINUTES * MINUTE_MS;
    if (expired || (long ? price <= signal.priceStopLoss : price >= signal.priceStopLoss)) {
      return {
        state: null,
        result: {
          action: "cancelled",
          signal,
          cancelReason: expired ? "timeout" : "stop_loss",
          closeTimestamp: now,
          symbol,
          strategyName,
          exchangeName,
          currentPrice: price,
          timestamp: now,
          backtest: false,
        },
      };
    }
    if (long ? price <= signal.priceOpen : price >= signal.priceOpen) {
      const opened: SignalState = { status: "opened", signal: { ...signal, pendingAt: now } };
      return {
        state: opened,
        result: { action: "opened", signal: opened.signal, symbol, strategyName, exchangeName, currentPrice: price, timestamp: now, backtest: false },
      };
    }
    return {
      state,
      result: { action: "scheduled", signal, symbol, strategyName, exchangeName, currentPrice: price, timestamp: now, backtest: false },
    };
  }

  let priceClose: number | undefined;
  let closeReason: "time_expired" | "take_profit" | "stop_loss" | undefined;
  if (now - signal.pendingAt >= signal.minuteEstimatedTime * MINUTE_MS) {
    priceClose = price;
    closeReason = "time_expired";
  } else if (long ? price >= signal.priceTakeProfit : price <= signal.priceTakeProfit) {
    priceClose = signal.priceTakeProfit;
    closeReason = "take_profit";
  } else if (long ? price <= signal.priceStopLoss : price >= signal.priceStopLoss) {
    priceClose = signal.priceStopLoss;
    closeReason = "stop_loss";
  }
  if (closeReason !== undefined && priceClose !== undefined) {
    return {
      state: null,
      result: {
        action: "closed",
        signal,
        closeReason,
        closeTimestamp: now,
        pnl: pnl(signal.position, signal.priceOpen, priceClose, config),
        symbol,
        strategyName,
        exchangeName,
        currentPrice: priceClose,
        timestamp: now,
        backtest: false,
      },
    };
  }

  const move = long ? price - signal.priceOpen : signal.priceOpen - price;
  const toTp = Math.abs(signal.priceTakeProfit - signal.priceOpen);
  const toSl = Math.abs(signal.priceOpen - signal.priceStopLoss);
  return {
    state,
    result: {
      action: "active",
      signal,
      percentTp: move > 0 ? (move / toTp) * 100 : 0,
      percentSl: move < 0 ? (-move / toSl) * 100 : 0,
      symbol,
      strategyName,
      exchangeName,
      currentPrice: price,
      timestamp: now,
      backtest: false,
    },
  };
}

/**
 * Whether `result` is the tick that created its signal (`opened` at once, or `scheduled` for a
 * limit entry): the rules stamp a new signal with its tick's time. The one place that says so,
 * for the stages that write or announce a new signal (persistState, emitEvents).
 */
export function createdSignal(result: TickResult): boolean {
  return result.signal !== null && result.timestamp === result.signal.scheduledAt && (result.action === "scheduled" || result.action === "opened");
}

/** Whether a signal is open or scheduled after a tick that reported `result`. */
export function holdsSignal(result: TickResult): boolean {
  const action = result.action;
  return action === "scheduled" || action === "opened" || action === "active";
}
