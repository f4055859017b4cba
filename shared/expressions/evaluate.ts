/** Runs a compiled expression against sandboxed data within its budget; every failure becomes an ExpressionError. */
import { ExpressionError } from '../errors.js';
import {
  BUDGET,
  Budget,
  BudgetExceeded,
  DEFAULT_MAX_ALLOCATED_BYTES,
  ENTRY_HOOK,
  EXIT_HOOK,
  guardBuiltins,
  hasGuardedBuiltins,
  type LimitKind,
  limitBehind,
  TransformRefused,
} from './budget.js';
import { type CompiledExpression, compile, parse, quote } from './compile.js';
import { answer, SLOW } from './fast-path.js';
import type { Redactor } from './redactor.js';
import { toJson, view } from './sandbox.js';

export interface EvaluateOptions {
  /** Wall-clock budget of one evaluation (default 1000 ms). */
  timeoutMs?: number;
  /**
   * When every evaluation of a render must have ended (epoch ms: a step attempt's `timeout_s`): each
   * gets what is left of it, if that is less than `timeoutMs`.
   */
  deadline?: number;
  /** Nested evaluations allowed at once (default 500): bounds recursion. */
  maxDepth?: number;
  /** What one evaluation may allocate, in estimated bytes (default 128 MB): bounds memory. */
  maxAllocatedBytes?: number;
}

/** The code of every spent limit (time, depth, size, memory); `details.limit` says which. */
export const LIMIT_CODE = 'ExpressionLimit';
/** The longest message taken over from jsonata (an `$error` or a quoted value may be megabytes long). */
const MAX_MESSAGE_LENGTH = 1000;

const DEFAULT_TIMEOUT_MS = 1000;
const DEFAULT_MAX_DEPTH = 500;
/** Idle instances kept per expression: enough for the parallel branches of a run to reuse them. */
const IDLE_LIMIT = 4;

/**
 * Evaluates a JSONata expression against data, sandboxed: the data is seen through read-only JSON
 * views, time, depth, sizes and allocation are bounded, and the result is plain JSON (undefined for
 * a missing path).
 */
export async function evaluate(
  expression: string,
  data: Record<string, unknown>,
  options: EvaluateOptions = {},
): Promise<unknown> {
  const compiled = compile(expression);
  const fast = compiled.fast === undefined ? SLOW : answer(compiled.fast, data);
  if (fast !== SLOW) return fast;
  return run(compiled, view(data), options);
}

/** Evaluates against data that is already a view; `redactor` scrubs secret values out of error messages. */
export async function run(
  compiled: CompiledExpression,
  data: unknown,
  options: EvaluateOptions,
  redactor?: Redactor,
): Promise<unknown> {
  const { expression } = compiled;
  const instance = compiled.idle.pop() ?? parse(expression);
  let timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // Bound by the render's deadline rather than its own second: its time running out is the deadline's.
  let byDeadline = false;
  if (options.deadline !== undefined) {
    const left = Math.max(0, options.deadline - Date.now());
    if (left <= timeoutMs) {
      timeoutMs = left;
      byDeadline = true;
    }
  }
  const budget = new Budget({
    timeoutMs,
    maxDepth: options.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxAllocatedBytes: options.maxAllocatedBytes ?? DEFAULT_MAX_ALLOCATED_BYTES,
  });
  try {
    if (!hasGuardedBuiltins(instance)) await guardBuiltins(instance);
    instance.assign(ENTRY_HOOK, budget.enter);
    instance.assign(EXIT_HOOK, budget.exit);
    instance.assign(BUDGET, budget);
    const result = await instance.evaluate(data);
    // Bounds what toJson copies: a value may share its parts, and copying repeats them.
    budget.admit(result);
    return toJson(result, (found) => {
      throw new ExpressionError(
        'ExpressionResultNotJson',
        `Expression ${quote(expression)} returned ${found}, which is not JSON data`,
        expression,
      );
    });
  } catch (error) {
    const failed = toExpressionError(error, expression, redactor);
    if (byDeadline && failed.code === LIMIT_CODE && failed.details?.limit === 'time') {
      failed.details.deadline = true;
    }
    throw failed;
  } finally {
    if (compiled.idle.length < IDLE_LIMIT) compiled.idle.push(instance);
  }
}

function toExpressionError(
  thrown: unknown,
  expression: string,
  redactor: Redactor | undefined,
): ExpressionError {
  const error = limitBehind(thrown) ?? thrown;
  if (error instanceof ExpressionError) return error;
  const scrub = (text: string) => (redactor ? redactor.scrubText(text) : text);
  const subject = `Expression ${quote(expression)}`;
  if (error instanceof BudgetExceeded)
    return limitError(error.limit, `${subject} ${error.message}`, expression);
  if (error instanceof TransformRefused) {
    return new ExpressionError('ExpressionError', `${subject} ${error.message}`, expression);
  }
  if (error instanceof RangeError) {
    // The JavaScript stack can still overflow inside a built-in (`$string` of a very deep value),
    // and V8 refuses strings and arrays past its own limits.
    return /call stack/i.test(error.message)
      ? limitError('depth', `${subject} went too deep for the JavaScript stack`, expression)
      : limitError('size', `${subject} built a value too large: ${error.message}`, expression);
  }
  const { code, position, message } = (error ?? {}) as {
    code?: unknown;
    position?: unknown;
    message?: unknown;
  };
  // Scrubbed before it is cut short, so that no cut leaves part of a secret unrecognised.
  const text = shorten(scrub(typeof message === 'string' ? message : String(error)));
  if (typeof code === 'string') {
    // jsonata's own errors: a code such as T2001 and the position just after the offending token.
    const at = typeof position === 'number' ? ` at position ${position}` : '';
    return new ExpressionError('ExpressionError', `${subject} failed${at}: ${text} (${code})`, expression, {
      details: { jsonata_code: code, ...(typeof position === 'number' ? { position } : {}) },
    });
  }
  return new ExpressionError('ExpressionError', `${subject} failed: ${text}`, expression);
}

/** A spent limit: one code, `ExpressionLimit`, and `details.limit` says which (`time`, `depth`, `size`). */
function limitError(limit: LimitKind, message: string, expression: string): ExpressionError {
  return new ExpressionError(LIMIT_CODE, message, expression, { details: { limit } });
}

function shorten(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH
    ? `${text.slice(0, MAX_MESSAGE_LENGTH)}... (${text.length} characters)`
    : text;
}
