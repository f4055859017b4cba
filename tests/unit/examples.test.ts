import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateWorkflow } from '../../shared/definition/validate.js';
import { Harness } from '../../shared/harness/harness.js';
import { createMemoryHttpClient } from '../../shared/http/memory-http-client.js';

const dir = new URL('../../examples/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const source = (file: string) => readFileSync(new URL(file, dir), 'utf8');
const allExamples = () => files.map(source);

describe('examples/', () => {
  it.each(files)('%s is a valid workflow', (file) => {
    expect(validateWorkflow(source(file)).errors).toEqual([]);
  });

  it('onboarding: form, AI draft, a rejected then approved review, then the mail is sent with the secret', async () => {
    const http = createMemoryHttpClient((request) => ({
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'mail-1', to: JSON.parse(request.body ?? '{}').to }),
    }));
    const harness = new Harness({ workflows: allExamples(), http, secrets: { mail_token: 'tok-123456' } });
    const run = await harness.start('onboarding', { inputs: { customer: 'Ada' } });
    expect((await harness.waiting(run.id))[0]).toMatchObject({ step_id: 'collect', title: 'Welcome Ada' });
    await harness.resume(run.id, { inputs: { email: 'ada@example.com', plan: 'pro' } });
    expect((await harness.waiting(run.id))[0]).toMatchObject({
      step_id: 'review',
      approvers: ['lead@example.com'],
    });
    await harness.resume(run.id, {
      decision: 'reject',
      approver: 'lead@example.com',
      comment: 'Warmer, please',
    });
    expect(harness.run(run.id).steps.draft!.visit).toBe(2);
    await harness.resume(run.id, { decision: 'approve', approver: 'lead@example.com' });

    const done = harness.run(run.id);
    expect(done.status).toBe('completed');
    expect(done.output).toEqual({ id: 'mail-1', to: 'ada@example.com' });
    expect(http.requests).toHaveLength(1);
    expect(http.requests[0]).toMatchObject({
      method: 'POST',
      url: 'https://mail.example.com/v1/send',
      headers: expect.objectContaining({
        authorization: 'Bearer tok-123456',
        'idempotency-key': `${run.id}:send:1`,
      }),
    });
    const stored = JSON.stringify([
      done,
      harness.events(run.id),
      harness.history(run.id),
      await harness.context(run.id),
    ]);
    expect(stored).not.toContain('tok-123456');
    const ai = harness.events(run.id).filter((e) => e.type === 'ai.response');
    expect(ai).toHaveLength(2);
    expect(Object.keys(ai[0]!.data)).toEqual(
      expect.arrayContaining([
        'provider',
        'model',
        'tokens_prompt',
        'tokens_output',
        'latency_ms',
        'retry_count',
      ]),
    );
  });

  it('onboarding: the approval timeout ends the run with ApprovalTimeout', async () => {
    const harness = new Harness({ workflows: allExamples(), secrets: { mail_token: 't' } });
    const run = await harness.start('onboarding', { inputs: { customer: 'Ada' } });
    await harness.resume(run.id, { inputs: { email: 'ada@example.com' } });
    await harness.advanceTime(172_800_000);
    expect(harness.run(run.id)).toMatchObject({ status: 'failed', error: { code: 'ApprovalTimeout' } });
  });

  it.each([
    [500, false, true],
    [2_000, true, true],
    [8_000, true, false],
  ])(
    'order-checks: an order of %d: fraud checked %s, accepted %s',
    async (amount, fraudChecked, accepted) => {
      const harness = new Harness({ workflows: allExamples() });
      const run = await harness.start('order-checks', { inputs: { order_id: 'o-1', amount } });
      expect(run.status).toBe('completed');
      expect(run.output).toEqual({ order_id: 'o-1', accepted, fraud_checked: fraudChecked });
      expect(run.steps.fraud!.status).toBe(fraudChecked ? 'completed' : 'skipped');
    },
  );

  it('review-loop: a rejection sends the run back to drafting with the comment', async () => {
    const harness = new Harness({ workflows: allExamples() });
    const run = await harness.start('review-loop', { inputs: { topic: 'durable workflows' } });
    await harness.resume(run.id, { decision: 'reject', approver: 'editor@example.com', comment: 'Shorter' });
    await harness.resume(run.id, { decision: 'approve', approver: 'editor@example.com' });
    const done = harness.run(run.id);
    expect(done.status).toBe('completed');
    expect(done.output).toMatchObject({ drafts: 2, summary: expect.any(String) });
  });

  it('invoice-batch: the parent waits for its child run and uses its output', async () => {
    const harness = new Harness({ workflows: allExamples() });
    const run = await harness.start('invoice-batch', {
      inputs: {
        customer: 'acme',
        items: [
          { price: 2.5, qty: 4 },
          { price: 10, qty: 1 },
        ],
      },
    });
    await harness.idle();
    expect(harness.run(run.id).output).toEqual({ customer: 'acme', total: 20, child_status: 'completed' });
    expect(harness.runs().filter((r) => r.workflow_id === 'invoice')).toHaveLength(1);
  });

  it('crm-sync: looks the contact up, creates it when missing, with the token from the secret store', async () => {
    const http = createMemoryHttpClient((request) =>
      request.method === 'GET'
        ? { status: 404, headers: { 'content-type': 'application/json' }, body: '{"error":"not found"}' }
        : { status: 201, headers: { 'content-type': 'application/json' }, body: '{"id":"c-9"}' },
    );
    const harness = new Harness({ workflows: allExamples(), http, secrets: { crm_token: 'crm-secret-1' } });
    const run = await harness.start('crm-sync', { inputs: { email: 'ada@example.com', name: 'Ada' } });
    expect(run.status).toBe('completed');
    expect(run.output).toEqual({ id: 'c-9' });
    expect(http.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET https://crm.example.com/api/contacts?email=ada%40example.com',
      'POST https://crm.example.com/api/contacts',
    ]);
    expect(http.requests.every((r) => r.headers.authorization === 'Bearer crm-secret-1')).toBe(true);
    expect(JSON.stringify([harness.run(run.id), harness.events(run.id)])).not.toContain('crm-secret-1');
  });
});
