// Virtual time
export { VirtualClock, type VirtualClockOptions } from "./virtualClock";
export { createTestScheduler } from "./testScheduler";

// Market data
export { candlesFromPrices, candlesFromMarble, type CandleOptions } from "./candles";
export { marbleExchange } from "./replayMarble";

// Strategies
export { scriptedStrategy, type ScriptedStrategy } from "./scriptedStrategy";

// Errors (re-exported so instanceof works from this entry)
export * from "../errors";
