/**
 * `after` on GET /v1/executions/{id}/events, a seq or a `next_cursor`: the JSON page and the live
 * stream (the local server, over real HTTP) start at the same event, and `Last-Event-ID` (an
 * EventSource reconnecting) takes over from it.
 */
import { describe, expect, it } from 'vitest';
import { apiClient } from '../../support/api-client.js';
import { startServerInProcess, useServer } from '../../support/server-process.js';
import { ONBOARDING_YAML, setUp } from './support.js';

const STEPS = `schema_version: "1.0"
id: steps
steps:
  - id: one
    type: transform
    config: { output: 1 }
    next: two
  - id: two
    type: transform
    config: { output: 2 }
    next: three
  - id: three
    type: transform
    config: { output: 3 }
`;

describe('api GET /v1/executions/{id}/events: a bad after', () => {
  it('names the parameter after, for a negative seq and for what is no cursor', async () => {
    const t = await setUp();
    const id = await t.startWaiting();
    for (const after of ['-1', 'abc', 'x.y', '1234567890123456']) {
      const answer = await t.call('GET', `/v1/executions/${id}/events`, { query: { after } });
      expect(answer.status, after).toBe(422);
      expect(answer.headers['content-type']).toBe('application/problem+json');
      expect(
        answer.body.errors.map((e: { path: string }) => e.path),
        after,
      ).toEqual(['after']);
    }
    expect((await t.call('GET', `/v1/executions/${id}/events`, { query: { after: '1' } })).status).toBe(200);
  });
});

describe('local server: the live event stream starts where after says', () => {
  const server = useServer(() =>
    startServerInProcess({ FLOWRUNNER_API_KEYS: '', LOG_LEVEL: 'SILENT' }, { examplesDir: undefined }),
  );
  const { call, until } = apiClient(() => server.url);

  /** A run of three steps, ended, and the seqs of its events. */
  async function endedRun(): Promise<{ id: string; seqs: number[] }> {
    const created = await call('POST', '/v1/workflows', STEPS);
    expect([201, 409]).toContain(created.status);
    const started = await call('POST', '/v1/executions', { workflow_id: 'steps' });
    expect(started.status).toBe(202);
    const id = started.body.id as string;
    await until(id, (run) => run.status === 'completed');
    const page = await call('GET', `/v1/executions/${id}/events`);
    const seqs = (page.body.events as unknown as Array<{ seq: number }>).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThan(4);
    return { id, seqs };
  }

  /** The ids of the events the stream sends (it ends with the run). */
  async function streamed(id: string, query: string, headers: Record<string, string> = {}) {
    const response = await fetch(`${server.url}/v1/executions/${id}/events${query}`, {
      headers: { accept: 'text/event-stream', ...headers },
    });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text,
      ids: [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1])),
    };
  }

  it('starts after the seq in ?after=, as the JSON page does', async () => {
    const { id, seqs } = await endedRun();
    const page = await call('GET', `/v1/executions/${id}/events?after=2`);
    const paged = (page.body.events as unknown as Array<{ seq: number }>).map((e) => e.seq);
    const stream = await streamed(id, '?after=2');
    expect(stream.status).toBe(200);
    expect(stream.ids).toEqual(paged);
    expect(stream.ids).toEqual(seqs.filter((s) => s > 2));
  });

  it('starts at the position a next_cursor in ?after= names', async () => {
    const { id, seqs } = await endedRun();
    const first = await call('GET', `/v1/executions/${id}/events?limit=3`);
    const cursor = first.body.next_cursor as unknown as string;
    expect(cursor).toEqual(expect.any(String));
    const stream = await streamed(id, `?after=${encodeURIComponent(cursor)}`);
    expect(stream.status).toBe(200);
    expect(stream.ids).toEqual(seqs.slice(3));
  });

  it('goes on live from a cursor: the events after it, then each new one once, until the run ends', async () => {
    expect([201, 409]).toContain((await call('POST', '/v1/workflows', ONBOARDING_YAML)).status);
    const started = await call('POST', '/v1/executions', {
      workflow_id: 'onboarding',
      inputs: { customer: 'Ada' },
    });
    const id = started.body.id as string;
    await until(id, (run) => run.waiting.length > 0);
    const first = await call('GET', `/v1/executions/${id}/events?limit=1`);
    const cursor = first.body.next_cursor as unknown as string;
    const waitingSeqs = (
      (await call('GET', `/v1/executions/${id}/events`)).body.events as unknown as Array<{ seq: number }>
    ).map((e) => e.seq);

    const streaming = streamed(id, `?after=${encodeURIComponent(cursor)}`);
    // The stream is open (its replay read) before the run goes on.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      (await call('POST', `/v1/executions/${id}/resume`, { inputs: { email: 'ada@example.com' } })).status,
    ).toBe(202);
    await until(id, (run) => run.waiting[0]?.type === 'approval');
    const answered = await call('POST', `/v1/executions/${id}/resume`, {
      decision: 'approved',
      approver: 'lead@example.com',
    });
    expect(answered.status).toBe(202);
    const stream = await streaming;
    const all = (
      (await call('GET', `/v1/executions/${id}/events?limit=1000`)).body.events as unknown as Array<{
        seq: number;
      }>
    ).map((e) => e.seq);
    expect(all.length).toBeGreaterThan(waitingSeqs.length);
    expect(stream.ids).toEqual(all.slice(1));
  });

  it('resumes after Last-Event-ID when an EventSource reconnects, over ?after=', async () => {
    const { id, seqs } = await endedRun();
    expect((await streamed(id, '?after=1', { 'last-event-id': '4' })).ids).toEqual(seqs.filter((s) => s > 4));
    expect((await streamed(id, '', { 'last-event-id': '0' })).ids).toEqual(seqs);
  });

  it('answers 400 Problem Details for a Last-Event-ID that is no seq of this stream', async () => {
    const { id } = await endedRun();
    for (const lastEventId of ['abc', '-1', '1.5']) {
      const stream = await streamed(id, '?after=2', { 'last-event-id': lastEventId });
      expect(stream.status, lastEventId).toBe(400);
      expect(stream.type).toBe('application/problem+json');
      expect(JSON.parse(stream.text)).toMatchObject({
        status: 400,
        errors: [{ path: 'Last-Event-ID' }],
      });
    }
  });

  it('answers 422 for a bad ?after= before streaming anything', async () => {
    const { id } = await endedRun();
    const stream = await streamed(id, '?after=abc');
    expect(stream.status).toBe(422);
    expect(JSON.parse(stream.text)).toMatchObject({ errors: [{ path: 'after' }] });
  });
});
