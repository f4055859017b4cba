/**
 * The trigger routes of CONTRACT §6 on the API handler: /v1/listeners (checked per type, 422 with
 * the path), the Schedules port told of every schedule change, signed webhooks (401 and nothing
 * stored on a bad signature, one run per delivery) and POST /v1/events through the bus.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../shared/crypto.js';
import type { BusEntry, EventBus, Listener, Schedules } from '../../../shared/ports/index.js';
import { createMemorySecrets } from '../../../shared/secrets/memory.js';
import { setUp } from './support.js';

const INTAKE = {
  schema_version: '1.0',
  id: 'intake',
  inputs: { type: 'object', required: ['customer'], properties: { customer: { type: 'string' } } },
  steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.customer }}' } }],
};

function recordingSchedules() {
  const calls: string[] = [];
  const schedules: Schedules = {
    upsert: async (listener: Listener) =>
      void calls.push(`upsert ${listener.id} ${listener.enabled} ${listener.next_fire_at}`),
    remove: async (id: string) => void calls.push(`remove ${id}`),
  };
  return { calls, schedules };
}

async function bed(options: Parameters<typeof setUp>[0] = {}) {
  const { calls, schedules } = recordingSchedules();
  const t = await setUp({ schedules, ...options });
  const headers: Record<string, string> = options.apiKeys ? { 'x-api-key': 'key-1' } : {};
  expect((await t.call('POST', '/v1/workflows', { body: INTAKE, headers })).status).toBe(201);
  t.deps.secrets = createMemorySecrets({ hook_secret: 's3cr3t' });
  return { ...t, calls };
}

const hmac = (body: string) => createHmac('sha256', 's3cr3t').update(body).digest('hex');

describe('api /v1/listeners', () => {
  it('creates, reads, changes and deletes a schedule listener, telling the scheduler each time', async () => {
    const t = await bed();
    const created = await t.call('POST', '/v1/listeners', {
      body: {
        id: 'nightly',
        type: 'schedule',
        workflow_id: 'intake',
        match: { expression: 'cron(0 2 * * ? *)', timezone: 'Europe/Berlin' },
        inputs: { customer: 'night {{ event.scheduled_time }}' },
      },
    });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe('/v1/listeners/nightly');
    expect(created.body).toMatchObject({
      id: 'nightly',
      enabled: true,
      fired: 0,
      skipped: 0,
      failed: 0,
      // 02:00 in Berlin (UTC+1 in January) after 2026-01-01T00:00Z (01:00 there).
      next_fire_at: '2026-01-01T01:00:00.000Z',
    });
    expect((await t.call('GET', '/v1/listeners/nightly')).body).toEqual(created.body);
    expect((await t.call('GET', '/v1/listeners')).body.items.map((l: Listener) => l.id)).toEqual(['nightly']);

    const off = await t.call('PATCH', '/v1/listeners/nightly', { body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.body.enabled).toBe(false);
    expect(off.body.next_fire_at).toBeUndefined();
    const on = await t.call('PATCH', '/v1/listeners/nightly', {
      body: { enabled: true, match: { expression: 'rate(5 minutes)' }, inputs: null },
    });
    expect(on.body).toMatchObject({
      enabled: true,
      match: { expression: 'rate(5 minutes)' },
      next_fire_at: '2026-01-01T00:05:00.000Z',
    });
    expect(on.body.inputs).toBeUndefined();
    expect((await t.call('DELETE', '/v1/listeners/nightly')).status).toBe(204);
    expect((await t.call('DELETE', '/v1/listeners/nightly')).status).toBe(404);
    expect((await t.call('PATCH', '/v1/listeners/nightly', { body: { enabled: true } })).status).toBe(404);
    expect(t.calls).toEqual([
      'upsert nightly true 2026-01-01T01:00:00.000Z',
      'upsert nightly false undefined',
      'upsert nightly true 2026-01-01T00:05:00.000Z',
      'remove nightly',
    ]);
  });

  it('keeps no schedule listener whose schedule could not be made, and deletes the schedule first', async () => {
    let failing = true;
    const removed: string[] = [];
    const t = await bed({
      schedules: {
        upsert: async () => {
          if (failing) throw new Error('Scheduler did not answer');
        },
        remove: async (id) => {
          if (failing) throw new Error('Scheduler did not answer');
          removed.push(id);
        },
      },
    });
    const body = {
      id: 'tick',
      type: 'schedule',
      workflow_id: 'intake',
      match: { expression: 'rate(1 hour)' },
    };
    expect((await t.call('POST', '/v1/listeners', { body })).status).toBe(500);
    expect((await t.call('GET', '/v1/listeners/tick')).status).toBe(404);
    failing = false;
    expect((await t.call('POST', '/v1/listeners', { body })).status).toBe(201);
    failing = true;
    expect((await t.call('DELETE', '/v1/listeners/tick')).status).toBe(500);
    expect((await t.call('GET', '/v1/listeners/tick')).status).toBe(200);
    failing = false;
    expect((await t.call('DELETE', '/v1/listeners/tick')).status).toBe(204);
    expect(removed).toEqual(['tick']);
  });

  it('refuses a bad match with 422 and the path of the problem', async () => {
    const t = await bed();
    const problem = async (body: Record<string, unknown>) => {
      const answer = await t.call('POST', '/v1/listeners', { body: { workflow_id: 'intake', ...body } });
      expect(answer.status).toBe(422);
      expect(answer.headers['content-type']).toContain('application/problem+json');
      return answer.body.errors.map((e: { path: string; message: string }) => `${e.path}: ${e.message}`);
    };
    expect(await problem({ type: 'schedule', match: { expression: 'cron(0 2 * * * *)' } })).toEqual([
      expect.stringMatching(/^match\.expression: .*\?/),
    ]);
    // The clock says 2026-01-01: a schedule that can no longer fire is refused, not kept idle.
    expect(await problem({ type: 'schedule', match: { expression: 'at(2025-12-31T23:59:00)' } })).toEqual([
      'match.expression: at(2025-12-31T23:59:00) never fires: this time has passed',
    ]);
    expect(await problem({ type: 'schedule', match: { expression: 'cron(0 0 31 2 ? *)' } })).toEqual([
      'match.expression: cron(0 0 31 2 ? *) never fires: no time after now matches it',
    ]);
    expect(await problem({ type: 'schedule', match: { expression: 'cron(0 9 * * ? 2025)' } })).toEqual([
      'match.expression: cron(0 9 * * ? 2025) never fires: no time after now matches it',
    ]);
    expect(
      await problem({ type: 'schedule', match: { expression: 'rate(1 hour)', timezone: 'Mars/Olympus' } }),
    ).toEqual([expect.stringMatching(/^match\.timezone: unknown time zone/)]);
    expect(
      await problem({ type: 'schedule', match: { expression: 'rate(1 hour)', overlap: 'queue' } }),
    ).toEqual([expect.stringMatching(/^match\.overlap: /)]);
    expect(await problem({ type: 'eventbridge', match: { detail: { state: [{ contains: 'x' }] } } })).toEqual(
      [expect.stringMatching(/^match\.detail\.state\[0\]\.contains: unknown operator/)],
    );
    expect(
      await problem({ type: 'webhook', match: { signature: { scheme: 'github', secret: 'plain-text' } } }),
    ).toEqual(['match.signature.secret: must be a {{ secrets.NAME }} placeholder']);
    expect(
      await problem({ type: 'webhook', match: { signature: { scheme: 'md5', secret: '{{ secrets.x }}' } } }),
    ).toEqual([expect.stringMatching(/^match\.signature\.scheme: /)]);
    expect(await problem({ type: 's3', match: { bucket: 'Not_A_Bucket' } })).toEqual([
      expect.stringMatching(/^match\.bucket: /),
    ]);
    expect(
      await problem({ type: 's3', match: { bucket: 'uploads' }, inputs: { a: '{{ secrets.key }}' } }),
    ).toEqual([expect.stringMatching(/^inputs\.a: must not read secrets/)]);
    expect(await problem({ type: 's3', match: { bucket: 'uploads' }, version: 2 })).toEqual([
      expect.stringMatching(/^version: /),
    ]);
    expect(await problem({ type: 'carrier-pigeon' })).toEqual([expect.stringMatching(/^type: /)]);
    // Too big for one item: refused with 422, not a storage error.
    expect(
      await problem({ type: 's3', match: { bucket: 'uploads' }, inputs: { blob: 'x'.repeat(70_000) } }),
    ).toEqual([expect.stringMatching(/^\(root\): is \d+ bytes as JSON; the limit is 65536/)]);
    expect(
      (
        await t.call('POST', '/v1/listeners', {
          body: { type: 's3', workflow_id: 'nope', match: { bucket: 'uploads' } },
        })
      ).status,
    ).toBe(404);
    const patch = await t.call('POST', '/v1/listeners', {
      body: { id: 'up', type: 's3', workflow_id: 'intake', match: { bucket: 'uploads' } },
    });
    expect(patch.status).toBe(201);
    const bad = await t.call('PATCH', '/v1/listeners/up', { body: { match: { prefix: 'x/' } } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].path).toBe('match.bucket');
    expect((await t.call('PATCH', '/v1/listeners/up', { body: { type: 'webhook' } })).status).toBe(422);
    expect((await t.call('GET', '/v1/listeners/up')).body.match).toEqual({ bucket: 'uploads' });
    // Nothing but the schedule tells the scheduler anything.
    expect(t.calls).toEqual([]);
  });
});

describe('api POST /v1/hooks/{listener_id}', () => {
  const body = JSON.stringify({ customer: 'Hook', n: 1 });

  async function hookBed(options: Parameters<typeof setUp>[0] = {}) {
    const t = await bed(options);
    const created = await t.call('POST', '/v1/listeners', {
      ...(options.apiKeys ? { headers: { 'x-api-key': 'key-1' } } : {}),
      body: {
        id: 'signup',
        type: 'webhook',
        workflow_id: 'intake',
        match: { signature: { scheme: 'hmac-sha256', secret: '{{ secrets.hook_secret }}' } },
        inputs: { customer: '{{ event.body.customer }}' },
      },
    });
    expect(created.status).toBe(201);
    return t;
  }

  it('starts the run of a verified delivery once, whatever the redelivery', async () => {
    const t = await hookBed();
    const send = () =>
      t.call('POST', '/v1/hooks/signup', {
        raw: body,
        headers: {
          'content-type': 'application/json',
          'x-signature': hmac(body),
          authorization: 'Bearer not-for-the-run',
        },
      });
    const first = await send();
    expect(first.status).toBe(202);
    expect(first.body).toMatchObject({
      workflow_id: 'intake',
      trigger: { listener_id: 'signup', type: 'webhook' },
    });
    const { state } = await t.stores.runs.get(first.body.id);
    expect(state.inputs).toEqual({ customer: 'Hook' });
    expect(state.trigger!.event_id).toBe(`sha256:${sha256Hex(body)}`);
    for (let i = 0; i < 4; i++) {
      const again = await send();
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(first.body.id);
    }
    expect(t.started).toHaveLength(1);
    expect((await t.call('GET', '/v1/listeners/signup')).body).toMatchObject({
      fired: 1,
      last_run_id: first.body.id,
    });
    // The caller's credentials never reach the run.
    await t.call('PATCH', '/v1/listeners/signup', {
      body: { inputs: { customer: '{{ $string(event.headers) }}' } },
    });
    const other = JSON.stringify({ n: 2 });
    const seen = await t.call('POST', '/v1/hooks/signup', {
      raw: other,
      headers: {
        'content-type': 'application/json',
        'x-signature': hmac(other),
        authorization: 'Bearer not-for-the-run',
      },
    });
    expect(seen.status).toBe(202);
    const headers = String(
      ((await t.stores.runs.get(seen.body.id)).state.inputs as { customer: string }).customer,
    );
    expect(headers).toContain('x-signature');
    expect(headers).not.toContain('not-for-the-run');
  });

  it('starts one run for 20 identical deliveries at once', async () => {
    const t = await hookBed();
    const answers = await Promise.all(
      Array.from({ length: 20 }, () =>
        t.call('POST', '/v1/hooks/signup', {
          raw: body,
          headers: {
            'content-type': 'application/json',
            'x-signature': hmac(body),
            'idempotency-key': 'd-20',
          },
        }),
      ),
    );
    expect(answers.every((a) => a.status === 202 || a.status === 200)).toBe(true);
    expect(new Set(answers.map((a) => a.body.id)).size).toBe(1);
    expect(t.started).toHaveLength(1);
    expect((await t.stores.runs.list()).items).toHaveLength(1);
    expect((await t.stores.listeners.get('signup')).fired).toBe(1);
  });

  it('answers 401 to a bad or missing signature and stores nothing', async () => {
    const t = await hookBed();
    const runsBefore = (await t.stores.runs.list()).items.length;
    const attempts: Record<string, string>[] = [
      { 'content-type': 'application/json', 'x-signature': hmac(`${body} `) },
      { 'content-type': 'application/json', 'x-signature': 'sha256=' },
      { 'content-type': 'application/json' },
      // A malformed body is refused for its signature, before anything reads it.
      { 'content-type': 'text/plain' },
    ];
    for (const headers of attempts) {
      const answer = await t.call('POST', '/v1/hooks/signup', {
        raw: headers['content-type'] === 'text/plain' ? '{not json' : body,
        headers,
      });
      expect(answer.status).toBe(401);
    }
    expect((await t.stores.runs.list()).items).toHaveLength(runsBefore);
    expect(t.started).toEqual([]);
    expect(await t.stores.listeners.get('signup')).toMatchObject({ fired: 0, failed: 0, skipped: 0 });
  });

  it('reads base64 bodies as API Gateway sends them, any content type, and refuses malformed JSON after the signature', async () => {
    const t = await hookBed();
    const form = 'customer=Form&x=1';
    const event = await t.call('POST', '/v1/hooks/signup', {
      raw: Buffer.from(form).toString('base64'),
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-signature': hmac(form) },
      base64: true,
    });
    // The template reads event.body.customer, which a form body has not: a failed fire, recorded.
    expect(event.status).toBe(422);
    expect((await t.stores.listeners.get('signup')).failed).toBe(1);
    const broken = '{"customer":';
    const answer = await t.call('POST', '/v1/hooks/signup', {
      raw: broken,
      headers: { 'content-type': 'application/json', 'x-signature': hmac(broken) },
    });
    expect(answer.status).toBe(400);
  });

  /** A signed delivery whose host died between its claim and its run (500), and how to send it again. */
  async function cutOffStart() {
    const t = await hookBed();
    const send = () =>
      t.call('POST', '/v1/hooks/signup', {
        raw: body,
        headers: { 'content-type': 'application/json', 'x-signature': hmac(body) },
      });
    const create = t.stores.runs.create.bind(t.stores.runs);
    t.stores.runs.create = async () => {
      throw new Error('host died');
    };
    expect((await send()).status).toBe(500);
    t.stores.runs.create = create;
    return { t, send };
  }

  it('answers 503 with Retry-After, not a run that does not exist, while a delivery’s start is cut off or under way', async () => {
    const { t, send } = await cutOffStart();
    const early = await send();
    expect(early.status).toBe(503);
    expect(early.headers['retry-after']).toBe('30');
    expect((await t.stores.runs.list()).items).toEqual([]);
    // Sent again once the claim is old enough, the start is finished.
    t.clock.advance(30_000);
    const later = await send();
    expect(later.status).toBe(200);
    expect(later.body).toMatchObject({ workflow_id: 'intake', status: 'running' });
    expect(t.started).toHaveLength(1);
  });

  it('says a delivery whose cut-off start will never be finished started no run, rather than 503 for ever', async () => {
    const { t, send } = await cutOffStart();
    // The workflow is retired meanwhile: the listener would no longer start a run for it.
    expect((await t.call('DELETE', '/v1/workflows/intake')).status).toBe(204);
    t.clock.advance(30_000);
    const later = await send();
    expect(later.status).toBe(409);
    expect(later.body.detail).toMatch(/started no run/);
  });

  it('reads a signed JSON body that starts with a byte order mark', async () => {
    const t = await hookBed();
    const marked = `\uFEFF${body}`;
    const answer = await t.call('POST', '/v1/hooks/signup', {
      raw: marked,
      headers: { 'content-type': 'application/json', 'x-signature': hmac(marked) },
    });
    expect(answer.status).toBe(202);
    expect((await t.stores.runs.get(answer.body.id)).state.inputs).toEqual({ customer: 'Hook' });
  });

  it('needs the API key for a listener without a signature, and 404s what is no webhook', async () => {
    const keyHash = sha256Hex('key-1');
    const t = await hookBed({ apiKeys: { keys: [{ sha256: keyHash }] } });
    const open = await t.call('POST', '/v1/listeners', {
      headers: { 'x-api-key': 'key-1' },
      body: { id: 'open', type: 'webhook', workflow_id: 'intake', inputs: { customer: 'x' } },
    });
    expect(open.status).toBe(201);
    expect(
      (await t.call('POST', '/v1/hooks/open', { raw: '{}', headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(401);
    expect(
      (
        await t.call('POST', '/v1/hooks/open', {
          raw: '{}',
          headers: { 'content-type': 'application/json', 'x-api-key': 'key-1' },
        })
      ).status,
    ).toBe(202);
    // The signed one needs no key: its signature is the credential.
    expect(
      (
        await t.call('POST', '/v1/hooks/signup', {
          raw: body,
          headers: { 'content-type': 'application/json', 'x-signature': hmac(body) },
        })
      ).status,
    ).toBe(202);
    expect(
      (await t.call('POST', '/v1/hooks/nope', { raw: '{}', headers: { 'content-type': 'application/json' } }))
        .status,
    ).toBe(404);
    await t.call('PATCH', '/v1/listeners/open', {
      headers: { 'x-api-key': 'key-1' },
      body: { enabled: false },
    });
    expect(
      (
        await t.call('POST', '/v1/hooks/open', {
          raw: '{"a":1}',
          headers: { 'content-type': 'application/json', 'x-api-key': 'key-1' },
        })
      ).status,
    ).toBe(409);
  });

  it('answers 503 when the listener’s secret is not set', async () => {
    const t = await hookBed();
    t.deps.secrets = createMemorySecrets({});
    const answer = await t.call('POST', '/v1/hooks/signup', {
      raw: body,
      headers: { 'content-type': 'application/json', 'x-signature': hmac(body) },
    });
    expect(answer.status).toBe(503);
    // The operator's missing setting is named, not hidden as an unexpected error.
    expect(answer.body.detail).toBe("The secret of webhook listener 'signup' is not set");
    expect(t.errors).toEqual([]);
    expect(t.started).toEqual([]);
  });
});

describe('api POST /v1/events', () => {
  it('puts the entries on the bus and answers their event ids', async () => {
    const put: BusEntry[][] = [];
    const bus: EventBus = {
      put: async (entries) => {
        put.push([...entries]);
        return entries.map((_, i) => ({ event_id: `e-${i}` }));
      },
    };
    const t = await bed({ bus });
    const entry = { source: 'shop', detail_type: 'Order Placed', detail: { total: 5 } };
    const answer = await t.call('POST', '/v1/events', {
      body: { entries: [entry, { ...entry, id: 'mine', time: '2026-01-01T00:00:00Z' }] },
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { entries: [{ event_id: 'e-0' }, { event_id: 'e-1' }] },
    });
    expect(put).toEqual([[entry, { ...entry, id: 'mine', time: '2026-01-01T00:00:00Z' }]]);
    const refused = async (body: unknown) =>
      (await t.call('POST', '/v1/events', { body })).body.errors[0].path;
    expect(await refused({ entries: Array.from({ length: 11 }, () => entry) })).toBe('entries');
    expect(await refused({ entries: [] })).toBe('entries');
    expect(await refused({ entries: [{ ...entry, detail: 'text' }] })).toBe('entries.0.detail');
    expect(await refused({ entries: [{ ...entry, source: 'aws.s3' }] })).toBe('entries.0.source');
    expect(await refused({ entries: [{ ...entry, time: 'yesterday' }] })).toBe('entries.0.time');
    const big = { entries: [{ ...entry, detail: { blob: 'x'.repeat(300_000) } }] };
    expect((await t.call('POST', '/v1/events', { body: big })).status).toBe(413);
    expect(put).toHaveLength(1);
    const noBus = await setUp();
    const unavailable = await noBus.call('POST', '/v1/events', { body: { entries: [entry] } });
    expect(unavailable).toMatchObject({ status: 503, body: { detail: 'This host has no event bus' } });
  });
});
