// rxtrade/redis (Node only): a SignalStore on Redis whose locks are leases with fencing tokens.
// ioredis is an optional peer dependency, loaded on the first call (npm install ioredis).

// Stores
export { redisStore, type RedisStore, type RedisStoreOptions } from "./redisStore";
export type { RedisConnection } from "./redisConnection";
export type { RedisRelease } from "./redisLease";

// Errors (re-exported so instanceof works from this entry)
export { RedisConnectionError } from "./redisErrors";
export * from "../errors";
