/**
 * createTriggerHandler over the memory stores: the deliveries of one event are dispatched at most
 * TRIGGER_CONCURRENCY at a time, each answered in the event's order, and a failure of some is thrown
 * only after all the others were carried out.
 */
import { describe, expect, it } from 'vitest';
import {
  createTriggerHandler,
  TRIGGER_CONCURRENCY,
  TriggerDeliveryError,
} from '../../../functions/handlers.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { FlowrunnerError } from '../../../shared/errors.js';
import type { ListenerSource } from '../../../shared/ports/index.js';
import { memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';
import { overriding } from '../../support/overriding.js';

const OBJECTS = 30;

/** An S3 notification of OBJECTS created objects in `uploads`, every one under `in/`. */
function notification() {
  return {
    Records: Array.from({ length: OBJECTS }, (_, n) => ({
      eventSource: 'aws:s3',
      eventName: 'ObjectCreated:Put',
      s3: {
        bucket: { name: 'uploads' },
        object: { key: `in/file-${n}.csv`, size: 3, eTag: 'e', sequencer: `0${n.toString(16)}` },
      },
    })),
  };
}

async function bed() {
  const objects = new Map(
    Array.from({ length: OBJECTS }, (_, n) => [`in/file-${n}.csv`, new TextEncoder().encode('a,b')]),
  );
  const t = memoryOrchestrator(undefined, { buckets: new Map([['uploads', objects]]) });
  await t.stores.workflows.create(
    assertValidWorkflow({
      schema_version: '1.0',
      id: 'open',
      steps: [{ id: 'done', type: 'transform', config: { output: '{{ inputs }}' } }],
    }),
    NOW,
  );
  const at = NOW.toISOString();
  await t.stores.listeners.create({
    id: 'uploads',
    type: 's3',
    workflow_id: 'open',
    match: { bucket: 'uploads', prefix: 'in/' },
    enabled: true,
    created_at: at,
    updated_at: at,
  });
  return t;
}

describe('createTriggerHandler', () => {
  it(`dispatches the deliveries of one event at most ${TRIGGER_CONCURRENCY} at a time, answering in order`, async () => {
    const t = await bed();
    let inFlight = 0;
    let most = 0;
    const find = t.stores.listeners.find.bind(t.stores.listeners);
    const counting = {
      ...t.deps,
      stores: {
        ...t.deps.stores,
        listeners: overriding(t.stores.listeners, {
          find: async (source: ListenerSource) => {
            most = Math.max(most, ++inFlight);
            // A turn of the event loop: the others get their chance to start meanwhile.
            await new Promise((resolve) => setImmediate(resolve));
            inFlight--;
            return find(source);
          },
        }),
      },
    };
    const report = await createTriggerHandler(() => counting)(notification());
    expect(most).toBe(TRIGGER_CONCURRENCY);
    expect(report.deliveries.map((d) => d.event_id)).toEqual(
      Array.from({ length: OBJECTS }, (_, n) => `uploads/in/file-${n}.csv?sequencer=0${n.toString(16)}`),
    );
    expect(report.deliveries.every((d) => 'outcomes' in d && d.outcomes[0]!.outcome === 'started')).toBe(
      true,
    );
    expect(t.started).toHaveLength(OBJECTS);
  });

  it('throws the failures only after every other delivery was carried out', async () => {
    const t = await bed();
    const find = t.stores.listeners.find.bind(t.stores.listeners);
    const failing = {
      ...t.deps,
      stores: {
        ...t.deps.stores,
        listeners: overriding(t.stores.listeners, {
          find: async (source: ListenerSource) => {
            if (source.type === 's3' && /file-(3|17)\.csv$/.test(source.key)) {
              throw new FlowrunnerError('Throttled', 'slow down', { retryable: true });
            }
            return find(source);
          },
        }),
      },
    };
    const error = await createTriggerHandler(() => failing)(notification()).then(
      () => undefined,
      (e: unknown) => e as TriggerDeliveryError,
    );
    expect(error).toBeInstanceOf(TriggerDeliveryError);
    expect(error!.message).toBe('2 of 30 deliveries failed: slow down; slow down');
    expect(t.started).toHaveLength(OBJECTS - 2);
    expect(error!.report.deliveries.filter((d) => 'error' in d).map((d) => d.event_id)).toEqual([
      'uploads/in/file-3.csv?sequencer=03',
      'uploads/in/file-17.csv?sequencer=011',
    ]);
  });
});
