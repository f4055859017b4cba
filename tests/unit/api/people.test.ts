/**
 * People in the loop (CONTRACT §8): each person notified of a wait gets their own single-use link
 * that answers as them without an API key, exactly once; the outbox shows what was sent, newest
 * first; a failed notification is an event and is retried, and never fails the run.
 */
import { describe, expect, it } from 'vitest';
import { apiKeysFromSetting } from '../../../functions/api/middleware/api-key-auth.js';
import { sha256Hex } from '../../../shared/crypto.js';
import type { HttpRequest } from '../../../shared/ports/index.js';
import { createMemorySecrets } from '../../../shared/secrets/memory.js';
import { setUp } from './support.js';

const PUBLIC_URL = 'https://flow.example.com';
const KEYS = { keys: apiKeysFromSetting('ops=secret-key-1,secret-key-2', sha256Hex) };
/** A key that names no principal (an operator's); `OPS` answers as `ops`. */
const AUTH = { authorization: 'Bearer secret-key-2' };
const OPS = { authorization: 'Bearer secret-key-1' };

const REVIEW_YAML = `schema_version: "1.0"
id: review
steps:
  - id: details
    type: form
    name: Customer details
    config:
      fields:
        - { key: email, type: string, required: true, pattern: "^[^@\\\\s]+@[^@\\\\s]+$" }
        - { key: plan, type: string, enum: [free, pro], default: free }
      timeout_s: 3600
      notify:
        email: ["ada@example.com", "{{ inputs.helper }}"]
        subject: "Details for {{ inputs.customer }}"
    next: decide
  - id: decide
    type: approval
    config:
      approvers: ["lead@example.com", "cfo@example.com"]
      message: "Welcome {{ inputs.customer }}?"
    next: { approved: done, rejected: done }
  - id: done
    type: transform
    config: { output: "{{ steps.decide.output.decision }}" }
`;

type Bed = Awaited<ReturnType<typeof setUp>>;

async function bed(
  http?: (request: HttpRequest) => { status: number; headers: Record<string, string>; body: string },
) {
  const t = await setUp({ apiKeys: KEYS }, http, { outboxIsMailbox: true, publicUrl: () => PUBLIC_URL });
  const created = await t.call('POST', '/v1/workflows', {
    raw: REVIEW_YAML,
    headers: { 'content-type': 'text/yaml', ...AUTH },
  });
  expect(created.status).toBe(201);
  return t;
}

async function startRun(t: Bed, yaml?: string): Promise<string> {
  if (yaml) {
    const created = await t.call('POST', '/v1/workflows', {
      raw: yaml,
      headers: { 'content-type': 'text/yaml', ...AUTH },
    });
    expect(created.status).toBe(201);
  }
  const run = await t.call('POST', '/v1/executions', {
    headers: AUTH,
    body: {
      workflow_id: yaml ? /id: (\S+)/.exec(yaml)![1] : 'review',
      inputs: { customer: 'Ada Ltd', helper: 'bob@example.com' },
    },
  });
  expect(run.status).toBe(202);
  await t.drive(run.body.id);
  return run.body.id as string;
}

interface OutboxItem {
  person: string;
  step_id: string;
  channel: string;
  status: string;
  subject: string;
  text: string;
  link?: string;
  attempts: number;
  last_error?: { code: string };
}

async function outbox(t: Bed): Promise<OutboxItem[]> {
  const answer = await t.call('GET', '/v1/outbox', { headers: AUTH });
  expect(answer.status).toBe(200);
  return answer.body.items;
}

const tokenOf = (link: string) => link.slice(link.lastIndexOf('/') + 1);

