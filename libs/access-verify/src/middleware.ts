import { AccessDenied, createAccessVerifier, type AccessIdentity, type AccessVerifyOptions } from './verify.js';

interface NodeLikeRequest {
  headers: Record<string, string | string[] | undefined>;
  accessIdentity?: AccessIdentity;
}
interface NodeLikeResponse {
  statusCode: number;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
}

function denial(error: unknown): { status: number; body: string } {
  const reason = error instanceof AccessDenied ? error.reason : 'invalid_assertion';
  return { status: 401, body: JSON.stringify({ error: 'unauthorized', reason }) };
}

/**
 * Express/Connect middleware: admits requests with a valid assertion (sets `req.accessIdentity`),
 * answers 401 JSON otherwise.
 */
export function accessMiddleware(options: AccessVerifyOptions) {
  const verifier = createAccessVerifier(options);
  return (req: NodeLikeRequest, res: NodeLikeResponse, next: (err?: unknown) => void): void => {
    verifier.verifyHeaders(req.headers).then(
      (identity) => {
        req.accessIdentity = identity;
        next();
      },
      (error) => {
        const d = denial(error);
        res.statusCode = d.status;
        res.setHeader('content-type', 'application/json');
        res.end(d.body);
      },
    );
  };
}

interface FastifyLikeReply {
  code(status: number): FastifyLikeReply;
  header(name: string, value: string): FastifyLikeReply;
  send(body: unknown): unknown;
}

/**
 * A Fastify `preHandler` (or `onRequest`) hook: `fastify.addHook('preHandler', accessPreHandler({...}))`.
 * Plain function, no fastify dependency.
 */
export function accessPreHandler(options: AccessVerifyOptions) {
  const verifier = createAccessVerifier(options);
  return async (request: NodeLikeRequest, reply: FastifyLikeReply): Promise<void> => {
    try {
      request.accessIdentity = await verifier.verifyHeaders(request.headers);
    } catch (error) {
      const d = denial(error);
      await reply.code(d.status).header('content-type', 'application/json').send(d.body);
    }
  };
}
