import { Uuid } from '@gatehouse/contracts';
import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';

const Message = z.object({ code: z.number().int(), message: z.string() }).meta({ id: 'Message' });

/** `result_info` of a list (see `okPage` in ../http/envelope.ts). */
export const ResultInfo = z
  .object({ page: z.number().int(), per_page: z.number().int(), count: z.number().int(), total_count: z.number().int(), total_pages: z.number().int() })
  .meta({ id: 'ResultInfo' });

/** Every failure: `success: false`, the errors, `result: null` (see `failure` in ../http/envelope.ts). */
export const ErrorEnvelope = z
  .object({ success: z.literal(false), errors: z.array(Message), messages: z.array(Message), result: z.null() })
  .meta({ id: 'ErrorEnvelope', description: "Cloudflare's v4 envelope of a failure" });

/** Cloudflare's v4 envelope of a success around `result` (see `ok` in ../http/envelope.ts). */
export const envelope = <T extends z.ZodType>(result: T) =>
  z.object({ success: z.literal(true), errors: z.array(Message), messages: z.array(Message), result });

/** The envelope of one page of a list (see `okPage` in ../http/envelope.ts). */
export const pageEnvelope = <T extends z.ZodType>(item: T) => envelope(z.array(item)).extend({ result_info: ResultInfo });

/** `{ id }`: what a delete answers, as Cloudflare does. */
export const Deleted = z.object({ id: Uuid });

export interface Route {
  method: 'get' | 'post' | 'put' | 'delete' | 'patch';
  /** OpenAPI template (`{account_id}`); every path parameter is a UUID, as `uuidParam` checks. */
  path: string;
  summary: string;
  /** The schema the controller validates the query with. */
  query?: z.ZodObject;
  /** The schema the controller validates the body with. */
  body?: z.ZodType;
  /** The result: one object, or (with `page: true`) the item of a paged list. */
  result: z.ZodType;
  page?: true;
  /** Set false for the few unauthenticated routes. */
  auth?: false;
}

/** The OpenAPI paths of one feature's routes, under one tag. */
export function openApiPaths(tag: string, routes: Route[]): ZodOpenApiPathsObject {
  const paths: ZodOpenApiPathsObject = {};
  for (const r of routes) {
    const names = [...r.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name!);
    const operation: ZodOpenApiOperationObject = {
      summary: r.summary,
      tags: [tag],
      requestParams: {
        ...(names.length ? { path: z.object(Object.fromEntries(names.map((n) => [n, Uuid]))) } : {}),
        ...(r.query ? { query: r.query } : {}),
      },
      // A missing body counts as `{}` (see `body` in ../http/input.ts): required when `{}` is refused.
      ...(r.body ? { requestBody: { required: !r.body.safeParse({}).success, content: { 'application/json': { schema: r.body } } } } : {}),
      responses: {
        '200': {
          description: 'Success, in the v4 envelope',
          content: { 'application/json': { schema: r.page ? pageEnvelope(r.result) : envelope(r.result) } },
        },
        '4XX': { description: 'Error, in the v4 envelope', content: { 'application/json': { schema: ErrorEnvelope } } },
        '5XX': { description: 'A service did not answer (503) or failed, in the v4 envelope', content: { 'application/json': { schema: ErrorEnvelope } } },
      },
      ...(r.auth === false ? { security: [] } : {}),
    };
    paths[r.path] = { ...paths[r.path], [r.method]: operation };
  }
  return paths;
}
