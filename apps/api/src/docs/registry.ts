import { z } from 'zod';

export interface RouteDoc {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  path: string;
  summary: string;
  tag: string;
  body?: z.ZodType;
  query?: z.ZodType;
  /** Set false for the few unauthenticated routes. */
  auth?: boolean;
}

const routes: RouteDoc[] = [];

/** Each feature describes its routes next to its controller; the OpenAPI document is built from them. */
export function describeRoutes(...docs: RouteDoc[]): void {
  routes.push(...docs);
}

const schema = (s: z.ZodType) => z.toJSONSchema(s, { io: 'input', unrepresentable: 'any' });

export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, schema: { type: 'string' } }));
    const queryParams = r.query
      ? Object.entries((schema(r.query) as { properties?: Record<string, unknown> }).properties ?? {}).map(([name, s]) => ({ name, in: 'query', schema: s }))
      : [];
    (paths[r.path] ??= {})[r.method] = {
      summary: r.summary,
      tags: [r.tag],
      parameters: [...params, ...queryParams],
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: schema(r.body) } } } } : {}),
      responses: {
        '200': { description: 'Success, in the v4 envelope', content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } } },
        '4XX': { description: 'Error, in the v4 envelope', content: { 'application/json': { schema: { $ref: '#/components/schemas/Envelope' } } } },
      },
      ...(r.auth === false ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Gatehouse admin API', version: '1', description: "Cloudflare v4-compatible admin API: point a Cloudflare client's base URL at /client/v4." },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'GATEHOUSE_ADMIN_TOKEN' } },
      schemas: {
        Envelope: {
          type: 'object',
          properties: {
            success: { type: 'boolean' },
            errors: { type: 'array', items: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' } } } },
            messages: { type: 'array' },
            result: {},
            result_info: { type: 'object', properties: { page: { type: 'integer' }, per_page: { type: 'integer' }, count: { type: 'integer' }, total_count: { type: 'integer' } } },
          },
        },
      },
    },
    paths,
  };
}
