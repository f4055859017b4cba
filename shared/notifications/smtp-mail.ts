/**
 * E-mail through an SMTP server (FLOWRUNNER_SMTP_URL, e.g. `smtp://user:pass@mail.example.com:587`),
 * with nodemailer. Temporary refusals (4xx) and connection failures are retried by the notifier;
 * permanent ones (5xx: no such mailbox) are not.
 */
import { createTransport } from 'nodemailer';
import { ConfigurationError, FlowrunnerError } from '../errors.js';
import type { MailMessage, MailSender } from '../ports/index.js';

export interface SmtpMailOptions {
  /** `smtp://` or `smtps://`, credentials in the URL. */
  url: string;
  from: string;
}

export function createSmtpMail(options: SmtpMailOptions): MailSender {
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw new ConfigurationError('FLOWRUNNER_SMTP_URL must be an smtp:// or smtps:// URL');
  }
  if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
    throw new ConfigurationError('FLOWRUNNER_SMTP_URL must be an smtp:// or smtps:// URL');
  }
  const transport = createTransport(options.url);
  return {
    name: 'smtp',
    async send(mail: MailMessage): Promise<void> {
      try {
        await transport.sendMail({
          from: options.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: { 'X-Flowrunner-Notification': mail.id },
        });
      } catch (error) {
        const responseCode = (error as { responseCode?: unknown }).responseCode;
        const permanent = typeof responseCode === 'number' && responseCode >= 500;
        // The server's text may quote the address; the code says enough.
        throw new FlowrunnerError(
          'SmtpRefused',
          typeof responseCode === 'number'
            ? `The SMTP server refused the e-mail (${responseCode})`
            : `The SMTP server could not be reached (${(error as { code?: unknown }).code ?? 'error'})`,
          { retryable: !permanent },
        );
      }
    },
  };
}
