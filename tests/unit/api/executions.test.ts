import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../functions/api/routes/executions.js';
import { setUp } from './support.js';

describe('api /v1/executions', () => {
  it('starts a run (202), and shows its form wait with a callback token', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    expect(t.started).toEqual([{ run_id: runId, name: runId, generation: 0 }]);
    const run = await t.call('GET', `/v1/executions/${runId}`);
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({
      id: runId,
      workflow_id: 'onboarding',
      workflow_version: 1,
      status: 'waiting',
    });
    expect(run.body.waiting).toHaveLength(1);
    expect(run.body.waiting[0]).toMatchObject({
      step_id: 'collect',
      type: 'form',
      fields: [{ key: 'email' }],
    });
    expect(run.body.waiting[0].callback_token).toEqual(expect.any(String));
    const again = await t.call('GET', `/v1/executions/${runId}`);
    expect(again.body.waiting[0].callback_token).toBe(run.body.waiting[0].callback_token);
  });

  it('checks the inputs at start (422 with paths)', async () => {
    const t = await setUp();
    await t.startWaiting();
    const answer = await t.call('POST', '/v1/executions', {
      body: { workflow_id: 'onboarding', inputs: {} },
    });
    expect(answer.status).toBe(422);
    expect(answer.body.errors).toEqual([{ path: 'inputs.customer', message: 'is required' }]);
    const unknown = await t.call('POST', '/v1/executions', { body: { workflow_id: 'nope' } });
    expect(unknown.status).toBe(404);
    const extra = await t.call('POST', '/v1/executions', {
      body: { workflow_id: 'onboarding', surprise: 1 },
    });
    expect(extra.status).toBe(422);
  });

  it('refuses bad form inputs with 422 and delivers nothing', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const bad = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { inputs: { email: 'nope' } },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toContain('email');
    expect(await t.stores.inbox.read(runId, 0)).toEqual([]);
  });

  it('runs the whole flow: form, a stranger refused (403), the approver, completed', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const form = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { step_id: 'collect', inputs: { email: 'ada@example.com' } },
    });
    expect(form.status).toBe(202);
    await t.drive(runId);
    const waiting = await t.call('GET', `/v1/executions/${runId}`);
    expect(waiting.body.waiting[0]).toMatchObject({
      step_id: 'review',
      type: 'approval',
      approvers: ['lead@example.com'],
    });

    const stranger = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { decision: 'approve', approver: 'eve@example.com' },
    });
    expect(stranger.status).toBe(403);
    const good = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { decision: 'approve', approver: 'lead@example.com', comment: 'fine' },
    });
    expect(good.status).toBe(202);
    await t.drive(runId);
    const done = await t.call('GET', `/v1/executions/${runId}`);
    expect(done.body).toMatchObject({ status: 'completed', output: 'ada@example.com', waiting: [] });

    const history = await t.call('GET', `/v1/executions/${runId}/history`);
    expect(history.body.map((h: { step_id: string }) => h.step_id)).toEqual(['collect', 'review', 'done']);
    const context = await t.call('GET', `/v1/executions/${runId}/context`);
    expect(context.body.steps.collect.output).toEqual({ email: 'ada@example.com' });
    const late = await t.call('POST', `/v1/executions/${runId}/resume`, { body: { inputs: {} } });
    expect(late.status).toBe(409);
  });

  it('starts idempotently: same key and body 200 with the same run, another body 409', async () => {
    const t = await setUp();
    await t.startWaiting();
    const headers = { 'idempotency-key': 'k-1' };
    const first = await t.call('POST', '/v1/executions', {
      headers,
      body: { workflow_id: 'onboarding', inputs: { customer: 'Bo' } },
    });
    expect(first.status).toBe(202);
    const repeat = await t.call('POST', '/v1/executions', {
      headers: { ...headers, 'content-type': 'application/json' },
      raw: '{"inputs":{"customer":"Bo"},"workflow_id":"onboarding"}',
    });
    expect(repeat.status).toBe(200);
    expect(repeat.body.id).toBe(first.body.id);
    const other = await t.call('POST', '/v1/executions', {
      headers,
      body: { workflow_id: 'onboarding', inputs: { customer: 'Cy' } },
    });
    expect(other.status).toBe(409);
    const names = t.started.filter((s) => s.run_id === first.body.id).map((s) => s.name);
    expect(new Set(names)).toEqual(new Set([first.body.id]));
  });

  it('answers a retry with its run after the workflow was retired or changed its inputs', async () => {
    const t = await setUp();
    await t.startWaiting();
    const headers = { 'idempotency-key': 'k-retry' };
    const body = { workflow_id: 'onboarding', inputs: { customer: 'Ed' } };
    const first = await t.call('POST', '/v1/executions', { headers, body });
    expect(first.status).toBe(202);
    const workflow = (await t.call('GET', '/v1/workflows/onboarding')).body.definition;
    const stricter = {
      ...workflow,
      inputs: { type: 'object', required: ['customer', 'team'], properties: { team: { type: 'string' } } },
    };
    expect((await t.call('PUT', '/v1/workflows/onboarding', { body: stricter })).status).toBe(200);
    const afterChange = await t.call('POST', '/v1/executions', { headers, body });
    expect(afterChange).toMatchObject({ status: 200, body: { id: first.body.id } });
    expect((await t.call('DELETE', '/v1/workflows/onboarding')).status).toBe(204);
    const afterRetire = await t.call('POST', '/v1/executions', { headers, body });
    expect(afterRetire).toMatchObject({ status: 200, body: { id: first.body.id } });
    // A new key is refused as before: the workflow starts no new runs.
    const fresh = await t.call('POST', '/v1/executions', { headers: { 'idempotency-key': 'k-new' }, body });
    expect(fresh.status).toBe(409);
  });

  it('answers 409 to another body under a used key, whatever that body holds', async () => {
    const t = await setUp();
    await t.startWaiting();
    const headers = { 'idempotency-key': 'k-other' };
    expect(
      (
        await t.call('POST', '/v1/executions', {
          headers,
          body: { workflow_id: 'onboarding', inputs: { customer: 'Fi' } },
        })
      ).status,
    ).toBe(202);
    for (const other of [
      { workflow_id: 'nope' },
      { workflow_id: 'onboarding', version: 99 },
      { workflow_id: 'onboarding', inputs: { customer: 7 } },
      { workflow_id: 'onboarding', inputs: { customer: 'Gus' } },
    ]) {
      const answer = await t.call('POST', '/v1/executions', { headers, body: other });
      expect({ other, status: answer.status }).toEqual({ other, status: 409 });
    }
  });

  it('claims no key for a request it refuses: the corrected request under that key starts the run', async () => {
    const t = await setUp();
    await t.startWaiting();
    const headers = { 'idempotency-key': 'k-fix' };
    const refused = await t.call('POST', '/v1/executions', {
      headers,
      body: { workflow_id: 'onboarding', inputs: { customer: 7 } },
    });
    expect(refused.status).toBe(422);
    const fixed = await t.call('POST', '/v1/executions', {
      headers,
      body: { workflow_id: 'onboarding', inputs: { customer: 'Hal' } },
    });
    expect(fixed.status).toBe(202);
  });

  it('refuses a blank Idempotency-Key with 422 rather than ignore it', async () => {
    const t = await setUp();
    await t.startWaiting();
    for (const key of ['', '   ']) {
      const answer = await t.call('POST', '/v1/executions', {
        headers: { 'idempotency-key': key },
        body: { workflow_id: 'onboarding', inputs: { customer: 'Ida' } },
      });
      expect(answer).toMatchObject({ status: 422, body: { errors: [{ path: 'Idempotency-Key' }] } });
    }
  });

  it('finishes a start that stopped after its key was claimed', async () => {
    const t = await setUp();
    await t.startWaiting();
    const body = { workflow_id: 'onboarding', inputs: { customer: 'Di' } };
    await t.stores.idempotency.claim(
      {
        key: 'k-crash',
        body_hash: createHash('sha256').update(canonicalJson(body)).digest('hex'),
        run_id: 'run-crashed',
        expires_at: '2026-01-02T00:00:00.000Z',
      },
      t.clock.now(),
    );
    const repeat = await t.call('POST', '/v1/executions', {
      headers: { 'idempotency-key': 'k-crash' },
      body,
    });
    expect(repeat).toMatchObject({ status: 200, body: { id: 'run-crashed', status: 'running' } });
    await t.drive('run-crashed');
    expect((await t.call('GET', '/v1/executions/run-crashed')).body.status).toBe('waiting');
  });

  it('finishes a start whose execution never began when the same Idempotency-Key comes again, and only then', async () => {
    const t = await setUp();
    await t.startWaiting();
    const body = { workflow_id: 'onboarding', inputs: { customer: 'Grace' } };
    const headers = { 'idempotency-key': 'k-half' };
    const start = t.deps.executions.start;
    t.deps.executions.start = async () => {
      throw new Error('the host died before StartExecution');
    };
    expect((await t.call('POST', '/v1/executions', { headers, body })).status).toBe(500);
    t.deps.executions.start = start;
    const before = t.started.length;
    const repeat = await t.call('POST', '/v1/executions', { headers, body });
    expect(repeat.status).toBe(200);
    const runId = repeat.body.id as string;
    // The run was stored (started) by the first request; its execution is started now, once.
    expect(t.started.slice(before)).toEqual([{ run_id: runId, name: runId, generation: 0 }]);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('waiting');
    // Once an Advance has committed, the same request again starts no second execution.
    expect((await t.call('POST', '/v1/executions', { headers, body })).status).toBe(200);
    expect(t.started.slice(before)).toHaveLength(1);
  });

  it('cancels, pauses and unpauses with the right statuses', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    expect((await t.call('POST', `/v1/executions/${runId}/unpause`)).status).toBe(409);
    expect((await t.call('POST', `/v1/executions/${runId}/pause`)).status).toBe(202);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('paused');
    expect((await t.call('POST', `/v1/executions/${runId}/pause`)).status).toBe(409);
    expect((await t.call('POST', `/v1/executions/${runId}/unpause`)).status).toBe(202);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('waiting');
    expect(
      (await t.call('POST', `/v1/executions/${runId}/cancel`, { body: { reason: 'test' } })).status,
    ).toBe(202);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('canceled');
    expect((await t.call('POST', `/v1/executions/${runId}/cancel`)).status).toBe(409);
  });

  it('pages events with after and cursors', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const all = await t.call('GET', `/v1/executions/${runId}/events`);
    expect(all.status).toBe(200);
    const seqs = all.body.events.map((e: { seq: number }) => e.seq);
    expect(seqs.length).toBeGreaterThan(2);
    const first = await t.call('GET', `/v1/executions/${runId}/events`, { query: { limit: '2' } });
    expect(first.body.events.map((e: { seq: number }) => e.seq)).toEqual(seqs.slice(0, 2));
    const next = await t.call('GET', `/v1/executions/${runId}/events`, {
      query: { limit: '2', after: first.body.next_cursor },
    });
    expect(next.body.events.map((e: { seq: number }) => e.seq)).toEqual(seqs.slice(2, 4));
    const after = await t.call('GET', `/v1/executions/${runId}/events`, {
      query: { after: String(seqs[0]) },
    });
    expect(after.body.events[0].seq).toBe(seqs[1]);
  });

  it('lists runs filtered by workflow and status', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const list = await t.call('GET', '/v1/executions', {
      query: { workflow_id: 'onboarding', status: 'waiting' },
    });
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual([runId]);
    const none = await t.call('GET', '/v1/executions', { query: { status: 'completed' } });
    expect(none.body.items).toEqual([]);
    expect((await t.call('GET', '/v1/executions', { query: { status: 'bogus' } })).status).toBe(422);
  });

  it('answers 404 for an unknown run', async () => {
    const t = await setUp();
    for (const path of ['/v1/executions/nope', '/v1/executions/nope/history', '/v1/executions/nope/events']) {
      const answer = await t.call('GET', path);
      expect(answer.status).toBe(404);
      expect(answer.headers['content-type']).toBe('application/problem+json');
    }
    expect((await t.call('POST', '/v1/executions/nope/resume', { body: { inputs: {} } })).status).toBe(404);
  });
});

describe('api /v1/callbacks', () => {
  it('resumes the wait once; the second use is 404', async () => {
    const t = await setUp();
    const runId = await t.startWaiting();
    const token = (await t.call('GET', `/v1/executions/${runId}`)).body.waiting[0].callback_token;
    const bad = await t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: 'x' } } });
    expect(bad.status).toBe(422);
    const good = await t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: 'a@b.co' } } });
    expect(good.status).toBe(202);
    expect(
      (await t.call('POST', `/v1/callbacks/${token}`, { body: { inputs: { email: 'a@b.co' } } })).status,
    ).toBe(404);
    await t.drive(runId);
    const run = await t.call('GET', `/v1/executions/${runId}`);
    expect(run.body.waiting[0].step_id).toBe('review');
    expect((await t.call('POST', '/v1/callbacks/unknown-token', { body: {} })).status).toBe(404);
  });
});
