import type { Redis, RedisOptions } from "ioredis";
import { getConfig } from "../config";
import { CallTimeoutError } from "../errors";
import { RedisConnectionError } from "./redisErrors";

/** Where `redisStore` gets its Redis: a URL (the store creates and owns the client) or your own ioredis client. */
export type RedisConnection =
  | {
      /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
      url: string;
      /** ioredis options, applied over the store's (see `redisStore`). */
      clientOptions?: RedisOptions;
    }
  | {
      /** An ioredis client you created; the store never closes it. */
      client: Redis;
    };

export interface LinkOptions {
  reconnectMinMs: number;
  reconnectMaxMs: number;
  callTimeoutMs: number | undefined;
  /** What sets `callTimeoutMs`, as its timeout errors name it; default "redisStore option callTimeoutMs". */
  callTimeoutName?: string;
  report(error: Error): void;
}

type IoRedisModule = { Redis?: unknown; default?: unknown };

let clients = 0;
const clientIds = new WeakMap<object, number>();

/**
 * One Redis connection as the store uses it: created on first use (ioredis is loaded only then),
 * every call run once the connection is ready and within its time limit, and connection
 * failures reported once per outage.
 */
export class RedisLink {
  /** The URL without its password, or "the given ioredis client". */
  readonly where: string;
  /** Names the server (or the given client) for the lock queue shared by stores of one Redis. */
  readonly scope: string;
  private client: Redis | undefined;
  private opening: Promise<Redis> | undefined;
  private gate: { promise: Promise<void>; resolve(): void; reject(error: Error): void } | undefined;
  private lastError: Error | undefined;
  /** An outage was reported and the connection has not been ready since. */
  private reported = false;
  private readonly detach: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly connection: RedisConnection,
    private readonly options: LinkOptions,
  ) {
    if ("client" in connection) {
      let id = clientIds.get(connection.client);
      if (id === undefined) clientIds.set(connection.client, (id = ++clients));
      this.where = "the given ioredis client";
      this.scope = `client#${id}`;
    } else {
      this.where = redact(connection.url);
      this.scope = this.where;
    }
  }

  /** The time limit of one call, ms, and the setting it comes from. */
  limit(): { ms: number; key: string } {
    const { callTimeoutMs } = this.options;
    if (callTimeoutMs !== undefined) return { ms: callTimeoutMs, key: this.options.callTimeoutName ?? "redisStore option callTimeoutMs" };
    return { ms: getConfig().CC_STORE_TIMEOUT_SECONDS * 1000, key: "CC_STORE_TIMEOUT_SECONDS" };
  }

  /**
   * Runs `command` once the connection is ready; rejects when it has not settled within the
   * limit (`CallTimeoutError`, naming the connection's last error while it is down). A command
   * is sent only while the connection is ready, never queued for later: one that timed out
   * waiting for the connection was never sent.
   *
   * @param what the call, for the error, e.g. `write(BTCUSDT:momentum)`
   * @param command the Redis call
   * @param limit a shorter limit than the store's (the lease renewal's)
   * @param late told of the command's outcome when it comes after the limit (a renewal's answer still counts)
   */
  call<T>(what: string, command: (client: Redis) => Promise<T>, limit = this.limit(), late?: (outcome: { value?: T; error?: unknown }) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        const down = this.client?.status === "ready" || this.lastError === undefined ? "" : ` (Redis at ${this.where} is not connected: ${this.lastError.message})`;
        reject(new CallTimeoutError(`redis ${what}${down}`, limit.key, limit.ms));
      }, limit.ms);
      const finish = (outcome: { value?: T; error?: unknown }) => {
        if (settled) {
          late?.(outcome);
          return;
        }
        settled = true;
        clearTimeout(timer);
        if ("error" in outcome) reject(outcome.error);
        else resolve(outcome.value as T);
      };
      this.ready()
        .then((client) => {
          if (settled) return undefined; // timed out waiting: never sent
          return command(client).then(
            (value) => finish({ value }),
            (error: unknown) => finish({ error }),
          );
        })
        .catch((error: unknown) => finish({ error }));
    });
  }

  /** Disconnects the client the store created (QUIT, then a hard close after 1 s); a given client is left open. */
  async close(): Promise<void> {
    this.closed = true;
    for (const off of this.detach.splice(0)) off();
    const client = this.client;
    this.client = undefined;
    this.opening = undefined;
    if (client === undefined || "client" in this.connection) return;
    const quit = client.quit().catch(() => undefined);
    const timer = new Promise((resolve) => setTimeout(resolve, 1_000).unref?.());
    await Promise.race([quit, timer]);
    client.disconnect();
  }

  /** The client, once its connection is ready. */
  private async ready(): Promise<Redis> {
    if (this.closed) throw new RedisConnectionError(this.where, `this redisStore of ${this.where} was closed (store.close()); create a new one`);
    const client = this.client ?? (await this.open());
    if (client.status === "ready") return client;
    if (client.status === "end") {
      throw new RedisConnectionError(this.where, `the connection to Redis at ${this.where} is closed (the client was quit or gave up reconnecting)`, this.lastError);
    }
    if (client.status === "wait") client.connect().catch(() => undefined); // a given client created with lazyConnect
    if (this.gate === undefined) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((yes, no) => ((resolve = yes), (reject = no)));
      promise.catch(() => undefined); // its waiters may all have timed out
      this.gate = { promise, resolve, reject };
    }
    await this.gate.promise;
    return client;
  }

  private open(): Promise<Redis> {
    this.opening ??= this.create().then(
      (client) => {
        this.watch(client);
        this.client = client;
        return client;
      },
      (error: unknown) => {
        this.opening = undefined; // try again on the next call
        throw error;
      },
    );
    return this.opening;
  }

  private async create(): Promise<Redis> {
    if ("client" in this.connection) return this.connection.client;
    let module: IoRedisModule;
    try {
      module = (await import("ioredis")) as IoRedisModule;
    } catch (cause) {
      throw new RedisConnectionError(
        this.where,
        `rxtrade/redis needs the ioredis package (an optional peer dependency) to connect to ${this.where}: npm install ioredis`,
        cause,
      );
    }
    // ioredis 6 (and 5.x from some release) names its class `Redis`; 5.0 has only its CommonJS
    // default. A module namespace may throw on a name it lacks (test mocks do), hence `get`.
    const get = (from: unknown, name: "Redis" | "default"): unknown => {
      try {
        return (from as IoRedisModule | undefined)?.[name];
      } catch {
        return undefined;
      }
    };
    const inner = get(module, "default");
    const Client = [get(module, "Redis"), get(inner, "Redis"), get(inner, "default"), inner].find((candidate) => typeof candidate === "function") as
      | (new (url: string, options: RedisOptions) => Redis)
      | undefined;
    if (Client === undefined) throw new RedisConnectionError(this.where, "the installed ioredis package exports no Redis client class; install ioredis 5 or 6 (npm install ioredis)");
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    return new Client(this.connection.url, {
      // A call is sent only while connected (the store waits for "ready" within the call's
      // limit), and one in flight when the connection drops fails at once instead of being sent
      // again after the reconnect: nothing the caller gave up on is applied later.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      // Exponential backoff with jitter, so that a fleet does not reconnect in step.
      retryStrategy: (attempt) => Math.round(Math.min(reconnectMaxMs, reconnectMinMs * 2 ** (attempt - 1)) * (0.8 + 0.4 * Math.random())),
      ...this.connection.clientOptions,
    });
  }

  private watch(client: Redis): void {
    const onReady = () => {
      this.reported = false;
      this.lastError = undefined;
      const gate = this.gate;
      this.gate = undefined;
      gate?.resolve();
    };
    const onError = (error: Error) => this.outage(error);
    const onClose = () => this.outage(new Error("the connection was closed"));
    const onEnd = () => {
      const gate = this.gate;
      this.gate = undefined;
      gate?.reject(new RedisConnectionError(this.where, `the connection to Redis at ${this.where} is closed (the client was quit or gave up reconnecting)`, this.lastError));
    };
    client.on("ready", onReady);
    client.on("error", onError);
    client.on("close", onClose);
    client.on("end", onEnd);
    this.detach.push(() => {
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("close", onClose);
      client.off("end", onEnd);
    });
  }

  private outage(cause: Error): void {
    // "close" follows an "error"; the error says more.
    if (this.lastError === undefined || cause.message !== "the connection was closed") this.lastError = cause;
    if (this.reported) return;
    this.reported = true;
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    const reconnect =
      "client" in this.connection
        ? "the client reconnects as its retryStrategy says"
        : `reconnecting with backoff (${reconnectMinMs} to ${reconnectMaxMs} ms between attempts)`;
    this.options.report(
      new RedisConnectionError(
        this.where,
        `the connection to Redis at ${this.where} failed: ${cause.message}; ${reconnect}. Store calls wait for it within their time limit, ` +
          "then fail (the engine retries its ticks); check that Redis is running and reachable",
        cause,
      ),
    );
  }
}

/** The URL with its password replaced by `***`. */
export function redact(url: string): string {
  return url.replace(/^(\w+:\/\/)([^@/]*)@/, (_, scheme: string, auth: string) => `${scheme}${auth.includes(":") ? `${auth.slice(0, auth.indexOf(":"))}:***` : "***"}@`);
}
