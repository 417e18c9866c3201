// Operators: the pieces liveTrade$ is composed of, in pipeline order.
export { restoreState, RestoredState } from "./restoreState";
export { tick, type TickSession } from "./tick";
export { persistState } from "./persistState";
export { emitEvents } from "./emitEvents";
export { retryAfter } from "./retryAfter";
export { lockKey } from "./lockKey";
export { stopGate } from "./stopGate";
export { keepOpenedClosed } from "./keepOpenedClosed";
export { StopLatch, listenStop, type StopListener } from "./stopLatch";

// Errors (re-exported so instanceof works from this entry)
export * from "../src/errors";
