import { SIGNATURE_HEADER, signWebhook } from './signature.js';

/** Cloudflare sends a webhook destination's secret verbatim in this header. */
export const CF_WEBHOOK_AUTH_HEADER = 'cf-webhook-auth';

export interface WebhookRequest {
  url: string;
  secret: string | null;
  body: string;
  deliveryId: string;
  idempotencyKey: string;
}

/** POSTs a JSON body; any non-2xx answer, network error or timeout is a failure to retry. */
export class WebhookSender {
  constructor(private readonly timeoutMs: number) {}

  async send(req: WebhookRequest): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'Gatehouse-Alerts/1',
      'x-gatehouse-delivery': req.deliveryId,
      'idempotency-key': req.idempotencyKey,
    };
    if (req.secret) {
      // As Cloudflare does: the secret itself, for receivers that compare it (use HTTPS).
      headers[CF_WEBHOOK_AUTH_HEADER] = req.secret;
      // Ours, in addition: an HMAC of the body, so the body's integrity and freshness can be
      // checked. Signature time is wall-clock time (receivers check it against their own clock).
      headers[SIGNATURE_HEADER.toLowerCase()] = signWebhook(req.secret, req.body, Math.floor(Date.now() / 1000));
    }
    let res: Response;
    try {
      res = await fetch(req.url, { method: 'POST', headers, body: req.body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (error) {
      // No `cause`, on purpose: whatever logs this error must not print undici's error objects
      // (they can carry the destination, whose URL may hold a secret); the code is enough.
      /* eslint-disable preserve-caught-error -- see the comment above */
      const e = error as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') throw new Error(`webhook timed out after ${this.timeoutMs} ms`);
      throw new Error(`webhook request failed: ${e.cause?.code ?? e.message}`);
      /* eslint-enable preserve-caught-error */
    }
    await res.body?.cancel().catch(() => undefined);
    if (res.status < 200 || res.status > 299) throw new Error(`webhook answered HTTP ${res.status}`);
  }
}
