/**
 * E-mail through an SMTP server (FLOWRUNNER_SMTP_URL, e.g. `smtp://user:pass@mail.example.com:587`),
 * with nodemailer. Temporary refusals (4xx) and connection failures are retried by the notifier;
 * permanent ones (5xx: no such mailbox) are not.
 */
import type { Transporter } from 'nodemailer';
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
  // nodemailer is loaded with the first mail: only one machine mails through SMTP, and the Lambda
  // bundles, which mail through SES, leave it out (EXTERNAL_MODULES in infra/constructs/bundling.ts).
  let transport: Promise<Transporter> | undefined;
  return {
    name: 'smtp',
    async send(mail: MailMessage): Promise<void> {
      transport ??= import('nodemailer').then(({ createTransport }) => createTransport(options.url));
      try {
        await (await transport).sendMail({
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
