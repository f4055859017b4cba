/**
 * deliverTrigger, the one dispatcher: which listeners a delivery fires, dedupe per (listener, event
 * id) under concurrent redelivery, inputs rendered from `{event}` and checked, `overlap: skip`, and
 * the activity counted on the listener.
 */
import { describe, expect, it } from 'vitest';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import {
  artifactName,
  deliverTrigger,
  TRIGGER_FINISH_AFTER_MS,
} from '../../../shared/orchestration/triggers.js';
import type { BusEvent, ListenerDefinition, TriggerDelivery } from '../../../shared/ports/index.js';
import type { Metrics } from '../../../shared/ports/telemetry.js';
import { memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';

const WORKFLOW = assertValidWorkflow({
  schema_version: '1.0',
  id: 'intake',
  inputs: { type: 'object', required: ['key'], properties: { key: { type: 'string' } } },
  steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs.key }}' } }],
});
const OPEN = assertValidWorkflow({
  schema_version: '1.0',
  id: 'open',
  steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs }}' } }],
});

function listener(
  id: string,
  type: ListenerDefinition['type'],
  match: Record<string, unknown>,
  extra: Partial<ListenerDefinition> = {},
): ListenerDefinition {
  const at = NOW.toISOString();
  return { id, type, workflow_id: 'open', match, enabled: true, created_at: at, updated_at: at, ...extra };
}

async function bed() {
  const uploads = new Map<string, Uint8Array>([['in/report.csv', new TextEncoder().encode('a,b\n1,2\n')]]);
  const t = memoryOrchestrator(undefined, { buckets: new Map([['uploads', uploads]]) });
  await t.stores.workflows.create(WORKFLOW, NOW);
  await t.stores.workflows.create(OPEN, NOW);
  return { ...t, uploads };
}

const s3Put = (key: string, sequencer = '01'): TriggerDelivery => ({
  type: 's3',
  event_id: `uploads/${key}?sequencer=${sequencer}`,
  bucket: 'uploads',
  key,
  size: 8,
  etag: 'abc',
});

function busEvent(id: string, detail: unknown, source = 'shop'): BusEvent {
  return {
    version: '0',
    id,
    'detail-type': 'Order Placed',
    source,
    account: '123456789012',
    time: NOW.toISOString(),
    region: 'eu-west-1',
    resources: [],
    detail,
  };
}

