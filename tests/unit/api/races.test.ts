/**
 * Concurrent answers to one wait, and concurrent controls of one run: exactly one is accepted (202),
 * every other caller is told 409, and the run applies exactly the accepted one.
 */
import { describe, expect, it } from 'vitest';
import { setUp } from './support.js';

const APPROVERS = Array.from({ length: 20 }, (_, i) => `p${i}@example.com`);

const PANEL_YAML = `schema_version: "1.0"
id: panel
steps:
  - id: ask
    type: approval
    config: { approvers: [${APPROVERS.join(', ')}] }
    next: { approved: yes, rejected: no }
  - id: "yes"
    type: transform
    config: { output: approved }
  - id: "no"
    type: transform
    config: { output: rejected }
`;

async function panelRun(t: Awaited<ReturnType<typeof setUp>>) {
  const created = await t.call('POST', '/v1/workflows', {
    raw: PANEL_YAML,
    headers: { 'content-type': 'text/yaml' },
  });
  expect(created.status).toBe(201);
  const run = await t.call('POST', '/v1/executions', { body: { workflow_id: 'panel' } });
  await t.drive(run.body.id);
  return run.body.id as string;
}

describe('api: concurrent answers and controls', () => {
  it('accepts exactly one of 20 identical concurrent approvals and tells the other 19 409', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.call('POST', `/v1/executions/${runId}/resume`, {
          body: { decision: 'approve', approver: APPROVERS[0] },
        }),
      ),
    );
    expect(answers.filter((a) => a.status === 202)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
    await t.drive(runId);
    const events = await t.call('GET', `/v1/executions/${runId}/events`);
    expect(
      events.body.events.filter(
        (e: { type: string; step_id?: string }) => e.type === 'step.completed' && e.step_id === 'ask',
      ),
    ).toHaveLength(1);
  });

  it('lets the one accepted answer of 20 approvers (10 approve, 10 reject) decide the run', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const answers = await Promise.all(
      APPROVERS.map((approver, i) =>
        t.call('POST', `/v1/executions/${runId}/resume`, {
          body: { decision: i % 2 === 0 ? 'approve' : 'reject', approver },
        }),
      ),
    );
    const accepted = answers.flatMap((a, i) => (a.status === 202 ? [i] : []));
    expect(accepted).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(19);
    await t.drive(runId);
    const run = await t.call('GET', `/v1/executions/${runId}`);
    expect(run.body.output).toBe(accepted[0]! % 2 === 0 ? 'approved' : 'rejected');
  });

  it('accepts one of an answer by callback token and one through the API sent at once', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const { body: view } = await t.call('GET', `/v1/executions/${runId}`);
    const token = view.waiting[0].callback_token as string;
    const [byLink, byApi] = await Promise.all([
      t.call('POST', `/v1/callbacks/${token}`, { body: { decision: 'reject', approver: APPROVERS[1] } }),
      t.call('POST', `/v1/executions/${runId}/resume`, {
        body: { decision: 'approve', approver: APPROVERS[2] },
      }),
    ]);
    expect([byLink.status, byApi.status].sort()).toEqual([202, 409]);
  });

  it('answers 409 to the second of two immediate pauses, and of two unpauses', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const pauses = await Promise.all([
      t.call('POST', `/v1/executions/${runId}/pause`, { body: {} }),
      t.call('POST', `/v1/executions/${runId}/pause`, { body: {} }),
    ]);
    expect(pauses.map((p) => p.status).sort()).toEqual([202, 409]);
    await t.drive(runId);
    const unpauses = await Promise.all([
      t.call('POST', `/v1/executions/${runId}/unpause`, { body: {} }),
      t.call('POST', `/v1/executions/${runId}/unpause`, { body: {} }),
    ]);
    expect(unpauses.map((p) => p.status).sort()).toEqual([202, 409]);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('waiting');
  });

  it('cancels a run once: a second concurrent cancel is 409', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const cancels = await Promise.all([
      t.call('POST', `/v1/executions/${runId}/cancel`, { body: { reason: 'one' } }),
      t.call('POST', `/v1/executions/${runId}/cancel`, { body: { reason: 'two' } }),
    ]);
    expect(cancels.map((c) => c.status).sort()).toEqual([202, 409]);
  });

  it('refuses an answer, a pause or an unpause once a cancel was accepted, instead of accepting what the run will drop', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    expect((await t.call('POST', `/v1/executions/${runId}/cancel`, { body: {} })).status).toBe(202);
    const late = await Promise.all([
      t.call('POST', `/v1/executions/${runId}/resume`, {
        body: { decision: 'approve', approver: APPROVERS[0] },
      }),
      t.call('POST', `/v1/executions/${runId}/pause`, { body: {} }),
    ]);
    expect(late.map((r) => r.status)).toEqual([409, 409]);
    for (const refused of late)
      expect(refused.body.detail).toBe('The run is being canceled: a cancel was accepted first');
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('canceled');
  });

  it('refuses an answer to a child run once its parent’s cancel was accepted', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    // What the parent's end sends its child (shared/orchestration/children.ts).
    await t.stores.inbox.put(
      runId,
      'cancel:parent',
      { type: 'cancel', reason: 'The parent run ended' },
      t.clock.now(),
    );
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { decision: 'approve', approver: APPROVERS[0] },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.detail).toBe('The run is being canceled: a cancel was accepted first');
  });

  it('applies an answer accepted before a cancel, then the cancel', async () => {
    const t = await setUp();
    const runId = await panelRun(t);
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { decision: 'approve', approver: APPROVERS[0] },
    });
    expect(answer.status).toBe(202);
    expect((await t.call('POST', `/v1/executions/${runId}/cancel`, { body: {} })).status).toBe(202);
    await t.drive(runId);
    const events = await t.call('GET', `/v1/executions/${runId}/events`);
    const types = events.body.events.map(
      (e: { type: string; step_id?: string }) => `${e.type}:${e.step_id ?? ''}`,
    );
    expect(types).toContain('step.completed:ask');
    expect(types.at(-1)).toBe('run.canceled:');
  });

  it('lets a redriven run be answered although a cancel the engine refused is in its inbox for ever', async () => {
    const t = await setUp();
    const created = await t.call('POST', '/v1/workflows', {
      raw: `schema_version: "1.0"
id: flaky
steps:
  - { id: ask, type: form, config: { fields: [{ key: name }] } }
`,
      headers: { 'content-type': 'text/yaml' },
    });
    expect(created.status).toBe(201);
    const run = await t.call('POST', '/v1/executions', { body: { workflow_id: 'flaky' } });
    const runId = run.body.id as string;
    // A cancel accepted just as the run failed (here: failed by an abort first) is refused by the
    // engine; its id stays in the inbox.
    await t.stores.inbox.put(
      runId,
      'abort:0:9',
      { type: 'abort', error: { code: 'AdvanceFailed', message: 'x' } },
      t.clock.now(),
    );
    await t.stores.inbox.put(runId, 'cancel', { type: 'cancel' }, t.clock.now());
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('failed');
    expect((await t.call('POST', `/v1/executions/${runId}/redrive`, { body: {} })).status).toBe(202);
    await t.drive(runId);
    expect((await t.call('GET', `/v1/executions/${runId}`)).body.status).toBe('waiting');
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      body: { inputs: { name: 'x' } },
    });
    expect(answer.status).toBe(202);
  });
});
