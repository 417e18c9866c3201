import type { Config } from "./config";
import type { Pnl, Position } from "./model";

/**
 * Net PnL of a round trip in percent, after slippage and fees on both sides.
 *
 * long:  open' = open(1+s), close' = close(1-s), pnl = (close'-open')/open' x 100 - 2f
 * short: open' = open(1-s), close' = close(1+s), pnl = (open'-close')/open' x 100 - 2f
 *
 * @example
 * pnl("long", 100, 101, getConfig()).pnlPercentage; // 0.598202…
 */
export function pnl(
  position: Position,
  priceOpen: number,
  priceClose: number,
  config: Pick<Config, "CC_PERCENT_SLIPPAGE" | "CC_PERCENT_FEE">,
): Pnl {
  const s = config.CC_PERCENT_SLIPPAGE / 100;
  const fees = 2 * config.CC_PERCENT_FEE;
  let pnlPercentage: number;
  if (position === "long") {
    const open = priceOpen * (1 + s);
    const close = priceClose * (1 - s);
    pnlPercentage = ((close - open) / open) * 100 - fees;
  } else {
    const open = priceOpen * (1 - s);
    const close = priceClose * (1 + s);
    pnlPercentage = ((open - close) / open) * 100 - fees;
  }
  return { pnlPercentage, priceOpen, priceClose };
}
