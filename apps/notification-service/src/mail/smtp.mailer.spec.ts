import { simpleParser } from 'mailparser';
import { createTransport } from 'nodemailer';
import { mailOptions } from './smtp.mailer.js';

const email = {
  to: 'ops@example.com',
  subject: '[Gatehouse] Service token "Zürich — ünïcode 🚀 deploy\r\nBcc: evil@example.com" expires on 2026-12-04T22:15:00Z',
  text: 'plain ü\nsecond line',
  html: '<p>html ü</p>',
  messageId: '<alert.abc@localhost>',
  headers: { 'X-Gatehouse-Token-Id': 't-1' },
};

/** The bytes nodemailer would hand to the SMTP server (its stream transport composes, sends nothing). */
async function compose(from: string): Promise<string> {
  const info = await createTransport({ streamTransport: true, buffer: true, newline: 'windows' }).sendMail(mailOptions(email, from));
  return (info.message as Buffer).toString('utf8');
}

describe('alert email composition (nodemailer)', () => {
  it('parses back to the same subject, parts, Message-ID and headers, with no injected header', async () => {
    const raw = await compose('Gatehouse Alerts <gatehouse@alerts.example.com>');
    const parsed = await simpleParser(raw);
    expect(parsed.subject).toBe(email.subject.replace(/\r\n/g, ' '));
    expect(parsed.text?.trim()).toBe('plain ü\nsecond line');
    expect(parsed.html).toContain('<p>html ü</p>');
    expect(parsed.messageId).toBe('<alert.abc@localhost>');
    expect(parsed.headers.get('x-gatehouse-token-id')).toBe('t-1');
    expect(parsed.bcc).toBeUndefined();
    expect(raw).not.toMatch(/^Bcc:/im);
    expect(parsed.from?.value[0]).toMatchObject({ name: 'Gatehouse Alerts', address: 'gatehouse@alerts.example.com' });
  });

  it('keeps header lines short and ASCII', async () => {
    const raw = await compose('Gatehouse <gatehouse@localhost>');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    for (const line of head.split('\r\n')) {
      expect(line.length).toBeLessThanOrEqual(998); // RFC 5322's hard limit
      expect(line).toMatch(/^[\x20-\x7e\t]*$/);
    }
  });
});
