/**
 * What the orchestration tells traces and metrics, at the edges: twenty deliveries of one answer at
 * once make one delivery span; a failed run's root span says so; an Advance that throws ends its span
 * with the error; a retried start keeps the trace it stored first; a run stored before traces existed
 * still runs and is traced under a trace of its own. The root span is sent once, whether the run's
 * last steps were committed together or the run was redriven and ended again; the people of a form
 * or an approval are notified with tracing on as with it off.
 */
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createPrometheusMetrics } from '../../../shared/adapters/metrics.js';
import { createOtelTelemetry } from '../../../shared/adapters/otel.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { createRun } from '../../../shared/engine/transition.js';
import type { MemoryHttpHandler } from '../../../shared/http/memory-http-client.js';
import {
  advance,
  deliverSignal,
  type OrchestratorDeps,
  redriveRun,
  startRun,
} from '../../../shared/orchestration/orchestrator.js';
import { traceTrigger } from '../../../shared/orchestration/run-telemetry.js';
import { drive, memoryOrchestrator, NOW } from '../../support/memory-orchestrator.js';
import { parsePrometheus } from '../../support/prometheus-text.js';

const FORM = `schema_version: "1.0"
id: ask
steps:
  - { id: ask, type: form, config: { fields: [{ key: name, required: true }] }, next: done }
  - { id: done, type: transform, config: { output: "{{ steps.ask.output.name }}" } }
`;
const CHAIN = `schema_version: "1.0"
id: chain
steps:
  - { id: a, type: transform, config: { output: 1 }, next: b }
  - { id: b, type: transform, config: { output: 2 }, next: c }
  - { id: c, type: transform, config: { output: 3 } }
`;
const CHARGE = `schema_version: "1.0"
id: charge
steps:
  - { id: charge, type: api_call, config: { method: POST, url: "https://pay.example.com/charge" } }
`;
const APPROVE = `schema_version: "1.0"
id: approve
steps:
  - id: review
    type: approval
    config: { approvers: [lead@example.com], notify: { email: [lead@example.com] } }
`;
const FAILS = `schema_version: "1.0"
id: fails
steps:
  - { id: boom, type: fail, config: { error: Boom, message: "went wrong for ada@example.com" } }
`;

async function setUp(yaml: string, http?: MemoryHttpHandler) {
  const base = memoryOrchestrator(http);
  const exporter = new InMemorySpanExporter();
  const telemetry = createOtelTelemetry({ exporter, processor: 'simple' });
  const metrics = createPrometheusMetrics();
  const deps: OrchestratorDeps = { ...base.deps, telemetry, metrics };
  const workflow = await base.stores.workflows.create(assertValidWorkflow(yaml), NOW);
  const spans = () => exporter.getFinishedSpans() as ReadableSpan[];
  return { ...base, deps, workflow, spans, metrics };
}

