/** The validator's template check: references by fixed id, each template read once, a store failure thrown. */
import { describe, expect, it } from 'vitest';
import {
  templateReferenceProblems,
  templateReferences,
} from '../../../shared/definition/template-references.js';
import { assertValidWorkflow } from '../../../shared/definition/validate.js';
import { NotFoundError, StorageError } from '../../../shared/errors.js';
import type { PromptTemplate } from '../../../shared/ports/index.js';

const workflow = assertValidWorkflow({
  schema_version: '1.0',
  id: 'w',
  steps: [
    { id: 'a', type: 'ai_generate', config: { template_id: 't', json_schema: {} }, next: 'b' },
    {
      id: 'b',
      type: 'ai_generate',
      config: { template_id: 't', template_version: 3, json_schema: {} },
      next: 'c',
    },
    {
      id: 'c',
      type: 'transform',
      config: { output: 1 },
      compensate: { type: 'ai_generate', config: { template_id: 'undo', json_schema: {} } },
      next: 'd',
    },
    { id: 'd', type: 'ai_generate', config: { template_id: '{{ inputs.t }}', json_schema: {} } },
  ],
});

describe('templateReferenceProblems', () => {
  it('finds fixed ids in steps and compensate actions, not placeholders', () => {
    expect(templateReferences(workflow).map((r) => [r.id, r.version])).toEqual([
      ['t', undefined],
      ['t', 3],
      ['undo', undefined],
    ]);
  });

  it('reports unknown templates and versions beyond the latest, reading each template once', async () => {
    const reads: string[] = [];
    const problems = await templateReferenceProblems(workflow, {
      async get(id) {
        reads.push(id);
        if (id === 't') return { id, version: 2, text: 'x', created_at: '' } satisfies PromptTemplate;
        throw new NotFoundError('Template', id);
      },
    });
    expect(reads).toEqual(['t', 'undo']);
    expect(problems.map((p) => p.path)).toEqual([
      'steps[1].config.template_version',
      'steps[2].compensate.config.template_id',
    ]);
  });

  it('throws what is not NotFound: the caller decides what an unreachable store means', async () => {
    await expect(
      templateReferenceProblems(workflow, {
        get: async () => {
          throw new StorageError('StorageUnavailable', 'down', { retryable: true });
        },
      }),
    ).rejects.toBeInstanceOf(StorageError);
  });
});
