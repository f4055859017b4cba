/**
 * `npm start` with FLOWRUNNER_SMTP_URL: an approval's approvers are mailed through a loopback SMTP
 * server started here, each mail carries the person's link, the outbox shows the mail as sent, and
 * the link from the mail answers the approval as that person.
 */

import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type InProcessServer, startServerInProcess } from '../../support/server-process.js';

interface Received {
  to: string[];
  text: string;
}

const received: Received[] = [];
let smtp: SMTPServer;
let smtpPort: number;
let server: InProcessServer;

const YAML = `schema_version: "1.0"
id: sign-off
steps:
  - id: decide
    type: approval
    config:
      approvers: ["lead@example.com", "cfo@example.com"]
      message: "Sign off the Q3 numbers?"
    next: { approved: done, rejected: done }
  - id: done
    type: transform
    config: { output: "{{ steps.decide.output.decision }}" }
`;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let text = '';
      stream.on('data', (chunk: Buffer) => {
        text += chunk.toString('utf8');
      });
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), text });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  smtpPort = (smtp.server.address() as { port: number }).port;
  server = await startServerInProcess(
    { FLOWRUNNER_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, FLOWRUNNER_MAIL_FROM: 'flow@example.com' },
    { examplesDir: undefined },
  );
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

async function call(method: string, path: string, body?: unknown, type = 'application/json') {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': type },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

async function until<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('local server: notification mail through SMTP', () => {
  it('mails each approver their link, and the link from the mail decides as that approver', async () => {
    expect((await call('POST', '/v1/workflows', YAML, 'text/yaml')).status).toBe(201);
    const run = await call('POST', '/v1/executions', { workflow_id: 'sign-off' });
    expect(run.status).toBe(202);
    const mails = await until(async () => (received.length >= 2 ? received : undefined), 'two mails');
    expect(mails.map((m) => m.to[0]).sort()).toEqual(['cfo@example.com', 'lead@example.com']);
    const lead = mails.find((m) => m.to[0] === 'lead@example.com')!;
    const unfolded = lead.text.replace(/=\r\n/g, '').replace(/\r\n\s+/g, ' ');
    expect(unfolded).toContain('Sign off the Q3 numbers?');
    const link = new RegExp(`${server.url}/console/tasks/([A-Za-z0-9_-]{43})`).exec(unfolded);
    expect(link).not.toBeNull();
    // The SMTP server has the mail before the sender hears its answer and records the send.
    const statuses = await until(async () => {
      const outbox = await call('GET', '/v1/outbox');
      const all = outbox.body.items.map((i: { status: string }) => i.status);
      return all.includes('pending') ? undefined : all;
    }, 'the outbox to record both sends');
    expect(statuses).toEqual(['sent', 'sent']);
    const decided = await call('POST', `/v1/callbacks/${link![1]}`, {
      decision: 'reject',
      comment: 'Not yet',
    });
    expect(decided.status).toBe(202);
    const ended = await until(async () => {
      const view = await call('GET', `/v1/executions/${run.body.id}`);
      return view.body.status === 'completed' ? view.body : undefined;
    }, 'the run to complete');
    expect(ended.output).toBe('rejected');
    const history = await call('GET', `/v1/executions/${run.body.id}/history`);
    const decide = history.body.find((h: { step_id: string }) => h.step_id === 'decide');
    expect(decide.output.approvals[0]).toMatchObject({ approver: 'lead@example.com', decision: 'rejected' });
  });
});
