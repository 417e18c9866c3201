import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Answers one request of a route; `match` is the route's RegExp match (`null` for a plain path). */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, match: RegExpExecArray | null) => void | Promise<void>;

/** A path (exact, or a RegExp on the path without its query) and its handlers by method; HEAD is GET without the body. */
export interface Route {
  path: string | RegExp;
  methods: Partial<Record<"GET" | "POST" | "PUT" | "DELETE", RouteHandler>>;
}

/**
 * The service's routes: an unknown path is 404, a known path with another method 405 (with
 * `Allow`), `HEAD` runs `GET` and Node leaves the body out (the headers, `Content-Length`
 * included, stay). A handler that throws or rejects is a 500. Routes can be added later
 * (`add`), so more pages plug in beside `/metrics`, `/health` and `/api/pairs`.
 */
export class ServiceRouter {
  private readonly routes: Route[] = [];

  add(route: Route): this {
    this.routes.push(route);
    return this;
  }

  /** The `(request, response)` listener of `http.createServer`. */
  /** The Host headers it answers (see `hostCheck`); every one while unset. */
  allowsHost: ((host: string) => boolean) | undefined;

  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const host = request.headers.host;
    if (host !== undefined && this.allowsHost !== undefined && !this.allowsHost(host)) {
      sendJson(response, 403, {
        error: `Host ${JSON.stringify(host)} is not a name of this server: a request through another name (a DNS rebinding) is refused; use the address it listens on, or add the name to http.allowedHosts`,
      });
      return;
    }
    const path = (request.url ?? "/").split("?")[0] as string;
    const method = (request.method ?? "GET").toUpperCase();
    for (const route of this.routes) {
      const match = typeof route.path === "string" ? (route.path === path ? null : undefined) : route.path.exec(path) ?? undefined;
      if (match === undefined) continue;
      const handler = route.methods[(method === "HEAD" ? "GET" : method) as keyof Route["methods"]];
      if (handler === undefined) {
        const allowed = Object.keys(route.methods).flatMap((name) => (name === "GET" ? ["GET", "HEAD"] : [name]));
        sendJson(response, 405, { error: `${method} is not allowed on ${path}; use ${allowed.join(" or ")}` }, { allow: allowed.join(", ") });
        return;
      }
      const failed = (error: unknown) => {
        if (response.headersSent) response.destroy();
        else sendJson(response, 500, { error: `${method} ${path} failed: ${error instanceof Error ? error.message : String(error)}` });
      };
      try {
        const pending = handler(request, response, match);
        if (pending !== undefined) pending.catch(failed);
      } catch (error) {
        failed(error);
      }
      return;
    }
    const known = this.routes.filter((route) => typeof route.path === "string").map((route) => `${Object.keys(route.methods).join("/")} ${route.path as string}`);
    sendJson(response, 404, { error: `nothing at ${path}; try ${known.join(", ")}` });
  };
}

/** A JSON answer with its length (so HEAD gets the same headers as GET). */
export function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  send(response, status, `${JSON.stringify(body)}\n`, { "content-type": "application/json; charset=utf-8", ...headers });
}

/** A text answer with its length. */
export function send(response: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  response.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body), "cache-control": "no-store" }).end(body);
}

/** A listening HTTP server: where, and how to close it (with its open connections). */
export interface ServiceServer {
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:9464` (an IPv6 host in brackets). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Listens on `host:port` (port 0: a free one) with `router`; rejects when the address cannot be
 * bound (in use, not this machine's) before anything else has started.
 */
/**
 * Which `Host` headers a server bound to `bound` answers: the bound address, the loopback
 * names and `allowed` (names, any port); a server bound to a wildcard address (`0.0.0.0`, `::`,
 * empty) takes every Host unless `allowed` is given. `undefined`: every Host.
 */
export function hostCheck(bound: string, allowed: readonly string[] = []): ((host: string) => boolean) | undefined {
  const wildcard = bound === "" || bound === "0.0.0.0" || bound === "::" || bound === "[::]";
  if (wildcard && allowed.length === 0) return undefined;
  const names = new Set(["localhost", "127.0.0.1", "::1", ...(wildcard ? [] : [bound]), ...allowed].map((name) => name.toLowerCase().replace(/^\[(.*)\]$/, "$1")));
  return (header) => {
    const text = header.trim().toLowerCase();
    // [::1]:9464, 127.0.0.1:9464, example.com:9464, example.com (the port is not checked).
    const name = text.startsWith("[") ? text.slice(1, text.indexOf("]") === -1 ? undefined : text.indexOf("]")) : text.replace(/:\d*$/, "");
    return names.has(name.replace(/\.$/, ""));
  };
}

export async function listen(router: ServiceRouter, host: string, port: number, allowedHosts?: readonly string[]): Promise<ServiceServer> {
  router.allowsHost = hostCheck(host, allowedHosts);
  const server: Server = createServer(router.handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(":") ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  return {
    host,
    port: bound,
    url: `http://${shownHost}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections (and, later, event streams) would hold close() open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
