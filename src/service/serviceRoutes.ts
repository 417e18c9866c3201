import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dashboardFile } from "./dashboardFiles";
import type { ServiceEventStream } from "./serviceEventStream";
import { send, sendJson, ServiceRouter } from "./serviceHttp";
import type { ServiceMetrics } from "./serviceMetrics";
import type { Service } from "./serviceTypes";

/** What the routes beyond `/metrics`, `/health` and `/api/pairs` need (a service with `http`). */
export interface ServiceRouteOptions {
  /** `GET /api/events`; without it, no event stream, no dashboard. */
  events?: ServiceEventStream;
  /** The drain routes' token; without one they answer 403 and the page shows no drain buttons. */
  token?: string;
}

// The page's own headers: no framing (a drain button cannot be clicked through another site),
// scripts and styles from this server only, no type guessing.
const PAGE_HEADERS = {
  "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

/**
 * The service's routes: `GET /metrics` (Prometheus text; absent without metrics), `GET /health`
 * (200 while no pair is stalled or failed, else 503 naming them) and `GET /api/pairs` (every
 * pair: id, status, open signal, statistics, equity curve; `?equity=false` leaves the curves
 * out). With an event stream: `GET /` (the dashboard), `GET /assets/<file>`, `GET /api/events`
 * (Server-Sent Events), and the drain routes `POST /api/pairs/<pair id>/drain` and
 * `POST /api/drain`, which need `Authorization: Bearer <token>` (403 without a configured
 * token, and for a missing or wrong one). HEAD answers as GET without the body.
 *
 * @param service reads the service (it exists once the routes are answered)
 * @param metrics the service's metrics, `undefined` when it runs without
 * @param options the event stream and the drain token
 */
export function serviceRouter(service: () => Service, metrics: ServiceMetrics | undefined, options: ServiceRouteOptions = {}): ServiceRouter {
  const router = new ServiceRouter();
  if (metrics !== undefined) {
    router.add({
      path: "/metrics",
      methods: {
        GET: async (_request, response) => send(response, 200, await metrics.text(), { "content-type": metrics.contentType }),
      },
    });
  }
  router.add({
    path: "/health",
    methods: {
      GET: (_request, response) => {
        const health = service().health();
        sendJson(response, health.status === "ok" ? 200 : 503, health);
      },
    },
  });
  router.add({
    path: "/api/pairs",
    methods: {
      GET: (request, response) => sendJson(response, 200, service().list({ equity: new URL(request.url ?? "/", "http://x").searchParams.get("equity") !== "false" })),
    },
  });
  const { events, token } = options;
  if (events === undefined) return router;

  router.add({
    path: "/",
    methods: {
      GET: async (_request, response) => {
        const page = (await (dashboardFile("index.html") as Promise<{ body: Buffer }>)).body.toString("utf8");
        send(response, 200, token === undefined ? page : page.replace('data-drain="off"', 'data-drain="on"'), { "content-type": "text/html; charset=utf-8", ...PAGE_HEADERS });
      },
    },
  });
  router.add({
    path: /^\/assets\/([\w.-]+)$/,
    methods: {
      GET: async (_request, response, match) => {
        const name = match?.[1] as string;
        const file = dashboardFile(name);
        if (file === undefined) {
          sendJson(response, 404, { error: `no asset ${name}; the dashboard is at /` });
          return;
        }
        const { body, type } = await file;
        response.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": "no-cache", "x-content-type-options": "nosniff" }).end(body);
      },
    },
  });
  router.add({ path: "/api/events", methods: { GET: events.handle } });

  const allowed = bearer(token);
  router.add({
    path: "/api/drain",
    methods: {
      POST: (request, response) => {
        if (!allowed(request, response)) return;
        const running = service().list({ equity: false }).filter((pair) => pair.status !== "done" && pair.status !== "failed").map((pair) => pair.id);
        service().drainAll(`POST /api/drain from ${request.socket.remoteAddress ?? "?"}`);
        sendJson(response, 200, { draining: running });
      },
    },
  });
  router.add({
    path: /^\/api\/pairs\/([^/]+)\/drain$/,
    methods: {
      POST: (request, response, match) => {
        if (!allowed(request, response)) return;
        let id: string;
        try {
          id = decodeURIComponent(match?.[1] as string);
        } catch {
          sendJson(response, 400, { error: `the pair id in ${JSON.stringify(match?.[1])} is not URL-encoded text; encode <symbol>:<strategy> with encodeURIComponent` });
          return;
        }
        const pairs = service().list({ equity: false });
        const pair = pairs.find((candidate) => candidate.id === id);
        if (pair === undefined) {
          const ids = pairs.slice(0, 10).map((candidate) => candidate.id);
          sendJson(response, 404, { error: `no pair ${JSON.stringify(id)} in this service; its pairs: ${ids.join(", ")}${pairs.length > 10 ? ", …" : ""} (GET /api/pairs)`, id });
          return;
        }
        if (!service().drain(id)) {
          sendJson(response, 409, { error: `pair ${id} has ended (${pair.status}): there is nothing to drain`, id, status: pair.status });
          return;
        }
        sendJson(response, 200, { id, draining: true });
      },
    },
  });
  return router;
}

/**
 * The drain routes' check: true when the request carries `Authorization: Bearer <token>`;
 * otherwise it answers 403, saying why. The token is compared in constant time (as SHA-256
 * digests, so its length does not show either).
 */
function bearer(token: string | undefined): (request: IncomingMessage, response: ServerResponse) => boolean {
  const expected = token === undefined ? undefined : digest(token);
  return (request, response) => {
    if (expected === undefined) {
      sendJson(response, 403, { error: "draining over HTTP is off: start the service with a token (rxtrade run --token, or RXTRADE_TOKEN) and send it as Authorization: Bearer <token>" });
      return false;
    }
    const given = /^Bearer[ ]+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
    if (given === undefined) {
      sendJson(response, 403, { error: "this route needs the service's token (--token or RXTRADE_TOKEN) as Authorization: Bearer <token>" });
      return false;
    }
    if (!timingSafeEqual(digest(given), expected)) {
      sendJson(response, 403, { error: "wrong token: send the service's --token (or RXTRADE_TOKEN) as Authorization: Bearer <token>" });
      return false;
    }
    return true;
  };
}

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}
