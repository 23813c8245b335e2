import { simpleParser } from 'mailparser';
import { buildMime, encodeHeader, parseMailbox } from './mime.js';

const email = {
  to: 'ops@example.com',
  subject: '[Gatehouse] Service token "Zürich — ünïcode 🚀 deploy\r\nBcc: evil@example.com" expires on 2026-12-04T22:15:00Z',
  text: 'plain ü\nsecond line',
  html: '<p>html ü</p>',
  messageId: '<alert.abc@localhost>',
  headers: { 'X-Gatehouse-Token-Id': 't-1' },
};

describe('hand-built MIME', () => {
  it('parses back to the same subject, parts, Message-ID and headers, with no injected header', async () => {
    const parsed = await simpleParser(buildMime(email, 'Gatehouse Alerts <gatehouse@alerts.example.com>'));
    expect(parsed.subject).toBe(email.subject);
    expect(parsed.text).toBe('plain ü\nsecond line');
    expect(parsed.html).toContain('<p>html ü</p>');
    expect(parsed.messageId).toBe('<alert.abc@localhost>');
    expect(parsed.headers.get('x-gatehouse-token-id')).toBe('t-1');
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Gatehouse Alerts', address: 'gatehouse@alerts.example.com' });
  });

  it('keeps header lines short and ASCII', () => {
    const encoded = encodeHeader('ä'.repeat(200));
    for (const line of encoded.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(encoded).toMatch(/^[\x20-\x7e\r\n]*$/);
    expect(encodeHeader('plain ascii')).toBe('plain ascii');
  });

  it('parses mailboxes with and without a display name', () => {
    expect(parseMailbox('Gatehouse <gatehouse@localhost>')).toEqual({ header: '"Gatehouse" <gatehouse@localhost>', address: 'gatehouse@localhost' });
    expect(parseMailbox('alerts@example.com')).toEqual({ header: 'alerts@example.com', address: 'alerts@example.com' });
  });
});
