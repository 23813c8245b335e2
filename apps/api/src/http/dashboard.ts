import { join } from 'node:path';
import express from 'express';

/**
 * The dashboard's client-side routes, as `Routes` in apps/dashboard/src/App.tsx lists them (a
 * test keeps the two in step). Only these get index.html; files under the dashboard folder are
 * served as files; every other path falls through to the API's 404 in the v4 envelope, so a
 * probe of `/metrics` or `/readyz` never mistakes the dashboard page for a healthy answer.
 */
export const DASHBOARD_ROUTES = [
  '/',
  '/tokens',
  '/tokens/new',
  '/tokens/:id',
  '/apps',
  '/apps/new',
  '/apps/:id',
  '/policies',
  '/policies/new',
  '/policies/:id',
  '/notifications',
  '/notifications/new',
  '/notifications/:id',
  '/audit',
  '/settings',
] as const;

/** The dashboard router's rule: literal routes match exactly, `:param` routes one segment each. */
export function isDashboardRoute(path: string): boolean {
  return DASHBOARD_ROUTES.some((route) => {
    if (!route.includes(':')) return path === route;
    const want = route.split('/');
    const got = path.replace(/\/+$/, '').split('/');
    return want.length === got.length && want.every((part, i) => (part.startsWith(':') ? got[i] !== '' : part === got[i]));
  });
}

/** Serves the built dashboard: its files, and index.html for its client routes only. */
export function dashboardHandlers(dir: string): express.RequestHandler[] {
  const index = join(dir, 'index.html');
  return [
    express.static(dir, { index: 'index.html', maxAge: '1h' }),
    (req, res, next) => {
      if ((req.method !== 'GET' && req.method !== 'HEAD') || !isDashboardRoute(req.path) || !req.accepts('html')) return next();
      res.sendFile(index);
    },
  ];
}
