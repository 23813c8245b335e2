import { createHash } from 'node:crypto';
import { EXPIRING_SERVICE_TOKEN_ALERT } from '@gatehouse/contracts';

/** Everything a message about one expiring token says. */
export interface ExpiringTokenAlert {
  deliveryId: string;
  idempotencyKey: string;
  policyId: string;
  policyName: string;
  account: { id: string; name: string | null };
  token: { id: string; name: string; clientId: string; duration: string; expiresAt: Date };
  publicUrl: string;
}

/** The idempotency key of a delivery: (policy, mechanism, target, token, expires_at). */
export function idempotencyKey(d: { policyId: string; mechanism: string; target: string; tokenId: string; expiresAt: Date }): string {
  return [d.policyId, d.mechanism, d.target, d.tokenId, isoSeconds(d.expiresAt)].join('|');
}

/** `2026-12-04T22:15:00Z`: UTC, ISO 8601, no milliseconds. */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A Message-ID that is the same for every attempt of one delivery, so receivers can drop a repeat. */
export function messageIdFor(key: string, from: string): string {
  const domain = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from)?.[1] ?? 'gatehouse.invalid';
  return `<alert.${createHash('sha256').update(key).digest('hex').slice(0, 40)}@${domain}>`;
}

const html = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function refreshUrls(a: ExpiringTokenAlert) {
  const base = a.publicUrl.replace(/\/+$/, '');
  return {
    api: `${base}/client/v4/accounts/${a.account.id}/access/service_tokens/${a.token.id}/refresh`,
    dashboard: `${base}/tokens/${a.token.id}`,
  };
}

function accountLabel(a: ExpiringTokenAlert): string {
  return a.account.name ? `"${a.account.name}" (${a.account.id})` : a.account.id;
}

export function renderEmail(a: ExpiringTokenAlert): { subject: string; text: string; html: string } {
  const expires = isoSeconds(a.token.expiresAt);
  const urls = refreshUrls(a);
  const curl = `curl -X POST -H "Authorization: Bearer $GATEHOUSE_ADMIN_TOKEN" \\\n    ${urls.api}`;
  const subject = `[Gatehouse] Service token "${a.token.name}" expires on ${expires}`;
  const text = [
    `The service token "${a.token.name}" of account ${accountLabel(a)} expires on ${expires} (UTC).`,
    '',
    `  Account:    ${a.account.name ?? '(unknown name)'} (${a.account.id})`,
    `  Token:      ${a.token.name} (id ${a.token.id})`,
    `  Client ID:  ${a.token.clientId}`,
    `  Expires at: ${expires}`,
    `  Duration:   ${a.token.duration}`,
    '',
    'After that moment every request that presents this token is refused.',
    '',
    `To keep it working, refresh it: its new expiry becomes now + ${a.token.duration}; the client ID and secret stay the same.`,
    '',
    '  With the API:',
    `  ${curl}`,
    '',
    `  In the dashboard: ${urls.dashboard} (Service tokens > ${a.token.name} > Refresh)`,
    '',
    `You receive this because the alert policy "${a.policyName}" (${a.policyId}) sends ${EXPIRING_SERVICE_TOKEN_ALERT} notifications to you.`,
  ].join('\n');
  const body = `<!doctype html><html><body style="font-family:sans-serif">
<p>The service token <strong>${html(a.token.name)}</strong> of account ${html(accountLabel(a))} expires on <strong>${expires}</strong> (UTC).</p>
<table cellpadding="4">
<tr><th align="left">Account</th><td>${html(a.account.name ?? '(unknown name)')} (<code>${a.account.id}</code>)</td></tr>
<tr><th align="left">Token</th><td>${html(a.token.name)} (id <code>${a.token.id}</code>)</td></tr>
<tr><th align="left">Client ID</th><td><code>${html(a.token.clientId)}</code></td></tr>
<tr><th align="left">Expires at</th><td><code>${expires}</code></td></tr>
<tr><th align="left">Duration</th><td>${html(a.token.duration)}</td></tr>
</table>
<p>After that moment every request that presents this token is refused.</p>
<p>To keep it working, refresh it: its new expiry becomes now + ${html(a.token.duration)}; the client ID and secret stay the same.</p>
<p>With the API:</p>
<pre>${html(curl)}</pre>
<p>In the dashboard: <a href="${html(urls.dashboard)}">${html(urls.dashboard)}</a> (Service tokens &gt; ${html(a.token.name)} &gt; Refresh)</p>
<p style="color:#666">You receive this because the alert policy "${html(a.policyName)}" sends ${EXPIRING_SERVICE_TOKEN_ALERT} notifications to you.</p>
</body></html>`;
  return { subject, text, html: body };
}

/**
 * The JSON body of a webhook delivery, in Cloudflare's webhook payload schema: `name` (the
 * policy's), `text`, `data` (our details), `ts` (unix seconds), `account_id`, `policy_id`,
 * `policy_name`, `alert_type`, `alert_correlation_id` (the same for every recipient of one
 * token's expiry) and `alert_event` (`ALERT_STATE_EVENT_START`: one event per expiry).
 */
export function webhookPayload(a: ExpiringTokenAlert, sentAt: Date) {
  const urls = refreshUrls(a);
  return {
    name: a.policyName,
    text: `Service token "${a.token.name}" (${a.token.clientId}) of account ${accountLabel(a)} expires on ${isoSeconds(a.token.expiresAt)}`,
    data: {
      delivery_id: a.deliveryId,
      idempotency_key: createHash('sha256').update(a.idempotencyKey).digest('hex'),
      account: { id: a.account.id, name: a.account.name },
      token: { id: a.token.id, name: a.token.name, client_id: a.token.clientId, duration: a.token.duration, expires_at: isoSeconds(a.token.expiresAt) },
      refresh: { method: 'POST', url: urls.api, dashboard_url: urls.dashboard },
      sent_at: isoSeconds(sentAt),
    },
    ts: Math.floor(sentAt.getTime() / 1000),
    account_id: a.account.id,
    policy_id: a.policyId,
    policy_name: a.policyName,
    alert_type: EXPIRING_SERVICE_TOKEN_ALERT,
    alert_correlation_id: correlationId(a),
    alert_event: 'ALERT_STATE_EVENT_START',
  };
}

/** A UUID naming one alert event (policy, token, expiry), whatever the recipient. */
function correlationId(a: ExpiringTokenAlert): string {
  const h = createHash('sha256')
    .update(`${a.policyId}|${a.token.id}|${isoSeconds(a.token.expiresAt)}`)
    .digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