describe('deliverTrigger', () => {
  it('starts the run of an s3 listener with the object copied into its artifacts', async () => {
    const t = await bed();
    await t.stores.listeners.create(
      listener('csv', 's3', { bucket: 'uploads', prefix: 'in/', suffix: '.csv' }),
    );
    await t.stores.listeners.create(listener('png', 's3', { bucket: 'uploads', suffix: '.png' }));
    const [outcome, ...rest] = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(rest).toEqual([]);
    expect(outcome).toMatchObject({ listener_id: 'csv', outcome: 'started' });
    const { state } = await t.stores.runs.get(outcome!.run_id!);
    expect(state.trigger).toEqual({
      listener_id: 'csv',
      type: 's3',
      event_id: 'uploads/in/report.csv?sequencer=01',
    });
    expect(state.inputs).toEqual({
      event: {
        bucket: 'uploads',
        key: 'in/report.csv',
        size: 8,
        etag: 'abc',
        artifact: 'report.csv',
      },
    });
    const artifact = await t.stores.artifacts.get(state.id, 'report.csv');
    expect(new TextDecoder().decode(artifact.body)).toBe('a,b\n1,2\n');
    expect(t.started.map((s) => s.run_id)).toEqual([state.id]);
    expect(await t.stores.listeners.get('csv')).toMatchObject({
      fired: 1,
      skipped: 0,
      failed: 0,
      last_fired_at: NOW.toISOString(),
      last_run_id: state.id,
    });
  });

  it('starts one run when the same event arrives 20 times at once', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('csv', 's3', { bucket: 'uploads' }));
    const outcomes = (
      await Promise.all(Array.from({ length: 20 }, () => deliverTrigger(t.deps, s3Put('in/report.csv'))))
    ).flat();
    expect(outcomes.filter((o) => o.outcome === 'started')).toHaveLength(1);
    expect(outcomes.filter((o) => o.outcome === 'duplicate')).toHaveLength(19);
    expect(new Set(outcomes.map((o) => o.run_id)).size).toBe(1);
    expect(t.started).toHaveLength(1);
    expect((await t.stores.runs.list()).items).toHaveLength(1);
    expect((await t.stores.listeners.get('csv')).fired).toBe(1);
    // Another version of the object is another event.
    expect((await deliverTrigger(t.deps, s3Put('in/report.csv', '02')))[0]!.outcome).toBe('started');
  });

  it('fires every eventbridge listener whose pattern matches, and only those', async () => {
    const t = await bed();
    await t.stores.listeners.create(
      listener('big', 'eventbridge', { source: ['shop'], detail: { total: [{ numeric: ['>=', 100] }] } }),
    );
    await t.stores.listeners.create(
      listener('eur', 'eventbridge', { detail: { currency: [{ 'equals-ignore-case': 'eur' }] } }),
    );
    await t.stores.listeners.create(listener('other', 'eventbridge', { source: ['billing'] }));
    const event = busEvent('e-1', { total: 250, currency: 'EUR' });
    const outcomes = await deliverTrigger(t.deps, { type: 'eventbridge', event_id: 'e-1', event });
    expect(outcomes.map((o) => [o.listener_id, o.outcome])).toEqual([
      ['big', 'started'],
      ['eur', 'started'],
    ]);
    expect((await t.stores.runs.get(outcomes[0]!.run_id!)).state.inputs).toEqual({ event });
    const small = await deliverTrigger(t.deps, {
      type: 'eventbridge',
      event_id: 'e-2',
      event: busEvent('e-2', { total: 5, currency: 'usd' }),
    });
    expect(small).toEqual([]);
  });

  it('fails the fire of an event nested deeper than a run’s inputs may be, and fires the next event', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('any', 'eventbridge', { source: ['shop'] }));
    // 20,000 levels: what JSON.stringify and structuredClone of the run overflowed on.
    let deep: unknown = 'bottom';
    for (let i = 0; i < 20_000; i++) deep = [deep];
    const [fire] = await deliverTrigger(t.deps, {
      type: 'eventbridge',
      event_id: 'e-deep',
      event: busEvent('e-deep', { deep }),
    });
    expect(fire).toMatchObject({ outcome: 'failed', error: { code: 'InvalidEvent' } });
    expect(fire!.error!.message).toBe('The event is nested more than 1000 levels deep');
    expect(t.started).toEqual([]);
    const [next] = await deliverTrigger(t.deps, {
      type: 'eventbridge',
      event_id: 'e-flat',
      event: busEvent('e-flat', { total: 1 }),
    });
    expect(next).toMatchObject({ outcome: 'started' });
  });

  it('renders the inputs template against {event} and records a mismatch as a failed fire', async () => {
    const t = await bed();
    await t.stores.listeners.create(
      listener(
        'good',
        's3',
        { bucket: 'uploads' },
        { workflow_id: 'intake', inputs: { key: '{{ event.key }}' } },
      ),
    );
    await t.stores.listeners.create(
      listener(
        'bad',
        's3',
        { bucket: 'uploads' },
        { workflow_id: 'intake', inputs: { key: '{{ event.size }}' } },
      ),
    );
    const outcomes = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(outcomes.map((o) => o.outcome)).toEqual(['failed', 'started']);
    expect(outcomes[0]!.error).toMatchObject({ code: 'InvalidInputs' });
    expect(outcomes[0]!.error!.message).toContain('inputs.key');
    expect((await t.stores.runs.get(outcomes[1]!.run_id!)).state.inputs).toEqual({ key: 'in/report.csv' });
    const bad = await t.stores.listeners.get('bad');
    expect(bad).toMatchObject({
      fired: 0,
      failed: 1,
      last_error: { code: 'InvalidInputs', at: NOW.toISOString() },
    });
    // The same event again is a duplicate: the failure is counted once.
    const again = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(again.map((o) => o.outcome)).toEqual(['duplicate', 'duplicate']);
    expect((await t.stores.listeners.get('bad')).failed).toBe(1);
  });

  it('fails the fire, not the host, for a retired workflow, a missing pinned version or a vanished object', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('pinned', 's3', { bucket: 'uploads' }, { version: 7 }));
    const [pinned] = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(pinned).toMatchObject({ outcome: 'failed', error: { code: 'WorkflowNotFound' } });
    await t.stores.listeners.delete('pinned');
    await t.stores.listeners.create(listener('gone', 's3', { bucket: 'uploads' }));
    const [gone] = await deliverTrigger(t.deps, s3Put('in/deleted.csv'));
    expect(gone).toMatchObject({ outcome: 'failed', error: { code: 'ObjectNotFound' } });
    // Its redelivery, late enough to finish a stopped start, finds the object still gone: no error, no count.
    t.clock.advance(TRIGGER_FINISH_AFTER_MS);
    expect(await deliverTrigger(t.deps, s3Put('in/deleted.csv'))).toEqual([
      { listener_id: 'gone', outcome: 'duplicate' },
    ]);
    expect(await t.stores.listeners.get('gone')).toMatchObject({ fired: 0, failed: 1 });
    await t.stores.workflows.retire('open', NOW);
    const [retired] = await deliverTrigger(t.deps, s3Put('in/report.csv', '03'));
    expect(retired).toMatchObject({ outcome: 'failed', error: { code: 'WorkflowRetired' } });
    expect(t.started).toEqual([]);
  });

  it('skips a disabled listener without counting, and a schedule whose previous run still goes', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('off', 's3', { bucket: 'uploads' }, { enabled: false }));
    expect(await deliverTrigger(t.deps, s3Put('in/report.csv'))).toEqual([
      { listener_id: 'off', outcome: 'skipped' },
    ]);
    expect(await t.stores.listeners.get('off')).toMatchObject({ fired: 0, skipped: 0 });

    await t.stores.listeners.create(listener('tick', 'schedule', { expression: 'rate(1 minute)' }));
    await t.stores.listeners.create(
      listener('tock', 'schedule', { expression: 'rate(1 minute)', overlap: 'allow' }),
    );
    const at = (minute: number, id: string): TriggerDelivery => ({
      type: 'schedule',
      event_id: `2026-01-01T00:0${minute}:00.000Z`,
      listener_id: id,
      scheduled_time: `2026-01-01T00:0${minute}:00.000Z`,
    });
    const [first] = await deliverTrigger(t.deps, at(1, 'tick'));
    expect(first!.outcome).toBe('started');
    expect((await t.stores.runs.get(first!.run_id!)).state.inputs).toEqual({
      event: { scheduled_time: '2026-01-01T00:01:00.000Z', listener_id: 'tick' },
    });
    // The run is still queued (nothing advances it here): the next minute is skipped, and counted.
    expect((await deliverTrigger(t.deps, at(2, 'tick')))[0]!.outcome).toBe('skipped');
    expect(await t.stores.listeners.get('tick')).toMatchObject({ fired: 1, skipped: 1 });
    // overlap: allow starts one anyway.
    expect((await deliverTrigger(t.deps, at(1, 'tock')))[0]!.outcome).toBe('started');
    expect((await deliverTrigger(t.deps, at(2, 'tock')))[0]!.outcome).toBe('started');
    // A delivery for a listener that is gone, or of another type, fires nothing.
    expect(await deliverTrigger(t.deps, at(3, 'nobody'))).toEqual([]);
    expect(
      await deliverTrigger(t.deps, {
        type: 'webhook',
        event_id: 'x',
        listener_id: 'tick',
        headers: {},
        body: {},
      }),
    ).toEqual([]);
  });

  it('sets a schedule’s next fire after each fire: once after a late fire, then in its rhythm', async () => {
    const t = await bed();
    // rate(10 minutes) since 00:00; the server slept through 00:10 … 00:50 and fires 00:10 at 00:53.
    await t.stores.listeners.create(listener('every10', 'schedule', { expression: 'rate(10 minutes)' }));
    t.clock.advance(53 * 60_000);
    const late: TriggerDelivery = {
      type: 'schedule',
      event_id: '2026-01-01T00:10:00.000Z',
      listener_id: 'every10',
      scheduled_time: '2026-01-01T00:10:00.000Z',
    };
    expect((await deliverTrigger(t.deps, late))[0]!.outcome).toBe('started');
    expect((await t.stores.listeners.get('every10')).next_fire_at).toBe('2026-01-01T01:00:00.000Z');
    // An at() has no next fire once it fired; a redelivery of it changes nothing.
    await t.stores.listeners.create(
      listener('once', 'schedule', { expression: 'at(2026-01-01T00:30:00)', overlap: 'allow' }),
    );
    const at: TriggerDelivery = {
      ...late,
      event_id: '2026-01-01T00:30:00.000Z',
      scheduled_time: '2026-01-01T00:30:00.000Z',
      listener_id: 'once',
    };
    expect((await deliverTrigger(t.deps, at))[0]!.outcome).toBe('started');
    expect((await deliverTrigger(t.deps, at))[0]!.outcome).toBe('duplicate');
    const once = await t.stores.listeners.get('once');
    expect(once.next_fire_at).toBeUndefined();
    expect(once.fired).toBe(1);
  });

  it('carries out every listener’s fire before it throws the failure of one', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('a', 's3', { bucket: 'uploads' }));
    await t.stores.listeners.create(listener('b', 's3', { bucket: 'uploads' }));
    const copyIn = t.stores.artifacts.copyIn.bind(t.stores.artifacts);
    t.stores.artifacts.copyIn = async (runId, name, source) => {
      // The first claim (listener a's run, run_1) fails at once; b's copy finishes later.
      if (runId === 'run_1') throw new Error('S3 did not answer');
      await new Promise((resolve) => setTimeout(resolve, 20));
      return copyIn(runId, name, source);
    };
    await expect(deliverTrigger(t.deps, s3Put('in/report.csv'))).rejects.toThrow('S3 did not answer');
    expect((await t.stores.listeners.get('b')).fired).toBe(1);
    expect((await t.stores.listeners.get('a')).fired).toBe(0);
  });

  /** An upload whose host died between the claim of its fire and the run's execution. */
  async function cutOffStart() {
    const t = await bed();
    await t.stores.listeners.create(listener('csv', 's3', { bucket: 'uploads' }));
    const start = t.deps.executions.start;
    t.deps.executions.start = async () => {
      throw new Error('host died');
    };
    await expect(deliverTrigger(t.deps, s3Put('in/report.csv'))).rejects.toThrow('host died');
    t.deps.executions.start = start;
    return t;
  }

  it('finishes a start that a crash stopped half-way when the event is delivered again', async () => {
    const t = await cutOffStart();
    // At once, the claim may belong to a delivery still under way: it is left alone.
    const [early] = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(early).toMatchObject({ outcome: 'duplicate' });
    expect(t.started).toEqual([]);
    t.clock.advance(TRIGGER_FINISH_AFTER_MS);
    const [again] = await deliverTrigger(t.deps, s3Put('in/report.csv'));
    expect(again).toMatchObject({ outcome: 'duplicate', run_id: early!.run_id });
    expect(t.started.map((s) => s.run_id)).toEqual([again!.run_id]);
    expect((await t.stores.runs.list()).items).toHaveLength(1);
    expect((await t.stores.listeners.get('csv')).fired).toBe(1);
  });

  it('finishes at once a start that a process now gone left half-way, however young its claim', async () => {
    const t = await cutOffStart();
    // The next process (the local server after a kill) began after that claim was made.
    t.clock.advance(1);
    const next = { ...t.deps, claimsOrphanedBefore: t.clock.now() };
    const [again] = await deliverTrigger(next, s3Put('in/report.csv'));
    expect(again).toMatchObject({ outcome: 'duplicate' });
    expect(t.started.map((s) => s.run_id)).toEqual([again!.run_id]);
    expect((await t.stores.listeners.get('csv')).fired).toBe(1);
    // Its own young claims are left alone: they may be deliveries under way.
    const [other] = await deliverTrigger(next, s3Put('in/report.csv', '02'));
    expect(other).toMatchObject({ outcome: 'started' });
    const started = t.started.length;
    next.executions.start = async () => {
      throw new Error('not again');
    };
    const [twice] = await deliverTrigger(next, s3Put('in/report.csv', '02'));
    expect(twice).toMatchObject({ outcome: 'duplicate', run_id: other!.run_id });
    expect(t.started).toHaveLength(started);
  });

  it('counts fired, deduplicated and skipped deliveries by listener type', async () => {
    const t = await bed();
    await t.stores.listeners.create(listener('csv', 's3', { bucket: 'uploads' }));
    await t.stores.listeners.create(listener('off', 's3', { bucket: 'uploads' }, { enabled: false }));
    const counted: string[] = [];
    const metrics: Metrics = {
      enabled: true,
      count: (name, dimensions) => void counted.push(`${name}:${dimensions?.listener_type}`),
      observe: () => {},
      flush: async () => {},
    };
    await deliverTrigger({ ...t.deps, metrics }, s3Put('in/report.csv'));
    await deliverTrigger({ ...t.deps, metrics }, s3Put('in/report.csv'));
    expect(counted.filter((c) => c.startsWith('triggers_')).sort()).toEqual(
      ['triggers_fired:s3', 'triggers_deduplicated:s3', 'triggers_skipped:s3', 'triggers_skipped:s3'].sort(),
    );
  });

  it('names the artifact after the key’s last part, or upload', () => {
    expect(artifactName('a/b/photo.png')).toBe('photo.png');
    expect(artifactName('folder/')).toBe('upload');
    expect(artifactName('..')).toBe('upload');
  });
});
