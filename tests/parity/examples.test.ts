/**
 * Parity: the state machine definition taken out of the synthesized CloudFormation template runs every
 * example (ASL interpreter + the real handlers + real local stores), and so does the local runtime with
 * the module's definition; results, step histories and event type sequences must be equal.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addFlowrunner } from '../../infra/stacks/flowrunner.js';
import type { AslDefinition } from '../../infra/state-machine.js';
import type { WorkflowDefinition } from '../../shared/definition/schema.js';
import { assertValidWorkflow } from '../../shared/definition/validate.js';
import { redriveRun } from '../../shared/orchestration/orchestrator.js';
import { appForTests, render } from '../support/cdk.js';
import { type HttpSink, startHttpSink } from '../support/http-sink.js';
import { hasEnded, startLocalRuntime, storeWorkflow, until } from '../support/local-runtime.js';
import { listenOnLoopback } from '../support/server-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** The deployed definition: the template's DefinitionString with its intrinsics replaced by local ARNs. */
function synthesizedDefinition(): AslDefinition {
  const { engine } = addFlowrunner(appForTests(), { checks: false });
  const machines = Template.fromStack(engine).findResources('AWS::StepFunctions::StateMachine');
  const [machine] = Object.values(machines) as Array<{ Properties: { DefinitionString: unknown } }>;
  const text = render(machine!.Properties.DefinitionString);
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': 'us-east-1',
    'AWS::AccountId': '000000000000',
  };
  return JSON.parse(
    text.replace(
      /\$\{([^}]+)\}/g,
      (_, name: string) =>
        pseudo[name] ?? `arn:aws:lambda:us-east-1:000000000000:function:${name.replace(/\W/g, '')}`,
    ),
  ) as AslDefinition;
}

const examplesDir = new URL('../../examples/', import.meta.url);
const sources = readdirSync(examplesDir)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => readFileSync(new URL(f, examplesDir), 'utf8'));

/**
 * The examples with every service's base_url pointed at the loopback sink, as a test would deploy them
 * (in the text: the validator merges a service's settings into the config of each step that uses it).
 */
