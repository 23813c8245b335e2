import { randomBytes } from 'node:crypto';
import type { OutgoingEmail } from './mailer.port.js';

/**
 * Builds the RFC 5322 / MIME text of an alert email by hand: multipart/alternative with base64
 * text and HTML parts. Composing it with nodemailer's MailComposer cost ~1 ms of CPU a message,
 * the bulk of a send; this costs a few microseconds. Header values that are not printable ASCII
 * (or could break a header line) become RFC 2047 encoded words, so nothing can inject a header.
 */
const PRINTABLE = /^[\x20-\x7e]*$/;

export function encodeHeader(value: string): string {
  if (PRINTABLE.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  for (const ch of value) {
    // 45 bytes of UTF-8 -> 60 base64 characters: each encoded word stays under 75 characters.
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join('\r\n ');
}

/** `Name <addr@host>` or `addr@host` → the header form and the bare address. */
export function parseMailbox(mailbox: string): { header: string; address: string } {
  const match = /^\s*(.*?)\s*<([^<>\s]+@[^<>\s]+)>\s*$/.exec(mailbox);
  if (!match) return { header: mailbox.trim(), address: mailbox.trim() };
  const [, rawName, address] = match as unknown as [string, string, string];
  const name = rawName.replace(/^"(.*)"$/, '$1');
  if (!name) return { header: `<${address}>`, address };
  const display = PRINTABLE.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : encodeHeader(name);
  return { header: `${display} <${address}>`, address };
}

function base64Lines(text: string): string {
  return (Buffer.from(text, 'utf8').toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

export function canBuildRaw(email: OutgoingEmail): boolean {
  return PRINTABLE.test(email.to) && PRINTABLE.test(email.messageId) && Object.entries(email.headers).every(([k, v]) => /^[A-Za-z0-9-]+$/.test(k) && PRINTABLE.test(v));
}

export function buildMime(email: OutgoingEmail, from: string, date = new Date()): string {
  const boundary = `=_gatehouse_${randomBytes(12).toString('hex')}`;
  const lines = [
    `From: ${parseMailbox(from).header}`,
    `To: ${email.to}`,
    `Subject: ${encodeHeader(email.subject)}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: ${email.messageId}`,
    'MIME-Version: 1.0',
    ...Object.entries(email.headers).map(([k, v]) => `${k}: ${v}`),
    `Content-Type: multipart/alternative; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(email.text),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: base64',
    '',
    base64Lines(email.html),
    `--${boundary}--`,
    '',
  ];
  return lines.join('\r\n');
}
