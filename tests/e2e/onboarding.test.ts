/**
 * The onboarding flow over real HTTP against `npm start`: a form answered badly then well, an AI
 * draft, an approval refused to a stranger and given through a callback token, a mail sent to a
 * loopback sink with the secret in its header, and the secret nowhere in what the API shows.
 * Then a cancel that compensates completed steps in reverse order.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiClient } from '../support/api-client.js';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';
import { type ServerProcess, startServerProcess } from '../support/server-process.js';

const SECRET = 'mail-token-e2e-7f3a91';
let server: ServerProcess;
let sink: HttpSink;

beforeAll(async () => {
  sink = await startHttpSink();
  server = await startServerProcess({ FLOWRUNNER_SECRET_MAIL_TOKEN: SECRET });
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await sink?.close();
});

const { call, until } = apiClient(() => server.url);

describe('the onboarding flow over HTTP', () => {
  it('goes from the form to the sent mail, and keeps the secret out of everything it shows', async () => {
    const yaml = readFileSync('examples/onboarding.yaml', 'utf8')
      .replace('id: onboarding', 'id: onboarding-e2e')
      .replace('https://mail.example.com', sink.url);
    expect((await call('POST', '/v1/workflows', yaml)).status).toBe(201);

    const started = await call(
      'POST',
      '/v1/executions',
      { workflow_id: 'onboarding-e2e', inputs: { customer: 'Ada' } },
      { 'idempotency-key': 'start-ada' },
    );
    expect(started.status).toBe(202);
    const id = started.body.id as string;

    const atForm = await until(id, (r) => r.waiting.some((w) => w.step_id === 'collect'));
    expect(atForm.waiting[0]).toMatchObject({ type: 'form', callback_token: expect.any(String) });

    const bad = await call('POST', `/v1/executions/${id}/resume`, { inputs: { email: 'nope' } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors).toEqual([expect.objectContaining({ path: 'inputs.email' })]);
    const good = await call('POST', `/v1/executions/${id}/resume`, {
      inputs: { email: 'ada@example.com', plan: 'pro' },
    });
    expect(good.status).toBe(202);

    const atReview = await until(id, (r) => r.waiting.some((w) => w.step_id === 'review'));
    const review = atReview.waiting.find((w) => w.step_id === 'review')!;
    const stranger = await call('POST', `/v1/executions/${id}/resume`, {
      decision: 'approve',
      approver: 'eve@example.com',
    });
    expect(stranger.status).toBe(403);

    const token = review.callback_token as string;
    const approved = await call('POST', `/v1/callbacks/${token}`, {
      decision: 'approve',
      approver: 'lead@example.com',
    });
    expect(approved.status).toBe(202);
    expect(
      (await call('POST', `/v1/callbacks/${token}`, { decision: 'approve', approver: 'lead@example.com' }))
        .status,
    ).toBe(404);

    const done = await until(id, (r) => r.status === 'completed');
    const sent = sink.requests.filter((r) => r.path === '/v1/send');
    expect(sent).toHaveLength(1);
    expect(sent[0]!.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(sent[0]!.headers['idempotency-key']).toBe(`${id}:send:1`);
    expect(JSON.parse(sent[0]!.body)).toMatchObject({ to: 'ada@example.com', from: 'team@example.com' });
    expect(done.output).toMatchObject({ ok: true, path: '/v1/send' });

    const shown = JSON.stringify([
      done,
      (await call('GET', `/v1/executions/${id}/history`)).body,
      (await call('GET', `/v1/executions/${id}/context`)).body,
      (await call('GET', `/v1/executions/${id}/events?limit=500`)).body,
    ]);
    expect(shown).not.toContain(SECRET);

    // The same start again: the same run, not a second one.
    const again = await call(
      'POST',
      '/v1/executions',
      { workflow_id: 'onboarding-e2e', inputs: { customer: 'Ada' } },
      { 'idempotency-key': 'start-ada' },
    );
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(id);
  }, 60_000);

  it('compensates completed steps in reverse order when a run is canceled', async () => {
    const yaml = `schema_version: "1.0"
id: booking-e2e
services:
  sink: { base_url: "${sink.url}" }
steps:
  - id: flight
    type: api_call
    service: sink
    config: { method: POST, url: /flight }
    next: hotel
    compensate: { type: api_call, service: sink, config: { method: POST, url: /flight/cancel } }
  - id: hotel
    type: api_call
    service: sink
    config: { method: POST, url: /hotel }
    next: confirm
    compensate: { type: api_call, service: sink, config: { method: POST, url: /hotel/cancel } }
  - { id: confirm, type: form, config: { fields: [{ key: ok, type: boolean }] } }
`;
    expect((await call('POST', '/v1/workflows', yaml)).status).toBe(201);
    const id = (await call('POST', '/v1/executions', { workflow_id: 'booking-e2e' })).body.id as string;
    await until(id, (r) => r.waiting.some((w) => w.step_id === 'confirm'));
    expect((await call('POST', `/v1/executions/${id}/cancel`, {})).status).toBe(202);
    const canceled = await until(id, (r) => r.status === 'canceled');
    expect(canceled.compensated).toBe(true);
    const paths = sink.requests.map((r) => r.path).filter((p) => /^\/(flight|hotel)/.test(p));
    expect(paths).toEqual(['/flight', '/hotel', '/hotel/cancel', '/flight/cancel']);
    expect((await call('POST', `/v1/executions/${id}/cancel`, {})).status).toBe(409);
  }, 60_000);
});
