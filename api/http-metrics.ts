// HTTP latency per route for Prometheus, and the /readyz checks as gauges, so an alert rule can say which dependency
// of which process is failing without an HTTP probe of its own.
import type { FastifyInstance } from 'fastify';
import { Gauge, Histogram, type Registry } from 'prom-client';

/** Seconds: a page of the console is ~10 ms; evidence images and long reading ranges take up to seconds. */
const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The route label of a request: fastify's route pattern (`/api/alerts/:id/ack`), never the URL itself, whose ids
 * and query strings would make one series per request. Requests that match no route share one label.
 */
export function routeLabel(pattern: string | undefined): string {
  return pattern ?? 'unmatched';
}

/** `2xx`, `4xx`, `5xx`: the class is what an alert asks about; single codes would multiply the series. */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** Times every response of `app` (root hooks apply to the plugins registered after them). */
export function httpMetrics(app: FastifyInstance, registry: Registry): void {
  const seconds = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request time from receipt to the response sent, by route pattern, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    buckets: BUCKETS,
    registers: [registry],
  });
  app.addHook('onResponse', async (req, reply) => {
    seconds.observe(
      { route: routeLabel(req.routeOptions.url), method: req.method, status_class: statusClass(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
}

/**
 * `readiness_check{check}`: 1 while a /readyz check passes, 0 while it fails, evaluated at scrape time like /readyz
 * itself (a gauge set only when someone called /readyz would go stale).
 */
export function readinessMetrics(
  registry: Registry,
  checks: () => Record<string, () => boolean | Promise<boolean>>,
): void {
  new Gauge({
    name: 'readiness_check',
    help: 'Result of each /readyz check at scrape time (1 passing, 0 failing)',
    labelNames: ['check'] as const,
    registers: [registry],
    async collect() {
      for (const [name, check] of Object.entries(checks())) {
        const ok = await Promise.resolve()
          .then(check)
          .catch(() => false);
        this.set({ check: name }, ok ? 1 : 0);
      }
    },
  });
}
