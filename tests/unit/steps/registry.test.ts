import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflowJsonSchema } from '../../../shared/definition/json-schema.js';
import { Harness } from '../../../shared/harness/harness.js';
import { createStepRegistry } from '../../../shared/steps/registry.js';
import { defineStepType } from '../../../shared/steps/types.js';

/** The example of docs/workflow-language.md: a custom type in a few lines. */
const slugify = defineStepType({
  type: 'slugify',
  description: 'Turns a title into a URL slug.',
  config: z.object({ text: z.string().min(1) }).strict(),
  action: true,
  outcomes: () => ['success'],
  async execute(ctx) {
    const slug = ctx.config.text
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '');
    return { status: 'completed', outcome: 'success', output: { slug } };
  },
});

describe('the step registry', () => {
  it('runs a custom step type registered in code', async () => {
    const harness = new Harness({
      registry: createStepRegistry([slugify]),
      workflows: [
        `schema_version: "1.0"
id: post
steps:
  - { id: slug, type: slugify, config: { text: "{{ inputs.title }}" } }
`,
      ],
    });
    const run = await harness.start('post', { inputs: { title: 'Hello, Durable World!' } });
    expect(run.output).toEqual({ slug: 'hello-durable-world' });
  });

  it('puts a custom type into the JSON Schema that editors use', () => {
    const text = JSON.stringify(workflowJsonSchema(createStepRegistry([slugify])));
    expect(text).toContain('"slugify"');
    expect(text).toContain('Turns a title into a URL slug.');
    expect(JSON.stringify(workflowJsonSchema())).not.toContain('"slugify"');
  });

  it('refuses a second type of the same name and a name that is not an id', () => {
    expect(() => createStepRegistry([slugify, slugify])).toThrow(/already registered/);
    expect(() => createStepRegistry([{ ...slugify, type: 'Bad Name' }])).toThrow(/must match/);
    expect(() => createStepRegistry().require('nope')).toThrow(/known types: form, approval/);
  });
});
