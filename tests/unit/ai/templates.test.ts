/**
 * Prompt templates in runs (CONTRACT §7): rendered against the step's variables through the same
 * sandbox, budget and secret redaction as every config, and pinned to the version in force when the
 * run started, whatever is added meanwhile.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Harness } from '../../../shared/harness/harness.js';

const schema = { type: 'object', required: ['c'], properties: { c: { type: 'string' } } };

const workflow = (stepConfig: Record<string, unknown>) => ({
  schema_version: '1.0',
  id: 'greet',
  steps: [
    {
      id: 'ask',
      type: 'form',
      config: { fields: [{ key: 'name', type: 'string', required: true }] },
      next: 'draft',
    },
    {
      id: 'draft',
      type: 'ai_generate',
      config: { template_id: 'welcome', json_schema: schema, ...stepConfig },
    },
  ],
});

let harness: Harness | undefined;
afterEach(() => harness?.close());

function harnessWith(options: ConstructorParameters<typeof Harness>[0] = {}): Harness {
  harness = new Harness({
    settings: {
      allowPrivateNetwork: true,
      allowLoopback: true,
      ai: { provider: 'mock', mode: 'success', seed: 0, captureContent: true },
      ...(options.settings ?? {}),
    },
    ...options,
  });
  return harness;
}

/** What each `ai.request` sent as the user's message, and the template version each `ai.response` names. */
function calls(h: Harness, runId: string) {
  const events = h.events(runId);
  return {
    prompts: events
      .filter((e) => e.type === 'ai.request')
      .map((e) => (e.data.messages as { role: string; content: string }[]).at(-1)!.content),
    versions: events.filter((e) => e.type === 'ai.response').map((e) => e.data.template_version),
  };
}

describe('prompt templates in runs', () => {
  it('renders the template against the variables the step renders from the run', async () => {
    const h = harnessWith({
      templates: [{ id: 'welcome', text: 'Hello {{ person.name }} ({{ $uppercase(plan) }})' }],
      workflows: [workflow({ variables: { person: '{{ steps.ask.output }}', plan: 'pro' } })],
    });
    const run = await h.start('greet');
    await h.resume(run.id, { inputs: { name: 'Ann' } });
    expect(h.run(run.id).status).toBe('completed');
    expect(calls(h, run.id)).toEqual({ prompts: ['Hello Ann (PRO)'], versions: [1] });
  });

  it('pins the version in force when the run started, across an update mid-run; a later run gets the new one', async () => {
    const h = harnessWith({
      templates: [{ id: 'welcome', text: 'v1 for {{ name }}' }],
      workflows: [workflow({ variables: { name: '{{ steps.ask.output.name }}' } })],
    });
    const first = await h.start('greet');
    await h.advanceTime(1_000);
    const updated = await h.addTemplate({ id: 'welcome', text: 'v2 for {{ name }}' });
    expect(updated.version).toBe(2);
    await h.advanceTime(1_000);
    const second = await h.start('greet');
    await h.resume(first.id, { inputs: { name: 'Ann' } });
    await h.resume(second.id, { inputs: { name: 'Bob' } });
    expect(calls(h, first.id)).toEqual({ prompts: ['v1 for Ann'], versions: [1] });
    expect(calls(h, second.id)).toEqual({ prompts: ['v2 for Bob'], versions: [2] });
  });

  it('keeps the pinned version on a loop back to the step after an update', async () => {
    const h = harnessWith({
      templates: [{ id: 'welcome', text: 'draft v1' }],
      workflows: [
        {
          schema_version: '1.0',
          id: 'looping',
          steps: [
            {
              id: 'draft',
              type: 'ai_generate',
              config: { template_id: 'welcome', json_schema: schema },
              next: 'review',
            },
            {
              id: 'review',
              type: 'form',
              config: { fields: [{ key: 'again', type: 'boolean', required: true }] },
              next: 'decide',
            },
            {
              id: 'decide',
              type: 'conditional',
              config: { when: 'steps.review.output.again' },
              next: { true: 'draft' },
            },
          ],
        },
      ],
    });
    const run = await h.start('looping');
    await h.advanceTime(1_000);
    await h.addTemplate({ id: 'welcome', text: 'draft v2' });
    await h.resume(run.id, { inputs: { again: true } });
    await h.resume(run.id, { inputs: { again: false } });
    expect(h.run(run.id).status).toBe('completed');
    expect(calls(h, run.id)).toEqual({ prompts: ['draft v1', 'draft v1'], versions: [1, 1] });
  });

  it('uses version 1 for a run that started before the template existed, and an explicit version as given', async () => {
    const h = harnessWith({ workflows: [workflow({ variables: { name: 'x' } })] });
    const early = await h.start('greet');
    await h.advanceTime(1_000);
    await h.addTemplate({ id: 'welcome', text: 'first {{ name }}' });
    await h.addTemplate({ id: 'welcome', text: 'second {{ name }}' });
    await h.resume(early.id, { inputs: { name: 'Ann' } });
    expect(calls(h, early.id)).toEqual({ prompts: ['first x'], versions: [1] });

    await h.addWorkflow(workflow({ variables: { name: 'y' }, template_version: 2 }));
    const exact = await h.start('greet');
    await h.resume(exact.id, { inputs: { name: 'Bob' } });
    expect(calls(h, exact.id)).toEqual({ prompts: ['second y'], versions: [2] });
  });

  it('scrubs a secret a variable or the template itself resolves from the captured prompt and every event', async () => {
    const secret = 'tok_9f8e7d6c5b4a';
    const h = harnessWith({
      secrets: { api_token: secret },
      templates: [{ id: 'welcome', text: 'Use {{ token }} and {{ secrets.api_token }} for {{ name }}' }],
      workflows: [workflow({ variables: { token: '{{ secrets.api_token }}', name: 'Ann' } })],
    });
    const run = await h.start('greet');
    await h.resume(run.id, { inputs: { name: 'Ann' } });
    expect(h.run(run.id).status).toBe('completed');
    const { prompts } = calls(h, run.id);
    expect(prompts[0]).toMatch(/^Use \S+ and \S+ for Ann$/);
    expect(JSON.stringify(h.events(run.id))).not.toContain(secret);
    expect(JSON.stringify(h.history(run.id))).not.toContain(secret);
  });

  it('fails the step with the expression budget error when the template runs too long', async () => {
    const h = harnessWith({
      settings: {
        allowPrivateNetwork: true,
        allowLoopback: true,
        ai: { provider: 'mock', mode: 'success', seed: 0 },
        expressionTimeoutMs: 50,
      },
      templates: [
        { id: 'welcome', text: '{{ ($f := function($n) { $n < 2 ? $n : $f($n-1) + $f($n-2) }; $f(40)) }}' },
      ],
      workflows: [workflow({})],
    });
    const run = await h.start('greet');
    await h.resume(run.id, { inputs: { name: 'Ann' } });
    const state = h.run(run.id);
    expect(state.status).toBe('failed');
    expect(state.error).toMatchObject({ code: 'ExpressionLimit', step_id: 'draft' });
  });

  it('fails the step, not retryable, for an unknown template', async () => {
    const h = harnessWith({ workflows: [workflow({})] });
    const run = await h.start('greet');
    await h.resume(run.id, { inputs: { name: 'Ann' } });
    expect(h.run(run.id)).toMatchObject({ status: 'failed', error: { code: 'NotFound', step_id: 'draft' } });
  });
});
