import { RxTradeError } from "../errors";

/**
 * A fleet worker cannot do what was asked: its name is taken by a live worker of the fleet, or
 * a pair of the desired set cannot run (its strategy's name does not match its id).
 */
export class FleetError extends RxTradeError {
  override readonly name = "FleetError";
  /** The pair, when the failure is one pair's. */
  readonly pair: string | undefined;
  constructor(message: string, pair?: string, cause?: unknown) {
    super(`rxtrade: ${message}`, {}, cause);
    this.pair = pair;
  }
}
