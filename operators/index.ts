// Operators: the pieces liveTrade$ is composed of, in pipeline order. Its retry and its last
// filter are rxjs's own `retry({ delay })` and `filter(isOpenedOrClosed)`; `retryAfter` and
// `keepOpenedClosed` are those two, kept by name for pipelines of your own.
export { restoreState } from "./restoreState";
export { tick, type TickOptions, type TickSession } from "./tick";
export { persistState } from "./persistState";
export { emitEvents } from "./emitEvents";
export { retryAfter } from "./retryAfter";
export { isFatalError } from "./isFatalError";
export { StallWatch } from "./watchStall";
export { lockKey } from "./lockKey";
export { stopGate } from "./stopGate";
export { keepOpenedClosed } from "./keepOpenedClosed";
export { isOpenedOrClosed } from "./isOpenedOrClosed";
export { StopRequest, listenStop, type StopListener } from "./stopRequest";

// Errors (re-exported so instanceof works from this entry)
export * from "../src/errors";
