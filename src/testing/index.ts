// Virtual time
export { VirtualClock } from "./virtualClock";
export { createTestScheduler } from "./testScheduler";

// Market data
export { candlesFromPrices, candlesFromMarble, type CandleOptions } from "./candles";
export { marbleExchange } from "./replayMarble";
