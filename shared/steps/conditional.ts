/** `conditional`: branches on an expression (`when`) or on the first true case (`cases`). */
import { z } from 'zod';
import type { ErrorIssue } from '../errors.js';
import { ExpressionError, FlowrunnerError } from '../errors.js';
import { defineStepType, type StepExecutionContext } from './types.js';

const expression = z.string().min(1).max(10_000).meta({ description: 'A JSONata expression.' });

export const conditionalConfig = z.union([
  z.object({ when: expression }).strict(),
  z
    .object({ cases: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/), expression) })
    .strict()
    .refine((c) => Object.keys(c.cases).length > 0, { message: 'give at least one case', path: ['cases'] })
    .refine((c) => !('default' in c.cases), {
      message: "'default' is the outcome when no case is true",
      path: ['cases'],
    }),
]);
export type ConditionalConfig = z.infer<typeof conditionalConfig>;

/**
 * Whether an expression's result counts as true: JSONata's own `$boolean` rules, so a condition
 * means what the same expression means in a JSONata predicate. False: `false`, no result
 * (undefined), `null`, `0`, `''`, an empty list, an empty object, a function; a list is true when
 * one of its members is. Everything else is true.
 */
export function isTruthy(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (Array.isArray(value)) return value.some(isTruthy);
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return value !== 0 && !Number.isNaN(value);
    case 'string':
      return value !== '';
    case 'object':
      // JSONata hands back its own functions (lambdas) as objects carrying these markers.
      if ('_jsonata_lambda' in value || '_jsonata_function' in value) return false;
      return Object.keys(value).length > 0;
    default:
      return false;
  }
}

/** Case names that are whole numbers: JavaScript objects (and so parsed YAML) put them first, losing the written order. */
const INTEGER_KEY = /^(0|[1-9]\d*)$/;

async function evaluateCondition(
  ctx: StepExecutionContext<ConditionalConfig>,
  field: string,
  expr: string,
): Promise<boolean> {
  try {
    return isTruthy(await ctx.evaluate(expr));
  } catch (error) {
    if (error instanceof FlowrunnerError) throw error;
    throw new ExpressionError('ExpressionError', `${field}: ${(error as Error).message}`, expr, {
      cause: error,
    });
  }
}

export const conditional = defineStepType({
  type: 'conditional',
  pure: true,
  description:
    'Branches on an expression: outcomes `true`/`false`, or the first true case name, or `default`.',
  config: conditionalConfig,
  action: false,
  expressionFields: ['when', 'cases'],
  outcomes: (config) => ('when' in config ? ['true', 'false'] : [...Object.keys(config.cases), 'default']),
  execute: async (ctx) => {
    const config = ctx.config;
    let outcome = 'default';
    if ('when' in config) {
      outcome = (await evaluateCondition(ctx, 'when', config.when)) ? 'true' : 'false';
    } else {
      for (const [name, expr] of Object.entries(config.cases)) {
        if (await evaluateCondition(ctx, `cases.${name}`, expr)) {
          outcome = name;
          break;
        }
      }
    }
    return { status: 'completed', outcome, output: { outcome } };
  },
  check: (config) => {
    if ('when' in config) return [];
    const names = Object.keys(config.cases);
    if (names.length < 2) return [];
    return names
      .filter((name) => INTEGER_KEY.test(name))
      .map(
        (name): ErrorIssue => ({
          path: `cases.${name}`,
          message: `a case named with a whole number ('${name}') loses its written order; use a name such as 'case_${name}'`,
        }),
      );
  },
});
