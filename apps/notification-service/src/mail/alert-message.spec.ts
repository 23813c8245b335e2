import { idempotencyKey, isoSeconds, messageIdFor, renderEmail, webhookPayload, type ExpiringTokenAlert } from './alert-message.js';

const alert: ExpiringTokenAlert = {
  deliveryId: '7b0c0d0e-0000-4000-8000-000000000001',
  idempotencyKey: 'k',
  policyId: '7b0c0d0e-0000-4000-8000-000000000002',
  policyName: 'Ops <weekly>',
  account: { id: '7b0c0d0e-0000-4000-8000-000000000003', name: 'Acme & Co' },
  token: {
    id: '7b0c0d0e-0000-4000-8000-000000000004',
    name: 'ci <runner>',
    clientId: 'abc.access',
    duration: '8760h',
    expiresAt: new Date('2026-12-04T22:15:00.123Z'),
  },
  publicUrl: 'https://gh.example.com/',
};

describe('alert messages', () => {
  it('formats expiry as UTC ISO 8601 without milliseconds', () => {
    expect(isoSeconds(new Date('2026-12-04T22:15:00.999Z'))).toBe('2026-12-04T22:15:00Z');
  });

  it('names account, token, client id, exact expiry and how to refresh, in text and escaped HTML', () => {
    const mail = renderEmail(alert);
    expect(mail.subject).toBe('[Gatehouse] Service token "ci <runner>" expires on 2026-12-04T22:15:00Z');
    expect(mail.text).toContain('Acme & Co');
    expect(mail.text).toContain(alert.account.id);
    expect(mail.text).toContain('abc.access');
    expect(mail.text).toContain('curl -X POST -H "Authorization: Bearer $GATEHOUSE_ADMIN_TOKEN"');
    expect(mail.text).toContain(`https://gh.example.com/client/v4/accounts/${alert.account.id}/access/service_tokens/${alert.token.id}/refresh`);
    expect(mail.text).toContain(`https://gh.example.com/tokens/${alert.token.id}`);
    expect(mail.html).toContain('ci &lt;runner&gt;');
    expect(mail.html).toContain('Acme &amp; Co');
    expect(mail.html).not.toContain('<runner>');
  });

  it('derives one stable Message-ID per idempotency key', () => {
    const base = { policyId: 'p', mechanism: 'email', target: 'a@x.io', tokenId: 't', expiresAt: new Date('2026-01-01T00:00:00Z') };
    const key = idempotencyKey(base);
    expect(messageIdFor(key, 'Gatehouse <gatehouse@alerts.example.com>')).toBe(messageIdFor(key, 'Gatehouse <gatehouse@alerts.example.com>'));
    expect(messageIdFor(key, 'Gatehouse <gatehouse@alerts.example.com>')).toMatch(/^<alert\.[0-9a-f]{40}@alerts\.example\.com>$/);
    const refreshed = idempotencyKey({ ...base, expiresAt: new Date('2026-02-01T00:00:00Z') });
    expect(messageIdFor(refreshed, 'x@y.z')).not.toBe(messageIdFor(key, 'x@y.z'));
  });

  it("builds a webhook body in Cloudflare's payload schema, with the token and the refresh call in data", () => {
    const sentAt = new Date('2026-11-27T10:00:00.500Z');
    const body = webhookPayload(alert, sentAt);
    expect(body).toMatchObject({
      name: alert.policyName,
      text: expect.stringContaining('expires on 2026-12-04T22:15:00Z'),
      ts: Math.floor(sentAt.getTime() / 1000),
      account_id: alert.account.id,
      policy_id: alert.policyId,
      policy_name: alert.policyName,
      alert_type: 'expiring_service_token_alert',
      alert_correlation_id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
      alert_event: 'ALERT_STATE_EVENT_START',
      data: {
        token: { id: alert.token.id, client_id: 'abc.access', expires_at: '2026-12-04T22:15:00Z' },
        refresh: { method: 'POST' },
        sent_at: '2026-11-27T10:00:00Z',
      },
    });
    expect(Object.keys(body).sort()).toEqual([
      'account_id',
      'alert_correlation_id',
      'alert_event',
      'alert_type',
      'data',
      'name',
      'policy_id',
      'policy_name',
      'text',
      'ts',
    ]);
    // One alert event, one correlation id: the same for every recipient, another for a new expiry.
    expect(webhookPayload({ ...alert, deliveryId: 'other' }, sentAt).alert_correlation_id).toBe(body.alert_correlation_id);
    expect(webhookPayload({ ...alert, token: { ...alert.token, expiresAt: new Date('2027-01-01T00:00:00Z') } }, sentAt).alert_correlation_id).not.toBe(
      body.alert_correlation_id,
    );
  });
});
