import { Counter, Histogram, type Registry } from '@gatehouse/observability';
import type { NextFunction, Request, Response } from 'express';

/** Requests to the admin API by method, route pattern (never the ids in the path) and status. */
export function httpMetrics(registry: Registry) {
  const requests = new Counter({
    name: 'gatehouse_api_requests_total',
    help: 'Admin API requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'gatehouse_api_request_duration_seconds',
    help: 'Admin API request duration by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  return (req: Request, res: Response, next: NextFunction) => {
    const start = performance.now();
    res.once('finish', () => {
      // Matched routes only: a path never becomes a label (unknown paths are one series).
      // (Nest answers unknown paths from a catch-all route: that one counts as unmatched too.)
      const pattern: unknown = (req.route as { path?: unknown } | undefined)?.path;
      const route =
        typeof pattern === 'string' && !pattern.includes('*') ? `${req.baseUrl}${pattern}` : req.path.startsWith('/client/') ? 'unmatched' : 'other';
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      duration.observe({ method: req.method, route }, (performance.now() - start) / 1000);
    });
    next();
  };
}