function examplesWithSink(sink: HttpSink): WorkflowDefinition[] {
  return sources.map((text) =>
    assertValidWorkflow(text.replace(/base_url: "https:\/\/[^"]+"/g, `base_url: "${sink.url}"`)),
  );
}

interface Scenario {
  workflow: string;
  inputs: unknown;
  /** Answers to waits, in order: what a person would submit. */
  answers: Array<{ step_id: string; payload: unknown }>;
}

const scenarios: Scenario[] = [
  {
    workflow: 'onboarding',
    inputs: { customer: 'Ada' },
    answers: [
      { step_id: 'collect', payload: { inputs: { email: 'ada@example.com', plan: 'pro' } } },
      { step_id: 'review', payload: { decision: 'reject', approver: 'lead@example.com', comment: 'Warmer' } },
      { step_id: 'review', payload: { decision: 'approve', approver: 'lead@example.com' } },
    ],
  },
  { workflow: 'order-checks', inputs: { order_id: 'o-1', amount: 2000 }, answers: [] },
  { workflow: 'order-checks', inputs: { order_id: 'o-2', amount: 9000 }, answers: [] },
  {
    workflow: 'review-loop',
    inputs: { topic: 'parity' },
    answers: [{ step_id: 'review', payload: { decision: 'approve', approver: 'editor@example.com' } }],
  },
  {
    workflow: 'invoice-batch',
    inputs: { customer: 'acme', items: [{ price: 2, qty: 3 }] },
    answers: [],
  },
  { workflow: 'crm-sync', inputs: { email: 'ada@example.com', name: 'Ada' }, answers: [] },
];

interface Outcome {
  status: string;
  output: unknown;
  error: unknown;
  history: string[];
  events: string[];
}

/** Runs wait up to 20 s here: a scenario runs many steps, twice. */
const PATIENCE = { timeoutMs: 20_000 };

/** Runs every scenario on a runtime and returns what users can observe, with run ids and times taken out. */
async function runAll(definition: AslDefinition | undefined, sink: HttpSink): Promise<Outcome[]> {
  const { runtime, failures, close } = await startLocalRuntime({
    env: {
      MOCK_AI_SEED: '7',
      FLOWRUNNER_SECRET_MAIL_TOKEN: 'mail-secret',
      FLOWRUNNER_SECRET_CRM_TOKEN: 'crm-secret',
    },
    ...(definition ? { definition } : {}),
  });
  try {
    const now = new Date();
    for (const example of examplesWithSink(sink)) await runtime.local.stores.workflows.create(example, now);
    const outcomes: Outcome[] = [];
    for (const scenario of scenarios) {
      const workflow = await runtime.local.stores.workflows.get(scenario.workflow);
      const run = await runtime.startRun(workflow, scenario.inputs);
      let answered = 0;
      for (const answer of scenario.answers) {
        // Wait until this very wait is open (the step waits in the visit after the last answer).
        const open = await until(
          runtime,
          run.id,
          (r) => r.status === 'waiting' && r.steps[answer.step_id]?.status === 'waiting',
          PATIENCE,
        );
        const visit = open.steps[answer.step_id]!.visit;
        await runtime.deliver(run.id, `answer-${++answered}`, {
          type: 'resume',
          step_id: answer.step_id,
          payload: answer.payload,
        });
        // The answered visit is over: the step moved on, or (a loop back) waits again in a later visit,
        // which a poll may see without ever seeing the step in between.
        await until(
          runtime,
          run.id,
          (r) => {
            const step = r.steps[answer.step_id];
            return step?.status !== 'waiting' || step.visit > visit || r.status !== 'waiting';
          },
          PATIENCE,
        );
      }
      const state = await until(runtime, run.id, hasEnded, PATIENCE);
      const history = await runtime.local.stores.runs.history(run.id);
      const { events } = await runtime.local.stores.runs.events(run.id, { limit: 1000 });
      const anonymous = (value: unknown) =>
        value === undefined ? undefined : JSON.parse(JSON.stringify(value).replaceAll(run.id, '<run>'));
      outcomes.push({
        status: state.status,
        output: anonymous(state.output),
        error: anonymous(state.error),
        history: history.map((h) => `${h.step_id}#${h.visit}:${h.status}:${h.outcome ?? ''}`),
        events: events.map((e) => (e.step_id ? `${e.type}:${e.step_id}` : e.type)),
      });
    }
    expect(failures).toEqual([]);
    return outcomes;
  } finally {
    await close();
  }
}

/**
 * A run whose dependency is down fails; once it is up again the run is redriven, twice over a
 * parallel branch, and ends. What users can observe, as runAll gives it.
 */
async function redriveOnce(definition: AslDefinition | undefined): Promise<Outcome> {
  let up = false;
  const dependency = createServer((_request, response) => {
    response.writeHead(up ? 200 : 503, { 'content-type': 'application/json' });
    response.end('{}');
  });
  const url = await listenOnLoopback(dependency);
  const { runtime, failures, close } = await startLocalRuntime(definition ? { definition } : {});
  try {
    const workflow = await storeWorkflow(
      runtime,
      `schema_version: "1.0"
id: redrive
steps:
  - { id: split, type: transform, config: { output: 1 }, next: [charge, ask] }
  - { id: charge, type: api_call, config: { method: POST, url: "${url}/charge" }, next: join }
  - { id: ask, type: wait, config: { seconds: 1 }, next: join }
  - { id: join, type: transform, config: { output: done } }
`,
    );
    const run = await runtime.startRun(workflow, {});
    await until(runtime, run.id, hasEnded, PATIENCE);
    up = true;
    expect((await redriveRun(run.id, 'parity', runtime.deps)).accepted).toBe(true);
    const state = await until(runtime, run.id, (r) => hasEnded(r) && r.redrives === 1, PATIENCE);
    const history = await runtime.local.stores.runs.history(run.id);
    const { events } = await runtime.local.stores.runs.events(run.id, { limit: 1000 });
    expect(failures).toEqual([]);
    return {
      status: state.status,
      output: state.output,
      error: state.error,
      history: history.map((h) => `${h.step_id}#${h.visit}:${h.status}:${h.outcome ?? ''}`),
      events: events.map((e) => (e.step_id ? `${e.type}:${e.step_id}` : e.type)),
    };
  } finally {
    await close();
    await new Promise<void>((resolve) => dependency.close(() => resolve()));
  }
}

describe('parity of the deployed definition and the local runtime', () => {
  let sink: HttpSink;
  beforeAll(async () => {
    sink = await startHttpSink();
  });
  afterAll(async () => {
    await sink.close();
  });

  it('takes the state machine out of the synthesized template', () => {
    const definition = synthesizedDefinition();
    expect(definition.StartAt).toBe('Start');
    expect(Object.keys(definition.States)).toContain('AwaitSignal');
    // Synthesizing the engine stack takes seconds, more on a loaded machine: not a measure of speed.
  }, 120_000);

  it('gives every example the same results, histories and event sequences in both', async () => {
    const deployed = await runAll(synthesizedDefinition(), sink);
    const local = await runAll(undefined, sink);
    expect(deployed.map((o) => o.status)).toEqual([
      'completed',
      'completed',
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
    for (const [index, outcome] of deployed.entries()) {
      expect(local[index], `${scenarios[index]!.workflow}`).toEqual(outcome);
    }
  }, 120_000);

  it('redrives a failed run the same way in both: a fresh execution, the failed branches only', async () => {
    const deployed = await redriveOnce(synthesizedDefinition());
    const local = await redriveOnce(undefined);
    expect(deployed.status).toBe('completed');
    expect(deployed.output).toBe('done');
    expect(deployed.events.filter((e) => e === 'step.started:split')).toHaveLength(1);
    expect(deployed.history).toContain('charge#1:failed:');
    expect(deployed.history).toContain('charge#2:completed:success');
    expect(local).toEqual(deployed);
  }, 60_000);
});
