/**
 * The example listeners (examples/listeners/) are valid listeners of their example workflows, and a
 * sample event of each source starts a run that completes with the answer the README promises.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseDocument } from '../../../shared/definition/parse.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import type { AdvanceOutput } from '../../../shared/orchestration/directive.js';
import { advance } from '../../../shared/orchestration/orchestrator.js';
import { deliverTrigger } from '../../../shared/orchestration/triggers.js';
import type { ListenerDefinition, TriggerDelivery } from '../../../shared/ports/index.js';
import { memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';

const read = (path: string) => readFileSync(new URL(`../../../examples/${path}`, import.meta.url), 'utf8');
const upload = new TextEncoder().encode('{"lines":[{"amount":2},{"amount":5}]}');

async function fireExample(name: string, delivery: (listenerId: string) => TriggerDelivery) {
  const t = memoryOrchestrator(
    (request) => {
      // The upload example reads its artifact back through the API.
      expect(request.url).toMatch(
        /^http:\/\/127\.0\.0\.1:3000\/v1\/executions\/run_\w+\/artifacts\/report\.json$/,
      );
      return {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: new TextDecoder().decode(upload),
      };
    },
    { buckets: new Map([['inbox', new Map([['incoming/report.json', upload]])]]) },
  );
  await t.stores.workflows.create(assertValidWorkflow(read(`${name}.yaml`)), NOW);
  const at = NOW.toISOString();
  const file = parseDocument(read(`listeners/${name}.yaml`)).value as Omit<
    ListenerDefinition,
    'created_at' | 'updated_at' | 'enabled'
  >;
  const listener = await t.stores.listeners.create({
    enabled: true,
    ...file,
    created_at: at,
    updated_at: at,
  });
  const [outcome] = await deliverTrigger(t.deps, delivery(listener.id));
  expect(outcome).toMatchObject({ outcome: 'started' });
  let output: AdvanceOutput;
  do output = await advance({ run_id: outcome!.run_id!, generation: 0, transitions: 0 }, t.deps);
  while (output.directive === 'continue');
  const { state } = await t.stores.runs.get(outcome!.run_id!);
  expect(state.status, JSON.stringify(state.error)).toBe('completed');
  return state.output;
}

describe('the example listeners', () => {
  it('s3: an upload under incoming/ is summed', async () => {
    const output = await fireExample('upload-intake', () => ({
      type: 's3',
      event_id: 'inbox/incoming/report.json?sequencer=01',
      bucket: 'inbox',
      key: 'incoming/report.json',
      size: upload.length,
    }));
    expect(output).toEqual({ file: 'incoming/report.json', lines: 2, total: 7 });
  });

  it('eventbridge: a large order is thanked for', async () => {
    const event = {
      version: '0',
      id: 'e-1',
      'detail-type': 'Order Placed',
      source: 'app.shop',
      account: '123456789012',
      time: NOW.toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: { order_id: 'o-1', total: 250, currency: 'EUR' },
    };
    expect(await fireExample('order-events', () => ({ type: 'eventbridge', event_id: 'e-1', event }))).toBe(
      'Order o-1 (250 EUR) is on its way',
    );
  });

  it('schedule: a beat names its scheduled time', async () => {
    const time = '2026-01-01T00:01:00.000Z';
    expect(
      await fireExample('heartbeat', (id) => ({
        type: 'schedule',
        event_id: time,
        listener_id: id,
        scheduled_time: time,
      })),
    ).toBe(`Beat of heartbeat scheduled for ${time}`);
  });

  it('webhook: an opened issue about a crash is labelled a bug', async () => {
    const body = { action: 'opened', issue: { number: 42, title: 'Crash on start' } };
    expect(
      await fireExample('github-issues', (id) => ({
        type: 'webhook',
        event_id: 'd-1',
        listener_id: id,
        headers: {},
        body,
      })),
    ).toEqual({ issue: 42, label: 'bug' });
  });
});
