// rxtrade/redis (Node only): a SignalStore on Redis whose locks are leases with fencing tokens.
// ioredis is an optional peer dependency, loaded on the first call (npm install ioredis).

// Stores
export { redisStore, type RedisStore, type RedisStoreOptions } from "./redisStore";
export type { RedisConnection } from "./redisConnection";
export type { RedisRelease } from "./redisLease";

// Fleet (workers claiming the pairs of a desired set by lease; see fleetWorker)
export { fleetWorker, type FleetClock, type FleetWorker, type FleetWorkerOptions, type FleetPairResolved } from "./fleetWorker";
export { fleetAdmin, fleetEvents$, type FleetAdmin, type FleetAdminOptions, type FleetEventsOptions, type FleetPutResult } from "./fleetAdmin";
export type { FleetPairSpec, FleetPairStatus, FleetPairView, FleetEvent } from "./fleetTypes";
export { EVENTS_MAXLEN } from "./fleetKeys";
export { FleetError } from "./fleetErrors";

// Rate limits (a token bucket per exchange account shared by every process; see ccxtExchange's rateLimiter option)
export { redisRateLimiter, type RedisRateLimiter, type RedisRateLimiterOptions, type RateLimitGrant } from "./rateLimiter";

// Errors (re-exported so instanceof works from this entry)
export { RedisConnectionError } from "./redisErrors";
export { RateLimitError } from "./rateLimiterErrors";
export * from "../errors";
