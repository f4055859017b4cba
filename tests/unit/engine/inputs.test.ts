import { describe, expect, it } from 'vitest';
import type { WorkflowDefinition } from '../../../shared/definition/schema.js';
import { checkRunInputs } from '../../../shared/engine/inputs.js';

/** A definition as a store hands it out: a new object on every read. */
const read = (): WorkflowDefinition => ({
  schema_version: '1.0',
  id: 'wf',
  inputs: { $id: 'urn:example:inputs', type: 'object', required: ['customer'] },
  steps: [{ id: 'a', type: 'transform', config: { output: 1 } }],
});

describe('checkRunInputs', () => {
  it('checks inputs of definitions read again and again, even when their schema has an $id', () => {
    for (let i = 0; i < 3; i++) {
      expect(checkRunInputs(read(), { customer: 'Ada' })).toEqual([]);
      expect(checkRunInputs(read(), {})).toEqual([{ path: 'inputs.customer', message: 'is required' }]);
    }
  });
});
