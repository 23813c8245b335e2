import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import express from 'express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { AppModule } from './app.module.js';
import type { ApiEnv } from './config/env.js';
import { dashboardHandlers } from './http/dashboard.js';
import { PinoLogger, bootLogger, listenOrClose } from '@gatehouse/nest-kit';
import { createServiceRegistry } from '@gatehouse/observability';
import { httpMetrics } from './http/http-metrics.js';
import { HttpErrorFilter } from './http/http-error.filter.js';
import { jsonBody } from './http/json-body.middleware.js';

/** Creates and starts the admin API (used by main.ts and by tests); port 0 picks a free one. */
export async function startApi(env: ApiEnv): Promise<{ app: NestExpressApplication; url: string }> {
  const registry = createServiceRegistry('api');
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(env, registry), {
    bodyParser: false,
    logger: bootLogger({ service: 'api', level: env.GATEHOUSE_LOG_LEVEL, format: env.GATEHOUSE_LOG_FORMAT }),
    abortOnError: false,
  });
  app.useLogger(app.get(PinoLogger));
  app.set('trust proxy', 'loopback');
  app.disable('x-powered-by');
  app.use(httpMetrics(registry));
  app.use(securityHeaders);
  app.use(jsonBody());
  app.useGlobalFilters(new HttpErrorFilter());
  app.use('/docs/assets', express.static(getAbsoluteFSPath(), { maxAge: '1d' }));
  const dashboard = env.GATEHOUSE_DASHBOARD_DIR;
  if (dashboard && existsSync(join(dashboard, 'index.html'))) {
    // Its files, and index.html for its client routes only: anything else is the API's 404.
    for (const handler of dashboardHandlers(dashboard)) app.use(handler);
  }
  app.enableShutdownHooks();
  await listenOrClose(app, () => app.listen(env.GATEHOUSE_API_PORT, env.GATEHOUSE_API_HOST));
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : env.GATEHOUSE_API_PORT;
  return { app, url: `http://${env.GATEHOUSE_API_HOST}:${port}` };
}

/**
 * Browser hardening for the dashboard and docs served from this origin: no framing, no MIME
 * sniffing, no referrer leaks, scripts only from this origin, and no caching of API answers.
 */
function securityHeaders(req: express.Request, res: express.Response, next: express.NextFunction): void {
  res.setHeader('x-content-type-options', 'nosniff');
  res.setHeader('x-frame-options', 'DENY');
  res.setHeader('referrer-policy', 'no-referrer');
  res.setHeader(
    'content-security-policy',
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'",
  );
  if (req.path.startsWith('/client/')) res.setHeader('cache-control', 'no-store');
  next();
}