describe('api: people in the loop', () => {
  it('mails each listed person their own link, rendered from placeholders, with the form and its deadline', async () => {
    const t = await bed();
    await startRun(t);
    const items = await outbox(t);
    expect(items.map((i) => i.person).sort()).toEqual(['ada@example.com', 'bob@example.com']);
    for (const item of items) {
      expect(item).toMatchObject({
        step_id: 'details',
        channel: 'email',
        status: 'sent',
        subject: 'Details for Ada Ltd',
      });
      expect(item.text).toContain('email: string, required');
      expect(item.text).toContain('Answer by 2026-01-01T01:00:00.000Z');
      expect(item.link).toMatch(/^https:\/\/flow\.example\.com\/console\/tasks\/[A-Za-z0-9_-]{43}$/);
      // The link is derived when shown, never stored with the entry.
      expect(JSON.stringify(await t.stores.outbox.get((item as unknown as { id: string }).id))).not.toContain(
        tokenOf(item.link!),
      );
    }
    expect(new Set(items.map((i) => i.link)).size).toBe(2);
  });

  it('opens and answers the task behind a link without an API key, as that person, and says so in the events', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const ada = (await outbox(t)).find((i) => i.person === 'ada@example.com')!;
    const token = tokenOf(ada.link!);
    // Everything else needs the key.
    expect((await t.call('GET', `/v1/executions/${runId}`)).status).toBe(401);
    const task = await t.call('GET', `/v1/callbacks/${token}`);
    expect(task.status).toBe(200);
    expect(task.body).toMatchObject({
      run_id: runId,
      step_id: 'details',
      step_name: 'Customer details',
      type: 'form',
      person: 'ada@example.com',
      expires_at: '2026-01-01T01:00:00.000Z',
    });
    expect(task.body.fields.map((f: { key: string }) => f.key)).toEqual(['email', 'plan']);
    // A wrong answer is refused field by field, and does not use the link up.
    const wrong = await t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: 'nope' } } });
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors[0].path).toBe('inputs.email');
    const right = await t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: 'a@b.co' } } });
    expect(right.status).toBe(202);
    await t.drive(runId);
    const events = (await t.call('GET', `/v1/executions/${runId}/events`, { headers: AUTH })).body.events;
    const completed = events.find(
      (e: { type: string; step_id?: string }) => e.type === 'step.completed' && e.step_id === 'details',
    );
    expect(completed.data).toMatchObject({ by: 'ada@example.com', via: 'link' });
    const resumed = events.find((e: { type: string }) => e.type === 'run.resumed');
    expect(resumed.data).toMatchObject({ by: 'ada@example.com', via: 'link' });
  });

  it('accepts exactly one of 20 concurrent uses of one link; a used link then says it was used', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const ada = (await outbox(t)).find((i) => i.person === 'ada@example.com')!;
    const token = tokenOf(ada.link!);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: `p${i}@example.com` } } }),
      ),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 404 || a.status === 409)).toHaveLength(19);
    const again = await t.call('POST', `/v1/callbacks/${token}`, {
      body: { inputs: { email: 'late@example.com' } },
    });
    expect(again.status).toBe(404);
    expect(again.body.title).toBe('Link used');
    expect(again.body.detail).toMatch(/already used \(2026-01-01T00:00:00\.000Z\); it works once/);
    expect((await t.call('GET', `/v1/callbacks/${token}`)).body.title).toBe('Link used');
    // Bob's link named the same wait: it has ended now.
    await t.drive(runId);
    const bob = (await outbox(t)).find((i) => i.person === 'bob@example.com')!;
    // Unused, so still shown; but the wait is over: using it is a 409 that says so.
    const bobToken = tokenOf(bob.link!);
    const late = await t.call('POST', `/v1/callbacks/${bobToken}`, { body: { inputs: { email: 'b@b.co' } } });
    expect(late.status).toBe(409);
    expect(late.body.detail).toBe("That wait of step 'details' has ended");
  });

  it('says a link expired once its wait is past its deadline', async () => {
    const t = await bed();
    await startRun(t);
    const ada = (await outbox(t)).find((i) => i.person === 'ada@example.com')!;
    t.clock.advance(3_600_000);
    const answer = await t.call('GET', `/v1/callbacks/${tokenOf(ada.link!)}`);
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({
      title: 'Link expired',
      detail: 'This link expired at 2026-01-01T01:00:00.000Z',
    });
    expect((await t.call('GET', `/v1/callbacks/${'x'.repeat(43)}`)).body.title).toBe('Not Found');
  });

  it('notifies approvers by default; an approval through a link is that approver’s, and names no one else', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const ada = (await outbox(t)).find((i) => i.person === 'ada@example.com')!;
    await t.call('POST', `/v1/callbacks/${tokenOf(ada.link!)}`, { body: { inputs: { email: 'a@b.co' } } });
    await t.drive(runId);
    const approvals = (await outbox(t)).filter((i) => i.step_id === 'decide');
    expect(approvals.map((i) => i.person).sort()).toEqual(['cfo@example.com', 'lead@example.com']);
    expect(approvals[0]!.text).toContain('Welcome Ada Ltd?');
    const lead = approvals.find((i) => i.person === 'lead@example.com')!;
    const cfo = approvals.find((i) => i.person === 'cfo@example.com')!;
    const other = await t.call('POST', `/v1/callbacks/${tokenOf(lead.link!)}`, {
      body: { decision: 'approve', approver: 'cfo@example.com' },
    });
    expect(other.status).toBe(403);
    const mine = await t.call('POST', `/v1/callbacks/${tokenOf(cfo.link!)}`, {
      body: { decision: 'approve', comment: 'fine' },
    });
    expect(mine.status).toBe(202);
    await t.drive(runId);
    const run = await t.call('GET', `/v1/executions/${runId}`, { headers: AUTH });
    expect(run.body).toMatchObject({ status: 'completed', output: 'approved' });
    const history = (await t.call('GET', `/v1/executions/${runId}/history`, { headers: AUTH })).body;
    const decide = history.find((h: { step_id: string }) => h.step_id === 'decide');
    expect(decide.output.approvals).toEqual([
      { approver: 'cfo@example.com', decision: 'approved', comment: 'fine', at: '2026-01-01T00:00:00.000Z' },
    ]);
  });

  /** A run waiting for two approvals of two approvers, and each approver's personal link. */
  async function twoNeeded(t: Awaited<ReturnType<typeof bed>>) {
    const runId = await startRun(
      t,
      `schema_version: "1.0"
id: both
steps:
  - id: decide
    type: approval
    config: { approvers: ["lead@example.com", "cfo@example.com"], min_approvals: 2 }
`,
    );
    return { runId, links: new Map((await outbox(t)).map((i) => [i.person, tokenOf(i.link!)])) };
  }

  it('asks the second of two needed approvals, sent before the first was applied, to be sent again; its link still works', async () => {
    const t = await bed();
    const { runId, links } = await twoNeeded(t);
    // Both answered the wait as it was: one inbox id per wait, so the second is refused rather than
    // told 202 and dropped; it is told the step may still wait for it.
    const lead = await t.call('POST', `/v1/callbacks/${links.get('lead@example.com')}`, {
      body: { decision: 'approve' },
    });
    const cfo = await t.call('POST', `/v1/callbacks/${links.get('cfo@example.com')}`, {
      body: { decision: 'approve' },
    });
    expect([lead.status, cfo.status]).toEqual([202, 409]);
    expect(cfo.body.detail).toContain('if the step still waits for yours, send it again');
    await t.drive(runId);
    const again = await t.call('POST', `/v1/callbacks/${links.get('cfo@example.com')}`, {
      body: { decision: 'approve' },
    });
    expect(again.status).toBe(202);
    await t.drive(runId);
    const history = (await t.call('GET', `/v1/executions/${runId}/history`, { headers: AUTH })).body;
    expect(history[0].output).toMatchObject({ decision: 'approved' });
    expect(history[0].output.approvals.map((a: { approver: string }) => a.approver)).toEqual([
      'lead@example.com',
      'cfo@example.com',
    ]);
    // Used now: a link works once.
    const twice = await t.call('POST', `/v1/callbacks/${links.get('cfo@example.com')}`, {
      body: { decision: 'approve' },
    });
    expect(twice.body.title).toBe('Link used');
  });

  it('refuses the same approver twice, and leaves the link of the refused answer unused', async () => {
    const t = await bed();
    const { runId, links } = await twoNeeded(t);
    const byApi = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: AUTH,
      body: { decision: 'approve', approver: 'LEAD@example.com ' },
    });
    expect(byApi.status).toBe(202);
    const byLink = await t.call('POST', `/v1/callbacks/${links.get('lead@example.com')}`, {
      body: { decision: 'approve' },
    });
    expect(byLink.status).toBe(409);
    await t.drive(runId);
    // The link was given back: it is refused for what the lead did, not as used.
    const again = await t.call('POST', `/v1/callbacks/${links.get('lead@example.com')}`, {
      body: { decision: 'approve' },
    });
    expect(again).toMatchObject({
      status: 422,
      body: { detail: expect.stringContaining('already decided') },
    });
    const run = await t.call('GET', `/v1/executions/${runId}`, { headers: AUTH });
    expect(run.body.status).toBe('waiting');
  });

  it('lets one of two answers that would each decide the wait through, and tells the other', async () => {
    const t = await bed();
    const runId = await startRun(
      t,
      `schema_version: "1.0"
id: either
steps:
  - id: decide
    type: approval
    config: { approvers: ["lead@example.com", "cfo@example.com"], min_approvals: 1 }
`,
    );
    const approve = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: AUTH,
      body: { decision: 'approve', approver: 'lead@example.com' },
    });
    const reject = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: AUTH,
      body: { decision: 'reject', approver: 'cfo@example.com' },
    });
    expect([approve.status, reject.status]).toEqual([202, 409]);
    // The approval decided the step: nothing to send again.
    expect(reject.body.detail).toBe("Another answer to step 'decide' was accepted first");
    await t.drive(runId);
    const history = (await t.call('GET', `/v1/executions/${runId}/history`, { headers: AUTH })).body;
    expect(history[0].output).toMatchObject({ decision: 'approved' });
  });

  it('labels an answer from the console as via console, and one through the API as via api', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: { ...OPS, 'x-flowrunner-via': 'console' },
      body: { inputs: { email: 'a@b.co' } },
    });
    expect(answer.status).toBe(202);
    await t.drive(runId);
    const approved = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: AUTH,
      body: { decision: 'approve', approver: 'lead@example.com' },
    });
    expect(approved.status).toBe(202);
    await t.drive(runId);
    const events = (await t.call('GET', `/v1/executions/${runId}/events`, { headers: AUTH })).body.events;
    const done = events
      .filter((e: { type: string }) => e.type === 'step.completed')
      .map((e: { data: unknown }) => e.data);
    expect(done[0]).toMatchObject({ by: 'ops', via: 'console' });
    expect(done[1]).toMatchObject({ by: 'lead@example.com', via: 'api' });
  });

  it('records a failed webhook as step.notify_failed, retries it later, and never fails the run', async () => {
    let down = true;
    const t = await bed(() =>
      down ? { status: 503, headers: {}, body: 'busy' } : { status: 204, headers: {}, body: '' },
    );
    const yaml = `schema_version: "1.0"
id: hooked
steps:
  - id: ask
    type: form
    config:
      fields: [{ key: ok, type: boolean }]
      notify: { webhook: "https://hooks.example.com/flow" }
`;
    const runId = await startRun(t, yaml);
    const run = await t.call('GET', `/v1/executions/${runId}`, { headers: AUTH });
    expect(run.body.status).toBe('waiting');
    const events = (await t.call('GET', `/v1/executions/${runId}/events`, { headers: AUTH })).body.events;
    const failed = events.find((e: { type: string }) => e.type === 'step.notify_failed');
    expect(failed).toMatchObject({
      step_id: 'ask',
      data: { channel: 'webhook', code: 'WebhookRefused', retry_at: '2026-01-01T00:01:00.000Z' },
    });
    expect((await outbox(t))[0]).toMatchObject({ status: 'failed', attempts: 1 });
    // Not due yet: nothing is tried.
    expect(await t.deps.notifier!.retryDue()).toBe(0);
    down = false;
    t.clock.advance(60_000);
    expect(await t.deps.notifier!.retryDue()).toBe(1);
    expect((await outbox(t))[0]).toMatchObject({ status: 'sent', attempts: 2 });
    const posted = t.http.requests.map((r) => JSON.parse(r.body!));
    expect(posted).toHaveLength(2);
    expect(posted[1]).toMatchObject({ type: 'flowrunner.wait', run_id: runId, step_id: 'ask', kind: 'form' });
    expect(posted[1].link).toMatch(/^https:\/\/flow\.example\.com\/console\/tasks\//);
    // The same idempotency key on both tries: the receiver can tell a repeat.
    expect(new Set(t.http.requests.map((r) => r.headers['idempotency-key'])).size).toBe(1);
  });

  it('keeps the secrets a step resolved out of its notifications, and refuses addresses made from secrets', async () => {
    const secret = 'key-0f3a9c7e21';
    const t = await setUp({ apiKeys: KEYS }, undefined, {
      outboxIsMailbox: true,
      publicUrl: () => PUBLIC_URL,
      secrets: createMemorySecrets({ token: secret }),
    });
    const runId = await startRun(
      t,
      `schema_version: "1.0"
id: keyed
steps:
  - id: ask
    type: form
    config:
      fields: [{ key: note, type: string, default: "{{ secrets.token }}" }]
      message: "Use {{ secrets.token }} ({{ $uppercase(secrets.token) }})"
      notify: { email: ["ada@example.com"], subject: "About {{ secrets.token }}" }
`,
    );
    const [item] = await outbox(t);
    expect(item!.text).toContain('Use [REDACTED] ([REDACTED])');
    expect(item!.subject).toBe('About [REDACTED]');
    const stored = JSON.stringify(await t.stores.outbox.get((item as unknown as { id: string }).id));
    const shown = JSON.stringify(await outbox(t));
    for (const text of [stored, shown]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(secret.toUpperCase());
    }
    expect(runId).toMatch(/^run_/);

    const stored_address = 'must not read secrets: a notification’s address is stored with it';
    const refused = await t.call('POST', '/v1/workflows', {
      raw: `schema_version: "1.0"
id: hooked-secret
steps:
  - id: ask
    type: approval
    config:
      approvers: [lead@example.com]
      notify: { webhook: "https://hooks.example.com/{{ secrets.token }}", email: ["{{ secrets.token }}@example.com"] }
`,
      headers: { 'content-type': 'text/yaml', ...AUTH },
    });
    expect(refused.status).toBe(422);
    expect(
      refused.body.errors.map((e: { path: string; message: string }) => `${e.path}: ${e.message}`),
    ).toEqual([
      expect.stringMatching(new RegExp(`^steps\\[0\\]\\.config\\.notify\\.email\\[0\\]: ${stored_address}`)),
      expect.stringMatching(new RegExp(`^steps\\[0\\]\\.config\\.notify\\.webhook: ${stored_address}`)),
    ]);
  });

  it('records each notification once when the step opening the wait runs again (a crash before its commit)', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const notice = {
      run_id: runId,
      workflow_id: 'review',
      step_id: 'details',
      visit: 1,
      kind: 'form' as const,
      people: ['ADA@example.com', 'bob@example.com'],
      listed: true,
    };
    expect(await t.deps.notifier!.notifyWait(notice)).toEqual([]);
    const items = await outbox(t);
    expect(items).toHaveLength(2);
    expect(items.every((i) => i.attempts === 1)).toBe(true);
  });

  it('delivers an entry its writer never delivered, once the lease passed, and drops one whose wait ended', async () => {
    const t = await bed();
    const runId = await startRun(t);
    const [first] = await outbox(t);
    const id = (first as unknown as { id: string }).id;
    // As if the process died between recording and delivering.
    await t.stores.outbox.update(id, {
      status: 'pending',
      attempts: 0,
      next_attempt_at: '2026-01-01T00:01:00.000Z',
    });
    expect(await t.deps.notifier!.retryDue()).toBe(0);
    t.clock.advance(60_000);
    expect(await t.deps.notifier!.retryDue()).toBe(1);
    expect(await t.stores.outbox.get(id)).toMatchObject({ status: 'sent', attempts: 1 });
    await t.stores.outbox.update(id, { status: 'failed', next_attempt_at: '2026-01-01T00:01:00.000Z' });
    await t.call('POST', `/v1/executions/${runId}/cancel`, { headers: AUTH, body: {} });
    await t.drive(runId);
    expect(await t.deps.notifier!.retryDue()).toBe(1);
    expect(await t.stores.outbox.get(id)).toMatchObject({ status: 'dropped' });
  });

  it('shows a key that answers as one person that person’s links only, and no links where mail carries them', async () => {
    const t = await setUp(
      { apiKeys: { keys: apiKeysFromSetting('ada@example.com=ada-key,admin-key', sha256Hex) } },
      undefined,
      { outboxIsMailbox: true, publicUrl: () => PUBLIC_URL },
    );
    await t.call('POST', '/v1/workflows', {
      raw: REVIEW_YAML,
      headers: { 'content-type': 'text/yaml', authorization: 'Bearer admin-key' },
    });
    const run = await t.call('POST', '/v1/executions', {
      headers: { authorization: 'Bearer admin-key' },
      body: { workflow_id: 'review', inputs: { customer: 'Ada Ltd', helper: 'bob@example.com' } },
    });
    await t.drive(run.body.id);
    const seen = await t.call('GET', '/v1/outbox', { headers: { authorization: 'Bearer ada-key' } });
    const linked = seen.body.items.filter((i: OutboxItem) => i.link).map((i: OutboxItem) => i.person);
    expect(seen.body.items).toHaveLength(2);
    expect(linked).toEqual(['ada@example.com']);
    // In the cloud the outbox is a record, not a mailbox: no links at all.
    const cloud = await setUp({}, undefined, { publicUrl: () => PUBLIC_URL });
    await cloud.call('POST', '/v1/workflows', { raw: REVIEW_YAML, headers: { 'content-type': 'text/yaml' } });
    const cloudRun = await cloud.call('POST', '/v1/executions', {
      body: { workflow_id: 'review', inputs: { customer: 'Ada Ltd', helper: 'bob@example.com' } },
    });
    await cloud.drive(cloudRun.body.id);
    const record = await cloud.call('GET', '/v1/outbox');
    expect(record.body.items.map((i: OutboxItem) => [i.status, i.link])).toEqual([
      ['given_up', undefined],
      ['given_up', undefined],
    ]);
    expect(record.body.items[0].last_error.code).toBe('MailNotConfigured');
  });

  it('pages the outbox newest first', async () => {
    const t = await bed();
    for (let i = 0; i < 3; i += 1) {
      await startRun(t);
      t.clock.advance(1000);
    }
    const first = await t.call('GET', '/v1/outbox', { headers: AUTH, query: { limit: '4' } });
    expect(first.body.items).toHaveLength(4);
    const second = await t.call('GET', '/v1/outbox', {
      headers: AUTH,
      query: { limit: '4', cursor: first.body.next_cursor },
    });
    expect(second.body.items).toHaveLength(2);
    expect(second.body.next_cursor).toBeNull();
    const times = [...first.body.items, ...second.body.items].map(
      (i: { created_at: string }) => i.created_at,
    );
    expect(times).toEqual([...times].sort().reverse());
    expect((await t.call('GET', '/v1/outbox')).status).toBe(401);
  });
});
