/**
 * The mail channels: SES v2 (command shape and error mapping, through aws-sdk-client-mock, since
 * no local stand-in speaks SES) and SMTP against a loopback SMTP server started here.
 */
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { FlowrunnerError } from '../../../shared/errors.js';
import { createSesMail } from '../../../shared/notifications/ses-mail.js';
import { createSmtpMail } from '../../../shared/notifications/smtp-mail.js';
import { failure } from '../../support/failure.js';

const MAIL = {
  to: 'lead@example.com',
  subject: 'Approval needed: review (onboarding)',
  text: 'Open the approval: https://flow.example.com/console/tasks/abc',
  html: '<p>Open</p>',
  id: 'f'.repeat(64),
};

describe('notifications: SES v2', () => {
  const ses = mockClient(SESv2Client);
  afterEach(() => ses.reset());

  it('sends one SendEmail from the configured identity, text and HTML, tagged with the entry id', async () => {
    ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
    const mail = createSesMail({
      client: new SESv2Client({ region: 'eu-west-1' }),
      from: 'Flow <flow@example.com>',
      configurationSet: 'flow',
    });
    await mail.send(MAIL);
    const calls = ses.commandCalls(SendEmailCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toEqual({
      FromEmailAddress: 'Flow <flow@example.com>',
      Destination: { ToAddresses: ['lead@example.com'] },
      Content: {
        Simple: {
          Subject: { Data: MAIL.subject, Charset: 'UTF-8' },
          Body: { Text: { Data: MAIL.text, Charset: 'UTF-8' }, Html: { Data: MAIL.html, Charset: 'UTF-8' } },
          Headers: [{ Name: 'X-Flowrunner-Notification', Value: MAIL.id }],
        },
      },
      ConfigurationSetName: 'flow',
    });
  });

  it.each([
    ['TooManyRequestsException', 'client', true],
    ['InternalServiceErrorException', 'server', true],
    ['MessageRejected', 'client', false],
    ['MailFromDomainNotVerifiedException', 'client', false],
  ])('maps %s to a %s error that is retryable: %s', async (name, fault, retryable) => {
    ses
      .on(SendEmailCommand)
      .rejects(Object.assign(new Error('SES says no to lead@example.com'), { name, $fault: fault }));
    const mail = createSesMail({
      client: new SESv2Client({ region: 'eu-west-1' }),
      from: 'flow@example.com',
    });
    const error = await failure(mail.send(MAIL));
    expect(error).toBeInstanceOf(FlowrunnerError);
    expect((error as FlowrunnerError).retryable).toBe(retryable);
    // SES's own text may quote the address: the error keeps only the code.
    expect((error as Error).message).not.toContain('lead@example.com');
  });
});

describe('notifications: SMTP', () => {
  async function smtpServer(onData: (text: string, from: string, to: string[]) => void, refuse?: number) {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(_address, _session, callback) {
        if (refuse)
          return callback(Object.assign(new Error('mailbox unavailable'), { responseCode: refuse }));
        callback();
      },
      onData(stream, session, callback) {
        let text = '';
        stream.on('data', (chunk: Buffer) => {
          text += chunk.toString('utf8');
        });
        stream.on('end', () => {
          onData(
            text,
            String(session.envelope.mailFrom ? session.envelope.mailFrom.address : ''),
            session.envelope.rcptTo.map((r) => r.address),
          );
          callback();
        });
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.server.address() as { port: number }).port;
    return { port, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
  }

  it('delivers the mail to the SMTP server with the sender, the person, both bodies and the entry id', async () => {
    const received: Array<{ text: string; from: string; to: string[] }> = [];
    const server = await smtpServer((text, from, to) => received.push({ text, from, to }));
    try {
      const mail = createSmtpMail({ url: `smtp://127.0.0.1:${server.port}`, from: 'flow@example.com' });
      await mail.send(MAIL);
      expect(received).toHaveLength(1);
      expect(received[0]!.from).toBe('flow@example.com');
      expect(received[0]!.to).toEqual(['lead@example.com']);
      // Long header values are folded onto the next line.
      expect(received[0]!.text.replace(/\r\n\s+/g, ' ')).toContain(`X-Flowrunner-Notification: ${MAIL.id}`);
      expect(received[0]!.text).toContain('Subject: Approval needed: review (onboarding)');
      expect(received[0]!.text).toContain('https://flow.example.com/console/tasks/abc');
      expect(received[0]!.text).toContain('text/html');
    } finally {
      await server.close();
    }
  });

  it('retries a temporary refusal (4xx) and an unreachable server, not a permanent one (5xx)', async () => {
    const temporary = await smtpServer(() => undefined, 451);
    const permanent = await smtpServer(() => undefined, 550);
    try {
      const soon = await failure(
        createSmtpMail({ url: `smtp://127.0.0.1:${temporary.port}`, from: 'f@example.com' }).send(MAIL),
      );
      expect(soon).toMatchObject({
        code: 'SmtpRefused',
        retryable: true,
        message: 'The SMTP server refused the e-mail (451)',
      });
      const never = await failure(
        createSmtpMail({ url: `smtp://127.0.0.1:${permanent.port}`, from: 'f@example.com' }).send(MAIL),
      );
      expect(never).toMatchObject({ code: 'SmtpRefused', retryable: false });
    } finally {
      await temporary.close();
      await permanent.close();
    }
    const gone = await failure(
      createSmtpMail({ url: `smtp://127.0.0.1:${temporary.port}`, from: 'f@example.com' }).send(MAIL),
    );
    expect(gone).toMatchObject({ retryable: true });
    expect((gone as Error).message).toMatch(/could not be reached/);
  });

  it('refuses a URL that is not smtp:// or smtps://', () => {
    expect(() => createSmtpMail({ url: 'http://mail.example.com', from: 'f@example.com' })).toThrow(
      /FLOWRUNNER_SMTP_URL/,
    );
  });
});
