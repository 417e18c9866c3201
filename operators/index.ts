// Operators: the pieces liveTrade$ is composed of, in pipeline order.
export { restoreState } from "./restoreState";
export { tick, type TickOptions, type TickSession } from "./tick";
export { persistState } from "./persistState";
export { emitEvents } from "./emitEvents";
export { retryAfter } from "./retryAfter";
export { StallWatch } from "./watchStall";
export { lockKey } from "./lockKey";
export { stopGate } from "./stopGate";
export { keepOpenedClosed } from "./keepOpenedClosed";
export { StopRequest, listenStop, type StopListener } from "./stopRequest";

// Errors (re-exported so instanceof works from this entry)
export * from "../src/errors";
