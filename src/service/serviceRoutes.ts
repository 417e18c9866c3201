import type { Service } from "./serviceTypes";
import { send, sendJson, ServiceRouter } from "./serviceHttp";
import type { ServiceMetrics } from "./serviceMetrics";

/**
 * The service's routes: `GET /metrics` (Prometheus text; absent without metrics), `GET /health`
 * (200 while no pair is stalled or failed, else 503 naming them) and `GET /api/pairs` (every
 * pair: id, status, open signal, statistics). HEAD answers as GET without the body.
 *
 * @param service reads the service (it exists once the routes are answered)
 * @param metrics the service's metrics, `undefined` when it runs without
 */
export function serviceRouter(service: () => Service, metrics: ServiceMetrics | undefined): ServiceRouter {
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
    methods: { GET: (_request, response) => sendJson(response, 200, service().list()) },
  });
  return router;
}
