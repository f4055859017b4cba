import { describe, expect, it } from 'vitest';
import { evaluate } from '../../shared/expressions/index.js';
import { checkFormAnswer } from '../../shared/steps/form-fields.js';

// Without the guard each of these backtracks for tens of seconds and blocks the whole process.
const hostile = `${'a'.repeat(40)}!`;

describe('regular expressions from workflows', () => {
  it('answer a catastrophic form pattern quickly', () => {
    const answer = checkFormAnswer([{ key: 'x', type: 'string', required: true, pattern: '^(a+)+$' }], {
      x: hostile,
    });
    expect(answer).toMatchObject({ issues: [expect.objectContaining({ path: 'inputs.x' })] });
  });

  it('answer a catastrophic JSONata regex quickly', async () => {
    await expect(evaluate('$contains(s, /^(a+)+$/)', { s: hostile })).resolves.toBe(false);
  });
});
