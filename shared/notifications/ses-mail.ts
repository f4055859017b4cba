/**
 * E-mail through Amazon SES v2 (the cloud's mail channel): one SendEmail per person, from the
 * configured sender identity. SES's throttling and service errors are retried by the notifier;
 * a refused message (bad address, unverified identity) is not.
 */
import { type SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { FlowrunnerError } from '../errors.js';
import type { MailMessage, MailSender } from '../ports/index.js';

export interface SesMailOptions {
  client: SESv2Client;
  /** The verified sender, `team@example.com` or `Team <team@example.com>`. */
  from: string;
  /** The SES configuration set, if any (event publishing, dedicated IPs). */
  configurationSet?: string;
}

/** SES errors that say "not now" rather than "never". */
const RETRYABLE = new Set([
  'TooManyRequestsException',
  'LimitExceededException',
  'InternalServiceErrorException',
  'ServiceUnavailableException',
  'ThrottlingException',
]);

export function createSesMail(options: SesMailOptions): MailSender {
  return {
    name: 'ses',
    async send(mail: MailMessage): Promise<void> {
      try {
        await options.client.send(
          new SendEmailCommand({
            FromEmailAddress: options.from,
            Destination: { ToAddresses: [mail.to] },
            Content: {
              Simple: {
                Subject: { Data: mail.subject, Charset: 'UTF-8' },
                Body: {
                  Text: { Data: mail.text, Charset: 'UTF-8' },
                  Html: { Data: mail.html, Charset: 'UTF-8' },
                },
                Headers: [{ Name: 'X-Flowrunner-Notification', Value: mail.id }],
              },
            },
            ...(options.configurationSet ? { ConfigurationSetName: options.configurationSet } : {}),
          }),
        );
      } catch (error) {
        const name = (error as { name?: unknown }).name;
        const code = typeof name === 'string' ? name : 'SesError';
        const fault = (error as { $fault?: unknown }).$fault;
        throw new FlowrunnerError(`Ses${code.replace(/Exception$/, '')}`, `SES refused the e-mail: ${code}`, {
          retryable: RETRYABLE.has(code) || fault === 'server',
          cause: error,
        });
      }
    },
  };
}
