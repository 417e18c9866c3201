import type { IncomingMessage, ServerResponse } from "node:http";
import type { Observable, Subscription } from "rxjs";
import { eventJsonText } from "./serviceEventJson";
import type { ServiceEvent } from "./serviceTypes";

/** A comment line every this many ms keeps idle event streams (and the proxies on their way) open. */
export const EVENT_HEARTBEAT_MS = 15_000;
/** `/api/events` clients at most at once (each holds a connection and a buffer): one more is answered 503. */
export const EVENT_MAX_CLIENTS = 100;
/** A client with more than this many bytes not yet taken by its connection is dropped. */
export const EVENT_BUFFER_BYTES = 1024 * 1024;
/** The latest events a new client gets first (those after its `Last-Event-ID` when it reconnects). */
export const EVENT_BACKLOG = 100;
/** Events go out together at most this many ms after the first of them… */
const FLUSH_MS = 100;
/** …or at once when this many bytes of them are waiting. */
const FLUSH_BYTES = 64 * 1024;

/** Options of `ServiceEventStream`. */
export interface EventStreamOptions {
  /** Default `EVENT_HEARTBEAT_MS` (15 s). */
  heartbeatMs?: number;
  /** Default `EVENT_BUFFER_BYTES` (1 MiB). */
  bufferBytes?: number;
  /** Clients at most at once; one more is answered 503 (default `EVENT_MAX_CLIENTS`, 100). */
  maxClients?: number;
  /** Told of each client dropped for being too slow (a log line). */
  onDropped?: (client: { remote: string; bufferedBytes: number; limitBytes: number }) => void;
}

interface Client {
  readonly response: ServerResponse;
  readonly remote: string;
}

interface Recent {
  readonly id: number;
  readonly event: ServiceEvent;
  /** Its frame, made when a client first needs it. */
  frame?: string;
}

/**
 * `GET /api/events`: a service's events as Server-Sent Events, each one `id:` line and one
 * `data:` line of JSON (`eventJson`), a comment line every 15 s. Events go out together, one
 * write per client, within 0.1 s (at once when 64 KiB of them wait): a burst of closes costs
 * one write, not one each, and a client never makes a tick wait. A client whose connection does
 * not take what is written is dropped — its connection closed — when the events to write would
 * make more than `bufferBytes` wait (a client holding nothing gets them anyway), instead of
 * holding memory; one that disconnects is forgotten at once. A new client first gets the latest 100 events (after
 * its `Last-Event-ID` when its browser reconnects).
 */
export class ServiceEventStream {
  /** Clients dropped for being too slow, since the start. */
  dropped = 0;
  private readonly clients = new Set<Client>();
  /** The latest events, a ring of `EVENT_BACKLOG`: `next` is where the next one goes. */
  private readonly recent: Recent[] = [];
  private next = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private nextId = 1;
  /** The ids' prefix: when this stream started (epoch ms). An id of another run (a restarted process) is not one of these. */
  private readonly run = String(Date.now());
  private readonly subscription: Subscription;
  private readonly heartbeat: ReturnType<typeof setInterval>;
  private readonly bufferBytes: number;
  private closed = false;

  constructor(
    events$: Observable<ServiceEvent>,
    private readonly options: EventStreamOptions = {},
  ) {
    this.bufferBytes = options.bufferBytes ?? EVENT_BUFFER_BYTES;
    this.subscription = events$.subscribe((event) => this.add(event));
    this.heartbeat = setInterval(() => this.broadcast(": heartbeat\n\n"), options.heartbeatMs ?? EVENT_HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  /** Clients connected now. */
  get size(): number {
    return this.clients.size;
  }

  /** The route handler of `GET /api/events` (HEAD: the headers only). */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const max = this.options.maxClients ?? EVENT_MAX_CLIENTS;
    if (request.method !== "HEAD" && this.clients.size >= max) {
      const body = `${JSON.stringify({ error: `too many event clients: ${max} are connected (http.maxEventClients); try again later` })}\n`;
      response.writeHead(503, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), "cache-control": "no-store", "retry-after": "10" }).end(body);
      return;
    }
    response.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-store",
      // nginx buffers proxied answers unless told not to: events would come late, in bursts.
      "x-accel-buffering": "no",
    });
    if (request.method === "HEAD" || this.closed) {
      response.end();
      return;
    }
    // The events still waiting go to the clients already here; the new one gets them in its backlog.
    this.flush();
    const client: Client = { response, remote: `${request.socket.remoteAddress ?? "?"}:${request.socket.remotePort ?? "?"}` };
    this.clients.add(client);
    response.on("close", () => this.clients.delete(client));
    // `<run>-<n>`: an id of this run gets the events after it; of another run (the process
    // restarted: its numbers start again at 1), or not an id at all, the whole backlog.
    const last = /^(\d+)-(\d+)$/.exec(String(request.headers["last-event-id"] ?? "").trim());
    const since = last !== null && last[1] === this.run ? Number(last[2]) : 0;
    const backlog: string[] = [];
    // Oldest first: from `next` round the ring (its unused slots are empty).
    for (let k = 0; k < EVENT_BACKLOG; k++) {
      const entry = this.recent[(this.next + k) % EVENT_BACKLOG];
      if (entry !== undefined && !(entry.id <= since)) backlog.push(this.frame(entry));
    }
    this.write(client, `retry: 2000\n\n${backlog.join("")}`);
  };

  /** Sends what is waiting and ends every client's stream (the service is done). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    this.subscription.unsubscribe();
    clearInterval(this.heartbeat);
    for (const client of this.clients) client.response.end();
    this.clients.clear();
  }

  private add(event: ServiceEvent): void {
    const entry: Recent = { id: this.nextId++, event };
    this.recent[this.next] = entry;
    this.next = (this.next + 1) % EVENT_BACKLOG;
    if (this.clients.size === 0) return;
    const frame = this.frame(entry);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_MS);
  }

  private frame(entry: Recent): string {
    entry.frame ??= `id: ${this.run}-${entry.id}\ndata: ${eventJsonText(entry.event)}\n\n`;
    return entry.frame;
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const chunk = this.pending.join("");
    this.pending = [];
    this.pendingBytes = 0;
    this.broadcast(chunk);
  }

  private broadcast(chunk: string): void {
    for (const client of this.clients) this.write(client, chunk);
  }

  private write(client: Client, chunk: string): void {
    const { response } = client;
    const buffered = response.writableLength;
    // A client that took everything gets the whole chunk (one turn's events may be more than the
    // limit); one still holding earlier events must have room for it.
    if (buffered > 0 && buffered + chunk.length > this.bufferBytes) {
      this.clients.delete(client);
      this.dropped++;
      response.destroy();
      this.options.onDropped?.({ remote: client.remote, bufferedBytes: buffered, limitBytes: this.bufferBytes });
      return;
    }
    response.write(chunk);
  }
}
