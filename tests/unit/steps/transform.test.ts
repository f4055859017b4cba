import { describe, expect, it } from 'vitest';
import { transform } from '../../../shared/steps/transform.js';
import { execute } from './context.js';

describe('transform.execute', () => {
  it('outputs its rendered `output` value with outcome success', async () => {
    const output = { greeting: 'Hello Ann', items: [1, 2], nested: { ok: true } };
    const { result } = await execute(transform, { output });
    expect(result).toEqual({ status: 'completed', outcome: 'success', output });
  });

  it('outputs scalars and null as they are', async () => {
    expect((await execute(transform, { output: 42 })).result).toMatchObject({ output: 42 });
    expect((await execute(transform, { output: null })).result).toMatchObject({ output: null });
  });
});
