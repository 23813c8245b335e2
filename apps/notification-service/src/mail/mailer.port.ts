/** An email as the service hands it to its mailer (a domain shape, not a library type). */
export interface OutgoingEmail {
  to: string;
  subject: string;
  text: string;
  html: string;
  messageId: string;
  headers: Record<string, string>;
}

/** The service's Mailer (SmtpMailer, or a test's). */
export const MAILER = Symbol('MAILER');

export interface Mailer {
  /** Resolves once the SMTP server accepted the message (250 after DATA). */
  send(email: OutgoingEmail): Promise<void>;
  close(): void;
}
