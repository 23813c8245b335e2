import { actorLabel, auditDetails, labelOf, tokenOf } from './audit';
import { formatDate } from './format';
import type { AuditEntry } from './types';

const entry = (over: Partial<AuditEntry>): AuditEntry => ({
  id: 'e1',
  action: { type: 'access.allowed', result: true },
  actor: { type: 'service_token', id: 'abc.access', ip: null },
  when: '2026-06-01T12:00:00Z',
  resource: { type: 'access_app', id: 'app-1', name: 'api' },
  metadata: {},
  ...over,
});

describe('audit rendering', () => {
  it('labels metadata keys and renders values in words, times in UTC', () => {
    expect(labelOf('previousClientSecretExpiresAt')).toBe('Previous secret valid until');
    expect(labelOf('policiesDeleted')).toBe('Policies deleted');
    expect(
      auditDetails(
        {
          reason: 'admitted_by_policy:ci',
          count: 1200,
          duration: { from: '720h', to: '8760h' },
          expiresAt: '2026-12-04T22:15:00.000Z',
          enabled: false,
          changed: ['name', 'include'],
          tokenName: 'shown as actor',
        },
        formatDate,
      ),
    ).toEqual([
      { label: 'Reason', value: 'admitted_by_policy:ci' },
      { label: 'Requests', value: '1,200' },
      { label: 'Duration', value: '720h → 8760h' },
      { label: 'Expires', value: 'Dec 4, 2026, 22:15 UTC' },
      { label: 'Enabled', value: 'no' },
      { label: 'Changed', value: 'name, include' },
    ]);
  });

  it('names the token of an access decision, and finds the token an event is about (also a deleted one)', () => {
    const decision = entry({ metadata: { tokenId: 't-1', tokenName: 'ci-runner' } });
    expect(actorLabel(decision)).toEqual({ name: 'ci-runner', kind: 'service token' });
    expect(actorLabel(entry({}))).toEqual({ name: 'abc.access', kind: 'unknown service token' });
    expect(actorLabel(entry({ actor: { type: 'admin', id: 'admin-token', ip: '127.0.0.1' } }))).toEqual({ name: 'Admin', kind: 'admin-token' });
    expect(tokenOf(decision)).toEqual({ id: 't-1', name: 'ci-runner' });
    expect(tokenOf(entry({ resource: { type: 'service_token', id: 't-2', name: 'gone' } }))).toEqual({ id: 't-2', name: 'gone' });
    expect(tokenOf(entry({}))).toBeNull();
  });
});
