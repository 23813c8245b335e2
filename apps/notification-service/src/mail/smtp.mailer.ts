import { createTransport, type SendMailOptions } from 'nodemailer';
import type { Mailer, OutgoingEmail } from './mailer.port.js';

/** The message as nodemailer composes it: one path for every alert email (headers encoded by its composer). */
export function mailOptions(email: OutgoingEmail, from: string): SendMailOptions {
  return {
    from,
    to: email.to,
    subject: email.subject,
    text: email.text,
    html: email.html,
    messageId: email.messageId,
    headers: email.headers,
  };
}

/**
 * nodemailer over SMTP with a connection pool. `smtp://` upgrades with STARTTLS whenever the server
 * offers it; `smtps://` is TLS from the first byte. Credentials come from the URL and are never logged.
 */
export class SmtpMailer implements Mailer {
  private readonly transport;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    maxConnections: number,
  ) {
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
    await this.transport.sendMail(mailOptions(email, this.from));
  }

  close(): void {
    this.transport.close();
  }
}
