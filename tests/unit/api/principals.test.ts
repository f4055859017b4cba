/**
 * CONTRACT §8: an API key may name a principal; its caller answers and acts as that principal only.
 * Keys without a principal keep the old behaviour (the body says who answers).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { apiKeysFromSetting } from '../../../functions/api/middleware/api-key-auth.js';
import { ONBOARDING_YAML, setUp } from './support.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const LEAD = { authorization: 'Bearer lead-key' };
const OPS = { authorization: 'Bearer ops-key' };
const EVE = { authorization: 'Bearer eve-key' };
const CFO = { authorization: 'Bearer cfo-key' };

async function waitingForApproval() {
  const t = await setUp({
    apiKeys: {
      keys: [
        { sha256: sha256('lead-key'), principal: 'lead@example.com' },
        { sha256: sha256('eve-key'), principal: 'eve@example.com' },
        { sha256: sha256('cfo-key'), principal: 'cfo@example.com' },
        { sha256: sha256('ops-key') },
      ],
    },
  });
  await t.call('POST', '/v1/workflows', {
    raw: ONBOARDING_YAML,
    headers: { ...OPS, 'content-type': 'text/yaml' },
  });
  const run = await t.call('POST', '/v1/executions', {
    headers: OPS,
    body: { workflow_id: 'onboarding', inputs: { customer: 'Ada' } },
  });
  const runId = run.body.id as string;
  await t.drive(runId);
  const form = await t.call('POST', `/v1/executions/${runId}/resume`, {
    headers: OPS,
    body: { inputs: { email: 'ada@example.com' } },
  });
  expect(form.status).toBe(202);
  await t.drive(runId);
  return { t, runId };
}

describe('api: principals named by API keys', () => {
  it('refuses with 403 an approval in the name of someone else than the key names', async () => {
    const { t, runId } = await waitingForApproval();
    const impostor = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: LEAD,
      body: { decision: 'approve', approver: 'eve@example.com' },
    });
    expect(impostor.status).toBe(403);
    expect(impostor.body.detail).toMatch(/lead@example\.com/);
  });

  it('answers as the key’s principal when the body names nobody, and records who', async () => {
    const { t, runId } = await waitingForApproval();
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers: LEAD,
      body: { decision: 'approve' },
    });
    expect(answer.status).toBe(202);
    await t.drive(runId);
    const history = await t.call('GET', `/v1/executions/${runId}/history`, { headers: OPS });
    const review = history.body.find((h: { step_id: string }) => h.step_id === 'review');
    expect(review.output.approvals[0]).toMatchObject({ approver: 'lead@example.com', decision: 'approved' });
  });

  it.each([
    ['a key without a principal, as the approver its body names', OPS, 'lead@example.com'],
    ['a principal, naming itself in any case', LEAD, 'Lead@Example.COM'],
  ])('takes an approval from %s', async (_case, headers, approver) => {
    const { t, runId } = await waitingForApproval();
    const answer = await t.call('POST', `/v1/executions/${runId}/resume`, {
      headers,
      body: { decision: 'approve', approver },
    });
    expect(answer.status).toBe(202);
  });

  it('shows a principal only a token that answers as them, and none for an approval they may not give', async () => {
    const { t, runId } = await waitingForApproval();
    const tokenFor = async (headers: Record<string, string>) => {
      const view = await t.call('GET', `/v1/executions/${runId}`, { headers });
      expect(view.body.waiting).toHaveLength(1);
      return view.body.waiting[0].callback_token as string | undefined;
    };
    // Eve is no approver: the wait's shared token would let her approve as the lead.
    expect(await tokenFor(EVE)).toBeUndefined();
    const shared = await tokenFor(OPS);
    const leads = await tokenFor(LEAD);
    expect(shared).toEqual(expect.any(String));
    expect(leads).toEqual(expect.any(String));
    expect(leads).not.toBe(shared);
    expect(await tokenFor(LEAD)).toBe(leads);
    const impostor = await t.call('POST', `/v1/callbacks/${leads}`, {
      body: { decision: 'approve', approver: 'eve@example.com' },
    });
    expect(impostor.status).toBe(403);
    const answer = await t.call('POST', `/v1/callbacks/${leads}`, { body: { decision: 'approve' } });
    expect(answer.status).toBe(202);
    await t.drive(runId);
    const history = await t.call('GET', `/v1/executions/${runId}/history`, { headers: OPS });
    const review = history.body.find((h: { step_id: string }) => h.step_id === 'review');
    expect(review.output.approvals[0]).toMatchObject({ approver: 'lead@example.com', decision: 'approved' });
  });

  it('shows a principal no token once theirs is used, while the approval still waits for others', async () => {
    const { t } = await waitingForApproval();
    await t.call('POST', '/v1/workflows', {
      raw: `schema_version: "1.0"
id: both
steps:
  - id: decide
    type: approval
    config: { approvers: ["lead@example.com", "cfo@example.com"], min_approvals: 2 }
`,
      headers: { ...OPS, 'content-type': 'text/yaml' },
    });
    const run = await t.call('POST', '/v1/executions', { headers: OPS, body: { workflow_id: 'both' } });
    const runId = run.body.id as string;
    await t.drive(runId);
    const tokenFor = async (headers: Record<string, string>) =>
      (await t.call('GET', `/v1/executions/${runId}`, { headers })).body.waiting[0].callback_token;
    const leads = await tokenFor(LEAD);
    expect((await t.call('POST', `/v1/callbacks/${leads}`, { body: { decision: 'approve' } })).status).toBe(
      202,
    );
    await t.drive(runId);
    // The lead decided: their token is used and not shown again; the CFO's is.
    expect(await tokenFor(LEAD)).toBeUndefined();
    expect(await tokenFor(CFO)).toEqual(expect.any(String));
  });

  it('shows a webhook’s sender no token: it proved only that it holds one request', async () => {
    const { t } = await waitingForApproval();
    const listener = await t.call('POST', '/v1/listeners', {
      headers: OPS,
      body: { id: 'open', type: 'webhook', workflow_id: 'onboarding', inputs: { customer: 'Hook' } },
    });
    expect(listener.status).toBe(201);
    const hook = () =>
      t.call('POST', '/v1/hooks/open', {
        headers: { ...EVE, 'content-type': 'application/json' },
        raw: '{}',
      });
    const first = await hook();
    expect(first.status).toBe(202);
    await t.drive(first.body.id);
    const again = await hook();
    expect(again.status).toBe(200);
    expect(again.body.waiting).toHaveLength(1);
    expect(again.body.waiting[0].callback_token).toBeUndefined();
    expect(first.body.waiting.every((w: { callback_token?: string }) => !w.callback_token)).toBe(true);
  });

  it('makes a principal the `by` of a pause and refuses another `by`', async () => {
    const { t, runId } = await waitingForApproval();
    const other = await t.call('POST', `/v1/executions/${runId}/pause`, {
      headers: LEAD,
      body: { by: 'eve@example.com' },
    });
    expect(other.status).toBe(403);
    const paused = await t.call('POST', `/v1/executions/${runId}/pause`, { headers: LEAD, body: {} });
    expect(paused.status).toBe(202);
    await t.drive(runId);
    const events = await t.call('GET', `/v1/executions/${runId}/events`, { headers: OPS });
    const pause = events.body.events.find((e: { type: string }) => e.type === 'run.paused');
    expect(pause.data).toEqual({ by: 'lead@example.com' });
  });

  it('reads FLOWRUNNER_API_KEYS entries as `key` or `principal=key`', () => {
    expect(apiKeysFromSetting(' k1 , lead@example.com=k=2 ,', (v) => `h(${v})`)).toEqual([
      { sha256: 'h(k1)' },
      { principal: 'lead@example.com', sha256: 'h(k=2)' },
    ]);
  });
});
