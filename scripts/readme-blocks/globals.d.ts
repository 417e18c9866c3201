// The names README.md's ```ts blocks use without declaring them: the values "your" code has.
// test/readme.blocks.test.ts type-checks every block as its own module with these in scope (a
// block that declares one of these names itself shadows it). Kept out of tsconfig's `include`,
// so no test or source file can lean on them.
import type { Observable } from "rxjs";
import type { Candle, ExchangeSchema, SignalStore, StrategySchema } from "rxtrade";

declare global {
  const strategy: StrategySchema;
  const asyncStrategy: StrategySchema;
  const exchange: ExchangeSchema;
  const store: SignalStore;
  const stop$: Observable<unknown>;
  const symbols: readonly string[];
  const candles: Candle[];
  const start: number;
  const end: number;
  /** A page's button (the browser example). */
  const stopButton: HTMLButtonElement;
  /** Canned `/api/v3/exchangeInfo` JSON (the ccxt testing example). */
  const exchangeInfo: unknown;
}
