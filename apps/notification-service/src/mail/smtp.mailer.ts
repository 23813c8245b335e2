import { createTransport } from 'nodemailer';
import type { Mailer, OutgoingEmail } from './mailer.port.js';
import { buildMime, canBuildRaw, parseMailbox } from './mime.js';

/**
 * nodemailer over SMTP with a connection pool. `smtp://` upgrades with STARTTLS whenever the server
 * offers it; `smtps://` is TLS from the first byte. Credentials come from the URL and are never logged.
 */
export class SmtpMailer implements Mailer {
  private readonly transport;
  private readonly envelopeFrom: string;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    maxConnections: number,
  ) {
    this.envelopeFrom = parseMailbox(from).address;
    this.transport = createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections,
      maxMessages: Infinity,
      // A connection lost mid-message fails the send; the outbox retries it (one retry authority, visible in the history).
      maxRequeues: 0,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
      logger: false,
    });
  }

  async send(email: OutgoingEmail): Promise<void> {
    if (canBuildRaw(email)) {
      await this.transport.sendMail({ envelope: { from: this.envelopeFrom, to: [email.to] }, raw: buildMime(email, this.from) });
      return;
    }
    await this.transport.sendMail({
      from: this.from,
      to: email.to,
      subject: email.subject,
      text: email.text,
      html: email.html,
      messageId: email.messageId,
      headers: email.headers,
    });
  }

  close(): void {
    this.transport.close();
  }
}
