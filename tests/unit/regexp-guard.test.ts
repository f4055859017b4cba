/**
 * Issue 9, defect 4: a regex stuck backtracking blocked the whole server. Every pattern a workflow
 * supplies now runs on the linear-time engine (shared/json-schema/linear-regexp.ts); V8's fallback,
 * which vitest turns on like the composition root (shared/adapters/regexp-guard.ts), would not save
 * these: it leaves out the `u` and `i` flags.
 */
import { describe, expect, it } from 'vitest';
import { evaluate } from '../../shared/expressions/index.js';
import { checkJsonAnswer, validatorFor } from '../../shared/json-schema/index.js';
import { checkFormAnswer } from '../../shared/steps/form-fields.js';

/** Far above what these take (milliseconds), far below what backtracking took (12 to 43 seconds). */
const GENEROUS_MS = 1000;

async function timed<T>(run: () => T | Promise<T>): Promise<{ result: T; ms: number }> {
  const start = performance.now();
  const result = await run();
  return { result, ms: performance.now() - start };
}

describe('regular expressions from workflows', () => {
  it('answer a catastrophic form pattern quickly', async () => {
    const { result, ms } = await timed(() =>
      checkFormAnswer([{ key: 'x', type: 'string', required: true, pattern: '^(a+)+$' }], {
        x: `${'a'.repeat(40)}!`,
      }),
    );
    expect(result).toMatchObject({ issues: [expect.objectContaining({ path: 'inputs.x' })] });
    expect(ms).toBeLessThan(GENEROUS_MS);
  });

  it('answer the unicode form pattern of the issue (16.7 s on 29 characters) quickly', async () => {
    const field = { key: 'name', type: 'string' as const, required: true, pattern: '^(\\p{L}+)+$' };
    const { result, ms } = await timed(() => checkFormAnswer([field], { name: `${'é'.repeat(29)}!` }));
    expect(result).toMatchObject({ issues: [{ path: 'inputs.name' }] });
    expect(checkFormAnswer([field], { name: 'Éléonore' })).toEqual({ values: { name: 'Éléonore' } });
    expect(ms).toBeLessThan(GENEROUS_MS);
  });

  it('check a model answer against a hostile json_schema pattern quickly', async () => {
    const validate = validatorFor({
      type: 'object',
      properties: { s: { type: 'string', pattern: '^(a+)+$' } },
    });
    const { result, ms } = await timed(() =>
      checkJsonAnswer(JSON.stringify({ s: `${'a'.repeat(40)}!` }), validate),
    );
    expect(result).toMatchObject({ ok: false, issues: [{ path: '/s' }] });
    expect(ms).toBeLessThan(GENEROUS_MS);
  });

  it('answer a catastrophic JSONata regex quickly', async () => {
    const { result, ms } = await timed(() =>
      evaluate('$contains(s, /^(a+)+$/)', { s: `${'a'.repeat(40)}!` }),
    );
    expect(result).toBe(false);
    expect(ms).toBeLessThan(GENEROUS_MS);
  });

  it('answer a case-insensitive JSONata regex (43 s on 31 characters with V8) quickly', async () => {
    const { result, ms } = await timed(() =>
      evaluate('$contains(s, /^(a+)+$/i) or $match(s, /(A+)+B/i) != null', { s: `${'a'.repeat(40)}!` }),
    );
    expect(result).toBe(false);
    expect(ms).toBeLessThan(GENEROUS_MS);
  });
});
