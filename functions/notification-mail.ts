/**
 * Notification mail through SES, from the identity the stack names (unset: people are not mailed).
 * Only the functions that notify people import it (Advance, as a form's or approval's wait opens, and
 * the notification retries), so the others neither bundle nor load the SES client.
 */
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { createSesMail } from '../shared/notifications/ses-mail.js';
import type { MailSender } from '../shared/ports/index.js';
import { LambdaEnvironment } from './environment.js';

const from = process.env[LambdaEnvironment.mailFrom]?.trim();

export const notificationMail: MailSender | undefined = from
  ? createSesMail({ client: new SESv2Client({}), from })
  : undefined;