describe('run telemetry', () => {
  it('makes one delivery span of twenty deliveries of one answer at once', async () => {
    const { deps, workflow, spans, metrics } = await setUp(FORM);
    const run = await startRun({ workflow, inputs: {} }, deps);
    await drive(deps, run.id);
    const signal = { type: 'resume' as const, step_id: 'ask', payload: { inputs: { name: 'Ada' } } };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => deliverSignal(run.id, 'resume:ask:1', signal, deps)),
    );
    expect(answers.filter((a) => a.accepted)).toHaveLength(1);
    expect(spans().filter((s) => s.name === 'signal.deliver')).toHaveLength(1);
    expect((await drive(deps, run.id)).directive).toBe('done');
    const exposition = parsePrometheus(metrics.render());
    expect(exposition.value('flowrunner_signal_delivery_latency_ms_count', { signal_type: 'resume' })).toBe(
      1,
    );
    expect(exposition.value('flowrunner_answer_time_s_count', { wait_kind: 'form' })).toBe(1);
    expect(spans().filter((s) => s.name === 'wait form')).toHaveLength(1);
    expect(spans().filter((s) => s.name === 'run ask')).toHaveLength(1);
  });

  it('marks the root span of a failed run, with a redacted message', async () => {
    const { deps, workflow, spans, metrics } = await setUp(FAILS);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('failed');
    const root = spans().find((s) => s.name === 'run fails')!;
    expect(root.status.code).toBe(2);
    expect(root.attributes['error.type']).toBe('Boom');
    expect(root.status.message).not.toContain('ada@example.com');
    expect(root.attributes['flowrunner.run.status']).toBe('failed');
    const step = spans().find((s) => s.name === 'step fail')!;
    expect(step.attributes['flowrunner.step.result']).toBe('failed');
    expect(parsePrometheus(metrics.render()).value('flowrunner_runs_ended_total', { status: 'failed' })).toBe(
      1,
    );
  });

  it('ends the Advance span with the error when Advance throws', async () => {
    const { deps, stores, workflow, spans } = await setUp(FORM);
    const run = await startRun({ workflow, inputs: {} }, deps);
    const commit = stores.runs.commit.bind(stores.runs);
    stores.runs.commit = async () => {
      throw Object.assign(new Error('the table is throttled'), { name: 'ThrottlingException' });
    };
    await expect(advance({ run_id: run.id, generation: 0 }, deps)).rejects.toThrow('throttled');
    stores.runs.commit = commit;
    const failed = spans().find((s) => s.name === 'advance')!;
    expect(failed.status.code).toBe(2);
    expect(failed.attributes['error.type']).toBe('ThrottlingException');
    expect((await drive(deps, run.id)).directive).toBe('await');
  });

  it('keeps the trace stored first when a start is retried with the same run id', async () => {
    const { deps, stores, workflow, spans } = await setUp(FORM);
    await startRun({ workflow, inputs: {}, runId: 'run_retried' }, deps);
    const first = (await stores.runs.get('run_retried')).state.trace;
    await startRun({ workflow, inputs: {}, runId: 'run_retried' }, deps);
    expect((await stores.runs.get('run_retried')).state.trace).toEqual(first);
    expect(spans().filter((s) => s.name === 'run.start')).toHaveLength(1);
    expect(spans()[0]!.spanContext().traceId).toBe(first!.trace_id);
  });

  it('links a run a listener started to the trigger span', async () => {
    const { deps, workflow, spans } = await setUp(FORM);
    const run = await traceTrigger(deps, { id: 'lst_1', type: 'schedule' }, (traced) =>
      startRun({ workflow, inputs: {} }, traced),
    );
    const trigger = spans().find((s) => s.name === 'trigger schedule')!;
    expect(trigger.kind).toBe(4); // consumer
    expect(trigger.attributes).toMatchObject({
      'flowrunner.listener.id': 'lst_1',
      'flowrunner.listener.type': 'schedule',
    });
    const started = spans().find((s) => s.name === 'run.start')!;
    expect(started.spanContext().traceId).toBe(run.trace!.trace_id);
    expect(started.links.map((l) => l.context.spanId)).toEqual([trigger.spanContext().spanId]);
  });

  it('traces a run stored before traces existed under a trace of its own', async () => {
    const { deps, stores, workflow, spans } = await setUp(FORM);
    await stores.runs.create(createRun({ id: 'run_old', workflow, inputs: {}, now: NOW }));
    await stores.inbox.put('run_old', 'start', { type: 'start' }, NOW);
    expect((await drive(deps, 'run_old')).directive).toBe('await');
    const [span] = spans().filter((s) => s.name === 'advance');
    expect(span!.parentSpanContext).toBeUndefined();
    expect(spans().some((s) => s.name.startsWith('run '))).toBe(false);
  });

  it('sends the root span once when a redriven run ends again, and gives the redrive a span of its own', async () => {
    let up = false;
    const { deps, workflow, spans } = await setUp(CHARGE, () => ({
      status: up ? 200 : 400,
      headers: {},
      body: '{}',
    }));
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('failed');
    up = true;
    expect((await redriveRun(run.id, 'ops', deps)).accepted).toBe(true);
    expect((await drive(deps, run.id)).directive).toBe('done');

    const ids = spans().map((s) => s.spanContext().spanId);
    expect(new Set(ids).size).toBe(ids.length);
    const [root, ...again] = spans().filter((s) => s.spanContext().spanId === run.trace!.span_id);
    expect(again).toEqual([]);
    expect(root!.name).toBe('run charge');
    expect(root!.attributes['flowrunner.run.status']).toBe('failed');
    const redrive = spans().find((s) => s.name === 'run.redrive')!;
    expect(redrive.spanContext().traceId).toBe(run.trace!.trace_id);
    expect(redrive.parentSpanContext?.spanId).toBe(run.trace!.span_id);
    expect(redrive.attributes['flowrunner.run.redrive']).toBe(1);
    const delivered = spans().filter((s) => s.name === 'signal.deliver');
    expect(delivered.map((s) => s.attributes['flowrunner.signal.type'])).toEqual(['redrive']);
    const ended = spans().filter((s) => s.name === 'advance' && s.attributes['flowrunner.run.status']);
    expect(ended.map((s) => s.attributes['flowrunner.run.status'])).toEqual(['failed', 'completed']);
    const charges = spans().filter((s) => s.name === 'step api_call');
    expect(charges.map((s) => s.attributes['flowrunner.step.result'])).toEqual(['failed', 'completed']);
  });

  it('notifies the people of an approval with tracing on', async () => {
    const { deps, stores, workflow } = await setUp(APPROVE);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('await');
    const { items } = await stores.outbox.list();
    expect(items.map((item) => item.to)).toEqual(['lead@example.com']);
  });

  it('sends one root span for a run whose last steps are pure and committed together', async () => {
    const { deps, workflow, spans } = await setUp(CHAIN);
    const run = await startRun({ workflow, inputs: {} }, deps);
    expect((await drive(deps, run.id)).directive).toBe('done');
    expect(spans().filter((s) => s.name === 'step transform')).toHaveLength(3);
    expect(spans().filter((s) => s.spanContext().spanId === run.trace!.span_id)).toHaveLength(1);
    expect(spans().filter((s) => s.name === 'advance' && s.attributes['flowrunner.run.status'])).toHaveLength(
      1,
    );
  });
});
